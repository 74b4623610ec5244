// Runs the built CLI on a pseudo-terminal (pty-driver.py: Python's standard `pty` module, so no
// native build) and plays the person at the keyboard: wait for a prompt's text, type the answer,
// wait until the prompt is answered; Ctrl-C as the terminal sends it. Every wait is bounded and
// fails with the screen so far; kill() takes the whole terminal session down.
import os from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { CLI_BIN } from './run-cli.js';

const DRIVER = fileURLToPath(new URL('./pty-driver.py', import.meta.url));

export interface PtyResult {
  /** The CLI's exit code (128 + signal if a signal ended it). */
  code: number;
  /** What the terminal showed, escape sequences removed. */
  screen: string;
  timedOut: boolean;
}

export interface PtyOptions {
  env: Record<string, string>;
  cwd: string;
  cols?: number;
  rows?: number;
  /** Kill the session after this long (default 120 s). */
  timeoutMs?: number;
  /** Default bound for each wait (default 30 s). */
  waitMs?: number;
}

export interface PtySession {
  /** The terminal so far, escape sequences removed. */
  readonly screen: string;
  /** Raw bytes as the terminal received them (colours, cursor moves). */
  readonly raw: string;
  /** Resolves with the match once the screen, from `from` on, matches; rejects on timeout or exit. */
  waitFor(pattern: RegExp, opts?: { from?: number; timeoutMs?: number }): Promise<{ match: RegExpExecArray; end: number }>;
  /** Waits for a prompt whose text matches `prompt`, types `answer` and Enter, and waits until it is answered. Returns the answered line (question and value). */
  answer(prompt: RegExp, answer: string): Promise<string>;
  /** Answers every prompt with Enter until `until` shows on the screen (or returns true); returns the answered lines. */
  enterThrough(until: RegExp | (() => boolean), opts?: { max?: number; timeoutMs?: number }): Promise<string[]>;
  type(text: string): void;
  ctrlC(): void;
  kill(): void;
  result: Promise<PtyResult>;
}

/** Where the screen shows a prompt waiting for input (inquirer draws "? message ..."). */
const PROMPT = /(?:^|[\r\n])[ \t]*\? ([^\r\n]*)/;
/** An answered prompt: inquirer redraws it with a check mark, or an explicit confirmation. */
const ANSWERED = /(?:^|[\r\n])[ \t]*[✔√] [^\r\n]*/;

/** The terminal output as text: prompts redraw their line with cursor moves and erases rather
 * than newlines, so those become line breaks (each redraw its own line); the rest is dropped. */
function toScreen(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return stripVTControlCharacters(raw.replace(/\x1b\[\d*[ABGK]/g, '\n'));
}

let python: string | undefined;
/** python3 on PATH; the test fails with this message, rather than skipping, if there is none. */
export function findPython(): string {
  if (python) return python;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter)) {
    const p = path.join(dir, 'python3');
    if (existsSync(p) && spawnSync(p, ['-c', 'import pty'], { stdio: 'ignore' }).status === 0) return (python = p);
  }
  throw new Error('The pseudo-terminal tests need python3 (standard library `pty` module) on PATH.');
}

export function startCliInPty(args: string[], opts: PtyOptions): PtySession {
  const waitMs = opts.waitMs ?? 30_000;
  const child = spawn(findPython(), [DRIVER, String(opts.cols ?? 120), String(opts.rows ?? 35), '--', process.execPath, CLI_BIN, ...args], {
    cwd: opts.cwd,
    env: { TERM: 'xterm-256color', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, so kill() reaches the driver and nothing of the test runner.
    detached: true,
  });
  let raw = '';
  let screen = '';
  let driverErr = '';
  let ended = false;
  let timedOut = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.on('data', (d: Buffer) => {
    raw += d.toString('utf8');
    screen = toScreen(raw);
    notify();
  });
  child.stderr!.on('data', (d: Buffer) => {
    driverErr += d.toString('utf8');
  });
  child.stdin!.on('error', () => {
    // The session may be over before the last keystroke: the assertions say what went wrong.
  });
  const kill = () => {
    if (ended) return;
    try {
      process.kill(-child.pid!, 'SIGTERM'); // the driver kills the terminal session, then exits
    } catch {
      // already gone
    }
    setTimeout(() => {
      if (!ended) child.kill('SIGKILL');
    }, 2000).unref();
  };
  const overall = setTimeout(() => {
    timedOut = true;
    kill();
  }, opts.timeoutMs ?? 120_000);
  const result = new Promise<PtyResult>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(overall);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(overall);
      ended = true;
      notify();
      resolve({ code: code ?? 128 + (signal ? os.constants.signals[signal] : 15), screen: screen + (driverErr ? `\n[pty-driver] ${driverErr}` : ''), timedOut });
    });
  });

  const tail = () => screen.slice(-3000);
  /** Resolves with probe()'s first defined value: checked on every output and every 50 ms
   * (for conditions outside the terminal, e.g. the test cloud's state). Bounded, and rejects
   * if the CLI ends first. */
  const waitUntil = <T>(probe: () => T | undefined, what: string, timeoutMs = waitMs): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v !== undefined) {
          done();
          resolve(v);
        } else if (ended) {
          done();
          reject(new Error(`The CLI ended before ${what}.\n--- screen (end) ---\n${tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`Waited ${timeoutMs} ms for ${what}.\n--- screen (end) ---\n${tail()}`));
      }, timeoutMs);
      const poll = setInterval(check, 50);
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  const matchFrom = (re: RegExp, from: number) => {
    const m = re.exec(screen.slice(from));
    return m ? { match: m, end: from + m.index + m[0].length } : undefined;
  };
  const waitFor: PtySession['waitFor'] = (pattern, o = {}) => {
    const re = new RegExp(pattern.source, pattern.flags.replace('g', ''));
    return waitUntil(() => matchFrom(re, o.from ?? 0), `the screen to show ${String(pattern)}`, o.timeoutMs);
  };

  // Everything before `cursor` has been dealt with: prompts there are answered already.
  let cursor = 0;
  const type = (text: string) => {
    child.stdin!.write(text);
  };
  const answerAt = async (at: { end: number }, text: string): Promise<string> => {
    type(`${text}\r`);
    // The prompt is answered when inquirer redraws it as done; a validation error would keep it
    // open, and the wait below fails showing it.
    const done = await waitFor(ANSWERED, { from: at.end });
    cursor = done.end;
    // The answered line: the question and the value it took ("✔ AWS region us-east-1").
    return done.match[0].replace(/^[\s✔√]+/, '').trim();
  };

  return {
    get screen() {
      return screen;
    },
    get raw() {
      return raw;
    },
    waitFor,
    async answer(prompt, text) {
      const at = await waitFor(new RegExp(`(?:^|[\\r\\n])[ \\t]*\\? ([^\\r\\n]*(?:${prompt.source})[^\\r\\n]*)`, prompt.flags.replace('g', '')), { from: cursor });
      return answerAt(at, text);
    },
    async enterThrough(until, o = {}) {
      const answered: string[] = [];
      const reached = typeof until === 'function' ? until : () => until.test(screen.slice(cursor));
      for (let i = 0; i < (o.max ?? 20); i += 1) {
        const next = await waitUntil(
          () => (reached() ? 'until' : matchFrom(PROMPT, cursor)),
          `a prompt or ${typeof until === 'function' ? 'the condition' : String(until)}`,
          o.timeoutMs,
        );
        if (next === 'until') return answered;
        answered.push(await answerAt(next, ''));
      }
      throw new Error(`More than ${o.max ?? 20} prompts.\n--- screen (end) ---\n${tail()}`);
    },
    type,
    ctrlC: () => type('\x03'),
    kill,
    result,
  };
}

// Runs the built CLI (`node bin/astro-remote-kpo.js`) as a separate process with exactly the
// given environment (nothing of the developer's AWS_*, KUBECONFIG or PATH leaks in), optional
// stdin, and a generous timeout that kills the child. startCli() gives the live process for
// tests that interrupt it (Ctrl-C → exit 130) or wait for a line of output first.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_BIN = path.join(REPO_ROOT, 'bin', 'astro-remote-kpo.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the process ended by a signal (e.g. the timeout's SIGKILL). */
  signal?: NodeJS.Signals;
  timedOut?: boolean;
}

export interface RunCliOptions {
  env: Record<string, string>;
  cwd: string;
  /** Written to stdin, then stdin is closed. Without it stdin is closed at once (not a TTY). */
  input?: string;
  /** Kill the child after this long (default 120 s). */
  timeoutMs?: number;
  /** Extra node flags, e.g. ['--import', hook]. */
  nodeArgs?: string[];
}

export interface CliProcess {
  child: ChildProcess;
  /** Output so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when stdout+stderr so far match `pattern` (rejects if the process ends first). */
  waitForOutput(pattern: RegExp | string): Promise<void>;
  /** Sends a signal (default SIGINT, as Ctrl-C would). */
  interrupt(signal?: NodeJS.Signals): void;
  result: Promise<CliResult>;
}

export function startCli(args: string[], opts: RunCliOptions): CliProcess {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), CLI_BIN, ...args], {
    cwd: opts.cwd,
    env: { ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const waiters: Array<{ test: (s: string) => boolean; resolve: () => void; reject: (e: Error) => void }> = [];
  const check = () => {
    const all = stdout + stderr;
    for (const w of [...waiters]) {
      if (w.test(all)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
    check();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    check();
  });
  child.stdin!.on('error', () => {
    // The CLI may exit before reading its input; that's its business, not a test failure.
  });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 120_000);

  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ended = true;
      for (const w of waiters.splice(0)) w.reject(new Error(`CLI exited (code ${code}, signal ${signal}) before its output matched\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      resolve({ code: code ?? -1, stdout, stderr, ...(signal ? { signal } : {}), ...(timedOut ? { timedOut } : {}) });
    });
  });

  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    waitForOutput(pattern) {
      const test = (s: string) => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s));
      if (test(stdout + stderr)) return Promise.resolve();
      if (ended) return Promise.reject(new Error(`CLI already exited; output never matched ${String(pattern)}`));
      return new Promise((resolve, reject) => waiters.push({ test, resolve, reject }));
    },
    interrupt(signal = 'SIGINT') {
      child.kill(signal);
    },
    result,
  };
}

export function runCli(args: string[], opts: RunCliOptions): Promise<CliResult> {
  return startCli(args, opts).result;
}

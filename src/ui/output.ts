// Where human output goes. On a TTY: finished stages as permanent ✔/↷/✖ lines and one ora
// spinner naming the running stages with elapsed time and their latest progress line. Without
// a TTY: plain lines. Under --json: the same plain lines on stderr, stdout stays for the JSON.
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import type { Reporter } from '../engine/runner.js';
import { codeLine } from '../errors.js';
import type { AnyStage } from '../engine/stage.js';
import type { StageRecord } from '../engine/state.js';
import type { StageId } from '../types.js';
import { STAGE_IDS } from '../types.js';

export interface Output extends Reporter {
  line(text: string): void;
  warn(text: string): void;
  /** Stop spinner rendering while a prompt owns the terminal. */
  pause(): void;
  resume(): void;
  close(): void;
  readonly chalk: ChalkInstance;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export function stageLabel(id: StageId): string {
  return `${STAGE_IDS.indexOf(id)}·${id}`;
}

export function endLine(chalk: ChalkInstance, stage: AnyStage, rec: StageRecord): string {
  const took = rec.durationMs !== undefined ? chalk.dim(` (${formatDuration(rec.durationMs)})`) : '';
  const label = stageLabel(stage.id);
  switch (rec.status) {
    case 'done':
      return `${chalk.green('✔')} ${label}${took}${rec.summary ? ` ${rec.summary}` : ''}`;
    case 'skipped':
      // A lookup that found its answer did its job: not a skip (e.g. role-arn right after iam-role).
      if (stage.lookup) return `${chalk.green('✔')} ${label}${took} ${rec.reason ?? ''}`;
      return `${chalk.cyan('↷')} ${label}${took} skipped: ${rec.reason ?? 'already done'}`;
    case 'interrupted':
      return `${chalk.yellow('■')} ${label}${took} interrupted`;
    default: {
      // The code last, dim, on its own line (as the top-level error block has it).
      const code = rec.error?.code ? `\n    ${chalk.dim(codeLine(rec.error.code))}` : '';
      return `${chalk.red('✖')} ${label}${took} ${rec.error?.message ?? 'failed'}${rec.error?.hint ? `\n    ${rec.error.hint}` : ''}${code}`;
    }
  }
}

/**
 * Colour level for one stream: none off a terminal (a pipe or a file gets plain text), none with
 * --no-color or NO_COLOR (https://no-color.org: any non-empty value), and FORCE_COLOR wins over
 * both the terminal check and NO_COLOR, as in chalk and Node ("0"/"false" means no colour).
 */
export function colorLevel(o: { isTTY: boolean; flag: boolean; env: Readonly<Record<string, string | undefined>> }): 0 | 1 | 2 | 3 {
  const force = o.env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (!o.flag) return 0;
    const n = Number(force);
    return force === '' || force === 'true' || !Number.isInteger(n) ? 1 : (Math.min(3, Math.max(1, n)) as 1 | 2 | 3);
  }
  if (!o.flag || o.env.NO_COLOR) return 0;
  return o.isTTY ? 2 : 0;
}

export async function createOutput(opts: {
  json: boolean;
  /** false with --no-color. */
  color: boolean;
  env: Readonly<Record<string, string | undefined>>;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}): Promise<Output> {
  // Human lines go to stdout, or to stderr under --json: colour and the spinner depend on THAT
  // stream being a terminal, not on the other one.
  const stream = opts.json ? (opts.stderr ?? process.stderr) : (opts.stdout ?? process.stdout);
  const tty = Boolean(stream.isTTY);
  const chalk = new Chalk({ level: colorLevel({ isTTY: tty, flag: opts.color, env: opts.env }) }) as ChalkInstance;
  const write = opts.json ? (t: string) => process.stderr.write(`${t}\n`) : (t: string) => process.stdout.write(`${t}\n`);
  const warnText = (t: string) => `${chalk.yellow('!')} ${t}`;

  if (!tty || opts.json) {
    const lastProgress = new Map<StageId, { text: string; at: number }>();
    return {
      chalk,
      line: write,
      warn: (t) => write(warnText(t)),
      pause() {},
      resume() {},
      close() {},
      stageStart: (s) => write(`▶ ${stageLabel(s.id)} ${s.title}`),
      stageProgress(id, text) {
        // Plain logs get a line when the text changes, at most every 2 s per stage.
        const prev = lastProgress.get(id);
        const now = Date.now();
        if (prev && (prev.text === text || now - prev.at < 2000)) return;
        lastProgress.set(id, { text, at: now });
        write(`  … ${stageLabel(id)}: ${text}`);
      },
      stageEnd: (s, rec) => {
        write(endLine(chalk, s, rec));
        for (const w of rec.warnings ?? []) write(`  ${warnText(w)}`);
      },
    };
  }

  // The spinner library loads only for a terminal (a CI log or --json never pays for it).
  const { default: ora } = await import('ora');
  const running = new Map<StageId, { started: number; text?: string; expected?: string }>();
  let spinner: Ora | undefined;
  let paused = false;
  const render = () => {
    if (!spinner) return;
    const now = Date.now();
    spinner.text = [...running.entries()]
      .map(([id, r]) => {
        // A long stage says how long it usually takes, once it is clearly doing the long work.
        const expected = r.expected && now - r.started > 10_000 ? ` of ${r.expected}` : '';
        // Never wider than the terminal (a wrapped spinner line cannot be cleared): 60 columns too.
        const room = Math.max(10, Math.min(80, (process.stdout.columns || 100) - 40));
        return `${stageLabel(id)} ${chalk.dim(`${formatDuration(now - r.started)}${expected}`)}${r.text ? chalk.dim(` · ${r.text.slice(0, room)}`) : ''}`;
      })
      .join('   ');
  };
  const timer = setInterval(render, 1000);
  timer.unref();
  const print = (t: string) => {
    if (spinner?.isSpinning) {
      spinner.clear();
      write(t);
      spinner.render();
    } else write(t);
  };
  const sync = () => {
    if (paused) return;
    if (running.size && !spinner) spinner = ora({ text: '', stream: process.stdout, discardStdin: false }).start();
    if (!running.size && spinner) {
      spinner.stop();
      spinner = undefined;
    }
    render();
  };
  return {
    chalk,
    line: print,
    warn: (t) => print(warnText(t)),
    pause() {
      paused = true;
      spinner?.stop();
      spinner = undefined;
    },
    resume() {
      paused = false;
      sync();
    },
    close() {
      clearInterval(timer);
      spinner?.stop();
    },
    stageStart(s) {
      running.set(s.id, { started: Date.now(), ...(s.expected ? { expected: s.expected } : {}) });
      sync();
    },
    stageProgress(id, text) {
      const r = running.get(id);
      if (r) r.text = text;
      render();
    },
    stageEnd(s, rec) {
      running.delete(s.id);
      print(endLine(chalk, s, rec));
      for (const w of rec.warnings ?? []) print(`  ${warnText(w)}`);
      sync();
    },
  };
}

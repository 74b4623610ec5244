// The only place that spawns processes (eksctl, astro). Tests replace the binaries on PATH,
// never this module.
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { findOnPath } from './platform.js';

export interface ExecOptions {
  /** Called with each output line (stdout and stderr interleaved), e.g. for a log file. */
  onLine?: (line: string) => void;
  env?: Record<string, string | undefined>;
  cwd?: string;
  signal?: AbortSignal;
  /** Called once the process has started (not when it could not). */
  onSpawn?: () => void;
}

export interface ExecResult {
  exitCode: number;
  /** Combined output, kept for error messages (the full text also went to onLine). */
  output: string;
}

export interface Exec {
  /** Full path of program `name` on PATH, or undefined (POSIX: src/platform.ts). */
  which(name: string): Promise<string | undefined>;
  run(file: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
}

export function createExec(env: Readonly<Record<string, string | undefined>>): Exec {
  return {
    // The POSIX rule (src/platform.ts): PATH entries, execute permission, no PATHEXT.
    which: (name) => findOnPath(name, env.PATH),
    async run(file, args, opts = {}) {
      // node:child_process, not execa: one spawn of eksctl or astro does not need 110 modules.
      return new Promise<ExecResult>((resolve) => {
        const child = spawn(file, args, {
          env: { ...env, ...opts.env },
          cwd: opts.cwd,
          signal: opts.signal,
          stdio: ['ignore', 'pipe', 'pipe'],
          // Ctrl-C (the signal) stops eksctl the way a terminal would, letting it clean up.
          killSignal: 'SIGINT',
        });
        const all: string[] = [];
        // stdout and stderr each keep their partial last line, so interleaving never splits one.
        const reader = () => {
          let pending = '';
          return {
            data(text: string) {
              all.push(text);
              pending += text;
              const parts = pending.split(/\r?\n/);
              pending = parts.pop() ?? '';
              for (const line of parts) opts.onLine?.(line);
            },
            end() {
              if (pending) opts.onLine?.(pending);
              pending = '';
            },
          };
        };
        const out = reader();
        const err = reader();
        // setEncoding keeps a UTF-8 character split across two chunks whole.
        child.stdout.setEncoding('utf8').on('data', out.data);
        child.stderr.setEncoding('utf8').on('data', err.data);
        // A process that ignores SIGINT is killed 10 s later, so Ctrl-C always ends the run.
        const onAbort = () => setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        child.once('spawn', () => opts.onSpawn?.());
        let spawnError: Error | undefined;
        child.on('error', (e) => {
          spawnError = e; // ENOENT/EACCES, or the abort; 'close' still follows
        });
        child.on('close', (code, signal) => {
          opts.signal?.removeEventListener('abort', onAbort);
          out.end();
          err.end();
          const aborted = opts.signal?.aborted === true;
          const output = all.join('') + (spawnError && !aborted ? `${spawnError.message}\n` : '');
          // A binary that could not start (ENOENT, EACCES) closes with a negative errno: say 127
          // as a shell would.
          const exitCode = aborted ? 130 : spawnError ? 127 : (code ?? (signal ? 128 + osConstants.signals[signal] : 1));
          resolve({ exitCode, output });
        });
      });
    },
  };
}

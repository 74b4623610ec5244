// Process timing and small statistics for the benchmark.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/** GNU time, to read a child's CPU time (Node's spawn does not report rusage). */
export const TIME_BIN = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** CPU ms (user+sys) GNU time wrote to `file`, or undefined. */
export async function readCpuMs(file) {
  try {
    const [u, s] = (await readFile(file, 'utf8')).trim().split('\n').pop().split(' ').map(Number);
    return Number.isFinite(u + s) ? (u + s) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Wall-clock ms on the epoch scale with sub-ms resolution (comparable with `date +%s%N`). */
export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * Runs a command to completion and times it from spawn to exit (stdio drained).
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env: Record<string, string>, cwd: string, timeoutMs?: number, cpuFile?: string }} opts
 * @returns {Promise<{ code: number, stdout: string, stderr: string, ms: number, start: number, end: number }>}
 */
export function timed(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    // With `cpuFile`, GNU time records the process's user+sys CPU seconds (children included).
    const [file, argv] = opts.cpuFile ? [TIME_BIN, ['-f', '%U %S', '-o', opts.cpuFile, cmd, ...args]] : [cmd, args];
    const start = nowMs();
    const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const end = nowMs();
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr, ms: end - start, start, end });
    });
  });
}

/** @param {number[]} xs */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return { n: 0, median: NaN, min: NaN, max: NaN };
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { n, median, min: s[0], max: s[n - 1] };
}

/** "123 ms (110–140)" or "5.21 s (5.18–5.30)". */
export function fmtStats(st, unit = 'ms') {
  if (!st.n) return 'n/a';
  const f = (v) => (unit === 's' ? (v / 1000).toFixed(2) : v.toFixed(0));
  return `${f(st.median)} ${unit} (${f(st.min)}–${f(st.max)})`;
}

export const fmtMs = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`);

// Times every eksctl process the CLI starts, from exec to exit, so the critical path charges
// eksctl's whole life (including the stand-in's own start-up) to eksctl and not to the CLI.
// A two-line sh wrapper placed first on PATH logs `start|end <epoch ns> <pid> …` and execs the
// test cloud's stand-in eksctl.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * @param {Record<string, string>} env the test cloud's environment (its PATH has the stand-in first)
 * @param {string} tmpRoot
 */
export async function eksctlShim(env, tmpRoot) {
  const real = (env.PATH ?? '').split(':').map((d) => path.join(d, 'eksctl')).find((p) => existsSync(p));
  if (!real) throw new Error('the test cloud put no eksctl on its PATH');
  const dir = await mkdtemp(path.join(tmpRoot, 'eksctl-shim-'));
  const logFile = path.join(dir, 'spans.log');
  const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  await writeFile(
    path.join(dir, 'eksctl'),
    [
      '#!/bin/sh',
      `echo "start $(date +%s%N) $$ $*" >> ${q(logFile)}`,
      `${q(real)} "$@"`,
      'rc=$?',
      `echo "end $(date +%s%N) $$ $rc" >> ${q(logFile)}`,
      'exit $rc',
      '',
    ].join('\n'),
  );
  await chmod(path.join(dir, 'eksctl'), 0o755);
  return {
    env: { ...env, PATH: `${dir}:${env.PATH}` },
    /** Completed eksctl processes: label (its arguments), start and end in epoch ms. */
    async spans() {
      const text = existsSync(logFile) ? await readFile(logFile, 'utf8') : '';
      const open = new Map();
      const out = [];
      for (const line of text.split('\n')) {
        const m = /^(start|end) (\d+) (\d+) ?(.*)$/.exec(line);
        if (!m) continue;
        const t = Number(BigInt(m[2]) / 1000n) / 1000;
        if (m[1] === 'start') open.set(m[3], { t, args: m[4] });
        else if (open.has(m[3])) {
          const s = open.get(m[3]);
          open.delete(m[3]);
          out.push({ label: `eksctl ${s.args.split(' ').slice(0, 2).join(' ')}`, start: s.t, end: t, exitCode: Number(m[4]) });
        }
      }
      // Spans are per process; clear the log so the next run of the CLI starts empty.
      await writeFile(logFile, '');
      return out;
    },
  };
}

// Where does the CLI's own time go in a whole run? `node bench/profile.mjs [--rerun] [--window a-b]`
// runs `init` once on the test cloud (5 s eksctl, 30 ms per call) under --cpu-prof and prints
// the CPU time by package / file, optionally only for samples between a and b ms after the
// profile started (e.g. the context stage's window from the stage timeline). With --rerun it
// profiles the idempotent re-run instead of the first run. A diagnosis aid, not part of the bench.
import './ts-hooks.mjs';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { timed } from './measure.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(repo, 'bin', 'astro-remote-kpo.js');
const argv = process.argv.slice(2);
const rerun = argv.includes('--rerun');
const win = argv[argv.indexOf('--window') + 1];
const [wFrom, wTo] = argv.includes('--window') ? win.split('-').map(Number) : [0, Infinity];
const byFile = argv.includes('--files');

const { startTestCloud } = await import('../test/support/cloud.ts');
const cloud = await startTestCloud();
const tmp = await mkdtemp(path.join(os.tmpdir(), 'kpo-prof-'));
try {
  cloud.eksctl.setDurationMs(5000);
  cloud.faults.latency(30);
  const args = ['init', '--non-interactive', '--workload-identity', 'arn:aws:iam::123456789012:role/astro-dep-abc123', '--project-dir', tmp, '--json'];
  const profDir = path.join(tmp, 'prof');
  if (rerun) await timed(process.execPath, [bin, ...args], { env: cloud.env, cwd: tmp });
  const r = await timed(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, bin, ...args], { env: cloud.env, cwd: tmp });
  const json = JSON.parse(r.stdout);
  console.log(`exit ${r.code}, ${r.ms.toFixed(0)} ms wall; ran ${json.ran.join(', ')}`);
  const state = JSON.parse(await readFile(path.join(tmp, '.astro-remote-kpo', 'state.json'), 'utf8'));
  for (const [id, s] of Object.entries(state.stages)) {
    if (s.startedAt) console.log(`  ${id.padEnd(22)} ${(Date.parse(s.startedAt) - r.start).toFixed(0).padStart(6)} → ${(Date.parse(s.finishedAt) - r.start).toFixed(0).padStart(6)} ms  ${s.status}`);
  }
  const file = (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile'));
  const prof = JSON.parse(await readFile(path.join(profDir, file), 'utf8'));
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const bucket = (url, line) => {
    if (!url) return '(native/gc/idle)';
    if (url.includes('/dist/')) url = bundledSource(url, line);
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (m) return byFile ? url.slice(url.lastIndexOf('node_modules/') + 13) : m[1];
    if (url.startsWith('src/')) return byFile ? url : 'src (our code)';
    if (url.startsWith('node:')) return byFile ? url : 'node: internals';
    return url;
  };
  // dist/ is an unminified esbuild bundle: each module's code starts with a `// <source path>`
  // line, so the last such line above a sample's line names the source file it came from.
  const markers = new Map();
  const bundledSource = (url, line) => {
    if (!markers.has(url)) {
      const lines = readFileSync(fileURLToPath(url), 'utf8').split('\n');
      markers.set(url, lines.flatMap((l, i) => (/^\/\/ (src|node_modules)\//.test(l) ? [[i, l.slice(3)]] : [])));
    }
    let found = url.slice(url.indexOf('/dist/') + 1);
    for (const [i, source] of markers.get(url)) {
      if (i > line) break;
      found = source;
    }
    return found;
  };
  // Profile start vs the spawn: startTime is in µs of the process's monotonic clock; report windows
  // relative to the first sample instead.
  const totals = new Map();
  let t = 0;
  let idle = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] / 1000;
    if (t < wFrom || t > wTo) continue;
    const n = nodes.get(prof.samples[i]);
    const name = n.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      idle += prof.timeDeltas[i] / 1000;
      continue;
    }
    const k = bucket(n.callFrame.url, n.callFrame.lineNumber) + (n.callFrame.url ? '' : ` ${name}`);
    totals.set(k, (totals.get(k) ?? 0) + prof.timeDeltas[i] / 1000);
  }
  console.log(`\nCPU by ${byFile ? 'file' : 'package'} in ${wFrom}–${wTo} ms of the profile (idle/program ${idle.toFixed(0)} ms):`);
  for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${v.toFixed(0).padStart(6)} ms  ${k}`);
} finally {
  await cloud.stop();
  await rm(tmp, { recursive: true, force: true });
}

// `npm run bench`: times the BUILT CLI (node bin/astro-remote-kpo.js) as separate processes on
// the loopback test cloud (test/support/) and writes BENCHMARKS.md. Five scenarios (issue 8):
//   1. cold start: --version and --help against `node -e 0`
//   2. whole run with a 5 s stand-in eksctl and 30 ms on every API call, against its critical path
//   3. idempotent re-run after success: wall time and mutating calls (must be 0), against its own
//      critical path (round trips in sequence, calls by operation); once more without --json, so
//      that init's confirmation runs and its reads must reach the stages (same calls)
//   4. resume after a failure at identity-mapping: wall time and which stages re-ran
//   5. the access check in one process against sequential `kubectl auth can-i` processes
//   6. the package: `npm pack` size, `npm install <tarball>` time from a warm cache, installed
//      size and package count (issue 15)
//   7. `demo --yes`: the whole demo's wall time (issue 22)
// Nothing here asserts a time; a run that exits with an unexpected code is reported as a failure.
// Knobs (environment): BENCH_START_RUNS (10), BENCH_WHOLE_RUNS (3), BENCH_RESUME_RUNS (3),
// BENCH_RERUNS (2 per whole run), BENCH_INSTALL_RUNS (3), BENCH_DEMO_RUNS (3), BENCH_OUT (BENCHMARKS.md path),
// BENCH_NO_WRITE=1.
import './ts-hooks.mjs';
import { existsSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installCallClock, installConnectionCounter } from './call-clock.mjs';
import { eksctlShim } from './eksctl-shim.mjs';
import { fmtMs, fmtStats, readCpuMs, stats, TIME_BIN, timed } from './measure.mjs';
import { renderReport } from './report.mjs';
import { analyseWholeRun } from './whole-run.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(repo, 'bin', 'astro-remote-kpo.js');
const int = (v, d) => (v && /^\d+$/.test(v) ? Number(v) : d);
const CFG = {
  startRuns: int(process.env.BENCH_START_RUNS, 10),
  wholeRuns: int(process.env.BENCH_WHOLE_RUNS, 3),
  reruns: int(process.env.BENCH_RERUNS, 2),
  resumeRuns: int(process.env.BENCH_RESUME_RUNS, 3),
  installRuns: int(process.env.BENCH_INSTALL_RUNS, 3),
  demoRuns: int(process.env.BENCH_DEMO_RUNS, 3),
  eksctlMs: 5000,
  latencyMs: 30,
  workloadIdentity: 'arn:aws:iam::123456789012:role/astro-dep-abc123',
  namespace: 'astro-remote-kpo',
  k8sUser: 'AstroRemoteKPO',
  out: process.env.BENCH_OUT ?? path.join(repo, 'BENCHMARKS.md'),
};

const log = (s = '') => process.stdout.write(`${s}\n`);
const kubectlPath = ['/usr/bin/kubectl', ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'kubectl'))].find((p) => existsSync(p));

if (!existsSync(path.join(repo, 'dist', 'cli.js'))) {
  process.stderr.write('dist/cli.js is missing: run `npm run build` first (npm run bench does).\n');
  process.exit(2);
}

// The test cloud, its call log (to stamp arrival/answer times), and the CLI's own stage registry
// and access matrix (from src/ through ts-hooks: dist/ is one bundle) to know what a resume
// should re-run and which questions kubectl must ask.
const callsModule = await import('../src/sim/calls.ts');
installCallClock(callsModule);
const connections = installConnectionCounter(net, tls);
const { startTestCloud } = await import('../test/support/cloud.ts');
const { writeTokenContext } = await import('../src/sim/kubeconfig.ts');
const packInstall = await import('../test/support/pack-install.ts');
const { allStages } = await import('../src/stages/index.ts');
const { accessMatrix } = await import('../src/kube/access.ts');

const tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'kpo-bench-'));
const failures = [];

let cpuSeq = 0;
/** One CLI process; `cpuMs` is its user+sys CPU time including children (eksctl), when GNU time exists. */
async function cli(args, env, cwd) {
  const cpuFile = TIME_BIN ? path.join(tmpRoot, `cpu-${cpuSeq++}.txt`) : undefined;
  const r = await timed(process.execPath, [bin, ...args], { env, cwd, timeoutMs: 180_000, cpuFile });
  return { ...r, cpuMs: cpuFile ? await readCpuMs(cpuFile) : undefined };
}

function initArgs(project, extra = [], json = true) {
  return ['init', '--non-interactive', '--workload-identity', CFG.workloadIdentity, '--project-dir', project, ...(json ? ['--json'] : []), ...extra];
}

function parseJson(stdout) {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

/** A project as `astro dev init` leaves it (trimmed): what the wizard normally runs in. */
async function astroProject(name) {
  const dir = path.join(tmpRoot, name);
  await mkdir(path.join(dir, 'dags'), { recursive: true });
  await mkdir(path.join(dir, '.astro'), { recursive: true });
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM astrocrpublic.azurecr.io/runtime:3.0-1\n');
  await writeFile(path.join(dir, 'requirements.txt'), '');
  await writeFile(path.join(dir, '.astro', 'config.yaml'), 'project:\n  name: bench\n');
  await writeFile(
    path.join(dir, 'airflow_settings.yaml'),
    '# This file allows you to configure Airflow Connections, Pools, and Variables in a single place for local development only.\nairflow:\n  connections: []\n  pools: []\n  variables: []\n',
  );
  return dir;
}

/** A fresh test cloud with the whole-run conditions: 5 s eksctl, 30 ms per API call. */
async function slowCloud() {
  const cloud = await startTestCloud();
  cloud.eksctl.setDurationMs(CFG.eksctlMs);
  cloud.faults.latency(CFG.latencyMs);
  const shim = await eksctlShim(cloud.env, tmpRoot);
  return { cloud, shim, env: shim.env };
}

function note(scenario, what, r) {
  const msg = `${scenario}: ${what} (exit ${r.code})\n${r.stderr.trim().split('\n').slice(-8).join('\n')}`;
  failures.push(msg);
  log(`  ! ${msg.replace(/\n/g, '\n    ')}`);
}

const opKey = (c) => `${c.service} ${c.operation}`;
const countOps = (calls) => {
  const m = new Map();
  for (const c of calls) m.set(opKey(c), (m.get(opKey(c)) ?? 0) + 1);
  return m;
};

// ---------------------------------------------------------------- 1. cold start
async function coldStart() {
  log(`1. cold start (${CFG.startRuns} runs each, interleaved, after one warm-up)`);
  const home = await mkdtemp(path.join(tmpRoot, 'home-'));
  const env = { PATH: process.env.PATH ?? '', HOME: home, CI: 'true', AWS_EC2_METADATA_DISABLED: 'true' };
  const cases = [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: 'astro-remote-kpo --version', args: [bin, '--version'] },
    { name: 'astro-remote-kpo --help', args: [bin, '--help'] },
    { name: 'astro-remote-kpo init --help', args: [bin, 'init', '--help'] },
  ];
  const samples = new Map(cases.map((c) => [c.name, []]));
  for (let i = 0; i <= CFG.startRuns; i++) {
    for (const c of cases) {
      const r = await timed(process.execPath, c.args, { env, cwd: repo });
      if (r.code !== 0) {
        note('cold start', `${c.name} failed`, r);
        continue;
      }
      if (i > 0) samples.get(c.name).push(r.ms);
    }
  }
  const rows = cases.map((c) => ({ name: c.name, st: stats(samples.get(c.name)) }));
  const base = rows[0].st.median;
  for (const r of rows) log(`  ${r.name.padEnd(30)} ${fmtStats(r.st)}  ×${(r.st.median / base).toFixed(2)}`);
  return { rows, base };
}

// ---------------------------------------------------------------- 2, 3, 5 on one cloud per run
async function wholeRuns() {
  log(`\n2. whole run (${CFG.wholeRuns} runs; eksctl ${CFG.eksctlMs} ms, ${CFG.latencyMs} ms per API call), 3. re-runs, 5. access check`);
  const whole = [];
  const reruns = [];
  const confirmed = [];
  const access = [];
  for (let i = 0; i < CFG.wholeRuns; i++) {
    const { cloud, shim, env } = await slowCloud();
    try {
      const project = await astroProject(`whole-${i}`);
      cloud.resetCalls();
      connections.take();
      const r = await cli(initArgs(project), env, project);
      const conns = connections.take();
      const json = parseJson(r.stdout);
      if (r.code !== 0 || !json?.ok) {
        note('whole run', `run ${i + 1} did not succeed`, r);
        continue;
      }
      const a = analyseWholeRun({ run: r, calls: [...cloud.calls], eksctl: await shim.spans(), json, state: await readState(project) });
      a.connections = conns;
      a.cpuMs = r.cpuMs;
      whole.push(a);
      log(`  run ${i + 1}: ${fmtMs(r.ms)}${r.cpuMs !== undefined ? ` (CPU ${fmtMs(r.cpuMs)})` : ''}  critical path ${fmtMs(a.cp.totalMs)}  ×${a.ratio.toFixed(3)}  (${a.apiCalls} API calls, ${a.cp.chain.length} on the path; eksctl create at ${fmtMs(a.eksctlStartAt ?? NaN)})`);

      // 3. the same command again on the finished setup.
      for (let k = 0; k < CFG.reruns; k++) {
        cloud.resetCalls();
        connections.take();
        const rr = await cli(initArgs(project), env, project);
        const conns = connections.take();
        const rj = parseJson(rr.stdout);
        if (rr.code !== 0 || !rj?.ok) note('idempotent re-run', `re-run ${k + 1} after run ${i + 1} did not succeed`, rr);
        const mutating = cloud.mutatingCalls().map(opKey);
        const analysis = rj ? analyseWholeRun({ run: rr, calls: [...cloud.calls], eksctl: await shim.spans(), json: rj, state: await readState(project) }) : undefined;
        reruns.push({ ms: rr.ms, cpuMs: rr.cpuMs, code: rr.code, mutating, connections: conns, calls: cloud.calls.length, ops: countOps(cloud.calls), ran: rj?.ran ?? [], analysis, load: os.loadavg()[0] });
        log(`  re-run: ${fmtMs(rr.ms)}${rr.cpuMs !== undefined ? ` (CPU ${fmtMs(rr.cpuMs)})` : ''}  ${mutating.length} mutating of ${cloud.calls.length} calls; ${analysis ? `critical path ${fmtMs(analysis.cp.totalMs)} ×${analysis.ratio.toFixed(2)}, ${analysis.roundTrips} round trips in sequence; ` : ''}ran: ${(rj?.ran ?? []).join(', ') || '(none)'}`);
      }

      // 3b. the same re-run as a person or a CI log sees it (no --json): init's confirmation runs
      // after preflight and reads the cluster, its node groups, the role and the project files.
      cloud.resetCalls();
      const cr = await cli(initArgs(project, [], false), env, project);
      if (cr.code !== 0) note('idempotent re-run with the confirmation', `after run ${i + 1} it did not succeed`, cr);
      const ca = analyseWholeRun({ run: cr, calls: [...cloud.calls], eksctl: await shim.spans(), json: {}, state: await readState(project) });
      confirmed.push({ ms: cr.ms, calls: cloud.calls.length, ops: countOps(cloud.calls), mutating: cloud.mutatingCalls().map(opKey), analysis: ca });
      log(`  re-run with the confirmation: ${fmtMs(cr.ms)}, ${cloud.calls.length} calls, ${ca.roundTrips} round trips in sequence`);

      // 5. the access check alone, then kubectl auth can-i per question.
      access.push(await accessCheck(cloud, env, project));
    } finally {
      await cloud.stop();
    }
  }
  return { whole, reruns, confirmed, access };
}

async function readState(project) {
  try {
    return JSON.parse(await readFile(path.join(project, '.astro-remote-kpo', 'state.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

const isSar = (c) => c.service === 'kube' && /accessreviews/i.test(c.operation);

async function accessCheck(cloud, env, project) {
  cloud.resetCalls();
  const r = await cli(initArgs(project, ['--only', 'access-check']), env, project);
  const json = parseJson(r.stdout);
  if (r.code !== 0 || !json?.ok) note('access check', '`init --only access-check` did not succeed', r);
  const ours = { ms: r.ms, cpuMs: r.cpuMs, reviews: cloud.calls.filter(isSar).length, calls: cloud.calls.length, ops: countOps(cloud.calls), ran: json?.ran ?? [] };
  const cases = accessMatrix({ namespace: CFG.namespace });
  const out = { ours, cases: cases.length, kubectl: undefined };
  log(`  access check: ${fmtMs(r.ms)}, ${ours.reviews} reviews in ${ours.calls} calls (${cases.length} questions)`);
  if (!kubectlPath) return out;

  // kubectl gets its own kubeconfig with the cluster's static admin token: the cheapest setup
  // kubectl can have (eksctl's context would spawn `aws eks get-token` per invocation), so the
  // comparison favours kubectl. A separate file keeps the CLI's kubeconfig untouched.
  const kubeconfig = path.join(path.dirname(project), `kubectl-${path.basename(project)}.yaml`);
  await writeTokenContext(kubeconfig, { contextName: 'bench-admin', server: cloud.kube.url, caData: cloud.caData, token: cloud.kube.adminToken });
  const base = ['--kubeconfig', kubeconfig, 'auth', 'can-i'];
  cloud.resetCalls();
  let ms = 0;
  let agree = 0;
  const errors = [];
  for (const c of cases) {
    const res = `${c.subresource ? `${c.resource}/${c.subresource}` : c.resource}${c.group ? `.${c.group}` : ''}`;
    const scope = c.namespace ? ['-n', c.namespace] : ['--all-namespaces'];
    const k = await timed(kubectlPath, [...base, c.verb, res, ...scope, '--as', CFG.k8sUser], { env, cwd: project, timeoutMs: 30_000 });
    ms += k.ms;
    const answer = k.stdout.trim().split('\n').pop();
    if (answer !== 'yes' && answer !== 'no') errors.push(`${c.verb} ${res}: exit ${k.code} ${k.stderr.trim().split('\n').pop() ?? ''}`);
    else if ((answer === 'yes') === (c.expect === 'allowed')) agree++;
  }
  out.kubectl = { ms, reviews: cloud.calls.filter(isSar).length, calls: cloud.calls.length, ops: countOps(cloud.calls), agree, errors };
  log(`  kubectl auth can-i ×${cases.length}: ${fmtMs(ms)}, ${out.kubectl.reviews} reviews in ${out.kubectl.calls} calls; ${agree}/${cases.length} answers as expected${errors.length ? `; ${errors.length} errors, first: ${errors[0]}` : ''}`);
  return out;
}

// ---------------------------------------------------------------- 4. resume
function descendants(id) {
  const out = new Set();
  const walk = (x) => {
    for (const s of allStages) {
      if (s.needs.includes(x) && !out.has(s.id)) {
        out.add(s.id);
        walk(s.id);
      }
    }
  };
  walk(id);
  return out;
}

async function resumeRuns() {
  log(`\n4. resume after a failure at identity-mapping (${CFG.resumeRuns} runs)`);
  const checkless = allStages.filter((s) => !s.check).map((s) => s.id);
  const expected = new Set(['identity-mapping', ...descendants('identity-mapping')]);
  const results = [];
  for (let i = 0; i < CFG.resumeRuns; i++) {
    const { cloud, env } = await slowCloud();
    try {
      const project = await astroProject(`resume-${i}`);
      // Not retryable (an SDK retries 5xx and throttling): the stage must fail on the first try.
      cloud.faults.failNth('CreateAccessEntry', 1, {
        code: 'AccessDeniedException',
        status: 403,
        message: 'User: arn:aws:iam::123456789012:user/bench is not authorized to perform: eks:CreateAccessEntry',
      });
      const first = await cli(initArgs(project), env, project);
      const fj = parseJson(first.stdout);
      const failedAt = (fj?.stages ?? []).filter((s) => s.status === 'failed').map((s) => s.id);
      if (first.code !== 1 || failedAt.join() !== 'identity-mapping') {
        note('resume', `run ${i + 1}: the injected failure did not fail exactly identity-mapping (failed: ${failedAt.join(', ') || 'none'})`, first);
        continue;
      }
      cloud.resetCalls();
      const r = await cli(initArgs(project), env, project);
      const rj = parseJson(r.stdout);
      if (r.code !== 0 || !rj?.ok) note('resume', `re-run ${i + 1} did not succeed`, r);
      const ran = rj?.ran ?? [];
      const unexpected = ran.filter((id) => !expected.has(id) && !checkless.includes(id));
      const missing = [...expected].filter((id) => !ran.includes(id));
      const skipped = (rj?.stages ?? []).filter((s) => s.status === 'skipped').map((s) => s.id);
      results.push({ firstMs: first.ms, ms: r.ms, cpuMs: r.cpuMs, ran, unexpected, missing, skipped, mutating: cloud.mutatingCalls().map(opKey), calls: cloud.calls.length, ops: countOps(cloud.calls) });
      log(`  run ${i + 1}: failed run ${fmtMs(first.ms)}, resume ${fmtMs(r.ms)}; ran: ${ran.join(', ')}${unexpected.length ? `; UNEXPECTED: ${unexpected.join(', ')}` : ''}${missing.length ? `; MISSING: ${missing.join(', ')}` : ''}`);
    } finally {
      await cloud.stop();
    }
  }
  return { results, expected: [...expected], checkless };
}

// ---------------------------------------------------------------- 6. the package
async function packageFigures() {
  log(`\n6. the package (npm pack; npm install <tarball> into an empty folder, ${CFG.installRuns} runs after one warm-up)`);
  const dir = await mkdtemp(path.join(tmpRoot, 'package-'));
  const packed = await packInstall.packRepo(dir);
  const installs = [];
  let last;
  for (let i = 0; i <= CFG.installRuns; i++) {
    const target = path.join(dir, `app-${i}`);
    const r = await packInstall.installTarball(packed.tarball, target);
    if (r.code !== 0) {
      note('package', `npm install <tarball> (run ${i})`, r);
      continue;
    }
    if (i > 0) installs.push(r.ms); // run 0 warms npm's cache
    last = target;
  }
  const out = { tarball: packed.size, unpacked: packed.unpackedSize, files: packed.files.length, installs };
  if (last) {
    out.installedBytes = await packInstall.diskUsage(path.join(last, 'node_modules'));
    out.packages = await packInstall.installedPackages(last);
  }
  log(`  tarball ${(out.tarball / 1e6).toFixed(2)} MB (${out.files} files), installed ${((out.installedBytes ?? NaN) / 1e6).toFixed(1)} MB in ${out.packages?.length ?? '?'} packages; npm install ${installs.length ? fmtStats(stats(installs), 's') : 'failed'}`);
  return out;
}

// ---------------------------------------------------------------- 7. the demo
async function demoRuns() {
  log(`\n7. demo --yes (${CFG.demoRuns} runs): the simulation, init, status, verify, destroy`);
  const ms = [];
  for (let i = 0; i < CFG.demoRuns; i++) {
    const dir = await mkdtemp(path.join(tmpRoot, 'demo-'));
    // As a newcomer runs it: no AWS or kube variable, a HOME and TMPDIR of its own.
    const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: dir, TMPDIR: dir };
    const r = await cli(['demo', '--yes', '--json'], env, dir);
    if (r.code !== 0) note('demo', `demo --yes (run ${i})`, r);
    else ms.push(r.ms);
  }
  log(`  wall time ${ms.length ? fmtStats(stats(ms), 's') : 'failed'}`);
  return { ms };
}

// ---------------------------------------------------------------- main
const started = Date.now();
const loadBefore = os.loadavg()[0];
try {
  const cold = await coldStart();
  const wr = await wholeRuns();
  const resume = await resumeRuns();
  const pkg = await packageFigures();
  const demo = await demoRuns();
  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    os: `${os.type()} ${os.release()}`,
    kubectl: kubectlPath,
    benchSeconds: (Date.now() - started) / 1000,
    load: `${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after (1-min load average)`,
  };
  const md = renderReport({ cfg: CFG, machine, cold, ...wr, resume, pkg, demo, failures });
  log(`\n${md}`);
  if (process.env.BENCH_NO_WRITE !== '1') {
    await writeFile(CFG.out, md);
    log(`wrote ${path.relative(process.cwd(), CFG.out) || CFG.out} in ${machine.benchSeconds.toFixed(0)} s`);
  }
} finally {
  await rm(tmpRoot, { recursive: true, force: true });
}
process.exit(failures.length ? 1 : 0);

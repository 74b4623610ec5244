// The files init writes, under Ctrl-C: a SIGINT at many moments of a run (before the command is
// ready, between cloud calls, and the instant a temp file of airflow_settings.yaml, state.json, a
// manifest, a DAG or an ignore file appears) always ends with exit 130 and no `*.tmp` anywhere in
// the project. Temp files have the target's mode from the start; .astro-remote-kpo/ is 0700 with
// 0600 files; .gitignore and .dockerignore gain the state dir with every existing byte kept.
import { watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { failureCodes } from '../support/failure.js';
import { runCli, startCli } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const clouds: TestCloud[] = [];
const project = useTempProjects('kpo-files-e2e-', async () => {
  for (const c of clouds.splice(0)) await c.stop();
});

// A 0600 settings file holding a password, CRLF line endings and a BOM, large enough (a long
// comment) that its write takes a while: the window a Ctrl-C must not leak it through.
const SETTINGS =
  '\uFEFF# local only\r\nairflow:\r\n  connections:\r\n    - conn_id: pg\r\n      conn_type: postgres\r\n      conn_password: "hunter2"\r\n' +
  `${'#'.repeat(200)}\r\n`.repeat(20_000) +
  '  pools: []\r\n';

async function allFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String);
}

const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);

async function newProject(): Promise<{ cloud: TestCloud; dir: string }> {
  const cloud = await startTestCloud();
  clouds.push(cloud);
  // Every API answer takes a while: the run is long enough to be interrupted anywhere.
  cloud.faults.latency(60);
  const dir = await project();
  await writeFile(path.join(dir, 'airflow_settings.yaml'), SETTINGS, { mode: 0o600 });
  await writeFile(path.join(dir, '.gitignore'), '.env\r\nlogs/'); // CRLF, no final newline
  await writeFile(path.join(dir, '.dockerignore'), 'astro\n.git\n');
  // The folders exist up front so the test's recursive watch sees every file in them from the
  // start (Node adds watches for folders created later asynchronously, and can miss a first file).
  for (const d of ['k8s', 'dags', '.astro-remote-kpo']) await mkdir(path.join(dir, d), { mode: 0o755 });
  return { cloud, dir };
}

type Moment = { after: number } | { tmp: RegExp; nth?: number; twice?: boolean };

/** Runs init, interrupts it at `moment`, and returns the result plus the modes of temp files seen. */
async function interruptAt(moment: Moment) {
  const { cloud, dir } = await newProject();
  const cli = startCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
  const seen: string[] = [];
  let watcher: FSWatcher | undefined;
  let fired = false;
  let ended = false;
  const fire = () => {
    if (!fired) {
      cli.interrupt('SIGINT');
      // Ctrl-C twice: init kills itself at once (SIGKILL), after removing our temp files.
      if ('twice' in moment && moment.twice) setTimeout(() => cli.interrupt('SIGINT'), 5);
    }
    fired = true;
  };
  if ('after' in moment) {
    setTimeout(fire, moment.after);
  } else {
    const names = new Set<string>();
    const saw = (name: string) => {
      if (!moment.tmp.test(name) || names.has(name)) return;
      names.add(name);
      if (names.size === (moment.nth ?? 1)) fire();
      // The temp file's mode, as early as we can see it.
      stat(path.join(dir, name)).then(
        (s) => seen.push(`${name} ${(s.mode & 0o777).toString(8)}`),
        () => undefined,
      );
    };
    watcher = watch(dir, { recursive: true }, (_event, name) => name && saw(String(name)));
    // inotify events can be dropped on a busy machine: poll as well.
    const poll = async () => {
      while (!fired && !ended) {
        for (const d of ['', 'k8s', 'dags', '.astro-remote-kpo']) {
          for (const f of await readdir(path.join(dir, d)).catch(() => [])) saw(d ? `${d}/${f}` : f);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    void poll();
  }
  const r = await cli.result;
  ended = true;
  watcher?.close();
  return { r, dir, seen, fired, cloud };
}

describe('files under Ctrl-C', { timeout: 600_000 }, () => {
  it('a SIGINT sweep over a whole run never leaves a temp file, and always exits 130', async () => {
    const moments: Array<[string, Moment]> = [
      ['while starting', { after: 30 }],
      ['during option parsing', { after: 150 }],
      ['early in the run', { after: 400 }],
      ['among the first cloud calls', { after: 700 }],
      ['mid-run', { after: 1000 }],
      ['later', { after: 1400 }],
      ['the first state.json write', { tmp: /state\.json\..*\.tmp$/ }],
      ['the 3rd state.json write', { tmp: /state\.json\..*\.tmp$/, nth: 3 }],
      ['the 8th state.json write', { tmp: /state\.json\..*\.tmp$/, nth: 8 }],
      ['the airflow_settings.yaml write', { tmp: /airflow_settings\.yaml\..*\.tmp$/ }],
      ['a k8s/ manifest write', { tmp: /^k8s\/\..*\.tmp$/, nth: 2 }],
      ['a DAG write', { tmp: /^dags\/\..*\.tmp$/ }],
      ['the .gitignore write', { tmp: /^\.\.gitignore\..*\.tmp$/ }],
      ['the project-files hash store write', { tmp: /project-files\.json\..*\.tmp$/ }],
      ['Ctrl-C twice during the airflow_settings.yaml write', { tmp: /airflow_settings\.yaml\..*\.tmp$/, twice: true }],
    ];
    const results: string[] = [];
    for (const [what, moment] of moments.filter(([w]) => !process.env.KPO_MOMENT || w.includes(process.env.KPO_MOMENT))) {
      // A temp file lives for a millisecond or so; on a busy machine both the watch and the poll can
      // miss it. Then the run was never interrupted there and proves nothing: run it again (a fresh
      // project), up to three times; the assertions below are the same for the run that counts.
      let run = await interruptAt(moment);
      for (let attempt = 2; !run.fired && 'tmp' in moment && attempt <= 3; attempt++) run = await interruptAt(moment);
      const { r, dir, seen, fired } = run;
      const leftovers = (await allFiles(dir)).filter((f) => f.endsWith('.tmp') || f.includes('.tmp.') || f.includes('probe'));
      // What a shell reports as $?: a process Ctrl-C ends before its own code has loaded (Node's
      // default action, nothing written yet) is 128+2 = 130 too.
      const status = r.signal === 'SIGINT' ? 130 : r.code;
      const twice = 'twice' in moment && moment.twice;
      results.push(`${what}: exit ${status}${r.signal ? ` (${r.signal})` : ''}, leftovers ${leftovers.length}`);
      expect(fired, `${what}: the moment never came\n${r.stdout}${r.stderr}\n${(await allFiles(dir)).join(' ')}`).toBe(true);
      expect(leftovers, what).toEqual([]);
      // Twice: 130 when the first Ctrl-C already finished the run, else the forced SIGKILL.
      if (twice) expect([130, 'SIGKILL'], `${what}\n${r.stdout}${r.stderr}`).toContain(r.signal ?? status);
      else expect(status, `${what}\n${r.stdout}${r.stderr}`).toBe(130);
      expect(failureCodes(r), what).not.toContain('UNEXPECTED');
      // No temp copy of a private file was ever more open than its target.
      for (const s of seen.filter((x) => /airflow_settings|state\.json|project-files\.json/.test(x))) expect(s, what).toMatch(/ 600$/);
      // The user's settings file is intact and still private.
      const settings = await readFile(path.join(dir, 'airflow_settings.yaml'), 'utf8');
      expect(settings.startsWith('\uFEFF# local only\r\n'), what).toBe(true);
      expect(await mode(path.join(dir, 'airflow_settings.yaml'))).toBe('600');
      // State that exists parses (the atomic write never leaves half a file).
      const state = await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8').catch(() => undefined);
      if (state !== undefined) expect(() => JSON.parse(state) as unknown, what).not.toThrow();
    }
    if (!process.env.KPO_MOMENT) expect(results).toHaveLength(15);
    console.log(results.join('\n'));
  });

  it('a full run: byte-exact settings edit, 0600 kept, private state folder, both ignore files', async () => {
    const { cloud, dir } = await newProject();
    cloud.faults.clear();
    const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // airflow_settings.yaml: our entry inserted, every other byte (BOM, CRLF, password) kept.
    const after = await readFile(path.join(dir, 'airflow_settings.yaml'), 'utf8');
    const at = SETTINGS.indexOf('#####');
    expect(after.slice(0, at)).toBe(SETTINGS.slice(0, at).replace(/(?=#{200})/, ''));
    expect(after.endsWith(SETTINGS.slice(at))).toBe(true);
    const inserted = after.slice(at, after.length - (SETTINGS.length - at));
    expect(inserted).toMatch(/^ {4}- conn_id: aws_eks\r\n {6}conn_type: aws\r\n/);
    expect(inserted.replace(/\r\n/g, '')).not.toContain('\n');
    expect(await mode(path.join(dir, 'airflow_settings.yaml'))).toBe('600');
    // .astro-remote-kpo/: 0700 folders, 0600 files (state, lock is gone, debug log, eksctl log).
    const stateDir = path.join(dir, '.astro-remote-kpo');
    const entries = await allFiles(stateDir);
    expect(entries).toEqual(expect.arrayContaining(['state.json', 'logs/debug.log', 'logs/eksctl-create-cluster.log', 'project-files.json']));
    for (const e of entries) {
      const s = await stat(path.join(stateDir, e));
      expect(`${e} ${(s.mode & 0o777).toString(8)}`).toBe(`${e} ${s.isDirectory() ? '700' : '600'}`);
    }
    expect(await mode(stateDir)).toBe('700');
    // Ignore files: appended to, every existing byte kept, the file's own line ending used.
    expect(await readFile(path.join(dir, '.gitignore'), 'utf8')).toBe('.env\r\nlogs/\r\n# astro-remote-kpo state, logs and backups (local to this machine)\r\n.astro-remote-kpo/\r\n');
    expect(await readFile(path.join(dir, '.dockerignore'), 'utf8')).toBe('astro\n.git\n# astro-remote-kpo state (never ship it in the image)\n.astro-remote-kpo/\n');
  });

  it('every settings shape through the real CLI: only insertions (and a replaced null) outside our entry', async () => {
    const shapes: Array<[string, string, string]> = [
      ['connections: null', 'airflow:\n  connections: null   # none yet\n  pools: []\n', 'null'],
      ['flow list', 'airflow:\n  connections: [{conn_id: pg, conn_type: postgres, conn_password: "p"}]\n', ''],
      ['flow map items, CRLF', 'airflow:\r\n  connections:\r\n    - {conn_id: pg, conn_type: postgres}\r\n', ''],
      ['no airflow key, BOM', '\uFEFF# mine\nother: {a: [1, 2]}\n', ''],
    ];
    for (const [what, text, replaced] of shapes) {
      const { cloud, dir } = await newProject();
      cloud.faults.clear();
      const file = path.join(dir, 'airflow_settings.yaml');
      await writeFile(file, text, { mode: 0o640 });
      await chmod(file, 0o640);
      const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
      expect(r.code, `${what}\n${r.stdout}${r.stderr}`).toBe(0);
      const after = await readFile(file, 'utf8');
      // Take out the replaced token: what is left of the original is a prefix and a suffix of the result.
      const kept = replaced ? text.replace(replaced, '') : text;
      let p = 0;
      while (p < kept.length && kept[p] === after[p]) p++;
      expect(after.endsWith(kept.slice(p)), what).toBe(true);
      expect(after.length, what).toBeGreaterThan(kept.length);
      expect(after, what).toContain('aws_eks');
      expect(after, what).toContain('role_arn: arn:aws:iam::123456789012:role/AstroRemoteKPO');
      if (text.includes('\r\n')) expect(after.replace(/\r\n/g, ''), what).not.toContain('\n');
      expect(await mode(file), what).toBe('640');
    }
  });

  it('an older 0755/0644 state folder is tightened; aws-auth backups are 0600', async () => {
    const { cloud, dir } = await newProject();
    cloud.faults.clear();
    const stateDir = path.join(dir, '.astro-remote-kpo');
    await mkdir(path.join(stateDir, 'logs'), { recursive: true, mode: 0o755 });
    await chmod(stateDir, 0o755);
    await writeFile(path.join(stateDir, 'logs', 'debug.log'), 'old line\n', { mode: 0o644 });
    await cloud.addCluster({ name: 'remote-kpo-demo', authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true });
    const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await mode(stateDir)).toBe('700');
    expect(await mode(path.join(stateDir, 'logs'))).toBe('700');
    expect(await mode(path.join(stateDir, 'logs', 'debug.log'))).toBe('600');
    expect(await readFile(path.join(stateDir, 'logs', 'debug.log'), 'utf8')).toMatch(/^old line\n/);
    const backups = await readdir(path.join(stateDir, 'backups'));
    expect(backups.length).toBeGreaterThan(0);
    expect(await mode(path.join(stateDir, 'backups'))).toBe('700');
    for (const b of backups) expect(await mode(path.join(stateDir, 'backups', b))).toBe('600');
  });
});

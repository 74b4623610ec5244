// E2E (#19, finding 10): temp files of a run killed with kill -9 mid-write (nothing can clean up
// after SIGKILL) are removed by the next run, and only those: the temp files of a live run of ours,
// files named almost like ours, and folders init does not write to are left alone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFailure } from '../support/failure.js';
import { runCli, startCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, requireBuild, WI } from './aws-helpers.js';
import { startCliInPty } from '../support/pty.js';

const cloudProject = useCloudProjects('kpo-e2e-stale-');
const EXISTING = { name: 'remote-kpo-demo', authenticationMode: 'API_AND_CONFIG_MAP', withKubeconfigContext: true } as const;

// Large enough (4 MB) that its write takes a while: the window kill -9 lands in.
const SETTINGS = `# local only\nairflow:\n  connections:\n    - conn_id: pg\n      conn_type: postgres\n      conn_password: "hunter2"\n${`${'#'.repeat(200)}\n`.repeat(20_000)}  pools: []\n`;

const tmpFiles = async (dir: string) => (await readdir(dir, { recursive: true })).map(String).filter((f) => f.endsWith('.tmp'));
/** A pid that ran and is gone. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

let sleeper: ReturnType<typeof spawn>;
beforeAll(() => {
  requireBuild();
  sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
});
afterAll(() => {
  sleeper.kill('SIGKILL');
});

describe('temp files of a killed run', { timeout: 300_000 }, () => {
  it('kill -9 while airflow_settings.yaml is being written: the next run removes the temp file it left and finishes', async () => {
    const { cloud: c, dir } = await cloudProject({ cluster: EXISTING });
    c.faults.latency(20);
    let left: string | undefined;
    // The kill can land after the rename (nothing left): try again, a bounded number of times.
    for (let attempt = 0; attempt < 8 && !left; attempt++) {
      await writeFile(path.join(dir, 'airflow_settings.yaml'), SETTINGS, { mode: 0o600 });
      const run = startCli(initArgs(dir), { env: c.env, cwd: dir });
      let seen: string | undefined;
      let ended = false;
      void run.result.then(() => (ended = true));
      while (!seen && !ended) {
        seen = (await readdir(dir).catch(() => [] as string[])).find((f) => /^\.airflow_settings\.yaml\..*\.tmp$/.test(f));
        if (!seen) await new Promise((r) => setTimeout(r, 1));
      }
      run.interrupt('SIGKILL');
      await run.result;
      if (seen && existsSync(path.join(dir, seen))) left = seen;
    }
    expect(left, 'a kill -9 mid-write left a temp file (8 tries)').toBeDefined();
    // The writer's pid is in the name, and that process is gone.
    const pid = Number(/\.(\d+)-[0-9a-z]+-\d+\.tmp$/.exec(left!)![1]);
    expect(() => process.kill(pid, 0)).toThrow();

    c.faults.clear();
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await tmpFiles(dir)).toEqual([]);
    const settings = await readFile(path.join(dir, 'airflow_settings.yaml'), 'utf8');
    expect(settings).toContain('conn_password: "hunter2"');
    expect(settings).toContain('conn_id: aws_eks');
    const log = await readFile(path.join(dir, '.astro-remote-kpo', 'logs', 'debug.log'), 'utf8');
    expect(log).toContain(`removed ${path.join(dir, left!)}: a temp file of process ${pid}, which no longer runs`);
  });

  it("planted leftovers of a dead pid go in every folder init writes to; a live run's, near-misses and other folders stay", async () => {
    const { cloud: c, dir } = await cloudProject({ cluster: EXISTING });
    const dead = deadPid();
    const live = sleeper.pid!;
    for (const d of ['k8s', 'dags', '.astro-remote-kpo/backups', 'include']) await mkdir(path.join(dir, d), { recursive: true });
    const stale = [
      `.airflow_settings.yaml.${dead}-lq3x9k2a-4.tmp`,
      `.requirements.txt.${dead}-lq3x9k2a-5.tmp`,
      `.astro-remote-kpo-probe-${dead}-lq3x9k2a-1.tmp`,
      `k8s/.namespace.yaml.${dead}-lq3x9k2a-7.tmp`,
      `dags/.remote_kpo.py.${dead}-lq3x9k2a-9.tmp`,
      `.astro-remote-kpo/.state.json.${dead}-lq3x9k2a-2.tmp`,
      `.astro-remote-kpo/backups/.aws-auth-20260101T000000Z.json.${dead}-lq3x9k2a-3.tmp`,
    ];
    const kept = [
      `.airflow_settings.yaml.${live}-lq3x9k2a-4.tmp`, // a live process's: another run of ours
      `k8s/.role.yaml.${live}-lq3x9k2a-8.tmp`,
      `include/.data.csv.${dead}-lq3x9k2a-1.tmp`, // a folder init never writes to
      `.airflow_settings.yaml.${dead}.tmp`, // not our full name
      `dags/.my_dag.py.swp`,
      `k8s/.namespace.yaml.tmp`,
    ];
    for (const f of [...stale, ...kept]) await writeFile(path.join(dir, f), 'partial');
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const f of stale) expect(existsSync(path.join(dir, f)), f).toBe(false);
    for (const f of kept) expect(await readFile(path.join(dir, f), 'utf8'), f).toBe('partial');
    expect((await tmpFiles(dir)).sort()).toEqual(kept.filter((f) => f.endsWith('.tmp')).sort());
  });

  it('a dry run and a run declined at the confirmation remove nothing ("Nothing was changed"); a failed preflight does', async () => {
    const { cloud: c, dir } = await cloudProject({ cluster: EXISTING });
    const planted = `.airflow_settings.yaml.${deadPid()}-lq3x9k2a-4.tmp`;
    await writeFile(path.join(dir, planted), 'partial');
    const plan = await runCli(initArgs(dir, ['--dry-run']), { env: c.env, cwd: dir });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(existsSync(path.join(dir, planted))).toBe(true);

    const interactive = { ...c.env };
    delete interactive.CI;
    const s = startCliInPty(['init', '--workload-identity', WI, '--project-dir', dir], { env: interactive, cwd: dir });
    await s.answer(/EKS cluster name/, '');
    await s.answer(/AWS region/, '');
    await s.answer(/AWS identity of their own/, '');
    await s.answer(/Proceed\?/, 'n');
    const declined = await s.result;
    expect(declined.code, declined.screen).toBe(0);
    expect(declined.screen).toContain('Nothing was changed.');
    expect(existsSync(path.join(dir, planted))).toBe(true);

    // A failed preflight records its failure (state.json), so the run has gone ahead: it cleans up.
    const env = { ...c.env };
    delete env.AWS_ACCESS_KEY_ID;
    const failed = await runCli(initArgs(dir), { env, cwd: dir });
    expectFailure(failed, 'CREDENTIALS_MISSING');
    expect(existsSync(path.join(dir, planted))).toBe(false);
  });
});

// The Amazon provider floor end to end: the built CLI reads the project's Dockerfile and
// requirements.txt, shows in the dry run what it would do, adds one line on Airflow 3 (every
// other byte kept), keeps a lower user pin with a warning, and records either in state.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';

const WI = 'arn:aws:iam::210987654321:role/astro-dep-abc123';
const AF3 = 'FROM astrocrpublic.azurecr.io/runtime:3.1-2\n';
const cloudProject = useCloudProjects('kpo-floor-e2e-');

interface JsonRun {
  stages: Array<{ id: string; status: string; warnings?: string[]; outputs?: Record<string, unknown> }>;
}
const projectFiles = (stdout: string) => (JSON.parse(stdout) as JsonRun).stages.find((s) => s.id === 'project-files')!;
const stateFloor = async (dir: string) =>
  (JSON.parse(await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8')) as { stages: Record<string, { outputs?: { providerFloor?: unknown } }> }).stages['project-files']?.outputs?.providerFloor;

describe('init: the Amazon provider floor in requirements.txt', { timeout: 180_000 }, () => {
  it('Airflow 3: the dry run shows the line; the run adds it and keeps every other byte (CRLF, no final newline); a re-run finds it', async () => {
    const { cloud, dir } = await cloudProject();
    const original = '# pinned by the data team\r\npandas==2.2.0\r\nrequests';
    await writeFile(path.join(dir, 'Dockerfile'), AF3);
    await writeFile(path.join(dir, 'requirements.txt'), original);
    const init = (extra: string[]) => runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir, ...extra], { env: cloud.env, cwd: dir });

    const plan = await init(['--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('add `apache-airflow-providers-amazon>=9.30.0` to requirements.txt');
    expect(plan.stdout).toContain('Airflow 3.1 (Astro Runtime 3.1-2)');
    expect(await readFile(path.join(dir, 'requirements.txt'), 'utf8')).toBe(original);

    const r = await init(['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(path.join(dir, 'requirements.txt'), 'utf8')).toBe(`${original}\r\napache-airflow-providers-amazon>=9.30.0\r\n`);
    expect(projectFiles(r.stdout).outputs).toMatchObject({ written: expect.arrayContaining(['requirements.txt']) as unknown });
    expect(await stateFloor(dir)).toMatchObject({ action: 'added', floor: '9.30.0', line: 'apache-airflow-providers-amazon>=9.30.0' });

    const again = await init(['--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(projectFiles(again.stdout)).toMatchObject({ status: 'skipped', outputs: { providerFloor: { action: 'satisfied' } } });
    expect(await readFile(path.join(dir, 'requirements.txt'), 'utf8')).toBe(`${original}\r\napache-airflow-providers-amazon>=9.30.0\r\n`);
  });

  it('a user pin below the floor is kept and warned about, with the reason (dry run and run)', async () => {
    const { cloud, dir } = await cloudProject();
    const original = 'apache-airflow-providers-amazon==9.5.0  # do not bump before Q3\nboto3\n';
    await writeFile(path.join(dir, 'Dockerfile'), AF3);
    await writeFile(path.join(dir, 'requirements.txt'), original);
    const init = (extra: string[]) => runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir, ...extra], { env: cloud.env, cwd: dir });

    const plan = await init(['--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('keep your apache-airflow-providers-amazon pin in requirements.txt, with a warning');

    const r = await init(['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(path.join(dir, 'requirements.txt'), 'utf8')).toBe(original);
    const warning = projectFiles(r.stdout).warnings?.join('\n') ?? '';
    expect(warning).toContain('requirements.txt line 1 `apache-airflow-providers-amazon==9.5.0  # do not bump before Q3` allows versions below 9.30.0');
    for (const s of ['apache/airflow#50771', 'apache/airflow#53578', 'apache/airflow#64657', 'Kept your pin']) expect(warning).toContain(s);
    expect(await stateFloor(dir)).toMatchObject({ action: 'kept-pin', floor: '9.30.0', line: 'apache-airflow-providers-amazon==9.5.0  # do not bump before Q3' });
  });
});

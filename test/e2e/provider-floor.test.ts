// The provider lines end to end: the built CLI reads the project's Dockerfile and requirements.txt,
// shows in the dry run what it would do, adds exactly the lines that Runtime needs (every other
// byte kept), keeps a lower user pin with a warning, and records each provider in state.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';

const WI = 'arn:aws:iam::210987654321:role/astro-dep-abc123';
const AF3 = 'FROM astrocrpublic.azurecr.io/runtime:3.1-2\n';
const AMAZON = 'apache-airflow-providers-amazon>=9.30.0';
const CNCF = 'apache-airflow-providers-cncf-kubernetes>=7.2.0';
const cloudProject = useCloudProjects('kpo-floor-e2e-');

interface JsonRun {
  stages: Array<{ id: string; status: string; warnings?: string[]; outputs?: Record<string, unknown> }>;
}
const projectFiles = (stdout: string) => (JSON.parse(stdout) as JsonRun).stages.find((s) => s.id === 'project-files')!;
const stateFile = (dir: string) => path.join(dir, '.astro-remote-kpo', 'state.json');
const stateFloor = async (dir: string) =>
  (JSON.parse(await readFile(stateFile(dir), 'utf8')) as { stages: Record<string, { outputs?: { providerFloor?: unknown } }> }).stages['project-files']?.outputs?.providerFloor;

async function project(dockerfile: string, requirements: string) {
  const { cloud, dir } = await cloudProject();
  await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  await writeFile(path.join(dir, 'requirements.txt'), requirements);
  const init = (extra: string[]) => runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir, ...extra], { env: cloud.env, cwd: dir });
  const requirementsNow = () => readFile(path.join(dir, 'requirements.txt'), 'utf8');
  return { cloud, dir, init, requirementsNow };
}

describe('init: the provider lines in requirements.txt', { timeout: 180_000 }, () => {
  it('Runtime 3.x: the dry run shows both lines; the run adds them and keeps every other byte (CRLF, no final newline); a re-run finds them', async () => {
    const original = '# pinned by the data team\r\npandas==2.2.0\r\nrequests';
    const p = await project(AF3, original);

    const plan = await p.init(['--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`add \`${AMAZON}\` to requirements.txt`);
    expect(plan.stdout).toContain(`add \`${CNCF}\` to requirements.txt`);
    expect(plan.stdout).toContain('Airflow 3.1 (Astro Runtime 3.1-2)');
    expect(await p.requirementsNow()).toBe(original);

    const r = await p.init(['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await p.requirementsNow()).toBe(`${original}\r\n${AMAZON}\r\n${CNCF}\r\n`);
    expect(projectFiles(r.stdout).outputs).toMatchObject({ written: expect.arrayContaining(['requirements.txt']) as unknown });
    expect(await stateFloor(p.dir)).toEqual([
      expect.objectContaining({ provider: 'apache-airflow-providers-amazon', action: 'added', floor: '9.30.0', line: AMAZON }),
      expect.objectContaining({ provider: 'apache-airflow-providers-cncf-kubernetes', action: 'added', floor: '7.2.0', line: CNCF }),
    ]);

    const again = await p.init(['--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(projectFiles(again.stdout)).toMatchObject({ status: 'skipped', outputs: { providerFloor: [{ action: 'satisfied' }, { action: 'satisfied' }] } });
    expect(await p.requirementsNow()).toBe(`${original}\r\n${AMAZON}\r\n${CNCF}\r\n`);
  });

  // Each Runtime gets exactly the lines it needs; the team's own lines stay as they were.
  const TEAM = '# team deps\npandas==2.2.0\n';
  const cases: Array<[string, string, string[], RegExp | undefined]> = [
    ['astro-runtime-slim 13 (Airflow 2.11, no providers)', 'FROM quay.io/astronomer/astro-runtime-slim:13.1.0\n', [AMAZON, CNCF], undefined],
    ['astro-runtime 13 (Airflow 2.11, ships both)', 'FROM quay.io/astronomer/astro-runtime:13.1.0\n', [AMAZON], undefined],
    ['astro-runtime 12 (Airflow 2.10, ships both; cannot install 9.30.0)', 'FROM quay.io/astronomer/astro-runtime:12.8.0\n', [], /cannot install apache-airflow-providers-amazon 9\.30\.0 .*Astro Runtime 13 \(Airflow 2\.11\) or 3\.x brings the fix/],
  ];
  for (const [name, dockerfile, lines, warning] of cases) {
    it(`${name}: ${lines.length ? lines.join(' and ') : 'no line'}`, async () => {
      const p = await project(dockerfile, TEAM);
      const r = await p.init(['--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(await p.requirementsNow()).toBe(`${TEAM}${lines.map((l) => `${l}\n`).join('')}`);
      const warnings = projectFiles(r.stdout).warnings?.join('\n') ?? '';
      if (warning) expect(warnings).toMatch(warning);
      else expect(warnings).not.toContain('requirements.txt');
    });
  }

  it('a user pin below the floor is kept and warned about, with the reason; the missing cncf.kubernetes line is still added', async () => {
    const original = 'apache-airflow-providers-amazon==9.5.0  # do not bump before Q3\nboto3\n';
    const p = await project(AF3, original);

    const plan = await p.init(['--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('keep your apache-airflow-providers-amazon pin in requirements.txt, with a warning');

    const r = await p.init(['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await p.requirementsNow()).toBe(`${original}${CNCF}\n`);
    const warning = projectFiles(r.stdout).warnings?.join('\n') ?? '';
    expect(warning).toContain('requirements.txt line 1 `apache-airflow-providers-amazon==9.5.0  # do not bump before Q3` allows versions below 9.30.0');
    for (const s of ['apache/airflow#50771', 'apache/airflow#53578', 'apache/airflow#64657', 'Kept your pin']) expect(warning).toContain(s);
    expect(await stateFloor(p.dir)).toEqual([
      expect.objectContaining({ provider: 'apache-airflow-providers-amazon', action: 'kept-pin', floor: '9.30.0', line: 'apache-airflow-providers-amazon==9.5.0  # do not bump before Q3' }),
      expect.objectContaining({ provider: 'apache-airflow-providers-cncf-kubernetes', action: 'added', line: CNCF }),
    ]);
  });

  it('state from before the cncf.kubernetes line (one providerFloor object) reads as a list; init goes on from it', async () => {
    const p = await project(AF3, `${AMAZON}\n`);
    expect((await p.init([])).code).toBe(0);
    const state = JSON.parse(await readFile(stateFile(p.dir), 'utf8')) as { stages: Record<string, { outputs: Record<string, unknown> }> };
    state.stages['project-files']!.outputs.providerFloor = { action: 'added', floor: '9.30.0', line: AMAZON, note: 'Airflow 3.1 (Astro Runtime 3.1-2): ...' };
    await writeFile(stateFile(p.dir), JSON.stringify(state, null, 2));

    const status = await runCli(['status', '--json', '--project-dir', p.dir], { env: p.cloud.env, cwd: p.dir });
    expect(status.code, status.stderr).toBe(0);
    expect(projectFiles(status.stdout).outputs?.providerFloor).toEqual([{ provider: 'apache-airflow-providers-amazon', action: 'added', floor: '9.30.0', line: AMAZON, note: 'Airflow 3.1 (Astro Runtime 3.1-2): ...' }]);
    const again = await p.init(['--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(projectFiles(again.stdout).outputs?.providerFloor).toEqual([expect.objectContaining({ action: 'satisfied' }), expect.objectContaining({ action: 'satisfied' })]);
  });
});

// The Airflow side end to end: the built CLI, run as a user would, against the loopback test
// cloud. It writes airflow_settings.yaml and the project files (the manifests are exactly what it
// applied), refuses a malformed settings file before touching the cloud, and runs the astro CLI
// for the deployed Deployment when asked.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/AstroRemoteKPO';
const DEP = 'clx1abc2d000008l4ezw5ofno';

let cloud: TestCloud | undefined;
const project = useTempProjects('kpo-airflow-e2e-', async () => {
  await cloud?.stop();
  cloud = undefined;
});

const init = (dir: string, extra: string[] = [], env: Record<string, string> = cloud!.env) =>
  runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir, ...extra], { env, cwd: dir });

const read = (dir: string, rel: string) => readFile(path.join(dir, rel), 'utf8');

interface JsonRun {
  ok: boolean;
  stages: Array<{ id: string; status: string; reason?: string; summary?: string; warnings?: string[]; outputs?: Record<string, unknown> }>;
}
const stage = (run: JsonRun, id: string) => run.stages.find((s) => s.id === id)!;

// Each test runs the CLI up to three times; leave room on a busy 2-core machine.
describe('init: the Airflow side on the test cloud', { timeout: 180_000 }, () => {
  it('writes the connection and every project file; the manifests are what it applied; a re-run changes nothing', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM quay.io/astronomer/astro-runtime:12.8.0\n');
    await writeFile(path.join(dir, '.dockerignore'), 'astro\n.git\n.env\nairflow_settings.yaml\n');
    const r = await init(dir);
    expect(r.code, r.stderr + r.stdout).toBe(0);

    // airflow_settings.yaml: Astro's shape, our entry, the assumed role's real ARN.
    const settings = parse(await read(dir, 'airflow_settings.yaml')) as { airflow: { connections: Array<Record<string, unknown>>; pools: unknown[]; variables: unknown[] } };
    expect(settings.airflow.connections).toEqual([
      { conn_id: 'aws_eks', conn_type: 'aws', conn_host: null, conn_schema: null, conn_login: null, conn_password: null, conn_port: null, conn_extra: { region_name: 'us-east-1', role_arn: ROLE_ARN } },
    ]);
    expect(cloud.aws.role('AstroRemoteKPO')?.arn).toBe(ROLE_ARN);
    // Both deployed-connection forms are printed in the next steps, ready to paste.
    expect(r.stdout).toContain(`astro deployment connection create --deployment-id "$DEPLOYMENT_ID" --conn-id aws_eks --conn-type aws --extra '{"region_name":"us-east-1","role_arn":"${ROLE_ARN}"}'`);
    // Printed once, in the closing next steps; the stages point at them.
    expect(`${r.stdout}${r.stderr}`.split('astro deployment connection create').length - 1).toBe(1);
    const varLine = r.stdout.split('\n').map((l) => l.trim()).find((l) => l.startsWith('astro deployment variable create'))!;
    const envLine = varLine.slice(varLine.indexOf('--secret ') + '--secret '.length);
    const value = execFileSync('sh', ['-c', `${envLine}; printf '%s' "$AIRFLOW_CONN_AWS_EKS"`], { encoding: 'utf8' });
    expect(JSON.parse(value)).toEqual({ conn_type: 'aws', extra: { region_name: 'us-east-1', role_arn: ROLE_ARN } });

    // The k8s/ manifests and IAM policies are exactly what is live in the cloud.
    const kube = cloud.kube;
    const liveRole = kube.role('astro-remote-kpo', 'astro-remote-kpo-role')!;
    const fileRole = parse(await read(dir, 'k8s/role.yaml')) as Record<string, unknown>;
    expect(fileRole.rules).toEqual(liveRole.rules);
    expect(fileRole.metadata).toMatchObject({ name: liveRole.metadata!.name, namespace: 'astro-remote-kpo', labels: liveRole.metadata!.labels });
    const liveBinding = kube.roleBinding('astro-remote-kpo', 'astro-remote-kpo-rolebinding')!;
    const fileBinding = parse(await read(dir, 'k8s/role-binding.yaml')) as Record<string, unknown>;
    expect(fileBinding.subjects).toEqual(liveBinding.subjects);
    expect(fileBinding.roleRef).toEqual(liveBinding.roleRef);
    // (the API server adds kubernetes.io/metadata.name to a namespace's labels itself)
    const fileNs = parse(await read(dir, 'k8s/namespace.yaml')) as { metadata: { name: string; labels: Record<string, string> } };
    expect(fileNs.metadata.name).toBe('astro-remote-kpo');
    expect(kube.namespace('astro-remote-kpo')!.metadata!.labels).toMatchObject(fileNs.metadata.labels);
    const role = cloud.aws.role('AstroRemoteKPO')!;
    expect(JSON.parse(await read(dir, 'k8s/iam-assume-role-policy.json'))).toEqual(JSON.parse(role.trustPolicyRaw));
    expect(JSON.parse(await read(dir, 'k8s/iam-permissions-policy.json'))).toEqual(JSON.parse(role.inline.get('AstroRemoteKPO-eks-describe')!));
    expect(parse(await read(dir, 'k8s/cluster.yaml'))).toMatchObject({ kind: 'ClusterConfig', metadata: { name: 'remote-kpo-demo', region: 'us-east-1' } });

    // The DAGs compile and carry the chosen names; .dockerignore gained the state dir only.
    for (const dag of ['remote_kpo.py', 'test_eks_connectivity.py']) {
      const text = await read(dir, `dags/${dag}`);
      expect(text).toContain('CLUSTER_NAME = "remote-kpo-demo"\n');
      expect(text).toContain('CONN_ID = "aws_eks"\n');
      execFileSync('python3', ['-m', 'py_compile', path.join(dir, 'dags', dag)], { stdio: 'pipe' });
    }
    expect(await read(dir, '.dockerignore')).toBe('astro\n.git\n.env\nairflow_settings.yaml\n# astro-remote-kpo state (never ship it in the image)\n.astro-remote-kpo/\n');

    // A second run: both stages find everything in place and write nothing.
    const before = await Promise.all(['airflow_settings.yaml', 'k8s/role.yaml', 'dags/remote_kpo.py', '.dockerignore'].map(async (f) => (await stat(path.join(dir, f))).mtimeMs));
    const again = await init(dir, ['--json']);
    expect(again.code, again.stderr).toBe(0);
    const run = JSON.parse(again.stdout) as JsonRun;
    expect(stage(run, 'connection')).toMatchObject({ status: 'skipped', reason: 'aws_eks in airflow_settings.yaml is up to date' });
    expect(stage(run, 'project-files')).toMatchObject({ status: 'skipped', outputs: { astroProject: true } });
    const after = await Promise.all(['airflow_settings.yaml', 'k8s/role.yaml', 'dags/remote_kpo.py', '.dockerignore'].map(async (f) => (await stat(path.join(dir, f))).mtimeMs));
    expect(after).toEqual(before);
  });

  it('keeps a user-edited manifest on a re-run (warning), and overwrites it with --force', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    expect((await init(dir)).code).toBe(0);
    const edited = `${await read(dir, 'k8s/role-binding.yaml')}# reviewed by platform team\n`;
    await writeFile(path.join(dir, 'k8s/role-binding.yaml'), edited);

    const kept = await init(dir, ['--json']);
    expect(kept.code, kept.stderr).toBe(0);
    const pf = stage(JSON.parse(kept.stdout) as JsonRun, 'project-files');
    expect(pf.outputs).toMatchObject({ kept: ['k8s/role-binding.yaml'], written: [] });
    expect(pf.warnings?.join('\n')).toContain('kept k8s/role-binding.yaml');
    expect(await read(dir, 'k8s/role-binding.yaml')).toBe(edited);

    const forced = await init(dir, ['--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await read(dir, 'k8s/role-binding.yaml')).not.toContain('reviewed by platform team');
  });

  it('a malformed airflow_settings.yaml stops the run before any cloud call changes anything (exit 2, file untouched)', async () => {
    cloud = await startTestCloud();
    for (const bad of [
      '# my settings\nairflow:\n  connections: {}\n  pools: []\n',
      'airflow:\n  connections:\n    - conn_id: pg\n      conn_extra: {"sslmode": "require"\n  variables: []\n',
    ]) {
      const dir = await project();
      await writeFile(path.join(dir, 'airflow_settings.yaml'), bad);
      cloud.resetCalls();
      const r = await init(dir);
      expectFailure(r, 'SETTINGS_INVALID');
      // Where: file, line and column.
      expect(r.stderr + r.stdout).toMatch(new RegExp(`${path.join(dir, 'airflow_settings.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} line \\d+, column \\d+`));
      expect(cloud.mutatingCalls()).toEqual([]);
      expect(await read(dir, 'airflow_settings.yaml')).toBe(bad);
      await expect(stat(path.join(dir, 'k8s'))).rejects.toMatchObject({ code: 'ENOENT' });
    }
    expect(cloud.aws.role('AstroRemoteKPO')).toBeUndefined();
  });

  it('an empty airflow_settings.yaml gets only our entry; a comment-only one keeps its comments; verify agrees (#19)', async () => {
    cloud = await startTestCloud();
    const entry = (role: string) =>
      `airflow:\n  connections:\n    - conn_id: aws_eks\n      conn_type: aws\n      conn_host:\n      conn_schema:\n      conn_login:\n      conn_password:\n      conn_port:\n      conn_extra:\n        region_name: us-east-1\n        role_arn: ${role}\n`;
    for (const before of ['', '# my local connections go here\n\n']) {
      const dir = await project();
      await writeFile(path.join(dir, 'airflow_settings.yaml'), before);
      const r = await init(dir, ['--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(await read(dir, 'airflow_settings.yaml')).toBe(before + entry(ROLE_ARN));
      expect(stage(JSON.parse(r.stdout) as JsonRun, 'connection').summary).toBe('added connection aws_eks to airflow_settings.yaml');
      const v = await runCli(['verify', '--json', '--project-dir', dir], { env: cloud.env, cwd: dir });
      const rows = (JSON.parse(v.stdout) as { checks: Array<{ id: string; status: string }> }).checks;
      expect(rows.find((c) => c.id === 'connection')?.status).toBe('pass');
    }
  });

  it('a second aws_eks entry added after init: exit 2 before any cloud call, naming both lines; verify says the same (#19)', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    expect((await init(dir)).code).toBe(0);
    const file = path.join(dir, 'airflow_settings.yaml');
    const text = `${await read(dir, 'airflow_settings.yaml')}\n# pasted from a colleague\nairflow_extra: 1\n`.replace('  pools:', '    - conn_id: aws_eks\n      conn_type: aws\n  pools:');
    await writeFile(file, text);
    const state = await read(dir, '.astro-remote-kpo/state.json');
    const lines = text.split('\n');
    const at = lines.map((l, i) => (l.trim() === '- conn_id: aws_eks' ? i + 1 : 0)).filter(Boolean);
    expect(at).toHaveLength(2);
    cloud.resetCalls();
    const r = await init(dir);
    expectFailure(r, 'SETTINGS_DUPLICATE_CONNECTION');
    expect(r.stdout + r.stderr).toContain(`${file} has 2 connections with conn_id aws_eks (line ${at[0]} and line ${at[1]})`);
    expect(cloud.calls).toEqual([]);
    expect(await read(dir, 'airflow_settings.yaml')).toBe(text);
    expect(await read(dir, '.astro-remote-kpo/state.json')).toBe(state);
    const v = await runCli(['verify', '--json', '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(v.code).toBe(1);
    const row = (JSON.parse(v.stdout) as { checks: Array<{ id: string; status: string; detail: string; code?: string }> }).checks.find((c) => c.id === 'connection');
    expect(row).toMatchObject({ status: 'fail', code: 'SETTINGS_DUPLICATE_CONNECTION' });
    expect(JSON.stringify(row)).toContain(`line ${at[0]} and line ${at[1]}`);
  });

  it('--astro-deployment-id with the astro CLI on PATH creates the connection on the Deployment', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    // A stand-in astro: records its arguments, answers like astro does.
    const bin = path.join(dir, 'astro-bin');
    await mkdir(bin);
    const log = path.join(dir, 'astro-args.txt');
    await writeFile(path.join(bin, 'astro'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${log}"\necho "Creating connection $6"\n`);
    await chmod(path.join(bin, 'astro'), 0o755);
    const env = { ...cloud.env, PATH: `${bin}${path.delimiter}${cloud.env.PATH}` };
    const r = await init(dir, ['--astro-deployment-id', DEP, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const args = (await read(dir, 'astro-args.txt')).trimEnd().split('\n');
    expect(args.slice(0, 9)).toEqual(['deployment', 'connection', 'create', '--deployment-id', DEP, '--conn-id', 'aws_eks', '--conn-type', 'aws']);
    expect(args[9]).toBe('--extra');
    expect(JSON.parse(args[10]!)).toEqual({ region_name: 'us-east-1', role_arn: ROLE_ARN });
    expect(stage(JSON.parse(r.stdout) as JsonRun, 'deployment-connection')).toMatchObject({ status: 'done', outputs: { ran: true } });
  });

  it('--astro-deployment-id without the astro CLI: skipped with the command, still exit 0', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    const r = await init(dir, ['--astro-deployment-id', DEP, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = stage(JSON.parse(r.stdout) as JsonRun, 'deployment-connection');
    expect(s.status).toBe('skipped');
    expect(s.reason).toBe('astro CLI not found — run the astro commands in the next steps');
  });

  it('--dry-run shows the connection and files it would write, and writes none of them', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    const r = await init(dir, ['--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`create ${path.join(dir, 'airflow_settings.yaml')} with connection aws_eks`);
    expect(r.stdout).toContain('create k8s/role.yaml');
    expect(r.stdout).toContain('create dags/test_eks_connectivity.py');
    // The plan shows the astro command once (under the connection stage), like the run does.
    expect(r.stdout.split('astro deployment connection create').length - 1).toBe(1);
    expect(cloud.mutatingCalls()).toEqual([]);
    for (const f of ['airflow_settings.yaml', 'k8s', 'dags', '.dockerignore']) await expect(stat(path.join(dir, f))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

// `demo` end to end from the built CLI: it never touches a real account or cluster whatever the
// environment says, --json is one document with each command's own result, --keep keeps only the
// project, and bad input is exit 2 with nothing started. The packed-tarball run is in
// package.test.ts. docs/demo.md.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFailure } from '../support/failure.js';
import { runCli, startCli } from '../support/run-cli.js';
import { requireBuild } from './aws-helpers.js';

let tmp: string;
beforeAll(async () => {
  requireBuild();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kpo-demo-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Every file under `dir` with a hash of its bytes, and its mtime: a run that writes nothing leaves it so. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true })) {
    const p = path.join(dir, e);
    const s = await stat(p);
    out.push(`${e} ${s.mtimeMs} ${s.isFile() ? createHash('sha256').update(await readFile(p)).digest('hex') : 'dir'}`);
  }
  return out.sort();
}

/** A TMPDIR of its own, a clean PATH: what every demo run here starts from. */
async function baseEnv(): Promise<Record<string, string>> {
  return { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, TMPDIR: await mkdtemp(path.join(tmp, 'tmpdir-')), HOME: await mkdtemp(path.join(tmp, 'home-')) };
}

/** What the demo leaves in TMPDIR: nothing (not even Node's compile cache: the launcher leaves it off for demo). */
const leftInTmp = async (env: Record<string, string>) => await readdir(env.TMPDIR!);

interface DemoDoc {
  ok: boolean;
  simulation: boolean;
  steps: Array<{ command: string; exitCode: number; result: { command: string; ok?: boolean; checks?: Array<{ id: string; status: string }>; items?: Array<{ result?: string }> } }>;
  files: { connection: { conn_id: string; conn_type: string; conn_extra: Record<string, string> }; dags: string[]; requirements: string[] } | null;
  left: string[] | null;
  projectDir?: string;
  kept: boolean;
}

describe('demo', () => {
  it('never uses a real endpoint, profile, key or kubeconfig of the environment, and leaves them untouched', async () => {
    // A listener of the test's own, where the environment points every AWS and Kubernetes call: it must see nothing.
    let connections = 0;
    const trap = net.createServer((s) => {
      connections += 1;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    const url = `127.0.0.1:${(trap.address() as net.AddressInfo).port}`;
    try {
      const env = await baseEnv();
      const home = env.HOME!;
      const kubeconfig = path.join(home, '.kube', 'config');
      const kubeBytes = `apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://${url}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: prod\n  context:\n    cluster: prod\n    user: prod\ncurrent-context: prod\nusers:\n- name: prod\n  user:\n    token: real-looking-token\n`;
      await mkdir(path.dirname(kubeconfig), { recursive: true });
      await writeFile(kubeconfig, kubeBytes);
      await mkdir(path.join(home, '.aws'));
      await writeFile(path.join(home, '.aws', 'config'), `[profile prod]\nregion = eu-west-1\nendpoint_url = http://${url}\n`);
      await writeFile(path.join(home, '.aws', 'credentials'), '[prod]\naws_access_key_id = AKIAREALLOOKING00000\naws_secret_access_key = realLookingSecretKey0000000000000000000000\n');
      const homeBefore = await tree(home);
      Object.assign(env, {
        AWS_ENDPOINT_URL: `http://${url}`,
        AWS_ENDPOINT_URL_STS: `http://${url}`,
        AWS_ENDPOINT_URL_IAM: `http://${url}`,
        AWS_ENDPOINT_URL_EKS: `http://${url}`,
        AWS_PROFILE: 'no-such-profile',
        AWS_ACCESS_KEY_ID: 'AKIAREALLOOKING11111',
        AWS_SECRET_ACCESS_KEY: 'realLookingSecretKey1111111111111111111111',
        AWS_SESSION_TOKEN: 'real-looking-session-token',
        AWS_REGION: 'eu-west-1',
        AWS_CONFIG_FILE: path.join(home, '.aws', 'config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(home, '.aws', 'credentials'),
        KUBECONFIG: kubeconfig,
      });
      const cwd = await mkdtemp(path.join(tmp, 'cwd-'));
      const r = await runCli(['demo', '--yes', '--no-color'], { env, cwd, timeoutMs: 120_000 });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      // The real commands ran against the simulation's account and region, not the environment's.
      expect(r.stdout).toContain('arn:aws:iam::123456789012:user/demo-admin');
      expect(r.stdout).not.toContain('eu-west-1');
      expect(connections).toBe(0);
      expect(await readFile(kubeconfig, 'utf8')).toBe(kubeBytes);
      expect(await tree(home)).toEqual(homeBefore);
      expect(await leftInTmp(env)).toEqual([]);
      expect(await readdir(cwd)).toEqual([]);
    } finally {
      trap.close();
    }
  }, 150_000);

  it('--json: one document, each command with its exit code and its own --json result; the simulation holds nothing after destroy', async () => {
    const env = await baseEnv();
    const r = await runCli(['demo', '--json'], { env, cwd: tmp, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as DemoDoc;
    expect(doc).toMatchObject({ ok: true, simulation: true, kept: false, left: [] });
    expect(doc.projectDir).toBeUndefined();
    expect(doc.steps.map((s) => [s.command, s.exitCode, s.result.command])).toEqual([
      ['init', 0, 'init'],
      ['status', 0, 'status'],
      ['verify', 0, 'verify'],
      ['destroy', 0, 'destroy'],
    ]);
    const verify = doc.steps[2]!.result;
    expect(verify.checks!.length).toBeGreaterThan(10);
    expect(verify.checks!.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(doc.steps[3]!.result.items!.every((i) => i.result === 'deleted')).toBe(true);
    expect(doc.files).toMatchObject({
      connection: { conn_id: 'aws_eks', conn_type: 'aws', conn_extra: { region_name: 'us-east-1', role_arn: 'arn:aws:iam::123456789012:role/AstroRemoteKPO' } },
      dags: ['remote_kpo.py', 'test_eks_connectivity.py'],
    });
    // A Runtime 3 image has neither provider: init added both (docs/provider-floor.md).
    expect(doc.files!.requirements).toEqual([expect.stringMatching(/^apache-airflow-providers-amazon>=/), expect.stringMatching(/^apache-airflow-providers-cncf-kubernetes>=/)]);
    // The human lines, first and last the simulation's, went to stderr.
    expect(r.stderr.split('\n')[0]).toMatch(/SIMULATED AWS account and EKS cluster on this machine \(127\.0\.0\.1\)/);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/and nothing left it\.$/);
    expect(await leftInTmp(env)).toEqual([]);
  }, 150_000);

  it('--keep: no destroy, the project folder stays (its path printed), the simulation still ends', async () => {
    const env = await baseEnv();
    const r = await runCli(['demo', '--json', '--keep'], { env, cwd: tmp, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as DemoDoc;
    expect(doc).toMatchObject({ ok: true, kept: true, left: null });
    expect(doc.steps.map((s) => s.command)).toEqual(['init', 'status', 'verify']);
    expect(path.dirname(path.dirname(doc.projectDir!))).toBe(env.TMPDIR);
    expect(r.stderr).toContain(`The project is kept at ${doc.projectDir}`);
    expect((await readdir(doc.projectDir!)).sort()).toEqual(['.astro', '.astro-remote-kpo', '.dockerignore', '.gitignore', 'Dockerfile', 'airflow_settings.yaml', 'dags', 'k8s', 'requirements.txt']);
    // Only the project: the simulation's HOME, kubeconfig and the eksctl shim went with it.
    expect(await readdir(path.dirname(doc.projectDir!))).toEqual(['project']);
    expect(await readFile(path.join(doc.projectDir!, 'Dockerfile'), 'utf8')).toMatch(/^FROM \S+\/runtime:3\.\d+-\d+\n$/);
  }, 150_000);

  it('Ctrl-C during init: exit 130, the simulation stops and its temp folder goes', async () => {
    const env = await baseEnv();
    const p = startCli(['demo', '--yes', '--no-color'], { env, cwd: tmp, timeoutMs: 120_000 });
    await p.waitForOutput(/eksctl create cluster/);
    p.interrupt('SIGINT');
    const r = await p.result;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(130);
    expect(r.stdout).not.toMatch(/\$ astro-remote-kpo status/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/and nothing left it\.$/);
    expect(await leftInTmp(env)).toEqual([]);
  }, 150_000);

  it('bad input: an unknown flag, or --step off a terminal, is exit 2 with nothing started or written', async () => {
    const env = await baseEnv();
    const unknown = await runCli(['demo', '--bogus'], { env, cwd: tmp });
    expectFailure(unknown, 'BAD_COMMAND_LINE');
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const step = await runCli(['demo', '--step'], { env, cwd: tmp });
    expectFailure(step, 'INPUT_INVALID');
    expect(step.stderr).toContain('--step');
    const stepJson = await runCli(['demo', '--step', '--json'], { env, cwd: tmp });
    expectFailure(stepJson, 'INPUT_INVALID');
    expect(JSON.parse(stepJson.stdout)).toMatchObject({ ok: false, exitCode: 2, error: { code: 'INPUT_INVALID' } });
    for (const r of [unknown, step, stepJson]) expect(r.stdout + r.stderr).not.toMatch(/SIMULATED/);
    expect(await leftInTmp(env)).toEqual([]);
  });
});

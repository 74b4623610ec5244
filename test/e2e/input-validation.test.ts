// Every bad input is refused before anything runs: exit 2, a message naming the value, zero calls
// in the test cloud's call log (STS, IAM, EKS, Kubernetes, eksctl), and not one file written.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import type { ErrorCode } from '../../src/errors.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => cloud.stop());
const project = useTempProjects('kpo-validate-e2e-');

/** Every path under `dir` with its size and mode: "nothing written" means this does not change. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const s = await stat(p);
    out.push(`${path.relative(dir, p)} ${s.size} ${(s.mode & 0o777).toString(8)}`);
  }
  return out.sort();
}

/** Runs init in a fresh project (with `files` in it) and asserts the refusal: its code (exit 2)
 * and, where given, the words that name the value and what is allowed. */
async function refused(args: string[], code: ErrorCode, message: RegExp | undefined, files: Record<string, string> = {}, projectDir?: string): Promise<string> {
  const dir = await project();
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const before = await snapshot(dir);
  cloud.resetCalls();
  const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', projectDir ?? dir, ...args], { env: cloud.env, cwd: dir });
  const output = r.stdout + r.stderr;
  expectFailure(r, code);
  if (message) expect(output).toMatch(message);
  expect(cloud.calls.map((c) => `${c.service} ${c.operation}`)).toEqual([]);
  expect(cloud.eksctl.invocations).toEqual([]);
  expect(await snapshot(dir)).toEqual(before);
  for (const [name, text] of Object.entries(files)) expect(await readFile(path.join(dir, name), 'utf8')).toBe(text);
  return output;
}

describe('bad input: exit 2, zero cloud calls, nothing written', { timeout: 240_000 }, () => {
  it('--k8s-user with a prefix or name EKS reserves', async () => {
    for (const user of ['eks:admin', 'system:masters', 'aws:x', 'amazon:x', 'iam:x', 'kubernetes-admin', 'EKS:Admin']) {
      await refused(['--k8s-user', user], 'INPUT_INVALID', new RegExp(`--k8s-user "${user}" is not valid: .*not starting with 'system:', 'eks:', 'aws:', 'amazon:', 'iam:'`));
    }
  });

  it('a system namespace', async () => {
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease']) {
      await refused(['--namespace', ns], 'INPUT_INVALID', new RegExp(`--namespace "${ns}" is not valid: .*not a system namespace`));
    }
  });

  it('a region that is no AWS region, and an identity in another partition than the region', async () => {
    await refused(['--region', 'xx-fake-99'], 'INPUT_INVALID', /--region "xx-fake-99" is not valid: expected an AWS region/);
    await refused(['--region', 'us-fake-1'], 'INPUT_INVALID', /--region "us-fake-1" is not valid/);
    await refused(['--workload-identity', 'arn:aws-cn:iam::123456789012:role/dep', '--region', 'us-east-1'], 'INPUT_INVALID', /"arn:aws-cn:iam::123456789012:role\/dep" is in partition aws-cn, but region "us-east-1" is in partition aws/);
    await refused(['--workload-identity', WI, '--region', 'cn-north-1'], 'INPUT_INVALID', /is in partition aws, but region "cn-north-1" is in partition aws-cn/);
    await refused(['--workload-identity', 'arn:aws-us-gov:iam::123456789012:role/dep', '--region', 'eu-west-1'], 'INPUT_INVALID', /partition aws-us-gov, but region "eu-west-1" is in partition aws\b/);
  });

  it('empty --project-dir and --cluster-config', async () => {
    await refused(['--project-dir', ''], 'INPUT_INVALID', /--project-dir "" is not valid: expected a path/);
    await refused(['--cluster-config', ''], 'INPUT_INVALID', /--cluster-config "" is not valid: expected a path/);
  });

  it('a --project-dir that does not exist (never created), is a file, or cannot be written', async () => {
    const base = await project();
    const missing = path.join(base, 'typo-project');
    await refused([], 'PROJECT_DIR_MISSING', new RegExp(`--project-dir "${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" does not exist`), {}, missing);
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    await refused([], 'PROJECT_DIR_MISSING', /--project-dir "\/sys\/x"/, {}, '/sys/x');
    await refused([], 'PROJECT_DIR_UNUSABLE', /--project-dir "\/sys" cannot be written \(E[A-Z]+\)/, {}, '/sys');
    const file = path.join(base, 'a-file');
    await writeFile(file, 'x');
    await refused([], 'PROJECT_DIR_UNUSABLE', undefined, {}, file);
  });

  it('an airflow_settings.yaml that cannot be edited without rewriting it, or whose aws_eks entry uses a merge key', async () => {
    const merge = 'x: &base {conn_type: aws}\nairflow:\n  connections:\n    - conn_id: aws_eks\n      <<: *base\n      conn_host: h\n';
    const out = await refused([], 'SETTINGS_UNEDITABLE', /the entry uses an alias/, { 'airflow_settings.yaml': merge });
    // The exact entry to add by hand is printed.
    expect(out).toContain('- conn_id: aws_eks');
    expect(out).toContain('role_arn: arn:aws:iam::<account-id>:role/AstroRemoteKPO');
    await refused([], 'SETTINGS_UNEDITABLE', /"airflow" is a flow-style mapping/, { 'airflow_settings.yaml': 'airflow: {pools: []}\r\n' });
    await refused([], 'SETTINGS_INVALID', undefined, { 'airflow_settings.yaml': 'airflow:\n  connections: [\n' });
  });

  it('a value with whitespace in it (#19): refused whole, quoted as given, never split into two', async () => {
    const spaced = 'arn:aws:iam::123456789012:role/a b';
    const whole = (flag: string, v: string) => new RegExp(`${flag} ${JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid \\(it contains whitespace\\): expected `);
    const out = await refused(['--workload-identity', spaced], 'INPUT_INVALID', whole('--workload-identity', spaced));
    expect(out).toContain('(no spaces or wildcards)');
    expect(out).not.toMatch(/"b" is not valid/);
    // A second, good identity does not hide it; a line break or tab pasted in is shown as such.
    await refused(['--workload-identity', `${WI}\n`], 'INPUT_INVALID', whole('--workload-identity', `${WI}\n`));
    await refused(['--workload-identity', 'arn:aws:iam::123456789012:role/x\ty'], 'INPUT_INVALID', whole('--workload-identity', 'arn:aws:iam::123456789012:role/x\ty'));
    // Every other list and ARN-shaped input: the same, whole value quoted.
    await refused(['--astro-deployment-id', 'clx1abc2d000008l4ezw5ofno clx9xyz8w000108l4abcdefgh'], 'INPUT_INVALID', whole('--astro-deployment-id', 'clx1abc2d000008l4ezw5ofno clx9xyz8w000108l4abcdefgh'));
    await refused(['--kube-context', 'arn:aws:eks:us-east-1:123456789012:cluster/my cluster'], 'INPUT_INVALID', whole('--kube-context', 'arn:aws:eks:us-east-1:123456789012:cluster/my cluster'));
    await refused(['--profile', 'my profile'], 'INPUT_INVALID', whole('--profile', 'my profile'));
    await refused(['--iam-role', 'Astro KPO'], 'INPUT_INVALID', whole('--iam-role', 'Astro KPO'));
  });

  it('ASTRO_WORKLOAD_IDENTITY may list several separated by spaces; a part that is no ARN is refused quoting the whole variable', async () => {
    const dir = await project();
    const env = { ...cloud.env, ASTRO_WORKLOAD_IDENTITY: 'arn:aws:iam::123456789012:role/a b' };
    cloud.resetCalls();
    const r = await runCli(['init', '--non-interactive', '--project-dir', dir], { env, cwd: dir });
    expectFailure(r, 'INPUT_INVALID');
    expect(r.stderr).toContain('ASTRO_WORKLOAD_IDENTITY "arn:aws:iam::123456789012:role/a b" is not valid: "b" is not an IAM role ARN; expected an IAM role ARN like');
    expect(cloud.calls).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
    const two = { ...cloud.env, ASTRO_WORKLOAD_IDENTITY: `${WI}  arn:aws:iam::123456789012:role/other` };
    const plan = await runCli(['init', '--non-interactive', '--dry-run', '--project-dir', dir], { env: two, cwd: dir });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain('"arn:aws:iam::123456789012:role/other"');
  });

  it('two entries for the connection in airflow_settings.yaml (#19): both lines named, the file untouched, also for a dry run and --json', async () => {
    const two = '# local dev\nairflow:\n  connections:\n    - conn_id: aws_eks\n      conn_type: aws\n    - conn_id: other\n      conn_type: http\n    - conn_id: aws_eks\n      conn_type: aws\n      conn_extra: {region_name: eu-west-1}\n';
    const files = { 'airflow_settings.yaml': two };
    const line = /airflow_settings\.yaml has 2 connections with conn_id aws_eks \(line 4 and line 8\)/;
    const out = await refused([], 'SETTINGS_DUPLICATE_CONNECTION', line, files);
    expect(out).toContain('Delete all but one of them');
    expect(out).toContain('--conn-id <another id>');
    await refused(['--dry-run'], 'SETTINGS_DUPLICATE_CONNECTION', line, files);
    await refused(['--json'], 'SETTINGS_DUPLICATE_CONNECTION', line, files);
    // The chosen --conn-id twice; the default one twice is then not ours to judge.
    const prod = 'airflow:\n  connections:\n    - conn_id: aws_eks_prod\n    - conn_id: aws_eks_prod\n';
    await refused(['--conn-id', 'aws_eks_prod'], 'SETTINGS_DUPLICATE_CONNECTION', /has 2 connections with conn_id aws_eks_prod \(line 3 and line 4\)/, { 'airflow_settings.yaml': prod });
  });

  it('on a resumed run the refusal prints the exact entry, with the recorded role ARN', async () => {
    const c = await startTestCloud();
    try {
      const dir = await project();
      const first = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: c.env, cwd: dir });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const file = path.join(dir, 'airflow_settings.yaml');
      const text = 'x: &b {conn_type: http}\nairflow:\n  connections:\n    - conn_id: aws_eks\n      <<: *b\n';
      await writeFile(file, text);
      const state = await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8');
      c.resetCalls();
      const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: c.env, cwd: dir });
      expectFailure(r, 'SETTINGS_UNEDITABLE');
      expect(r.stderr).toContain('role_arn: arn:aws:iam::123456789012:role/AstroRemoteKPO');
      expect(r.stderr).not.toContain('<account-id>');
      expect(c.calls).toEqual([]);
      expect(await readFile(file, 'utf8')).toBe(text);
      expect(await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8')).toBe(state);
    } finally {
      await c.stop();
    }
  });

  it('--namespace default is allowed with a warning', async () => {
    const dir = await project();
    const r = await runCli(['init', '--dry-run', '--non-interactive', '--workload-identity', WI, '--namespace', 'default', '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/--namespace default: .*dedicated namespace/);
  });
});

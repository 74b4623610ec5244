// E2E: AWS answers that are not what they seem. verify on an emulator whose
// iam:SimulatePrincipalPolicy is an HTML 404 (moto) falls back to reading the role's policies and
// no row shows SDK parser text; AccessDenied on a role that existed before is a missing
// permission (fails at once, naming it), retried as IAM propagation only right after this run
// created the role.
import { describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';
import { initArgs, requireBuild, WI } from './aws-helpers.js';

interface Row { id: string; status: 'pass' | 'fail' | 'skip'; detail: string; fix?: string; data?: Record<string, unknown>; code?: string }
const SDK_TEXT = /Deserialization error|XML parse error|mismatched tags|\$response|is not valid JSON/;

let cloud: TestCloud | undefined;
const project = useTempProjects('kpo-e2e-unusable-', async () => {
  await cloud?.stop();
  cloud = undefined;
});

async function setup(): Promise<{ c: TestCloud; dir: string }> {
  requireBuild();
  cloud = await startTestCloud({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
  return { c: cloud, dir: await project() };
}

async function verify(c: TestCloud, dir: string): Promise<{ code: number; rows: Row[]; out: string }> {
  const r = await runCli(['verify', '--json', '--project-dir', dir], { env: c.env, cwd: dir });
  return { code: r.code, rows: (JSON.parse(r.stdout) as { checks: Row[] }).checks, out: r.stdout + r.stderr };
}
const rowOf = (rows: Row[], id: string) => rows.find((r) => r.id === id)!;

describe('verify against an emulator without iam:SimulatePrincipalPolicy', () => {
  it("moto's HTML 404: falls back to reading the role's policies, says why, no SDK text anywhere", async () => {
    const { c, dir } = await setup();
    expect((await runCli(initArgs(dir), { env: c.env, cwd: dir })).code).toBe(0);
    c.faults.failNext('SimulatePrincipalPolicy', 1, 'html-404');
    const v = await verify(c, dir);
    expect(v.code, v.out).toBe(0);
    const row = rowOf(v.rows, 'iam-permissions');
    expect(row).toMatchObject({ status: 'pass', data: { method: 'policy-read', matchedBy: ['inline AstroRemoteKPO-eks-describe'] } });
    expect(row.detail).toContain('iam:SimulatePrincipalPolicy gave no usable answer: the endpoint answered iam:SimulatePrincipalPolicy with an unexpected non-AWS response (HTTP 404)');
    expect(v.out).not.toMatch(SDK_TEXT);
    expect(c.calls.filter((x) => x.operation === 'SimulatePrincipalPolicy').map((x) => x.fault)).toEqual(['html-404']);

    // Any other failure of the simulator (here a 500 the SDK gives up on) also falls back.
    c.faults.clear();
    c.faults.failNext('SimulatePrincipalPolicy', 10, '500');
    const v2 = await verify(c, dir);
    expect(rowOf(v2.rows, 'iam-permissions')).toMatchObject({ status: 'pass', data: { method: 'policy-read' } });
    expect(rowOf(v2.rows, 'iam-permissions').detail).toContain('iam:SimulatePrincipalPolicy failed');
    c.faults.clear();
  });

  it('when the fallback reads get HTML too, the row fails with a clear sentence, not a parser error', async () => {
    const { c, dir } = await setup();
    expect((await runCli(initArgs(dir), { env: c.env, cwd: dir })).code).toBe(0);
    c.faults.failNext('SimulatePrincipalPolicy', 3, 'html-404');
    c.faults.failNext('ListRolePolicies', 3, 'html-404');
    const v = await verify(c, dir);
    expect(v.code).toBe(1);
    const row = rowOf(v.rows, 'iam-permissions');
    expect(row).toMatchObject({ status: 'fail', code: 'AWS_UNUSABLE_ANSWER' });
    // Which call got which answer, in one sentence.
    expect(row.detail).toBe('the endpoint answered iam:ListRolePolicies with an unexpected non-AWS response (HTTP 404); is this API implemented by your emulator?');
    expect(v.out).not.toMatch(SDK_TEXT);
  });
});

describe('any command, any AWS call', () => {
  it('init --dry-run with an HTML 404 for iam:GetRole: the plan names the call, never the SDK parser text', async () => {
    const { c, dir } = await setup();
    c.faults.failNext('GetRole', 10, 'html-404');
    const r = await runCli([...initArgs(dir), '--dry-run', '--no-color'], { env: c.env, cwd: dir });
    const out = r.stdout + r.stderr;
    expect(out).toContain('the endpoint answered iam:GetRole with an unexpected non-AWS response (HTTP 404); is this API implemented by your emulator?');
    expect(out).not.toMatch(SDK_TEXT);
    c.faults.clear();
  });
});

describe('AccessDenied is not IAM propagation', () => {
  const denied = { code: 'AccessDenied', status: 403, message: 'User: arn:aws:iam::123456789012:user/test-admin is not authorized to perform: iam:PutRolePolicy on resource: role AstroRemoteKPO' };

  it('on a role that existed before: fails at once (one attempt), naming iam:PutRolePolicy and the role', async () => {
    const { c, dir } = await setup();
    c.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: WI }, Action: 'sts:AssumeRole' }] } });
    c.faults.failNext('PutRolePolicy', 20, { ...denied, message: 'Access denied' });
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expectFailure(r, 'AWS_ACCESS_DENIED');
    expect(c.calls.filter((x) => x.operation === 'PutRolePolicy')).toHaveLength(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain('may not call iam:PutRolePolicy on IAM role AstroRemoteKPO');
    expect(out).not.toContain('waiting for IAM propagation');
    c.faults.clear();
  });

  it('right after this run created the role: retried as propagation, then succeeds', async () => {
    const { c, dir } = await setup();
    c.faults.failNth('PutRolePolicy', 1, denied);
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(c.calls.filter((x) => x.operation === 'PutRolePolicy').map((x) => x.status)).toEqual([403, 200]);
    expect(c.aws.inlinePolicy('AstroRemoteKPO', 'AstroRemoteKPO-eks-describe')).toBeDefined();
  });

  it('GetRole denied in the role-arn stage on an existing role: one attempt, the permission named', async () => {
    const { c, dir } = await setup();
    expect((await runCli(initArgs(dir), { env: c.env, cwd: dir })).code).toBe(0);
    c.faults.failNth('GetRole', 1, { code: 'AccessDenied', status: 403, message: 'Access denied' });
    c.resetCalls();
    const r = await runCli([...initArgs(dir), '--only', 'role-arn', '--json'], { env: c.env, cwd: dir });
    expectFailure(r, 'AWS_ACCESS_DENIED');
    // AWS's own name for it stays available to scripts.
    expect((JSON.parse(r.stdout) as { error: { awsCode?: string } }).error.awsCode).toMatch(/^AccessDenied/);
    expect(r.stdout + r.stderr).toContain('may not call iam:GetRole on IAM role AstroRemoteKPO');
    expect(c.calls.filter((x) => x.operation === 'GetRole').map((x) => x.status)).toEqual([403]);
  });
});

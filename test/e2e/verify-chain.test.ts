// `verify` end to end on the loopback test cloud: the real built CLI after a real `init`, then
// each link of the chain broken in the cloud itself, one at a time. Every run must make zero
// mutating calls, print all rows, and fail exactly the row of the broken link.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/AstroRemoteKPO';
const NS = 'astro-remote-kpo';

interface Row { id: string; status: 'pass' | 'fail' | 'skip' | 'warn'; detail: string; fix?: string; data?: Record<string, unknown>; code?: string }
interface VerifyDoc { command: string; ok: boolean; exitCode: number; checks: Row[] }

let cloud: TestCloud | undefined;
const project = useTempProjects('kpo-verify-e2e-', async () => {
  await cloud?.stop();
  cloud = undefined;
});

async function init(dir: string, extra: string[] = []): Promise<void> {
  const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir, ...extra], { env: cloud!.env, cwd: dir });
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

/** Runs verify --json; asserts it made no mutating call and printed one JSON document. */
async function verify(dir: string, extra: string[] = []): Promise<{ code: number; doc: VerifyDoc; stderr: string }> {
  cloud!.resetCalls();
  const r = await runCli(['verify', '--json', '--project-dir', dir, ...extra], { env: cloud!.env, cwd: dir });
  expect(cloud!.mutatingCalls(), 'verify must not change anything').toEqual([]);
  expect(cloud!.calls.length).toBeGreaterThan(0);
  return { code: r.code, doc: JSON.parse(r.stdout) as VerifyDoc, stderr: r.stderr };
}

const notPassing = (doc: VerifyDoc) => doc.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}:${c.status}`);
const row = (doc: VerifyDoc, id: string) => doc.checks.find((c) => c.id === id)!;

describe('verify after init', () => {
  it('passes every row (human table and --json) and makes no mutating call', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    await init(dir);

    cloud.resetCalls();
    const human = await runCli(['verify', '--no-color', '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(cloud.mutatingCalls()).toEqual([]);
    const lines = human.stdout.split('\n').filter((l) => /^[✔✖–] /.test(l));
    expect(lines).toHaveLength(13);
    expect(lines.every((l) => l.startsWith('✔ '))).toBe(true);
    expect(human.stdout).toContain('All 13 checks passed');

    const { code, doc } = await verify(dir);
    expect(code).toBe(0);
    expect(doc).toMatchObject({ command: 'verify', ok: true, exitCode: 0 });
    expect(doc.checks.map((c) => c.id)).toEqual([
      'credentials', 'cluster', 'endpoint-access', 'kube-api', 'iam-trust', 'iam-permissions', 'mapping', 'namespace', 'k8s-role', 'role-binding', 'access-matrix', 'connection', 'dags',
    ]);
    expect(notPassing(doc)).toEqual([]);
    expect(row(doc, 'iam-permissions').data).toMatchObject({ method: 'SimulatePrincipalPolicy', decision: 'allowed' });
    expect(row(doc, 'mapping').detail).toContain(`EKS access entry ${ROLE_ARN} → user AstroRemoteKPO`);
    const matrix = row(doc, 'access-matrix').data as { method: string; rows: Array<{ ok: boolean; expect: string }> };
    expect(matrix.method).toBe('SubjectAccessReview');
    expect(matrix.rows.filter((r) => r.expect === 'allowed')).toHaveLength(11);
    expect(matrix.rows.every((r) => r.ok)).toBe(true);
  });

  it('reads the role policies itself when the caller may not use iam:SimulatePrincipalPolicy, and says so', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    await init(dir);
    const denied = { code: 'AccessDenied', status: 403, message: 'User: arn:aws:iam::123456789012:user/test-admin is not authorized to perform: iam:SimulatePrincipalPolicy' };
    cloud.faults.failNext('SimulatePrincipalPolicy', 2, denied);
    const ok = await verify(dir);
    expect(ok.code).toBe(0);
    expect(row(ok.doc, 'iam-permissions')).toMatchObject({ status: 'pass', data: { method: 'policy-read', matchedBy: ['inline AstroRemoteKPO-eks-describe'] } });
    expect(row(ok.doc, 'iam-permissions').detail).toContain("read the role's policies (you may not call iam:SimulatePrincipalPolicy");

    // The same fallback notices the policy is gone.
    cloud.aws.role('AstroRemoteKPO')!.inline.clear();
    const bad = await verify(dir);
    expect(bad.code).toBe(1);
    expect(row(bad.doc, 'iam-permissions')).toMatchObject({ status: 'fail', data: { method: 'policy-read', decision: 'implicitDeny' } });
  });

  it('fails only the credentials row (the rest not checked) without AWS credentials', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    await init(dir);
    const env = { ...cloud.env, AWS_SECRET_ACCESS_KEY: 'wrong-secret-key-0000000000000000000000000' };
    const r = await runCli(['verify', '--json', '--project-dir', dir], { env, cwd: dir });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as VerifyDoc;
    expect(row(doc, 'credentials')).toMatchObject({ status: 'fail', code: 'CREDENTIALS_REJECTED' });
    // AWS's own reason, named.
    expect(row(doc, 'credentials').detail).toContain('SignatureDoesNotMatch');
    expect(notPassing(doc)).toEqual(['credentials:fail', 'cluster:skip', 'endpoint-access:skip', 'kube-api:skip', 'iam-trust:skip', 'iam-permissions:skip', 'mapping:skip', 'namespace:skip', 'k8s-role:skip', 'role-binding:skip', 'access-matrix:skip', 'connection:skip']);
    expect(row(doc, 'dags').status).toBe('pass');
  });
});

describe('verify: each broken link fails exactly its row (aws-auth cluster)', () => {
  // One init for all six breakages: each test breaks one link in the cloud, verifies, and puts it back.
  let shared: TestCloud;
  let dir: string;
  let settingsFile: string;
  let settings: string;
  const ROLE = 'AstroRemoteKPO';
  const RB = 'astro-remote-kpo-rolebinding';
  const restoreAll: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    shared = await startTestCloud({ cluster: { name: 'remote-kpo-demo', authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true } });
    cloud = shared;
    // Not in `dirs`: the file-level afterEach must not remove it between these tests.
    dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-verify-e2e-'));
    await init(dir);
    cloud = undefined; // kept across the tests of this block; stopped in afterAll
    settingsFile = path.join(dir, 'airflow_settings.yaml');
    settings = await readFile(settingsFile, 'utf8');
  });
  afterAll(async () => {
    await shared?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function verifyShared(): Promise<{ code: number; doc: VerifyDoc }> {
    cloud = shared;
    try {
      return await verify(dir);
    } finally {
      cloud = undefined;
    }
  }

  it('passes before anything is broken, with the aws-auth mapping', async () => {
    const { code, doc } = await verifyShared();
    expect(code).toBe(0);
    expect(notPassing(doc)).toEqual([]);
    expect(row(doc, 'mapping').detail).toContain(`kube-system/aws-auth maps ${ROLE_ARN} → user AstroRemoteKPO`);
  });

  const mapRolesOf = () => shared.kube.configMap('kube-system', 'aws-auth')!;
  const putMapRoles = (cm: ReturnType<typeof mapRolesOf>, text: string) => void shared.kube.put({ ...structuredClone(cm), data: { ...cm.data, mapRoles: text } });

  const breakages: Array<{ name: string; id: string; detail: RegExp; brk: () => Promise<void> | void }> = [
    {
      name: 'trust principal removed',
      id: 'iam-trust',
      detail: /does not let arn:aws:iam::123456789012:role\/astro-dep-abc123 call sts:AssumeRole/,
      brk: () => {
        const role = shared.aws.role(ROLE)!;
        const trust = role.trustPolicyRaw;
        role.trustPolicyRaw = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::123456789012:role/someone-else'] }, Action: 'sts:AssumeRole' }] });
        restoreAll.push(() => void (role.trustPolicyRaw = trust));
      },
    },
    {
      name: 'inline policy removed',
      id: 'iam-permissions',
      detail: /implicitDeny for eks:DescribeCluster on arn:aws:eks:us-east-1:123456789012:cluster\/remote-kpo-demo/,
      brk: () => {
        const role = shared.aws.role(ROLE)!;
        const inline = new Map(role.inline);
        role.inline.clear();
        restoreAll.push(() => void (role.inline = inline));
      },
    },
    {
      name: 'mapping removed',
      id: 'mapping',
      detail: new RegExp(`kube-system/aws-auth has no entry for ${ROLE_ARN}`),
      brk: () => {
        const cm = structuredClone(mapRolesOf());
        const text = cm.data!.mapRoles!;
        const without = text.replace(`- rolearn: ${ROLE_ARN}\n  username: AstroRemoteKPO\n`, '');
        expect(without).not.toBe(text);
        putMapRoles(cm, without);
        restoreAll.push(() => putMapRoles(cm, text));
      },
    },
    {
      name: 'mapping shadowed',
      id: 'mapping',
      detail: /has 2 entries for arn:aws:iam::123456789012:role\/AstroRemoteKPO \(the authenticator uses one of them\): username "intruder"; username "AstroRemoteKPO"/,
      brk: () => {
        const cm = structuredClone(mapRolesOf());
        const text = cm.data!.mapRoles!;
        putMapRoles(cm, `- rolearn: ${ROLE_ARN}\n  username: intruder\n${text}`);
        restoreAll.push(() => putMapRoles(cm, text));
      },
    },
    {
      name: 'RoleBinding deleted',
      id: 'role-binding',
      detail: /RoleBinding astro-remote-kpo-rolebinding does not exist in namespace astro-remote-kpo/,
      brk: () => {
        const binding = structuredClone(shared.kube.roleBinding(NS, RB)!);
        expect(shared.kube.delete('RoleBinding', NS, RB)).toBe(true);
        restoreAll.push(() => void shared.kube.put(binding));
      },
    },
    {
      name: 'connection role_arn edited',
      id: 'connection',
      detail: /role_arn is "arn:aws:iam::123456789012:role\/SomethingElse", not arn:aws:iam::123456789012:role\/AstroRemoteKPO/,
      brk: async () => {
        await writeFile(settingsFile, settings.replace(ROLE_ARN, 'arn:aws:iam::123456789012:role/SomethingElse'));
        restoreAll.push(() => writeFile(settingsFile, settings));
      },
    },
  ];

  it.each(breakages)('$name → only row $id fails, exit 1', async (b) => {
    await b.brk();
    try {
      const { code, doc } = await verifyShared();
      expect(code).toBe(1);
      expect(doc.ok).toBe(false);
      // Exactly that row fails. A broken RoleBinding leaves the access matrix "not checked":
      // one cause, one failing row.
      expect(doc.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual([b.id]);
      expect(doc.checks.filter((c) => c.status === 'skip').map((c) => c.id)).toEqual(b.id === 'role-binding' ? ['access-matrix'] : []);
      expect(row(doc, b.id).detail).toMatch(b.detail);
      expect(row(doc, b.id).fix).toBeTruthy();
    } finally {
      for (const r of restoreAll.splice(0)) await r();
    }
  });

  it('passes again once every link is put back', async () => {
    const { code, doc } = await verifyShared();
    expect(notPassing(doc)).toEqual([]);
    expect(code).toBe(0);
  });
});

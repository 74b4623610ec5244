// `verify` without any state: auditing a setup someone made by hand from the seed README
// (eksctl cluster, kubectl-created namespace/Role/RoleBinding, `aws iam create-role` with the
// three managed policies, `eksctl create iamidentitymapping`, a hand-written connection).
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KPO_RULES } from '../../src/desired.js';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { REPO_ROOT, runCli } from '../support/run-cli.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const NS = 'astro-remote-kpo';
const SEED_POLICIES = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly'].map((n) => `arn:aws:iam::aws:policy/${n}`);

interface Row { id: string; status: string; detail: string }
interface VerifyDoc { ok: boolean; checks: Row[] }

let cloud: TestCloud | undefined;
let dir: string | undefined;
afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Everything the seed README's ten steps leave behind, created straight in the test cloud. */
async function handMade(c: TestCloud, opts: { rolePath?: string } = {}): Promise<string> {
  await c.addCluster({ name: 'remote-kpo-demo', authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true });
  const kube = c.kube;
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kube.put({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'astro-remote-kpo-role', namespace: NS }, rules: KPO_RULES.map((r) => ({ ...r })) });
  kube.put({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'astro-remote-kpo-rolebinding', namespace: NS },
    subjects: [{ kind: 'User', name: 'AstroRemoteKPO', apiGroup: 'rbac.authorization.k8s.io' }],
    roleRef: { kind: 'Role', name: 'astro-remote-kpo-role', apiGroup: 'rbac.authorization.k8s.io' },
  });
  const role = c.aws.createRole({
    name: 'AstroRemoteKPO',
    ...(opts.rolePath ? { path: opts.rolePath } : {}),
    trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: WI }, Action: 'sts:AssumeRole' }] },
  });
  role.attached.push(...SEED_POLICIES);
  // eksctl create iamidentitymapping appends to the node role's mapRoles (the ARN as given).
  const cm = kube.configMap('kube-system', 'aws-auth')!;
  kube.put({ ...cm, data: { ...cm.data, mapRoles: `${cm.data!.mapRoles}- rolearn: ${role.arn}\n  username: AstroRemoteKPO\n` } });
  return role.arn;
}

async function projectFiles(roleArn: string, extra?: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'kpo-verify-handmade-'));
  await mkdir(path.join(d, 'dags'));
  for (const f of ['remote_kpo.py', 'test_eks_connectivity.py']) await copyFile(path.join(REPO_ROOT, 'dags', f), path.join(d, 'dags', f));
  await writeFile(
    path.join(d, 'airflow_settings.yaml'),
    `airflow:\n  connections:\n    - conn_id: aws_eks\n      conn_type: aws\n      conn_host:\n      conn_schema:\n      conn_login:\n      conn_password:\n      conn_port:\n      conn_extra: '${extra ?? JSON.stringify({ region_name: 'us-east-1', role_arn: roleArn })}'\n  pools: []\n  variables: []\n`,
  );
  return d;
}

async function verify(c: TestCloud, d: string): Promise<{ code: number; doc: VerifyDoc }> {
  c.resetCalls();
  const r = await runCli(['verify', '--json', '--workload-identity', WI, '--permissions', 'seed', '--project-dir', d], { env: c.env, cwd: d });
  expect(c.mutatingCalls()).toEqual([]);
  return { code: r.code, doc: JSON.parse(r.stdout) as VerifyDoc };
}

describe('verify a hand-made setup (no state file)', () => {
  it('passes every row and writes nothing into the project', async () => {
    cloud = await startTestCloud();
    const arn = await handMade(cloud);
    dir = await projectFiles(arn);
    const { code, doc } = await verify(cloud, dir);
    expect(doc.checks.filter((r) => r.status !== 'pass'), JSON.stringify(doc.checks, null, 2)).toEqual([]);
    expect(code).toBe(0);
    expect(doc.checks.find((r) => r.id === 'iam-permissions')!.detail).toContain('by AmazonEKSWorkerNodePolicy');
    expect(doc.checks.find((r) => r.id === 'mapping')!.detail).toContain('kube-system/aws-auth maps');
    await expect(stat(path.join(dir, '.astro-remote-kpo'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("flags the seed's invalid connection extra and an aws-auth ARN that keeps the role's IAM path", async () => {
    cloud = await startTestCloud();
    const arn = await handMade(cloud, { rolePath: '/kpo/' });
    expect(arn).toBe('arn:aws:iam::123456789012:role/kpo/AstroRemoteKPO');
    // The seed's extra, verbatim: not JSON.
    dir = await projectFiles(arn, '{"region_name": "role_arn": "arn:aws:iam::123456789012:role/kpo/AstroRemoteKPO"}');
    const { code, doc } = await verify(cloud, dir);
    expect(code).toBe(1);
    expect(doc.checks.filter((r) => r.status !== 'pass').map((r) => r.id)).toEqual(['mapping', 'connection']);
    expect(doc.checks.find((r) => r.id === 'mapping')!.detail).toContain('with its IAM path');
    expect(doc.checks.find((r) => r.id === 'connection')!.detail).toContain('conn_extra is missing or not a mapping/JSON object');
  });
});

// destroy never deletes what this tool did not create: things that existed before init (even
// after init labelled or reconciled them), and — without state — anything without our tag/label.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KPO_RULES } from '../../src/desired.js';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';
import { readState } from './aws-helpers.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const NS = 'astro-remote-kpo';
const OTHER = 'arn:aws:iam::123456789012:role/other-deployment';

interface Item { kind: string; name: string; decision: 'delete' | 'keep' | 'gone'; why: string; result?: string }
interface DestroyDoc { ok: boolean; items: Item[] }

let cloud: TestCloud | undefined;
const project = useTempProjects('kpo-destroy-own-', async () => {
  await cloud?.stop();
  cloud = undefined;
});

async function destroy(dir: string, extra: string[]): Promise<{ code: number; doc: DestroyDoc }> {
  const r = await runCli(['destroy', '--json', '--yes', '--project-dir', dir, ...extra], { env: cloud!.env, cwd: dir });
  return { code: r.code, doc: JSON.parse(r.stdout) as DestroyDoc };
}

const item = (doc: DestroyDoc, kind: string) => doc.items.find((i) => i.kind === kind)!;

describe('destroy keeps what it did not create', () => {
  it('after init adopted an existing IAM role, namespace and Role: keeps them, removes only what init added', async () => {
    cloud = await startTestCloud();
    await cloud.addCluster({ name: 'remote-kpo-demo', withKubeconfigContext: true });
    const role = cloud.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] } });
    role.inline.set('team-policy', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }));
    cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { team: 'data' } } });
    // A found Role is used only when it already grants what init would (never a takeover).
    cloud.kube.put({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'astro-remote-kpo-role', namespace: NS }, rules: KPO_RULES.map((r) => ({ ...r })) });
    const dir = await project();
    const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // init used them as they are (no marker of ours on anything found), and added our principal and
    // inline policy to the role.
    expect(cloud.kube.namespace(NS)!.metadata!.labels).toEqual({ team: 'data' });
    expect(cloud.kube.role(NS, 'astro-remote-kpo-role')!.metadata!.labels).toBeUndefined();
    expect(cloud.aws.tags('AstroRemoteKPO')).toEqual({});
    expect(cloud.aws.inlinePolicyNames('AstroRemoteKPO').sort()).toEqual(['AstroRemoteKPO-eks-describe', 'team-policy']);
    expect(cloud.aws.trustPolicy('AstroRemoteKPO')).toMatchObject({ Statement: [{ Principal: { AWS: [OTHER, WI] } }] });
    expect((await readState(dir)).stages['iam-role'].outputs.trustPrincipalsAdded).toEqual([WI]);
    // A re-run (check() skips the stage) keeps the record.
    expect((await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir })).code).toBe(0);
    expect((await readState(dir)).stages['iam-role'].outputs.trustPrincipalsAdded).toEqual([WI]);

    const { code, doc } = await destroy(dir, ['--delete-namespace', '--delete-cluster']);
    expect(code, JSON.stringify(doc, null, 2)).toBe(0);
    expect(item(doc, 'iam-role')).toMatchObject({ decision: 'keep', why: expect.stringContaining('existed before init') });
    expect(item(doc, 'namespace')).toMatchObject({ decision: 'keep', why: expect.stringContaining('existed before init') });
    expect(item(doc, 'role')).toMatchObject({ decision: 'keep', why: expect.stringContaining('existed before init') });
    expect(item(doc, 'cluster')).toMatchObject({ decision: 'keep', why: expect.stringContaining('existed before init') });
    expect(item(doc, 'inline-policy')).toMatchObject({ decision: 'delete', result: 'deleted', why: 'recorded in state as put by init' });
    expect(item(doc, 'trust-principal')).toMatchObject({ decision: 'delete', result: 'deleted', name: `${WI} in the trust policy of IAM role AstroRemoteKPO` });
    expect(item(doc, 'role-binding')).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(item(doc, 'access-entry')).toMatchObject({ decision: 'delete', result: 'deleted' });

    expect(cloud.aws.role('AstroRemoteKPO')).toBeDefined();
    expect(cloud.aws.inlinePolicyNames('AstroRemoteKPO')).toEqual(['team-policy']);
    // The trust policy trusts what it trusted before init, and only that.
    expect(cloud.aws.trustPolicy('AstroRemoteKPO')).toEqual({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [OTHER] }, Action: 'sts:AssumeRole' }] });
    expect(cloud.kube.namespace(NS)).toBeDefined();
    expect(cloud.kube.role(NS, 'astro-remote-kpo-role')).toBeDefined();
    // Found, never marked: nothing a later stateless destroy could mistake for ours.
    expect(cloud.kube.namespace(NS)!.metadata!.labels).toEqual({ team: 'data' });
    expect(cloud.kube.role(NS, 'astro-remote-kpo-role')!.metadata!.labels).toBeUndefined();
    expect(cloud.aws.tags('AstroRemoteKPO')).toEqual({});
    expect(cloud.aws.cluster('remote-kpo-demo')).toBeDefined();
    expect(cloud.kube.roleBinding(NS, 'astro-remote-kpo-rolebinding')).toBeUndefined();
    expect(cloud.eksctl.invocations.some((a) => a[0] === 'delete')).toBe(false);
  });

  it('without state: deletes only what carries our tag/label, keeps a hand-made setup and says why', async () => {
    cloud = await startTestCloud();
    await cloud.addCluster({ name: 'remote-kpo-demo', authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true });
    const kube = cloud.kube;
    kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // The Role carries our label (e.g. applied from our k8s/role.yaml); the rest is hand-made.
    kube.put({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'astro-remote-kpo-role', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'astro-remote-kpo' } }, rules: KPO_RULES.map((r) => ({ ...r })) });
    kube.put({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'astro-remote-kpo-rolebinding', namespace: NS },
      subjects: [{ kind: 'User', name: 'AstroRemoteKPO', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { kind: 'Role', name: 'astro-remote-kpo-role', apiGroup: 'rbac.authorization.k8s.io' },
    });
    const role = cloud.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: WI }, Action: 'sts:AssumeRole' }] } });
    role.attached.push('arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy');
    const cm = kube.configMap('kube-system', 'aws-auth')!;
    const mapRoles = `${cm.data!.mapRoles}- rolearn: ${role.arn}\n  username: AstroRemoteKPO\n`;
    kube.put({ ...cm, data: { ...cm.data, mapRoles } });

    const dir = await project();
    cloud.resetCalls();
    const { code, doc } = await destroy(dir, ['--workload-identity', WI, '--delete-namespace', '--delete-cluster']);
    expect(code, JSON.stringify(doc, null, 2)).toBe(0);
    expect(doc.items.filter((i) => i.decision === 'delete').map((i) => i.kind)).toEqual(['role']);
    expect(item(doc, 'role')).toMatchObject({ result: 'deleted', why: 'carries the label app.kubernetes.io/managed-by=astro-remote-kpo; no other project uses it' });
    expect(item(doc, 'role-binding')).toMatchObject({ decision: 'keep', why: expect.stringContaining('not created by this tool') });
    expect(item(doc, 'aws-auth-entry')).toMatchObject({ decision: 'keep', why: expect.stringContaining('aws-auth entries carry no label') });
    expect(item(doc, 'iam-role')).toMatchObject({ decision: 'keep', why: expect.stringContaining('not created by this tool: no tag managed-by=astro-remote-kpo') });
    expect(item(doc, 'namespace')).toMatchObject({ decision: 'keep' });
    expect(item(doc, 'cluster')).toMatchObject({ decision: 'keep' });
    // Exactly one mutating call: the labelled Role's DELETE.
    expect(cloud.mutatingCalls().map((c) => c.operation)).toEqual(['DELETE roles']);
    expect(kube.configMap('kube-system', 'aws-auth')!.data!.mapRoles).toBe(mapRoles);
    expect(cloud.aws.role('AstroRemoteKPO')!.attached).toEqual(['arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy']);
    // No state existed, and none is invented.
    await expect(stat(path.join(dir, '.astro-remote-kpo', 'state.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("state's records are only about the objects init named: destroy told another --iam-role, --namespace or --k8s-role keeps what a person made", async () => {
    cloud = await startTestCloud();
    await cloud.addCluster({ name: 'remote-kpo-demo', withKubeconfigContext: true });
    const dir = await project();
    const init = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(init.code, init.stdout + init.stderr).toBe(0);
    // A person's role, trusting only the same Deployment; a team's namespace with a Role of our
    // default name in it. Neither carries a marker of ours.
    cloud.aws.createRole({ name: 'TeamRole', trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: WI }, Action: 'sts:AssumeRole' }] } });
    cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-ns' } });
    cloud.kube.put({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'team-role', namespace: 'team-ns' }, rules: KPO_RULES.map((r) => ({ ...r })) });
    const before = await readState(dir);

    cloud.resetCalls();
    const { code, doc } = await destroy(dir, ['--iam-role', 'TeamRole', '--namespace', 'team-ns', '--k8s-role', 'team-role', '--delete-namespace']);
    expect(code, JSON.stringify(doc, null, 2)).toBe(0);
    for (const kind of ['iam-role', 'role', 'namespace']) expect(item(doc, kind), kind).toMatchObject({ decision: 'keep', why: expect.stringContaining('not created by this tool') });
    expect(cloud.mutatingCalls().filter((c) => /Role|roles|namespaces/.test(c.operation))).toEqual([]);
    expect(cloud.aws.role('TeamRole')).toBeDefined();
    expect(cloud.kube.namespace('team-ns')).toBeDefined();
    expect(cloud.kube.get('Role', 'team-ns', 'team-role')).toBeDefined();
    // What init made is still there, and state still says so: a destroy with init's names takes it.
    expect(cloud.aws.role('AstroRemoteKPO')).toBeDefined();
    const after = await readState(dir);
    for (const id of ['iam-role', 'namespace', 'k8s-role'] as const) expect(after.stages[id], id).toEqual(before.stages[id]);
    const again = await destroy(dir, ['--delete-namespace']);
    expect(again.code, JSON.stringify(again.doc, null, 2)).toBe(0);
    expect(cloud.aws.role('AstroRemoteKPO')).toBeUndefined();
    expect(cloud.aws.role('TeamRole')).toBeDefined();
  });
});

// E2E: the identity mapping must grant exactly the Kubernetes user. An access entry for our role
// with Kubernetes groups or an associated access policy, or an aws-auth entry with groups, is
// refused by init (exit 1, the mapping untouched), fails verify's mapping row, and the access
// matrix asks about the user WITH the groups the mapping grants. Also: aws-auth shapes ("...",
// "~") and destroy of changed and duplicated aws-auth entries.
import { describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { clusterAdminBinding } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';
import { initArgs, requireBuild } from './aws-helpers.js';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/AstroRemoteKPO';
const USER = 'AstroRemoteKPO';
const ADMIN_POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';
const OURS = `- rolearn: ${ROLE_ARN}\n  username: ${USER}\n`;

interface Row { id: string; status: 'pass' | 'fail' | 'skip'; detail: string; fix?: string; lines?: string[]; data?: Record<string, unknown>; code?: string }
interface Item { kind: string; name: string; decision: 'delete' | 'keep' | 'gone'; why: string; result?: string }

let cloud: TestCloud | undefined;
const project = useTempProjects('kpo-e2e-grants-', async () => {
  await cloud?.stop();
  cloud = undefined;
});

async function setup(mode: 'API_AND_CONFIG_MAP' | 'CONFIG_MAP'): Promise<{ c: TestCloud; dir: string }> {
  requireBuild();
  cloud = await startTestCloud({ authenticationMode: mode, cluster: { name: 'remote-kpo-demo', authenticationMode: mode, withKubeconfigContext: true } });
  return { c: cloud, dir: await project() };
}

async function init(c: TestCloud, dir: string) {
  return runCli(initArgs(dir), { env: c.env, cwd: dir });
}

async function verifyRows(c: TestCloud, dir: string): Promise<{ code: number; rows: Row[] }> {
  const r = await runCli(['verify', '--json', '--project-dir', dir], { env: c.env, cwd: dir });
  return { code: r.code, rows: (JSON.parse(r.stdout) as { checks: Row[] }).checks };
}
const rowOf = (rows: Row[], id: string) => rows.find((r) => r.id === id)!;

function mapRoles(c: TestCloud): string {
  return c.kube.configMap('kube-system', 'aws-auth')?.data?.mapRoles ?? '';
}
function setMapRoles(c: TestCloud, text: string): void {
  const cm = c.kube.configMap('kube-system', 'aws-auth')!;
  c.kube.put({ ...cm, data: { ...cm.data, mapRoles: text } });
}

async function destroyItems(c: TestCloud, dir: string): Promise<{ code: number; items: Item[] }> {
  const r = await runCli(['destroy', '--json', '--yes', '--project-dir', dir], { env: c.env, cwd: dir });
  return { code: r.code, items: (JSON.parse(r.stdout) as { items: Item[] }).items };
}

describe('EKS access entry that grants more than the user', () => {
  it('Kubernetes groups: verify fails the mapping row and the matrix (asked with the groups); init refuses, entry untouched', async () => {
    const { c, dir } = await setup('API_AND_CONFIG_MAP');
    expect((await init(c, dir)).code).toBe(0);
    // Someone adds a group that is bound to cluster-admin.
    c.aws.accessEntry('remote-kpo-demo', ROLE_ARN)!.kubernetesGroups = ['ops-admins'];
    c.kube.put(clusterAdminBinding('ops-admins'));

    const v = await verifyRows(c, dir);
    expect(v.code).toBe(1);
    expect(rowOf(v.rows, 'mapping')).toMatchObject({ status: 'fail', code: 'MAPPING_GRANTS_MORE', data: { groups: ['ops-admins'], policies: [] } });
    expect(rowOf(v.rows, 'mapping').detail).toContain('ops-admins');
    const matrix = rowOf(v.rows, 'access-matrix');
    expect(matrix).toMatchObject({ status: 'fail', code: 'RBAC_EXTRA_ACCESS' });
    // The questions were asked with the groups the mapping adds.
    expect(matrix.detail).toContain('in groups ops-admins, system:authenticated');
    // The binding that gives the group cluster-admin is named, with what the questions found.
    expect(matrix.lines?.join('\n')).toContain('ClusterRoleBinding ops-admins binds ClusterRole cluster-admin to Group ops-admins');
    expect(matrix.lines?.join('\n')).toContain('may also');
    const reviews = c.calls.filter((x) => x.operation === 'POST subjectaccessreviews');
    expect(reviews.length).toBeGreaterThan(0);

    c.resetCalls();
    const again = await init(c, dir);
    expectFailure(again, 'MAPPING_GRANTS_MORE');
    expect(again.stdout + again.stderr).toContain('ops-admins');
    expect(again.stdout + again.stderr).toContain('Nothing was changed');
    expect(again.stdout + again.stderr).toContain('--iam-role');
    expect(c.mutatingCalls('eks')).toEqual([]);
    expect(c.aws.accessEntry('remote-kpo-demo', ROLE_ARN)).toMatchObject({ username: USER, kubernetesGroups: ['ops-admins'] });
  });

  it('a pre-existing entry with an associated access policy: init refuses at identity-mapping (exit 1), verify fails the row', async () => {
    const { c, dir } = await setup('API_AND_CONFIG_MAP');
    // Someone made the entry before init, with the cluster admin policy (cluster-wide).
    const e = c.aws.addAccessEntry('remote-kpo-demo', ROLE_ARN, { username: USER, admin: true });
    const r = await init(c, dir);
    expectFailure(r, 'MAPPING_GRANTS_MORE');
    const out = r.stdout + r.stderr;
    // The stage's error block ends with its code, on a line of its own.
    expect(out).toMatch(/✖ 7·identity-mapping [^\n]*(\n {4}[^\n]*)*\n {4}code: MAPPING_GRANTS_MORE\n/);
    // state.json keeps it: status shows it, status --json carries it.
    const st = await runCli(['status', '--json', '--project-dir', dir], { env: c.env, cwd: dir });
    expect((JSON.parse(st.stdout) as { stages: Array<{ id: string; error?: { code?: string } }> }).stages.find((s) => s.id === 'identity-mapping')?.error?.code).toBe('MAPPING_GRANTS_MORE');
    const human = await runCli(['status', '--no-color', '--project-dir', dir], { env: c.env, cwd: dir });
    expect(human.stdout).toMatch(/✖ 7·identity-mapping +failed .*\[MAPPING_GRANTS_MORE\]/);
    expect(out).toContain('7·identity-mapping');
    expect(out).toContain(`EKS access policy ${ADMIN_POLICY} (cluster-wide)`);
    expect(out).toContain(`aws eks disassociate-access-policy --cluster-name remote-kpo-demo --principal-arn ${ROLE_ARN} --policy-arn ${ADMIN_POLICY}`);
    expect(c.calls.some((x) => x.operation === 'ListAssociatedAccessPolicies' && x.status === 200)).toBe(true);
    expect(c.mutatingCalls('eks')).toEqual([]);
    expect(c.aws.accessEntry('remote-kpo-demo', ROLE_ARN)!.policies.map((p) => p.policyArn)).toEqual([ADMIN_POLICY]);

    // Once the policy is gone, init passes without touching the entry (found, not created).
    const policies = e.policies;
    e.policies = [];
    c.resetCalls();
    expect((await init(c, dir)).code).toBe(0);
    expect(c.mutatingCalls('eks')).toEqual([]);

    // It comes back: verify fails the mapping row and says how to take it away.
    e.policies = policies;
    const v = await verifyRows(c, dir);
    expect(v.code).toBe(1);
    expect(rowOf(v.rows, 'mapping')).toMatchObject({ status: 'fail', code: 'MAPPING_GRANTS_MORE', data: { policies: [`${ADMIN_POLICY} (cluster-wide)`] } });
    expect(rowOf(v.rows, 'mapping').fix).toContain('disassociate-access-policy');
  });

  it('an entry for our role with another username AND groups and a policy: one run names all of it', async () => {
    const { c, dir } = await setup('API_AND_CONFIG_MAP');
    c.aws.addAccessEntry('remote-kpo-demo', ROLE_ARN, { username: 'admin', kubernetesGroups: ['system:masters'], admin: true });
    const r = await init(c, dir);
    const out = r.stdout + r.stderr;
    expectFailure(r, 'MAPPING_OTHER_USER');
    // All of it at once: the username, the group and the policy.
    expect(out).toContain('with username "admin" and Kubernetes group system:masters and EKS access policy');
    expect(out).not.toContain('--k8s-user admin');
    expect(out).toContain(`aws eks update-access-entry --cluster-name remote-kpo-demo --principal-arn ${ROLE_ARN} --username ${USER}`);
    expect(out).toContain(`aws eks disassociate-access-policy --cluster-name remote-kpo-demo --principal-arn ${ROLE_ARN} --policy-arn ${ADMIN_POLICY}`);
    expect(c.mutatingCalls('eks')).toEqual([]);
    const v = await verifyRows(c, dir);
    expect(rowOf(v.rows, 'mapping')).toMatchObject({ status: 'fail', code: 'MAPPING_OTHER_USER', data: { username: 'admin', groups: ['system:masters'] } });
  });

  it('an emulator without ListAssociatedAccessPolicies (HTML 404): init goes on and warns, verify passes with a note', async () => {
    const { c, dir } = await setup('API_AND_CONFIG_MAP');
    c.faults.failNext('ListAssociatedAccessPolicies', 50, 'html-404');
    const r = await init(c, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const again = await init(c, dir);
    expect(again.code).toBe(0);
    expect(again.stdout + again.stderr).toContain(`Could not list the EKS access policies of the access entry for ${ROLE_ARN} (the endpoint answered eks:ListAssociatedAccessPolicies with an unexpected non-AWS response (HTTP 404)`);
    const v = await verifyRows(c, dir);
    expect(rowOf(v.rows, 'mapping')).toMatchObject({ status: 'pass', detail: expect.stringContaining('access policies not known') });
    expect(JSON.stringify(v.rows)).not.toMatch(/XML parse|Deserialization|is not valid JSON/);
    c.faults.clear();
  });
});

describe('kube-system/aws-auth', () => {
  it('an entry for our role with groups (before init): init refuses, aws-auth byte-identical', async () => {
    const { c, dir } = await setup('CONFIG_MAP');
    const before = `${mapRoles(c)}${OURS}  groups:\n  - system:masters\n`;
    setMapRoles(c, before);
    c.resetCalls();
    const r = await init(c, dir);
    expectFailure(r, 'MAPPING_GRANTS_MORE');
    expect(r.stdout + r.stderr).toContain('Kubernetes group system:masters');
    expect(r.stdout + r.stderr).toContain('Remove the groups: of the entry');
    expect(mapRoles(c)).toBe(before);
    expect(c.calls.filter((x) => x.operation === 'PUT configmaps' || x.operation === 'POST configmaps')).toEqual([]);
  });

  it('our role mapped to another username WITH groups: one run names the username and every group, and the one edit fixes it', async () => {
    const { c, dir } = await setup('CONFIG_MAP');
    const before = `${mapRoles(c)}- rolearn: ${ROLE_ARN}\n  username: admin\n  groups:\n  - system:masters\n  - ops-admins\n`;
    setMapRoles(c, before);
    c.resetCalls();
    const r = await init(c, dir);
    const out = r.stdout + r.stderr;
    expectFailure(r, 'MAPPING_OTHER_USER');
    expect(out).toContain('7·identity-mapping');
    expect(out).toContain('username "admin" with groups system:masters, ops-admins');
    // --k8s-user admin would only meet the next refusal (the groups): it is not offered.
    expect(out).not.toContain('--k8s-user admin');
    expect(out).toContain('kubectl -n kube-system edit configmap aws-auth');
    expect(mapRoles(c)).toBe(before);
    expect(c.calls.filter((x) => x.operation === 'PUT configmaps' || x.operation === 'POST configmaps')).toEqual([]);

    // verify says the same, all at once.
    const v = await verifyRows(c, dir);
    expect(rowOf(v.rows, 'mapping')).toMatchObject({ status: 'fail', code: 'MAPPING_OTHER_USER' });
    expect(rowOf(v.rows, 'mapping').detail).toContain('username "admin" with groups system:masters, ops-admins');

    // The edit it shows (exactly our entry left for the role) is the whole fix: the next run passes.
    setMapRoles(c, before.replace(/- rolearn: arn:aws:iam::123456789012:role\/AstroRemoteKPO\n[\s\S]*$/, OURS));
    const fixed = await init(c, dir);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  });

  it('groups added after init: verify fails mapping and matrix (system:masters seen), destroy keeps the changed entry', async () => {
    const { c, dir } = await setup('CONFIG_MAP');
    expect((await init(c, dir)).code).toBe(0);
    const changed = mapRoles(c).replace(OURS, `${OURS}  groups: [system:masters]\n`);
    expect(changed).not.toBe(mapRoles(c));
    setMapRoles(c, changed);

    const v = await verifyRows(c, dir);
    expect(rowOf(v.rows, 'mapping')).toMatchObject({ status: 'fail', code: 'MAPPING_GRANTS_MORE', data: { kind: 'aws-auth', groups: ['system:masters'] } });
    expect(rowOf(v.rows, 'access-matrix')).toMatchObject({ status: 'fail', code: 'RBAC_EXTRA_ACCESS' });
    expect(rowOf(v.rows, 'access-matrix').lines?.join('\n')).toContain('may also create pods in namespace default');

    const d = await destroyItems(c, dir);
    const entry = d.items.find((i) => i.kind === 'aws-auth-entry')!;
    expect(entry.decision).toBe('keep');
    expect(entry.why).toContain('changed (kept)');
    expect(entry.why).toContain('groups system:masters');
    expect(mapRoles(c)).toBe(changed);
  });

  it('mapRoles ending with "..." and mapRoles "~": init appends keeping every byte, destroy restores them', async () => {
    const { c, dir } = await setup('CONFIG_MAP');
    const node = mapRoles(c);
    const withEnd = `${node}...\n`;
    setMapRoles(c, withEnd);
    expect((await init(c, dir)).code).toBe(0);
    expect(mapRoles(c)).toBe(`${node}${OURS}...\n`);
    expect((await verifyRows(c, dir)).code).toBe(0);
    const d = await destroyItems(c, dir);
    expect(d.items.find((i) => i.kind === 'aws-auth-entry')).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(mapRoles(c)).toBe(withEnd);

    const dir2 = await project();
    const cm = c.kube.configMap('kube-system', 'aws-auth')!;
    c.kube.put({ ...cm, data: { mapRoles: '~\n', mapUsers: '- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n' } });
    expect((await init(c, dir2)).code).toBe(0);
    expect(mapRoles(c)).toBe(OURS);
    expect(c.kube.configMap('kube-system', 'aws-auth')?.data?.mapUsers).toBe('- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n');
  });

  it('an identical duplicate of our entry: destroy removes exactly one copy', async () => {
    const { c, dir } = await setup('CONFIG_MAP');
    expect((await init(c, dir)).code).toBe(0);
    const afterInit = mapRoles(c);
    setMapRoles(c, `${afterInit}# copy added by the platform team\n${OURS}`);
    const d = await destroyItems(c, dir);
    const entry = d.items.find((i) => i.kind === 'aws-auth-entry')!;
    expect(entry).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(entry.why).toContain('only one of its 2 identical copies is removed');
    expect(c.kube.awsAuth().filter((e) => e.rolearn === ROLE_ARN)).toHaveLength(1);
    expect(mapRoles(c)).toBe(`${afterInit}# copy added by the platform team\n`);
  });
});

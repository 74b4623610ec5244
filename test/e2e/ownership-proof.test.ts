// Ownership by proof: init marks only what it creates (label/tag + this project's id); what it finds
// is used unmarked and recorded as found; destroy — with or without state — never deletes what
// existed before init, nor what another project created, nor a namespace holding others' things.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCloudProjects, useTempProjects } from '../support/temp-projects.js';
import { runCli } from '../support/run-cli.js';
import type { TestCloud } from '../support/cloud.js';
import { readState } from './aws-helpers.js';

const NS = 'astro-remote-kpo';
const ROLE = 'AstroRemoteKPO';
const WI_A = 'arn:aws:iam::123456789012:role/astro-dep-aaa111';
const WI_B = 'arn:aws:iam::123456789012:role/astro-dep-bbb222';
const LABEL = 'app.kubernetes.io/managed-by';
const PROJECT = 'astro-remote-kpo/project-id';

interface Item { kind: string; name: string; decision: 'delete' | 'keep' | 'gone'; why: string; result?: string }

const setup = useCloudProjects('kpo-own-');
const extraDir = useTempProjects('kpo-own-b-');

const init = (cloud: TestCloud, dir: string, wi: string) =>
  runCli(['init', '--non-interactive', '--workload-identity', wi, '--project-dir', dir], { env: cloud.env, cwd: dir });

async function destroy(cloud: TestCloud, dir: string, extra: string[] = []): Promise<Item[]> {
  const r = await runCli(['destroy', '--json', '--yes', '--delete-namespace', '--delete-cluster', '--project-dir', dir, ...extra], { env: cloud.env, cwd: dir });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { items: Item[] }).items;
}
const byKind = (items: Item[], kind: string) => items.find((i) => i.kind === kind)!;

describe('ownership by proof', () => {
  it('stateless destroy --delete-namespace keeps a pre-existing namespace and everything in it; nothing found is ever marked', async () => {
    const { cloud, dir } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { team: 'data' } } });
    cloud.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'team-settings', namespace: NS }, data: { a: 'b' } });
    cloud.kube.put({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'team-view', namespace: NS },
      subjects: [{ kind: 'Group', name: 'team', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { kind: 'ClusterRole', name: 'view', apiGroup: 'rbac.authorization.k8s.io' },
    });
    const r = await init(cloud, dir, WI_A);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const state = await readState(dir);
    expect(state.stages.namespace.outputs.created).toBe(false);
    expect(cloud.kube.namespace(NS)!.metadata!.labels).toEqual({ team: 'data' });
    // What init created carries the marker and this project's id.
    expect(cloud.kube.role(NS, 'astro-remote-kpo-role')!.metadata).toMatchObject({ labels: { [LABEL]: 'astro-remote-kpo' }, annotations: { [PROJECT]: state.projectId } });
    expect(cloud.aws.tags(ROLE)).toEqual({ 'managed-by': 'astro-remote-kpo', [PROJECT]: state.projectId });
    expect(cloud.aws.accessEntry('remote-kpo-demo', `arn:aws:iam::123456789012:role/${ROLE}`)?.tags).toEqual({ 'managed-by': 'astro-remote-kpo', [PROJECT]: state.projectId });

    // State is lost (fresh clone, another CI runner): only what carries the marker goes.
    await rm(path.join(dir, '.astro-remote-kpo'), { recursive: true, force: true });
    const items = await destroy(cloud, dir, ['--workload-identity', WI_A]);
    expect(byKind(items, 'namespace')).toMatchObject({ decision: 'keep', why: expect.stringContaining('not created by this tool') });
    expect(byKind(items, 'role')).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(byKind(items, 'role-binding')).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(byKind(items, 'iam-role')).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(cloud.kube.namespace(NS)).toBeDefined();
    expect(cloud.kube.configMap(NS, 'team-settings')?.data).toEqual({ a: 'b' });
    expect(cloud.kube.roleBinding(NS, 'team-view')).toBeDefined();
    expect(cloud.kube.namespace(NS)!.metadata!.labels).toEqual({ team: 'data' });
    expect(cloud.aws.role(ROLE)).toBeUndefined();
  });

  it('stateless destroy keeps a namespace init created once someone put their things in it, and says what is inside', async () => {
    const { cloud, dir } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    expect((await init(cloud, dir, WI_A)).code).toBe(0);
    expect((await readState(dir)).stages.namespace.outputs.created).toBe(true);
    cloud.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'team-settings', namespace: NS }, data: { a: 'b' } });
    await rm(path.join(dir, '.astro-remote-kpo'), { recursive: true, force: true });
    const items = await destroy(cloud, dir, ['--workload-identity', WI_A]);
    expect(byKind(items, 'namespace')).toMatchObject({ decision: 'keep', why: expect.stringContaining('ConfigMap team-settings') });
    expect(cloud.kube.configMap(NS, 'team-settings')).toBeDefined();
    // Emptied of others' things, the marked namespace goes on the next stateless destroy.
    cloud.kube.delete('ConfigMap', NS, 'team-settings');
    const again = await destroy(cloud, dir, ['--workload-identity', WI_A]);
    expect(byKind(again, 'namespace')).toMatchObject({ decision: 'delete', result: 'deleted' });
  });

  it('project B finds project A\'s setup: B records it as found, B\'s destroy keeps A\'s role and mapping and takes out only B\'s principal', async () => {
    const { cloud, dir: dirA } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    const dirB = await extraDir();
    expect((await init(cloud, dirA, WI_A)).code).toBe(0);
    const rB = await init(cloud, dirB, WI_B);
    expect(rB.code, rB.stdout + rB.stderr).toBe(0);
    const a = await readState(dirA);
    const b = await readState(dirB);
    expect(b.projectId).not.toBe(a.projectId);
    expect(b.stages['iam-role'].outputs).toMatchObject({ createdByUs: false, trustPrincipalsAdded: [WI_B] });
    expect(b.stages['iam-role'].outputs.inlinePolicy).toBeUndefined(); // A's copy, not B's to delete
    expect(b.stages['identity-mapping'].outputs.createdByUs).toBe(false);
    expect(b.stages.namespace.outputs.created).toBe(false);
    expect(b.stages['k8s-role'].outputs.created).toBe(false);
    expect(b.stages['role-binding'].outputs.created).toBe(false);

    const items = await destroy(cloud, dirB);
    expect(items.filter((i) => i.decision === 'delete').map((i) => i.kind)).toEqual(['trust-principal']);
    expect(byKind(items, 'iam-role')).toMatchObject({ decision: 'keep' });
    expect(cloud.aws.role(ROLE)).toBeDefined();
    expect(cloud.aws.inlinePolicyNames(ROLE)).toEqual(['AstroRemoteKPO-eks-describe']);
    expect(cloud.aws.trustPolicy(ROLE)).toMatchObject({ Statement: [{ Principal: { AWS: [WI_A] } }] });
    expect(cloud.aws.accessEntry('remote-kpo-demo', `arn:aws:iam::123456789012:role/${ROLE}`)).toBeDefined();
    expect(cloud.kube.roleBinding(NS, 'astro-remote-kpo-rolebinding')).toBeDefined();

    // A second destroy of B's finds nothing of B's left to delete.
    const dry = await runCli(['destroy', '--json', '--dry-run', '--delete-namespace', '--project-dir', dirB], { env: cloud.env, cwd: dirB });
    const dryItems = (JSON.parse(dry.stdout) as { items: Item[] }).items;
    expect(dryItems.filter((i) => i.decision === 'delete')).toEqual([]);

    // A's destroy takes everything of A's.
    const itemsA = await destroy(cloud, dirA);
    expect(byKind(itemsA, 'iam-role')).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(cloud.aws.role(ROLE)).toBeUndefined();
    expect(cloud.kube.namespace(NS)).toBeUndefined();
  });
});

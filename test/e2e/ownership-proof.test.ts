// Ownership by proof: init marks only what it creates (label/tag + this project's id + its use
// mark); what a person made is used unmarked and recorded as found; what another project made is
// marked as used by this one too. destroy — with or without state — never deletes what existed
// before init, nor what another project still uses, nor a namespace holding others' things.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCloudProjects, useTempProjects } from '../support/temp-projects.js';
import { runCli } from '../support/run-cli.js';
import type { TestCloud } from '../support/cloud.js';
import { readState } from './aws-helpers.js';
import { LABEL, NS, PROJECT, ROLE, ROLE_ARN, USED_BY, byKind, destroy, init, leftovers, marksOf, verify, type Item } from './shared-helpers.js';

const WI_A = 'arn:aws:iam::123456789012:role/astro-dep-aaa111';
const WI_B = 'arn:aws:iam::123456789012:role/astro-dep-bbb222';

const setup = useCloudProjects('kpo-own-');
const extraDir = useTempProjects('kpo-own-b-');


describe('ownership by proof', () => {
  it('state lost, other identities: destroy keeps what carries a project\'s use mark, names the project and how to free it; freed orphans go, a pre-existing namespace stays; nothing found is ever marked', async () => {
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
    const id = state.projectId;
    expect(state.stages.namespace.outputs.created).toBe(false);
    expect(cloud.kube.namespace(NS)!.metadata!.labels).toEqual({ team: 'data' });
    expect(cloud.kube.namespace(NS)!.metadata!.annotations).toBeUndefined();
    // What init created carries the marker, this project's id and its use mark, from the create call on.
    const used = `${USED_BY}${id}`;
    expect(cloud.kube.role(NS, 'astro-remote-kpo-role')!.metadata).toMatchObject({ labels: { [LABEL]: 'astro-remote-kpo' }, annotations: { [PROJECT]: id, [used]: expect.any(String) } });
    expect(cloud.aws.tags(ROLE)).toEqual({ 'managed-by': 'astro-remote-kpo', [PROJECT]: id, [used]: expect.stringMatching(/^\d{4}-\d\d-\d\d wi:[0-9a-f]{12}$/) });
    expect(cloud.aws.accessEntry('remote-kpo-demo', ROLE_ARN)?.tags).toEqual({ 'managed-by': 'astro-remote-kpo', [PROJECT]: id, [used]: expect.any(String) });

    // State is lost (fresh clone, another CI runner), and destroy is given other workload identities
    // than the project's: it cannot tell which project it is, so nothing that a project marks as
    // used goes; it names the project and the fix.
    await rm(path.join(dir, '.astro-remote-kpo'), { recursive: true, force: true });
    const items = await destroy(cloud, dir, ['--workload-identity', WI_B]);
    expect(items.filter((i) => i.decision === 'delete')).toEqual([]);
    expect(byKind(items, 'iam-role')!.why).toContain(`still used by astro-remote-kpo project ${id}`);
    expect(byKind(items, 'iam-role')!.why).toContain(`aws iam tag-role --role-name ${ROLE} --tags Key=${used},Value=left`);
    expect(byKind(items, 'role')!.why).toContain(`kubectl annotate --overwrite role astro-remote-kpo-role -n ${NS} ${used}=left`);
    expect(byKind(items, 'access-entry')!.why).toContain(`aws eks tag-resource --resource-arn arn:aws:eks:us-east-1:123456789012:access-entry/remote-kpo-demo/role/123456789012/${ROLE}/`);
    expect(byKind(items, 'namespace')).toMatchObject({ decision: 'keep', why: expect.stringContaining('not created by this tool') });
    expect(cloud.aws.role(ROLE)).toBeDefined();

    // The project is gone for good: mark it as left, as told; the orphans go, what was there stays.
    forgetProject(cloud, id);
    const again = await destroy(cloud, dir, ['--workload-identity', WI_A]);
    for (const kind of ['role', 'role-binding', 'iam-role', 'access-entry']) expect(byKind(again, kind), kind).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(byKind(again, 'namespace')).toMatchObject({ decision: 'keep' });
    expect(cloud.kube.namespace(NS)).toBeDefined();
    expect(cloud.kube.configMap(NS, 'team-settings')?.data).toEqual({ a: 'b' });
    expect(cloud.kube.roleBinding(NS, 'team-view')).toBeDefined();
    expect(cloud.kube.namespace(NS)!.metadata!.labels).toEqual({ team: 'data' });
    expect(cloud.aws.role(ROLE)).toBeUndefined();
  });

  it('the last project leaves a namespace it was not asked to delete marked "left": a later destroy may take it, once nobody else\'s things are in it', async () => {
    const { cloud, dir } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    expect((await init(cloud, dir, WI_A)).code).toBe(0);
    const id = (await readState(dir)).projectId;
    expect((await readState(dir)).stages.namespace.outputs.created).toBe(true);
    const first = await destroy(cloud, dir, [], { keepNamespace: true });
    expect(byKind(first, 'namespace')).toMatchObject({ decision: 'keep', why: expect.stringContaining('pass --delete-namespace') });
    // Not a user any more, but not an object from before use marks either (those count their creator).
    expect(cloud.kube.namespace(NS)!.metadata!.annotations?.[`${USED_BY}${id}`]).toMatch(/^left \d{4}-/);
    cloud.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'team-settings', namespace: NS }, data: { a: 'b' } });
    await rm(path.join(dir, '.astro-remote-kpo'), { recursive: true, force: true });
    const items = await destroy(cloud, dir, ['--workload-identity', WI_A]);
    expect(byKind(items, 'namespace')).toMatchObject({ decision: 'keep', why: expect.stringContaining('ConfigMap team-settings') });
    expect(cloud.kube.configMap(NS, 'team-settings')).toBeDefined();
    // Emptied of others' things, the orphan namespace goes on the next stateless destroy.
    cloud.kube.delete('ConfigMap', NS, 'team-settings');
    const again = await destroy(cloud, dir, ['--workload-identity', WI_A]);
    expect(byKind(again, 'namespace')).toMatchObject({ decision: 'delete', result: 'deleted' });
  });

  it('project B finds project A\'s setup: B marks it as used and records it as found; B\'s destroy takes out only B\'s principal and marks, A\'s verify still passes', async () => {
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
    // Everything A made now says both projects use it; A's creation marker is untouched.
    const both = [a.projectId, b.projectId].sort();
    expect(marksOf(cloud.aws.tags(ROLE))).toEqual(both);
    expect(cloud.aws.tags(ROLE)[PROJECT]).toBe(a.projectId);
    expect(marksOf(cloud.aws.accessEntry('remote-kpo-demo', ROLE_ARN)?.tags)).toEqual(both);
    for (const o of [cloud.kube.namespace(NS), cloud.kube.role(NS, 'astro-remote-kpo-role'), cloud.kube.roleBinding(NS, 'astro-remote-kpo-rolebinding')]) {
      expect(marksOf(o!.metadata!.annotations)).toEqual(both);
    }
    // A second init of B changes nothing.
    cloud.resetCalls();
    expect((await init(cloud, dirB, WI_B)).code).toBe(0);
    expect(cloud.mutatingCalls()).toEqual([]);

    const items = await destroy(cloud, dirB, ['--delete-cluster']);
    expect(items.filter((i) => i.decision === 'delete').map((i) => i.kind).sort()).toEqual(['trust-principal', 'use-mark', 'use-mark', 'use-mark', 'use-mark', 'use-mark']);
    expect(byKind(items, 'iam-role')).toMatchObject({ decision: 'keep', why: expect.stringContaining(`still used by astro-remote-kpo project ${a.projectId}`) });
    expect(cloud.aws.role(ROLE)).toBeDefined();
    expect(cloud.aws.inlinePolicyNames(ROLE)).toEqual(['AstroRemoteKPO-eks-describe']);
    expect(cloud.aws.trustPolicy(ROLE)).toMatchObject({ Statement: [{ Principal: { AWS: [WI_A] } }] });
    expect(marksOf(cloud.aws.tags(ROLE))).toEqual([a.projectId]);
    expect(marksOf(cloud.aws.accessEntry('remote-kpo-demo', ROLE_ARN)?.tags)).toEqual([a.projectId]);
    expect(marksOf(cloud.kube.roleBinding(NS, 'astro-remote-kpo-rolebinding')!.metadata!.annotations)).toEqual([a.projectId]);
    expect(await verify(cloud, dirA)).toEqual({ code: 0, failed: [] });

    // A second destroy of B's finds nothing of B's left to delete.
    const dry = await runCli(['destroy', '--json', '--dry-run', '--delete-namespace', '--project-dir', dirB], { env: cloud.env, cwd: dirB });
    const dryItems = (JSON.parse(dry.stdout) as { items: Item[] }).items;
    expect(dryItems.filter((i) => i.decision === 'delete')).toEqual([]);

    // A's destroy takes everything: A is the last one out.
    const itemsA = await destroy(cloud, dirA, ['--delete-cluster']);
    expect(byKind(itemsA, 'iam-role')).toMatchObject({ decision: 'delete', result: 'deleted' });
    expect(leftovers(cloud)).toEqual([]);
  });
});

/** What a person does for a project that is gone for good: mark it as left (the commands destroy
 * prints), here straight in the test cloud. */
function forgetProject(cloud: TestCloud, id: string): void {
  const key = `${USED_BY}${id}`;
  const tag = cloud.aws.role(ROLE)?.tags.find((t) => t.Key === key);
  if (tag) tag.Value = 'left';
  const entry = cloud.aws.accessEntry('remote-kpo-demo', ROLE_ARN);
  if (entry?.tags[key]) entry.tags[key] = 'left';
  for (const o of [cloud.kube.namespace(NS), cloud.kube.role(NS, 'astro-remote-kpo-role'), cloud.kube.roleBinding(NS, 'astro-remote-kpo-rolebinding')]) {
    if (o?.metadata?.annotations?.[key]) cloud.kube.put({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [key]: 'left' } } });
  }
}

// Namespace, Role and RoleBinding end to end (real built CLI, loopback test cloud): created as
// src/desired.ts says, a re-run changes nothing, drift made by hand in the cluster is repaired
// and reported, and --dry-run asks the API server's dryRun=All without storing anything.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { namespaceObject, roleBindingObject, roleObject } from '../../src/desired.js';
import type { TestCloud } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs } from './aws-helpers.js';

const NS = 'astro-remote-kpo';
const ROLE = 'astro-remote-kpo-role';
const RB = 'astro-remote-kpo-rolebinding';
const inputs = { namespace: NS, k8sRole: ROLE, k8sUser: 'AstroRemoteKPO' };

const cloudProject = useCloudProjects('kpo-kube-objects-');
let cloud: TestCloud;
let dir: string;
beforeEach(async () => {
  ({ cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } }));
});

async function init(extra: string[] = []) {
  const r = await runCli(initArgs(dir, extra), { env: cloud.env, cwd: dir });
  return { ...r, out: `${r.stdout}\n${r.stderr}` };
}

async function outputs(id: string): Promise<Record<string, unknown> | undefined> {
  const state = JSON.parse(await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8')) as {
    stages: Record<string, { outputs?: Record<string, unknown> }>;
  };
  return state.stages[id]?.outputs;
}

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

describe('namespace, Role and RoleBinding (e2e)', () => {
  it('creates exactly the desired objects; a re-run makes no mutating call', async () => {
    const r = await init();
    expect(r.code, r.out).toBe(0);
    expect(cloud.kube.namespace(NS)?.metadata?.labels).toMatchObject(namespaceObject(inputs).metadata.labels);
    const role = cloud.kube.role(NS, ROLE)!;
    expect(role.metadata?.labels).toEqual(roleObject(inputs).metadata.labels);
    expect(role.rules).toEqual(roleObject(inputs).rules);
    const rb = cloud.kube.roleBinding(NS, RB)!;
    expect(rb.subjects).toEqual(roleBindingObject(inputs).subjects);
    expect(rb.roleRef).toEqual(roleBindingObject(inputs).roleRef);
    expect(await outputs('namespace')).toEqual({ created: true });
    expect(await outputs('k8s-role')).toEqual({ created: true, changed: [] });
    expect(await outputs('role-binding')).toEqual({ created: true, name: RB, changed: [] });
    expect(cloud.mutatingCalls('kube').map((c) => c.operation)).toEqual(['POST namespaces', 'POST roles', 'POST rolebindings']);
    // run() creates from check()'s "not found" (CheckResult.seen) instead of asking again: each
    // object is read once before the last create (the access check, which comes after, lists the
    // bindings and reads the Role for its own question).
    const lastCreate = cloud.calls.findIndex((c) => c.operation === 'POST rolebindings');
    const reads = cloud.calls.slice(0, lastCreate).filter((c) => c.service === 'kube' && c.operation.startsWith('GET ')).map((c) => c.operation);
    expect(reads.sort()).toEqual(['GET namespaces', 'GET rolebindings', 'GET roles']);

    cloud.resetCalls();
    const again = await init();
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('namespace astro-remote-kpo exists (created by this project)');
    expect(cloud.mutatingCalls()).toEqual([]);
    // The kept outputs still say who created them.
    expect(await outputs('k8s-role')).toEqual({ created: true, changed: [] });
  });

  it('repairs a Role whose verb was removed by hand, says what changed, and keeps others’ annotations', async () => {
    expect((await init()).code).toBe(0);
    const role = cloud.kube.role(NS, ROLE)!;
    const rules = (role.rules as Rule[]).map((x) => (x.resources.includes('pods') ? { ...x, verbs: x.verbs.filter((v) => v !== 'delete') } : x));
    const annotations = { ...role.metadata?.annotations, 'example.com/owner': 'platform' };
    cloud.kube.put({ ...role, metadata: { ...role.metadata, annotations }, rules });
    cloud.resetCalls();

    const r = await init();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('updated Role astro-remote-kpo-role: added verb delete on pods');
    // Repaired, it is still the Role this project created: ours never turns into found.
    expect(await outputs('k8s-role')).toEqual({ created: true, changed: ['added verb delete on pods'] });
    const repaired = cloud.kube.role(NS, ROLE)!;
    expect(repaired.rules).toEqual(roleObject(inputs).rules);
    expect(repaired.metadata?.annotations).toEqual(annotations);
    expect(cloud.mutatingCalls().map((c) => c.operation)).toEqual(['PUT roles']);
  });

  it('repairs a RoleBinding: other subjects removed, a different roleRef re-created', async () => {
    expect((await init()).code).toBe(0);
    const rb = cloud.kube.roleBinding(NS, RB)!;
    cloud.kube.put({
      ...rb,
      subjects: [...(rb.subjects as object[]), { kind: 'User', name: 'intruder', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { kind: 'ClusterRole', name: 'edit', apiGroup: 'rbac.authorization.k8s.io' },
    });
    cloud.resetCalls();

    const r = await init();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('roleRef ClusterRole/edit → Role/astro-remote-kpo-role (roleRef cannot be changed in place: deleted and re-created)');
    const fixed = cloud.kube.roleBinding(NS, RB)!;
    expect(fixed.subjects).toEqual(roleBindingObject(inputs).subjects);
    expect(fixed.roleRef).toEqual(roleBindingObject(inputs).roleRef);
    expect(cloud.mutatingCalls().map((c) => c.operation)).toEqual(['DELETE rolebindings', 'POST rolebindings']);
  });

  it('uses a namespace someone else created as it is: no label of ours, recorded as found', async () => {
    cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { team: 'data' } } });
    const r = await init();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('namespace astro-remote-kpo exists');
    expect(cloud.kube.namespace(NS)?.metadata?.labels).toEqual({ team: 'data' });
    expect(cloud.kube.namespace(NS)?.metadata?.annotations).toBeUndefined();
    expect(cloud.mutatingCalls().filter((c) => c.operation.endsWith(' namespaces'))).toEqual([]);
    expect(await outputs('namespace')).toEqual({ created: false });
  });

  it('rides out throttling, a dropped connection and a 500 from the API server', async () => {
    cloud.faults.failNth('POST roles', 1, 'throttle');
    cloud.faults.failNth('GET rolebindings', 1, 'reset');
    cloud.faults.failNth('POST rolebindings', 1, '500');
    const r = await init();
    expect(r.code, r.out).toBe(0);
    expect(cloud.kube.role(NS, ROLE)?.rules).toEqual(roleObject(inputs).rules);
    expect(cloud.kube.roleBinding(NS, RB)?.subjects).toEqual(roleBindingObject(inputs).subjects);
    const faulted = cloud.calls.filter((c) => c.service === 'kube' && c.fault).map((c) => `${c.operation} ${c.status}`);
    // The RoleBinding's read goes out with the Namespace's (checkAfter), before the Role is created.
    expect(faulted).toEqual(['GET rolebindings 0', 'POST roles 429', 'POST rolebindings 500']);
  });

  it('--dry-run asks the API server (dryRun=All) and stores nothing', async () => {
    const r = await init(['--dry-run']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('create namespace astro-remote-kpo (accepted by the API server with dryRun=All)');
    // The Role and RoleBinding live in a namespace that does not exist yet: rendered, not sent.
    expect(r.out).toContain('create Role astro-remote-kpo-role in namespace astro-remote-kpo (after namespace astro-remote-kpo is created');
    expect(r.out).toContain('verbs: [create, get, list, watch, patch, delete]');
    const dry = cloud.calls.filter((c) => c.service === 'kube' && c.dryRun);
    expect(dry.map((c) => c.operation)).toEqual(['POST namespaces']);
    expect(cloud.mutatingCalls('kube')).toEqual([]);
    expect(cloud.kube.namespace(NS)).toBeUndefined();

    // With the namespace there, the Role's update is dry-run by the server too.
    expect((await init()).code).toBe(0);
    const role = cloud.kube.role(NS, ROLE)!;
    cloud.kube.put({ ...role, rules: (role.rules as Rule[]).filter((x) => !x.resources.includes('events')) });
    cloud.resetCalls();
    const plan = await init(['--dry-run']);
    expect(plan.code, plan.out).toBe(0);
    expect(plan.out).toContain('update Role astro-remote-kpo-role in namespace astro-remote-kpo: added verbs list, watch on events (accepted by the API server with dryRun=All)');
    expect(cloud.calls.filter((c) => c.service === 'kube' && c.dryRun).map((c) => c.operation)).toEqual(['PUT roles']);
    expect(cloud.mutatingCalls()).toEqual([]);
    expect((cloud.kube.role(NS, ROLE)!.rules as Rule[]).some((x) => x.resources.includes('events'))).toBe(false);
  });
});

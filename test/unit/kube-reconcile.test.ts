// Create-or-update of the Namespace, Role and RoleBinding: the comparisons on the fields we own,
// the wording of "what changed", and the update flow over the real client against a loopback
// server replaying kube-apiserver answers (including the captured 409 conflict sequence).
import { afterEach, describe, expect, it } from 'vitest';
import { expectCode } from '../support/failure.js';
import { KPO_RULES, roleBindingObject, roleObject } from '../../src/desired.js';
import type { KubeApi, KubeObject } from '../../src/kube/api.js';
import { namespaceOps, roleBindingOps, roleOps } from '../../src/kube/objects.js';
import {
  asFinding,
  findings,
  grants,
  outOfSync,
  planReconcile,
  reconcile,
  roleRefChange,
  ruleChanges,
  subjectChanges,
} from '../../src/kube/reconcile.js';
import { json, loopback, sample, sampleJson, status, type Loopback } from './kube-loopback.js';

const inputs = { namespace: 'astro-remote-kpo', k8sRole: 'astro-remote-kpo-role', k8sUser: 'AstroRemoteKPO' };
let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('comparisons', () => {
  it('compares rules as sets of grants: order and grouping do not matter', () => {
    const shuffled = [
      { apiGroups: [''], resources: ['events'], verbs: ['watch', 'list'] },
      { apiGroups: [''], resources: ['pods/exec', 'pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['delete', 'patch', 'watch', 'list', 'get', 'create'] },
    ];
    expect(ruleChanges(shuffled, KPO_RULES)).toEqual([]);
    expect(grants(KPO_RULES).size).toBe(6 + 1 + 2 + 2);
  });

  it('says which verbs were added and removed, per resource', () => {
    const drifted = [
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'patch', 'deletecollection', 'update'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
    ];
    expect(ruleChanges(drifted, KPO_RULES)).toEqual([
      'added verb delete on pods',
      'added verb get on pods/log',
      'added verbs list, watch on events',
      'removed verbs deletecollection, update on pods',
      'removed verb get on deployments.apps',
    ]);
    // resourceNames narrow a grant: a named grant is not the unnamed one.
    const named = [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'], resourceNames: ['one'] }];
    expect(ruleChanges(named, [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }])).toEqual([
      'added verb get on pods/log',
      'removed verb get on pods/log (names one)',
    ]);
  });

  it('compares subjects with the API server defaults, and roleRef', () => {
    const want = roleBindingObject(inputs);
    expect(subjectChanges([{ kind: 'User', name: 'AstroRemoteKPO' }], want.subjects)).toEqual([]);
    expect(subjectChanges([{ kind: 'User', name: 'someone', apiGroup: 'rbac.authorization.k8s.io' }], want.subjects)).toEqual([
      'added subject User AstroRemoteKPO',
      'removed subject User someone',
    ]);
    expect(roleRefChange({ kind: 'Role', name: 'astro-remote-kpo-role', apiGroup: 'rbac.authorization.k8s.io' }, want.roleRef)).toBeUndefined();
    expect(roleRefChange({ kind: 'ClusterRole', name: 'edit', apiGroup: 'rbac.authorization.k8s.io' }, want.roleRef)).toBe(
      'roleRef ClusterRole/edit → Role/astro-remote-kpo-role',
    );
  });

  it('phrases differences as findings about the object as it is', () => {
    expect(asFinding('added verb get on pods/log')).toBe('missing verb get on pods/log');
    expect(asFinding('removed subject User alice')).toBe('extra subject User alice');
    expect(asFinding('roleRef ClusterRole/view → Role/astro-remote-kpo-role')).toBe('roleRef is ClusterRole/view, not Role/astro-remote-kpo-role');
    const ops = roleBindingOps(() => ({}) as KubeApi, inputs);
    const current = { ...roleBindingObject(inputs), subjects: [{ kind: 'User', name: 'alice' }], roleRef: { kind: 'ClusterRole', name: 'view', apiGroup: 'rbac.authorization.k8s.io' } };
    expect(findings(ops, current)).toEqual([
      'roleRef is ClusterRole/view, not Role/astro-remote-kpo-role',
      'missing subject User AstroRemoteKPO',
      'extra subject User alice',
    ]);
    expect(findings(ops, roleBindingObject(inputs))).toEqual([]);
  });

  it('a guard that refuses stops reconcile and the plan before any write; it is not asked about an object in sync', async () => {
    const writes: string[] = [];
    let asked = 0;
    const drifted = { ...roleBindingObject(inputs), roleRef: { kind: 'ClusterRole', name: 'view', apiGroup: 'rbac.authorization.k8s.io' } };
    let current: KubeObject = drifted;
    const ops = {
      ...roleBindingOps(() => ({}) as KubeApi, inputs),
      read: async () => current,
      create: async (b: KubeObject) => (writes.push('create'), b),
      replace: async (b: KubeObject) => (writes.push('replace'), b),
      remove: async () => void writes.push('remove'),
      guard: async () => {
        asked++;
        throw new Error('not ours');
      },
    };
    await expect(reconcile(ops)).rejects.toThrow('not ours');
    const plan = await planReconcile(ops, { ask: true });
    expect(plan.items[0]).toMatchObject({ unknown: 'init will refuse: not ours' });
    expect(writes).toEqual([]);
    current = roleBindingObject(inputs);
    asked = 0;
    expect(await reconcile(ops)).toEqual({ created: false, changed: [] });
    expect(asked).toBe(0);
  });

  it('never compares a found object on our creation marker, nor adds it', () => {
    const current = { ...roleObject(inputs), metadata: { name: 'astro-remote-kpo-role', namespace: 'astro-remote-kpo', labels: { team: 'data' } } };
    const ops = roleOps(() => ({}) as KubeApi, inputs, 'p-1');
    expect(ops.desired.metadata).toMatchObject({ labels: { 'app.kubernetes.io/managed-by': 'astro-remote-kpo' }, annotations: { 'astro-remote-kpo/project-id': 'p-1' } });
    expect(ops.diff(current)).toEqual([]);
    expect(ops.merge(current).metadata).toEqual(current.metadata);
  });
});

describe('reconcile over the client', () => {
  it('repairs a drifted Role with the read resourceVersion, retries the 409, keeps others’ annotations', async () => {
    const drifted = sampleJson('roles-PATCH-200-merge'); // another writer dropped the events rule
    let gets = 0;
    let puts = 0;
    server = await loopback((req) => {
      if (req.method === 'GET') {
        gets++;
        const meta = drifted.metadata as Record<string, unknown>;
        return json(200, { ...drifted, metadata: { ...meta, resourceVersion: gets === 1 ? '203' : '205' } });
      }
      if (req.method === 'PUT') {
        puts++;
        return puts === 1 ? sample('roles-PUT-409') : sample('roles-PUT-200');
      }
      return status(405, 'MethodNotAllowed', req.method);
    });
    const kube = await server.client();
    const r = await reconcile(roleOps(() => kube, inputs));
    expect(r).toEqual({ created: false, changed: ['added verbs list, watch on events'] });
    const putBodies = server.seen.filter((s) => s.method === 'PUT').map((s) => s.json as ReturnType<typeof roleObject> & { metadata: Record<string, unknown> });
    expect(putBodies.map((b) => b.metadata.resourceVersion)).toEqual(['203', '205']);
    expect(putBodies[1]!.rules).toEqual(roleObject(inputs).rules);
    expect(putBodies[1]!.metadata.annotations).toEqual({ 'example.com/touched-by': 'another-writer' });
    expect(server.seen.map((s) => s.method)).toEqual(['GET', 'PUT', 'GET', 'PUT']);
  });

  it('after a 409, an object that is now right needs no second write, and still reports the change', async () => {
    let gets = 0;
    server = await loopback((req) => {
      if (req.method === 'GET') return ++gets === 1 ? sample('roles-PATCH-200-merge') : sample('roles-PUT-200');
      if (req.method === 'PUT') return sample('roles-PUT-409');
      return status(405, 'MethodNotAllowed', req.method);
    });
    const kube = await server.client();
    expect(await reconcile(roleOps(() => kube, inputs))).toEqual({ created: false, changed: ['added verbs list, watch on events'] });
    expect(server.seen.map((s) => s.method)).toEqual(['GET', 'PUT', 'GET']);
  });

  it('check() reasons are findings: what is missing or extra', async () => {
    server = await loopback(() => sample('roles-PATCH-200-merge'));
    const kube = await server.client();
    expect(await outOfSync(roleOps(() => kube, inputs))).toBe('Role astro-remote-kpo-role in namespace astro-remote-kpo: missing verbs list, watch on events');
  });

  it('creates what is missing, and makes no write when everything is in sync', async () => {
    const state = new Map<string, unknown>();
    server = await loopback((req) => {
      if (req.method === 'GET') return state.has(req.path) ? json(200, state.get(req.path)) : sample('roles-GET-404');
      if (req.method === 'POST') {
        const obj = req.json as { metadata: { name: string } };
        state.set(`${req.path}/${obj.metadata.name}`, { ...obj, metadata: { ...obj.metadata, resourceVersion: '1' } });
        return json(201, obj);
      }
      return status(405, 'MethodNotAllowed', req.method);
    });
    const kube = await server.client();
    expect(await outOfSync(roleOps(() => kube, inputs))).toBe('Role astro-remote-kpo-role in namespace astro-remote-kpo does not exist');
    expect(await reconcile(roleOps(() => kube, inputs))).toEqual({ created: true, changed: [] });
    expect(await reconcile(roleBindingOps(() => kube, inputs))).toEqual({ created: true, changed: [] });
    const writes = server.seen.filter((s) => s.method !== 'GET').length;
    expect(await outOfSync(roleOps(() => kube, inputs))).toBeUndefined();
    expect(await reconcile(roleOps(() => kube, inputs))).toEqual({ created: false, changed: [] });
    expect(await reconcile(roleBindingOps(() => kube, inputs))).toEqual({ created: false, changed: [] });
    expect(server.seen.filter((s) => s.method !== 'GET').length).toBe(writes);
  });

  it('treats 409 AlreadyExists on create as a race: reads again and compares', async () => {
    let gets = 0;
    server = await loopback((req) => {
      if (req.method === 'GET') return ++gets === 1 ? sample('namespaces-GET-404') : sample('namespaces-GET-200');
      if (req.method === 'POST') return sample('namespaces-POST-409');
      return status(405, 'MethodNotAllowed', req.method);
    });
    const kube = await server.client();
    expect(await reconcile(namespaceOps(() => kube, inputs))).toEqual({ created: false, changed: [] });
  });

  it('deletes and re-creates a RoleBinding whose roleRef differs (it is immutable)', async () => {
    const current = sampleJson('rolebindings-GET-200');
    let deleted = false;
    server = await loopback((req) => {
      if (req.method === 'GET') return deleted ? sample('roles-GET-404') : json(200, { ...current, roleRef: { kind: 'ClusterRole', name: 'edit', apiGroup: 'rbac.authorization.k8s.io' } });
      if (req.method === 'DELETE') {
        deleted = true;
        return json(200, { kind: 'Status', status: 'Success' });
      }
      if (req.method === 'POST') return sample('rolebindings-POST-201');
      return status(405, 'MethodNotAllowed', req.method);
    });
    const kube = await server.client();
    const r = await reconcile(roleBindingOps(() => kube, inputs, 'p-1'));
    // A found binding re-created with its own metadata: it does not become ours.
    expect(r.created).toBe(false);
    expect(r.changed[0]).toContain('roleRef ClusterRole/edit → Role/astro-remote-kpo-role');
    expect(server.seen.map((s) => s.method)).toEqual(['GET', 'DELETE', 'POST']);
    const sent = server.seen[2]!.json as { roleRef: unknown; metadata: { labels?: unknown; annotations?: unknown } };
    expect(sent.roleRef).toEqual(roleBindingObject(inputs).roleRef);
    expect(sent.metadata.labels).toEqual((current as { metadata: { labels?: unknown } }).metadata.labels);
    expect(sent.metadata.annotations).toEqual((current as { metadata: { annotations?: unknown } }).metadata.annotations);
  });

  it('refuses to create in a namespace that is being deleted', async () => {
    const ns = sampleJson('namespaces-GET-200');
    server = await loopback(() => json(200, { ...ns, status: { phase: 'Terminating' } }));
    const kube = await server.client();
    await expectCode(reconcile(namespaceOps(() => kube, inputs)), 'NAMESPACE_TERMINATING');
  });

  it('plans with the API server’s dryRun=All and writes nothing', async () => {
    server = await loopback((req) => {
      if (req.method === 'GET') return sample('namespaces-GET-404');
      if (req.method === 'POST') return req.query.get('dryRun') === 'All' ? sample('namespaces-POST-dryRun') : status(400, 'BadRequest', 'expected a dry run');
      return status(405, 'MethodNotAllowed', req.method);
    });
    const kube = await server.client();
    const p = await planReconcile(namespaceOps(() => kube, inputs), { ask: true });
    expect(p.exists).toBe(false);
    expect(p.items[0]!.action).toBe('create namespace astro-remote-kpo (accepted by the API server with dryRun=All)');
    expect(p.items[0]!.details).toContain('app.kubernetes.io/managed-by: astro-remote-kpo');
    expect(server.seen.filter((s) => s.method === 'POST').every((s) => s.query.get('dryRun') === 'All')).toBe(true);
    const offline = await planReconcile(roleOps((): KubeApi => {
      throw new Error('must not be called');
    }, inputs), { ask: false, unknown: 'no connection' });
    expect(offline.items[0]).toMatchObject({ unknown: 'no connection' });
    expect(offline.items[0]!.details).toContain('pods/log');
  });
});

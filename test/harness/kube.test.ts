// The fake Kubernetes API server: replays the kube-apiserver wire samples (status, JSON shape,
// RBAC answers word for word) and drives it with @kubernetes/client-node from the kubeconfig.
import { ApiException, AuthorizationV1Api, CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { jsonPaths, kubeRaw, sample } from './helpers.js';

const NS = 'astro-remote-kpo';
let cloud: TestCloud;
let kc: KubeConfig;

beforeAll(async () => {
  cloud = await startTestCloud({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: 'token' } });
  kc = new KubeConfig();
  kc.loadFromFile(cloud.kubeconfigPath);
});
afterAll(() => cloud.stop());

/** Paths that legitimately differ from the capture (server-side bookkeeping). */
const shape = (body: string) => [...jsonPaths(JSON.parse(body))].filter((p) => !p.includes('managedFields[].fieldsV1.')).sort();

describe('wire samples, replayed in capture order', () => {
  const order = [
    'version-GET',
    'api-GET',
    'apis-GET',
    'namespaces-GET-404',
    'namespaces-POST-dryRun',
    'namespaces-GET-404-after-dryRun',
    'namespaces-POST-201',
    'namespaces-POST-409',
    'namespaces-GET-200',
    'roles-GET-404',
    'roles-POST-201',
    'roles-GET-200',
    'roles-PATCH-200-merge',
    'roles-PUT-409',
    'roles-PUT-200',
    'rolebindings-POST-201',
    'rolebindings-GET-200',
    'configmaps-aws-auth-GET-404',
    'configmaps-aws-auth-POST-201',
    'configmaps-aws-auth-GET-200',
    'configmaps-aws-auth-PUT-200',
    'configmaps-aws-auth-PUT-409',
    'subjectaccessreviews-POST-allowed',
    'subjectaccessreviews-POST-allowed-subresource',
    'subjectaccessreviews-POST-denied',
    'selfsubjectaccessreviews-POST-impersonated-allowed',
    'selfsubjectaccessreviews-POST-impersonated-denied',
    'namespaces-GET-401-bad-token',
    'pods-LIST-403-impersonated',
    'pods-LIST-200-impersonated',
  ];

  it('answers every request with the sample status and JSON shape', async () => {
    let lastRv = '';
    for (const name of order) {
      const s = sample(`kubernetes/${name}`);
      const q = new URLSearchParams(s.request.query).toString();
      let body = s.request.body;
      // The samples' resourceVersions are the capture's; ours differ, so carry the real ones over.
      if (name === 'roles-PUT-200' || name === 'configmaps-aws-auth-PUT-200') body = body.replace(/"resourceVersion":"\d+"/, `"resourceVersion":"${lastRv}"`);
      if (name === 'roles-PUT-409') body = body.replace(/"resourceVersion":"\d+"/, '"resourceVersion":"1"');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.request.headers)) if (/^(impersonate-user|content-type)$/i.test(k)) headers[k] = v;
      const token = name.includes('401') ? 'not-a-valid-token' : cloud.kube.adminToken;
      const res = await kubeRaw(cloud.kube.url, s.request.method, `${s.request.path}${q ? `?${q}` : ''}`, { token, body: body || undefined, headers });
      expect(res.status, name).toBe(s.response.status);
      expect(res.headers['content-type'], name).toBe('application/json');
      if (name === 'version-GET') {
        expect(Object.keys(JSON.parse(res.body)), name).toEqual(Object.keys(JSON.parse(s.response.body)));
        continue;
      }
      expect(res.body.endsWith('}\n'), `${name}: compact JSON + newline`).toBe(true);
      expect(shape(res.body), name).toEqual(shape(s.response.body));
      const got = JSON.parse(res.body) as { kind?: string; metadata?: { resourceVersion?: string }; status?: unknown; message?: string };
      const want = JSON.parse(s.response.body) as typeof got;
      if (got.kind === 'Status' || /accessreviews/.test(name)) {
        // Failures and RBAC answers must be word for word what kube-apiserver says.
        expect(got.status, name).toEqual(want.status);
        expect(got.message, name).toEqual(want.message);
      }
      if (got.metadata?.resourceVersion) lastRv = got.metadata.resourceVersion;
      if (name === 'roles-GET-200') lastRv = got.metadata!.resourceVersion!;
    }
    // The PUT replaced the whole object: the other writer's annotation is gone.
    expect(cloud.kube.role(NS, 'astro-remote-kpo-role')?.metadata?.annotations).toBeUndefined();
    expect(cloud.kube.awsAuth().map((m) => m.rolearn)).toContain('arn:aws:iam::123456789012:role/AstroRemoteKPO');
  });
});

describe('@kubernetes/client-node against the fake', () => {
  it('reads discovery and parses NotFound/AlreadyExists/Conflict as ApiException with a Status body', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const err = await core.readNamespace({ name: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(404);
    expect(JSON.parse((err as ApiException<string>).body)).toMatchObject({ kind: 'Status', reason: 'NotFound', details: { name: 'nope', kind: 'namespaces' } });
    const dry = await core.createNamespace({ body: { metadata: { name: 'dry' } }, dryRun: 'All' });
    expect(dry.metadata?.uid).toBeTruthy();
    expect(dry.metadata?.resourceVersion).toBeUndefined();
    expect(cloud.kube.namespace('dry')).toBeUndefined();
    const created = await core.createNamespace({ body: { metadata: { name: 'team-a', labels: { a: 'b' } } } });
    expect(created.metadata?.labels).toEqual({ a: 'b', 'kubernetes.io/metadata.name': 'team-a' });
    expect(created.status?.phase).toBe('Active');
    await expect(core.createNamespace({ body: { metadata: { name: 'team-a' } } })).rejects.toMatchObject({ code: 409 });
    await expect(core.createNamespace({ body: { metadata: { name: 'Bad_Name' } } })).rejects.toMatchObject({ code: 422 });
    const cm = await core.createNamespacedConfigMap({ namespace: 'team-a', body: { metadata: { name: 'c' }, data: { k: 'v' } } });
    cloud.kube.put({ ...cloud.kube.configMap('team-a', 'c')!, data: { k: 'changed' } });
    await expect(core.replaceNamespacedConfigMap({ namespace: 'team-a', name: 'c', body: { ...cm, data: { k: 'mine' } } })).rejects.toMatchObject({ code: 409 });
    await expect(core.createNamespacedConfigMap({ namespace: 'missing', body: { metadata: { name: 'c' } } })).rejects.toMatchObject({ code: 404 });
  });

  it('Roles and RoleBindings: create, merge patch, replace, list, delete; roleRef is immutable', async () => {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'team-b' } } });
    const role = await rbac.createNamespacedRole({ namespace: 'team-b', body: { metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } });
    const patched = await rbac.patchNamespacedRole({ namespace: 'team-b', name: 'r', body: { metadata: { annotations: { x: 'y' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(patched.metadata?.annotations).toEqual({ x: 'y' });
    expect(patched.metadata?.resourceVersion).not.toBe(role.metadata?.resourceVersion);
    await expect(rbac.replaceNamespacedRole({ namespace: 'team-b', name: 'r', body: role })).rejects.toMatchObject({ code: 409 });
    await expect(rbac.createNamespacedRole({ namespace: 'team-b', body: { metadata: { name: 'bad' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: [] }] } })).rejects.toMatchObject({ code: 422 });
    const rb = await rbac.createNamespacedRoleBinding({
      namespace: 'team-b',
      body: { metadata: { name: 'rb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'u' }] },
    });
    await expect(rbac.replaceNamespacedRoleBinding({ namespace: 'team-b', name: 'rb', body: { ...rb, roleRef: { ...rb.roleRef, name: 'other' } } })).rejects.toMatchObject({ code: 422 });
    expect((await rbac.listNamespacedRole({ namespace: 'team-b' })).items.map((r) => r.metadata?.name)).toEqual(['r']);
    expect((await rbac.listNamespacedRoleBinding({ namespace: 'team-b', fieldSelector: 'metadata.name=other' })).items).toEqual([]);
    expect((await rbac.listNamespacedRoleBinding({ namespace: 'team-b', labelSelector: 'missing' })).items).toEqual([]);
    await rbac.deleteNamespacedRole({ namespace: 'team-b', name: 'r' });
    expect(cloud.kube.role('team-b', 'r')).toBeUndefined();
  });

  it('SubjectAccessReview / SelfSubjectAccessReview with impersonation agree with the RBAC evaluator', async () => {
    const authz = kc.makeApiClient(AuthorizationV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'team-c' } } });
    await rbac.createNamespacedRole({ namespace: 'team-c', body: { metadata: { name: 'logs' }, rules: [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }, { apiGroups: [''], resources: ['*/exec'], verbs: ['create'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: 'team-c', body: { metadata: { name: 'logs' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'logs' }, subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'readers' }] } });
    const sar = (verb: string, resource: string, subresource?: string, namespace = 'team-c') =>
      authz.createSubjectAccessReview({ body: { spec: { user: 'u', groups: ['readers'], resourceAttributes: { namespace, verb, resource, subresource } } } }).then((r) => r.status);
    expect(await sar('get', 'pods', 'log')).toEqual({ allowed: true, reason: 'RBAC: allowed by RoleBinding "logs/team-c" of Role "logs" to Group "readers"' });
    expect((await sar('get', 'pods'))?.allowed).toBe(false);
    expect((await sar('create', 'pods', 'exec'))?.allowed).toBe(true);
    expect((await sar('get', 'pods', 'log', 'default'))?.allowed).toBe(false);
    const self = await authz.createSelfSubjectAccessReview(
      { body: { spec: { resourceAttributes: { namespace: 'team-c', verb: 'get', resource: 'pods', subresource: 'log' } } } },
      setHeaderOptions('Impersonate-Group', 'readers', setHeaderOptions('Impersonate-User', 'someone')),
    );
    expect(self.status?.allowed).toBe(true);
    expect(cloud.kube.can('someone', { verb: 'get', resource: 'pods', subresource: 'log', namespace: 'team-c', group: '' }).allowed).toBe(false);
  });

  it('logs kube calls; reviews and dry runs are not mutating; faults apply', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    cloud.resetCalls();
    await core.createNamespace({ body: { metadata: { name: 'logged' } }, dryRun: 'All' });
    await core.createNamespace({ body: { metadata: { name: 'logged' } } });
    await core.readNamespace({ name: 'logged' });
    expect(cloud.calls.map((c) => [c.operation, c.mutating, c.status])).toEqual([
      ['POST namespaces', false, 201],
      ['POST namespaces', true, 201],
      ['GET namespaces', false, 200],
    ]);
    cloud.faults.failNth('GET namespaces', 1, 'throttle');
    await expect(core.readNamespace({ name: 'logged' })).rejects.toMatchObject({ code: 429 });
    // The control endpoint (what a separate process would use) schedules the same faults.
    await fetch(`${cloud.controlUrl}/faults`, { method: 'POST', body: JSON.stringify({ operation: 'GET namespaces', n: 1, kind: 'reset' }) });
    await expect(core.readNamespace({ name: 'logged' })).rejects.toThrow();
    await expect(core.readNamespace({ name: 'logged' })).resolves.toBeTruthy();
  });

  it('anonymous requests get RBAC answers (public /version, 403 elsewhere); unknown resources are 404', async () => {
    cloud.resetCalls();
    expect((await kubeRaw(cloud.kube.url, 'GET', '/version')).status).toBe(200);
    expect((await kubeRaw(cloud.kube.url, 'GET', '/healthz')).body).toBe('ok');
    const anon = await kubeRaw(cloud.kube.url, 'GET', '/api/v1/namespaces');
    expect(anon.status).toBe(403);
    expect(JSON.parse(anon.body).message).toBe('namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope');
    const secrets = await kubeRaw(cloud.kube.url, 'GET', '/api/v1/namespaces/default/secrets', { token: cloud.kube.adminToken });
    expect(secrets.status).toBe(404);
    expect(cloud.calls.map((c) => [c.operation, c.status])).toEqual([
      ['GET /version', 200],
      ['GET /healthz', 200],
      ['GET namespaces', 403],
      ['GET /api/v1/namespaces/default/secrets', 404],
    ]);
  });
});

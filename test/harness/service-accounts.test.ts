// The fake API server's ServiceAccounts and the pod create (`?dryRun=All`) with the ServiceAccount
// admission, driven by @kubernetes/client-node and the tool's own KubeClient: namespaced CRUD under
// RBAC, the `default` ServiceAccount of every namespace, RBAC for creating pods (the caller or the
// impersonated user), the admission's 403 word for word (research-20.md §6), the pod as admitted,
// nothing stored by a dry run, and the call log.
import { ApiException, CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../src/kube/client.js';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { kubeRaw } from './helpers.js';

const NS = 'astro-remote-kpo';
const SA = 'astro-remote-kpo-pods';
const USER = 'AstroRemoteKPO';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/AstroRemoteKPOPods';
const CHECK_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'arkpo-sa-check', namespace: NS },
  spec: { serviceAccountName: SA, restartPolicy: 'Never', containers: [{ name: 'check', image: 'public.ecr.aws/docker/library/busybox:1.36' }] },
};
let cloud: TestCloud;
let core: CoreV1Api;
let rbac: RbacAuthorizationV1Api;

const as = (user: string) => setHeaderOptions('Impersonate-User', user);
const failure = async (p: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ApiException);
  const err = e as ApiException<string>;
  return { code: err.code, body: JSON.parse(err.body) as Record<string, unknown> };
};

beforeAll(async () => {
  cloud = await startTestCloud({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: 'token' } });
  const kc = new KubeConfig();
  kc.loadFromFile(cloud.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  // The KubernetesPodOperator user's Role as init writes it: pods, pods/log, pods/exec; nothing on serviceaccounts.
  await rbac.createNamespacedRole({
    namespace: NS,
    body: { metadata: { name: 'astro-remote-kpo-role' }, rules: [{ apiGroups: [''], resources: ['pods', 'pods/log', 'pods/exec'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: NS,
    body: { metadata: { name: 'astro-remote-kpo-rolebinding' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'astro-remote-kpo-role' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: USER }] },
  });
});
afterAll(() => cloud.stop());

describe('ServiceAccounts', () => {
  it('every namespace has its default ServiceAccount, as the controller manager makes it (the tool\'s KubeClient lists it)', async () => {
    expect(cloud.kube.serviceAccount(NS, 'default')?.metadata).toMatchObject({ name: 'default', namespace: NS });
    expect(cloud.kube.serviceAccount('kube-system', 'default')).toBeDefined();
    const kube = await createKubeClient({
      server: cloud.kube.url,
      kubeconfig: {
        clusters: [{ name: 'c', cluster: { server: cloud.kube.url, 'certificate-authority-data': cloud.caData } }],
        users: [{ name: 'u', user: { token: cloud.kube.adminToken } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      },
      authDescription: 'static token',
    });
    try {
      expect((await kube.listIn(NS, { prefix: '/api/v1', resource: 'serviceaccounts' }))?.map((o) => o.metadata?.name)).toEqual(['default']);
    } finally {
      await kube.close();
    }
  });

  it('create (labels, role-arn annotation), read, list, patch, replace with a stale resourceVersion (409), delete', async () => {
    cloud.resetCalls();
    const body = { metadata: { name: SA, labels: { 'app.kubernetes.io/managed-by': 'astro-remote-kpo' }, annotations: { 'eks.amazonaws.com/role-arn': ROLE_ARN } } };
    const made = await core.createNamespacedServiceAccount({ namespace: NS, body });
    expect(made).toMatchObject({ kind: 'ServiceAccount', apiVersion: 'v1', metadata: { namespace: NS, ...body.metadata } });
    expect(made.metadata?.uid).toBeTruthy();
    expect(made.metadata?.resourceVersion).toBeTruthy();
    expect((await failure(core.createNamespacedServiceAccount({ namespace: NS, body }))).body).toMatchObject({ reason: 'AlreadyExists', message: `serviceaccounts "${SA}" already exists`, code: 409 });
    expect((await core.readNamespacedServiceAccount({ namespace: NS, name: SA })).metadata?.annotations).toEqual(body.metadata.annotations);
    expect((await core.listNamespacedServiceAccount({ namespace: NS })).items.map((o) => o.metadata?.name)).toEqual([SA, 'default']);
    const patched = await core.patchNamespacedServiceAccount({ namespace: NS, name: SA, body: { metadata: { annotations: { 'eks.amazonaws.com/sts-regional-endpoints': 'true' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(patched.metadata?.annotations).toEqual({ 'eks.amazonaws.com/role-arn': ROLE_ARN, 'eks.amazonaws.com/sts-regional-endpoints': 'true' });
    expect((await failure(core.replaceNamespacedServiceAccount({ namespace: NS, name: SA, body: made }))).code).toBe(409);
    expect(cloud.kube.serviceAccount(NS, SA)?.metadata?.annotations?.['eks.amazonaws.com/sts-regional-endpoints']).toBe('true');
    await core.deleteNamespacedServiceAccount({ namespace: NS, name: SA });
    expect(cloud.kube.serviceAccount(NS, SA)).toBeUndefined();
    expect((await failure(core.readNamespacedServiceAccount({ namespace: NS, name: SA }))).body).toMatchObject({ reason: 'NotFound', message: `serviceaccounts "${SA}" not found` });
    expect(cloud.mutatingCalls().map((c) => [c.operation, c.status])).toEqual([
      ['POST serviceaccounts', 201],
      ['POST serviceaccounts', 409],
      ['PATCH serviceaccounts', 200],
      ['PUT serviceaccounts', 409],
      ['DELETE serviceaccounts', 200],
    ]);
  });

  it('RBAC applies: the pod user may not read ServiceAccounts (403 word for word); hold makes the ServiceAccount before answering', async () => {
    const denied = await failure(core.readNamespacedServiceAccount({ namespace: NS, name: 'default' }, as(USER)));
    expect(denied).toEqual({ code: 403, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `serviceaccounts "default" is forbidden: User "${USER}" cannot get resource "serviceaccounts" in API group "" in the namespace "${NS}"`, reason: 'Forbidden', details: { name: 'default', kind: 'serviceaccounts' }, code: 403 } });
    cloud.faults.slowMs = 400;
    cloud.faults.failNth('POST serviceaccounts', 1, 'hold');
    let answered = false;
    const p = core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'held' } } }).then(() => (answered = true));
    while (!cloud.kube.serviceAccount(NS, 'held')) await new Promise((r) => setTimeout(r, 10));
    expect(answered).toBe(false);
    await p;
    expect(cloud.calls.at(-1)).toMatchObject({ operation: 'POST serviceaccounts', mutating: true, status: 201, fault: 'hold' });
    await core.deleteNamespacedServiceAccount({ namespace: NS, name: 'held' });
  });
});

describe('pod create with ?dryRun=All: RBAC, then the ServiceAccount admission', () => {
  it('a missing ServiceAccount: 403 Forbidden with the admission plugin\'s message, for the impersonated pod user', async () => {
    const res = await kubeRaw(cloud.kube.url, 'POST', `/api/v1/namespaces/${NS}/pods?dryRun=All`, { token: cloud.kube.adminToken, body: JSON.stringify(CHECK_POD), headers: { 'Impersonate-User': USER } });
    expect(res.status).toBe(403);
    expect(res.body).toBe(
      `${JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `pods "arkpo-sa-check" is forbidden: error looking up service account ${NS}/${SA}: serviceaccount "${SA}" not found`, reason: 'Forbidden', details: { name: 'arkpo-sa-check', kind: 'pods' }, code: 403 })}\n`,
    );
    // With only generateName, the message names the generateName (admission runs before a name is made).
    const generated = await failure(core.createNamespacedPod({ namespace: NS, body: { ...CHECK_POD, metadata: { generateName: 'x-' } }, dryRun: 'All' }));
    expect(generated.body.message).toBe(`pods "x-" is forbidden: error looking up service account ${NS}/${SA}: serviceaccount "${SA}" not found`);
  });

  it('the ServiceAccount there: 201 with the pod as admitted, no resourceVersion, nothing stored; the user needs no RBAC on serviceaccounts', async () => {
    cloud.kube.put({ kind: 'ServiceAccount', metadata: { name: SA, namespace: NS, annotations: { 'eks.amazonaws.com/role-arn': ROLE_ARN } } });
    cloud.resetCalls();
    const pod: V1Pod = await core.createNamespacedPod({ namespace: NS, body: CHECK_POD, dryRun: 'All' }, as(USER));
    expect(pod.metadata).toMatchObject({ name: 'arkpo-sa-check', namespace: NS });
    expect(pod.metadata?.uid).toBeTruthy();
    expect(pod.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(pod.metadata?.resourceVersion).toBeUndefined();
    expect(pod.spec).toMatchObject({ serviceAccountName: SA, serviceAccount: SA, restartPolicy: 'Never', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30 });
    const volume = pod.spec?.volumes?.[0];
    expect(volume?.name).toMatch(/^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(volume?.projected?.sources?.[0]?.serviceAccountToken).toMatchObject({ path: 'token', expirationSeconds: 3607 });
    expect(pod.spec?.containers[0]).toMatchObject({ name: 'check', imagePullPolicy: 'IfNotPresent', volumeMounts: [{ name: volume?.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] });
    expect(pod.status).toMatchObject({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(cloud.kube.list('Pod', NS)).toEqual([]);
    expect(cloud.calls).toMatchObject([{ service: 'kube', operation: 'POST pods', mutating: false, dryRun: true, status: 201, caller: USER, namespace: NS }]);
    expect(cloud.kube.can(USER, { verb: 'get', resource: 'serviceaccounts', namespace: NS, group: '' }).allowed).toBe(false);
  });

  it('RBAC first: a user who may not create pods gets RBAC\'s 403, whatever the ServiceAccount', async () => {
    for (const sa of [SA, 'missing']) {
      const denied = await failure(core.createNamespacedPod({ namespace: NS, body: { ...CHECK_POD, spec: { ...CHECK_POD.spec, serviceAccountName: sa } }, dryRun: 'All' }, as('someone-else')));
      expect(denied.body).toMatchObject({ reason: 'Forbidden', message: `pods is forbidden: User "someone-else" cannot create resource "pods" in API group "" in the namespace "${NS}"`, code: 403 });
    }
  });

  it('no serviceAccountName: the namespace\'s default ServiceAccount; automount off: no token volume; a real create stores the pod', async () => {
    const bare = await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'bare' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] } }, dryRun: 'All' });
    expect(bare.spec).toMatchObject({ serviceAccountName: 'default', restartPolicy: 'Always' });
    expect(bare.spec?.volumes).toBeUndefined();
    expect(bare.spec?.containers[0]?.imagePullPolicy).toBe('Always');
    const invalid = await failure(core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'empty' }, spec: { containers: [] } }, dryRun: 'All' }));
    expect(invalid.body).toMatchObject({ reason: 'Invalid', message: 'Pod "empty" is invalid: spec.containers: Required value', code: 422 });
    const stored = await core.createNamespacedPod({ namespace: NS, body: { ...CHECK_POD, metadata: { name: 'stored' } } }, as(USER));
    expect(stored.metadata?.resourceVersion).toBeTruthy();
    expect(cloud.kube.get('Pod', NS, 'stored')?.spec).toMatchObject({ serviceAccountName: SA });
    expect(cloud.mutatingCalls().at(-1)).toMatchObject({ operation: 'POST pods', mutating: true, status: 201 });
    const noNs = await failure(core.createNamespacedPod({ namespace: 'no-such-ns', body: { ...CHECK_POD, metadata: { name: 'x' } }, dryRun: 'All' }));
    expect(noNs.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "no-such-ns" not found', code: 404 });
  });
});

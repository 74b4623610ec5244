// The fake API server around a pod (src/sim/kube/kubelet.ts), on the wire: the ServiceAccount
// admission plugin's refusal word for word (plugin/pkg/admission/serviceaccount: NewForbidden of
// "error looking up service account <ns>/<sa>: …"), a new pod Pending with no node, the statuses a
// script gives it, and pods/log as kube-apiserver answers it before and after the container ran.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { podStatus } from '../support/cloud.js';
import { kubeRaw } from './helpers.js';

const NS = 'astro-remote-kpo';
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ cluster: { name: 'remote-kpo-demo' } });
  cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
});
afterAll(() => cloud.stop());
beforeEach(() => cloud.kube.kubelet.reset());

const pod = (name: string, serviceAccountName?: string) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { ...(serviceAccountName ? { serviceAccountName } : {}), restartPolicy: 'Never', containers: [{ name: 'aws', image: 'public.ecr.aws/aws-cli/aws-cli:2.27.26' }] } });
const api = (method: string, path: string, body?: string) => kubeRaw(cloud.kube.url, method, path, { token: cloud.kube.adminToken, ...(body ? { body } : {}) });
const until = async (check: () => boolean) => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('pods on a cluster without nodes', () => {
  it('a pod naming a missing ServiceAccount is refused by admission, dry run or not; nothing is stored', async () => {
    for (const query of ['', '?dryRun=All']) {
      const r = await api('POST', `/api/v1/namespaces/${NS}/pods${query}`, pod('arkpo-sa-check', 'astro-remote-kpo-pods'));
      expect(r.status).toBe(403);
      // The body research-20 §6 assembled from the plugin and apiserver sources.
      expect(JSON.parse(r.body)).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "arkpo-sa-check" is forbidden: error looking up service account astro-remote-kpo/astro-remote-kpo-pods: serviceaccount "astro-remote-kpo-pods" not found',
        reason: 'Forbidden',
        details: { name: 'arkpo-sa-check', kind: 'pods' },
        code: 403,
      });
    }
    expect(cloud.kube.list('pods', NS)).toEqual([]);
  });

  it('a new pod is Pending as the default ServiceAccount, with no node; its log is empty until one runs it', async () => {
    const r = await api('POST', `/api/v1/namespaces/${NS}/pods`, pod('plain'));
    expect(r.status).toBe(201);
    const created = JSON.parse(r.body) as { spec: { serviceAccountName: string; nodeName?: string }; status: unknown };
    expect(created.spec.serviceAccountName).toBe('default');
    expect(created.spec.nodeName).toBeUndefined();
    expect(created.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    const log = await api('GET', `/api/v1/namespaces/${NS}/pods/plain/log?container=aws`);
    expect([log.status, log.body, log.headers['content-type']]).toEqual([200, '', 'text/plain']);
    const wrong = await api('GET', `/api/v1/namespaces/${NS}/pods/plain/log?container=other`);
    expect([wrong.status, JSON.parse(wrong.body).message]).toEqual([400, 'container other is not valid for pod plain']);
    expect((await api('DELETE', `/api/v1/namespaces/${NS}/pods/plain`)).status).toBe(200);
    expect((await api('GET', `/api/v1/namespaces/${NS}/pods/plain/log`)).status).toBe(404);
  });

  it('a scripted kubelet: waiting (the log says so), then the container ends and its output is served', async () => {
    cloud.kube.put({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'astro-remote-kpo-pods', namespace: NS } });
    cloud.kube.kubelet.script = (p) => [
      { afterMs: 10, nodeName: 'ip-192-168-12-34.ec2.internal', status: podStatus.waiting(p, 'ContainerCreating') },
      { afterMs: 300, status: podStatus.terminated(p, 0), log: 'arn:aws:sts::123456789012:assumed-role/AstroRemoteKPOPods/botocore-session-1\n' },
    ];
    expect((await api('POST', `/api/v1/namespaces/${NS}/pods`, pod('scripted', 'astro-remote-kpo-pods'))).status).toBe(201);
    const phase = () => (cloud.kube.get('Pod', NS, 'scripted')?.status as { phase?: string } | undefined)?.phase;
    await until(() => !!(cloud.kube.get('Pod', NS, 'scripted')?.spec as { nodeName?: string }).nodeName);
    const waiting = await api('GET', `/api/v1/namespaces/${NS}/pods/scripted/log`);
    expect([waiting.status, JSON.parse(waiting.body).message]).toEqual([400, 'container "aws" in pod "scripted" is waiting to start: ContainerCreating']);
    await until(() => phase() === 'Succeeded');
    const done = JSON.parse((await api('GET', `/api/v1/namespaces/${NS}/pods/scripted`)).body) as { status: { containerStatuses: Array<{ state: { terminated: { exitCode: number; reason: string } } }> } };
    expect(done.status.containerStatuses[0]!.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    const log = await api('GET', `/api/v1/namespaces/${NS}/pods/scripted/log?container=aws`);
    expect([log.status, log.body]).toEqual([200, 'arn:aws:sts::123456789012:assumed-role/AstroRemoteKPOPods/botocore-session-1\n']);
    expect(cloud.kube.kubelet.history.map((p) => p.metadata?.name)).toEqual(['scripted']);
  });
});

// From a context selection to a working client: an `aws eks get-token` exec user and the in-memory
// connection both authenticate with an in-process EKS token (nothing is spawned: there is no aws
// CLI here), other users keep their kubeconfig credentials.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AwsClients } from '../../src/aws/clients.js';
import { decodeEksToken } from '../../src/aws/eks-token.js';
import { connect } from '../../src/kube/connect.js';
import { loadKubeconfig } from '../../src/kube/kubeconfig.js';
import { selectContext } from '../../src/kube/select.js';
import { loopback, sample, type Loopback } from './kube-loopback.js';

const creds = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const aws: AwsClients = {
  region: 'us-east-1',
  credentials: async () => creds,
  sts: () => Promise.reject(new Error('not used')),
  iam: () => Promise.reject(new Error('not used')),
  eks: () => Promise.reject(new Error('not used')),
  logTo: () => undefined,
};
let dir: string;
let server: Loopback;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-connect-'));
  server = await loopback(() => sample('namespaces-GET-200'));
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function kubeconfig(user: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster: {server: "${server.url}"}
contexts:
- name: demo-ctx
  context: {cluster: demo, user: u}
current-context: demo-ctx
users:
- name: u
  user:
${user}
`;
}

const env = (file: string) => ({ KUBECONFIG: file, PATH: '/nonexistent', AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:4599' });

describe('connect', () => {
  it('replaces an `aws eks get-token` exec plugin with an in-process token for the same cluster and region', async () => {
    const file = path.join(dir, 'config');
    await writeFile(
      file,
      kubeconfig(`    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, eu-west-1, eks, get-token, --cluster-name, named-in-kubeconfig]`),
    );
    const kc = await loadKubeconfig(env(file));
    const selection = await selectContext({ kc, clusterName: 'remote-kpo-demo', endpoint: server.url });
    const conn = await connect({ selection, kc, inputs: { clusterName: 'remote-kpo-demo', region: 'us-east-1' }, aws, env: env(file) });
    expect(conn.tokenSource).toBe('in-process EKS token (replaces aws eks get-token)');
    expect(conn.kube.authDescription).toContain('kubeconfig context "demo-ctx"');
    await conn.kube.readNamespace('astro-remote-kpo');
    const auth = String(server.seen[0]!.headers.authorization);
    expect(auth.startsWith('Bearer k8s-aws-v1.')).toBe(true);
    const url = decodeEksToken(auth.slice('Bearer '.length));
    expect(url.origin).toBe('http://127.0.0.1:4599');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDTEST\/\d{8}\/eu-west-1\/sts\/aws4_request$/);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
  });

  it('builds an in-memory connection from the cluster endpoint when no context matches', async () => {
    const file = path.join(dir, 'config');
    await writeFile(file, kubeconfig('    token: static'));
    const kc = await loadKubeconfig(env(file));
    const endpoint = server.url.replace('127.0.0.1', 'localhost');
    const selection = await selectContext({ kc, clusterName: 'remote-kpo-demo', endpoint });
    expect(selection.source).toBe('in-memory');
    const conn = await connect({
      selection,
      kc,
      cluster: { endpoint, certificateAuthority: '' },
      inputs: { clusterName: 'remote-kpo-demo', region: 'us-east-1' },
      aws,
      env: env(file),
    });
    expect(conn.server).toBe(endpoint);
    expect(conn.tokenSource).toBe('in-process EKS token');
    await conn.kube.readNamespace('astro-remote-kpo');
    expect(String(server.seen[0]!.headers.authorization)).toMatch(/^Bearer k8s-aws-v1\./);
  });

  it('keeps a static kubeconfig token as it is', async () => {
    const file = path.join(dir, 'config');
    await writeFile(file, kubeconfig('    token: static-abc'));
    const kc = await loadKubeconfig(env(file));
    const selection = await selectContext({ kc, clusterName: 'remote-kpo-demo', endpoint: `${server.url}/` });
    const conn = await connect({ selection, kc, inputs: { clusterName: 'remote-kpo-demo', region: 'us-east-1' }, aws, env: env(file) });
    expect(conn.tokenSource).toBe('kubeconfig user u: bearer token');
    await conn.kube.readNamespace('astro-remote-kpo');
    expect(server.seen[0]!.headers.authorization).toBe('Bearer static-abc');
  });
});

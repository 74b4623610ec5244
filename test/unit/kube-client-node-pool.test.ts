// The client-node transport keeps one connection pool for the run. Through a kubeconfig that needs
// client-node (an exec plugin that is not one we replace in-process: the stand-in `aws` CLI run as
// `node aws.mjs eks get-token`, which client-node spawns), the access check's burst of concurrent
// reviews and the reads around it reach the test cloud's Kubernetes API over ONE TCP connection
// (HTTP/2, as kube-apiserver offers it), counted by the server; close() ends it.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createKubeClient } from '../../src/kube/client.js';
import { makeSimTls } from '../../src/sim/tls.js';
import { AWS_CLI_BIN_DIR, startTestCloud, type TestCloud } from '../support/cloud.js';

const CLUSTER = 'remote-kpo-demo';
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ cluster: { name: CLUSTER, nodeGroup: false } });
});

afterAll(async () => {
  await cloud?.stop();
});

function execKubeconfig() {
  const c = cloud.aws.eks.clusters.get(CLUSTER)!;
  const env = { AWS_ACCESS_KEY_ID: cloud.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: cloud.credentials.secretAccessKey, AWS_ENDPOINT_URL_STS: cloud.endpoints.sts };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CLUSTER, cluster: { server: c.endpoint, 'certificate-authority-data': c.caData } }],
    users: [
      {
        name: 'exec-user',
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: process.execPath,
            args: [path.join(AWS_CLI_BIN_DIR, 'aws.mjs'), 'eks', 'get-token', '--cluster-name', CLUSTER, '--region', cloud.region],
            env: Object.entries(env).map(([name, value]) => ({ name, value })),
            interactiveMode: 'Never',
          },
        },
      },
    ],
    contexts: [{ name: 'exec', context: { cluster: CLUSTER, user: 'exec-user' } }],
    'current-context': 'exec',
  };
}

it('client-node: 21 concurrent access reviews and 5 reads → 1 connection, closed at the end', async () => {
  const lines: string[] = [];
  const kubeconfig = execKubeconfig();
  const kube = await createKubeClient({ server: kubeconfig.clusters[0]!.cluster.server, kubeconfig, authDescription: 'exec plugin node aws.mjs', debug: (l) => lines.push(l) });
  expect(lines.join('\n')).toContain('client-node (the user runs an exec credential plugin)');
  const before = cloud.kubeConnections(CLUSTER);
  const q = { verb: 'create', resource: 'pods', namespace: 'astro-remote-kpo' };
  const answers = await Promise.all(Array.from({ length: 21 }, () => kube.subjectAccessReview('AstroRemoteKPO', q)));
  expect(answers).toHaveLength(21);
  for (let i = 0; i < 5; i++) expect((await kube.readNamespace('default'))?.metadata?.name).toBe('default');
  // Warm: a second burst reuses it too.
  await Promise.all(Array.from({ length: 21 }, () => kube.subjectAccessReview('AstroRemoteKPO', q)));
  const after = cloud.kubeConnections(CLUSTER);
  expect(after.opened - before.opened).toBe(1);
  // Every request was made (and authenticated as the test admin by the exec plugin's token).
  const reviews = cloud.calls.filter((c) => c.service === 'kube' && c.operation === 'POST subjectaccessreviews' && c.status === 201);
  expect(reviews.length).toBeGreaterThanOrEqual(42);
  await kube.close();
  await vi.waitFor(() => expect(cloud.kubeConnections(CLUSTER).open).toBe(before.open), { timeout: 10_000, interval: 20 });
});

it('client-node: a new pool only when the exec plugin hands out another client certificate; the old one is closed', async () => {
  // The server's TLS, and two more key pairs as the plugin's client certificates: A until its third run, then B.
  const serverTls = makeSimTls();
  const [a, b] = [makeSimTls(), makeSimTls()];
  const A = { cert: a.certPem, key: a.keyPem };
  const B = { cert: b.certPem, key: b.keyPem };
  const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kpo-exec-cert-'));
  const counter = path.join(dir, 'runs');
  writeFileSync(counter, '0');
  const plugin = path.join(dir, 'plugin.mjs');
  // Already expired, so client-node runs the plugin for every request (as it would at renewal).
  writeFileSync(
    plugin,
    `import { readFileSync, writeFileSync } from 'node:fs';
const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;
writeFileSync(${JSON.stringify(counter)}, String(n));
const pair = n <= 3 ? ${JSON.stringify(A)} : ${JSON.stringify(B)};
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { clientCertificateData: pair.cert, clientKeyData: pair.key, expirationTimestamp: '2000-01-01T00:00:00Z' } }));
`,
  );
  const peers: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = https.createServer({ key: serverTls.keyPem, cert: serverTls.certPem, requestCert: true, rejectUnauthorized: false }, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default"}}');
  });
  server.on('secureConnection', (s) => {
    peers.push(s.getPeerCertificate().fingerprint256);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const kubeconfig = {
      clusters: [{ name: 'c', cluster: { server: url, 'certificate-authority-data': Buffer.from(serverTls.caPem).toString('base64') } }],
      users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin], interactiveMode: 'Never' } } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    };
    const kube = await createKubeClient({ server: url, kubeconfig, authDescription: 'exec plugin with client certificates' });
    for (let i = 0; i < 4; i++) expect((await kube.readNamespace('default'))?.metadata?.name).toBe('default');
    // Runs 1-2 (the request and the pool it made): A; run 3: A again, same pool; run 4 on: B, a new pool.
    expect(peers).toEqual([fingerprint(A.cert), fingerprint(B.cert)]);
    await vi.waitFor(() => expect(sockets.size).toBe(1), { timeout: 10_000, interval: 20 });
    await kube.close();
    await vi.waitFor(() => expect(sockets.size).toBe(0), { timeout: 10_000, interval: 20 });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

// KubeClient, over both transports (node:https, and the client-node fallback), against a loopback HTTP(S) server that answers with the
// responses a real kube-apiserver 1.28 gave (shared/wire-samples/kubernetes). Checks what goes on
// the wire (paths, dryRun, bodies, Authorization, Impersonate-User) and how answers and failures
// come back (plain JSON, 404 → undefined, 409 → KUBE_CONFLICT, worded 401/403/network errors, each with its code).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeClient as createClient, type KubeClient } from '../../src/kube/client.js';
import { KubeRequestError, KubeUnreachableError } from '../../src/kube/errors.js';
import { exitCodeOf } from '../../src/errors.js';
import { expectCode } from '../support/failure.js';
import { roleObject } from '../../src/desired.js';
import { makeSimTls } from '../../src/sim/tls.js';

const SAMPLES = '/work/shared/wire-samples/kubernetes';
interface Sample {
  response: { status: number; headers: Record<string, string>; body: string };
}
function sample(name: string): Sample['response'] {
  return (JSON.parse(readFileSync(path.join(SAMPLES, `${name}.json`), 'utf8')) as Sample).response;
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Answer = { status: number; body: string; headers?: Record<string, string> } | 'reset';

const servers: Array<http.Server | https.Server> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(answer: (req: Seen, n: number) => Answer, tls?: { key: string | Buffer; cert: string | Buffer }) {
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      const a = answer(s, seen.length);
      if (a === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(a.status, { 'Content-Type': 'application/json', ...(a.headers ?? {}) });
      res.end(a.body);
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { seen, url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}` };
}

type Options = Parameters<typeof createClient>[0];

function defaultClient(server: string, extra: Partial<Options> = {}): Promise<KubeClient> {
  return createClient({
    server,
    kubeconfig: {
      clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': server.startsWith('http:') } }],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    },
    tokenSource: { description: 'test token', get: async () => 'tok-123' },
    authDescription: 'a test token',
    sleep: async () => undefined,
    ...extra,
  });
}

describe.each(['node:https', 'client-node'] as const)('KubeClient over %s', (transport) => {
  const createKubeClient = (o: Options) => createClient({ ...o, transport });
  const client = (server: string, extra: Partial<Options> = {}) => defaultClient(server, { ...extra, transport });

  it('reads an object as the plain JSON the server sent, with our token, and 404 as undefined', async () => {
    const { seen, url } = await serve((req) => (req.url.endsWith('/astro-remote-kpo') ? sample('namespaces-GET-200') : sample('namespaces-GET-404')));
    const kube = await client(url);
    const ns = await kube.readNamespace('astro-remote-kpo');
    expect(ns?.metadata?.name).toBe('astro-remote-kpo');
    // Timestamps stay strings and fields client-node's models do not know survive.
    expect(typeof ns?.metadata?.creationTimestamp).toBe('string');
    expect(await kube.readNamespace('missing')).toBeUndefined();
    expect(seen[0]!.method).toBe('GET');
    expect(seen[0]!.url).toBe('/api/v1/namespaces/astro-remote-kpo');
    expect(seen[0]!.headers.authorization).toBe('Bearer tok-123');
  });

  it('creates with our exact body, dryRun=All when asked, and a field manager', async () => {
    const { seen, url } = await serve((req) => (req.url.includes('dryRun') ? sample('namespaces-POST-dryRun') : sample('roles-POST-201')));
    const kube = await client(url);
    const body = { ...roleObject({ namespace: 'astro-remote-kpo', k8sRole: 'astro-remote-kpo-role' }), extraField: { kept: true } };
    const created = await kube.createRole('astro-remote-kpo', body);
    expect(created.kind).toBe('Role');
    await kube.createNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'astro-remote-kpo' } }, { dryRun: true });
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.url.split('?')[0]).toBe('/apis/rbac.authorization.k8s.io/v1/namespaces/astro-remote-kpo/roles');
    expect(new URL(seen[0]!.url, url).searchParams.get('dryRun')).toBeNull();
    expect(JSON.parse(seen[0]!.body)).toEqual(body);
    const q = new URL(seen[1]!.url, url).searchParams;
    expect(q.get('dryRun')).toBe('All');
    expect(q.get('fieldManager')).toBe('astro-remote-kpo');
  });

  it('turns 409 on replace into KUBE_CONFLICT, and 409 AlreadyExists on create into KUBE_ALREADY_EXISTS', async () => {
    const { url } = await serve((req) =>
      req.method === 'PUT' ? sample('roles-PUT-409') : sample('namespaces-POST-409'),
    );
    const kube = await client(url);
    await expectCode(kube.replaceRole('astro-remote-kpo', 'astro-remote-kpo-role', { metadata: { resourceVersion: '1' } }), 'KUBE_CONFLICT');
    const err = await expectCode(kube.createNamespace({ metadata: { name: 'astro-remote-kpo' } }), 'KUBE_ALREADY_EXISTS');
    expect(err).toBeInstanceOf(KubeRequestError);
    expect((err as KubeRequestError).status).toBe(409);
    expect((err as KubeRequestError).reason).toBe('AlreadyExists');
  });

  it('words 401 and 403 so the user knows what to check', async () => {
    const { url } = await serve((req) =>
      req.url.includes('roles') ? { status: 403, body: JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: 'roles.rbac.authorization.k8s.io is forbidden: User "dev" cannot create resource "roles"' }) } : sample('namespaces-GET-401-bad-token'),
    );
    const kube = await client(url, { caller: 'arn:aws:sts::123456789012:assumed-role/dev/me' });
    const e401 = (await expectCode(kube.readNamespace('astro-remote-kpo'), 'KUBE_UNAUTHORIZED')) as KubeRequestError;
    expect(e401.exitCode).toBe(1);
    expect(e401.status).toBe(401);
    expect(e401.message).toContain('rejected our credentials');
    expect(e401.message).toContain(url);
    expect(e401.hint).toContain('aws sts get-caller-identity');
    expect(e401.hint).toContain('access entry or an aws-auth mapping');
    const e403 = (await expectCode(kube.createRole('astro-remote-kpo', { metadata: { name: 'r' } }), 'KUBE_FORBIDDEN')) as KubeRequestError;
    expect(e403.status).toBe(403);
    expect(e403.message).toContain('arn:aws:sts::123456789012:assumed-role/dev/me');
    expect(e403.message).toContain('may not create roles "r" in namespace astro-remote-kpo');
  });

  it('asks SubjectAccessReviews for the user, and SelfSubjectAccessReviews with Impersonate-User', async () => {
    const { seen, url } = await serve((req) => {
      if (req.method === 'GET') return sample('namespaces-GET-404');
      if (req.url.includes('selfsubjectaccessreviews')) return sample('selfsubjectaccessreviews-POST-impersonated-denied');
      const spec = (JSON.parse(req.body) as { spec: { resourceAttributes: { namespace?: string } } }).spec;
      return spec.resourceAttributes.namespace === 'default' ? sample('subjectaccessreviews-POST-denied') : sample('subjectaccessreviews-POST-allowed-subresource');
    });
    const kube = await client(url);
    const allowed = await kube.subjectAccessReview('AstroRemoteKPO', { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'astro-remote-kpo' });
    expect(allowed.allowed).toBe(true);
    expect(allowed.reason).toMatch(/RBAC/);
    const denied = await kube.subjectAccessReview('AstroRemoteKPO', { verb: 'create', resource: 'pods', namespace: 'default' });
    expect(denied).toEqual({ allowed: false });
    const body = JSON.parse(seen[0]!.body) as { kind: string; spec: { user: string; resourceAttributes: Record<string, string> } };
    expect(body.kind).toBe('SubjectAccessReview');
    expect(body.spec.user).toBe('AstroRemoteKPO');
    expect(body.spec.resourceAttributes).toEqual({ verb: 'create', resource: 'pods', subresource: 'exec', group: '', namespace: 'astro-remote-kpo' });
    expect(seen[0]!.headers['impersonate-user']).toBeUndefined();

    const self = await kube.selfSubjectAccessReviewAs('AstroRemoteKPO', { verb: 'list', resource: 'secrets', namespace: 'astro-remote-kpo' });
    expect(self.allowed).toBe(false);
    expect(seen[2]!.url).toBe('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    expect(seen[2]!.headers['impersonate-user']).toBe('AstroRemoteKPO');
    // The per-request header does not leak into later requests.
    expect(await kube.readNamespace('x')).toBeUndefined();
    expect(seen[3]!.headers['impersonate-user']).toBeUndefined();
  });

  it('retries throttling, 5xx and dropped connections, then succeeds', async () => {
    const { seen, url } = await serve((_req, n) =>
      n === 1 ? { status: 429, body: '{"kind":"Status","code":429,"reason":"TooManyRequests"}', headers: { 'Retry-After': '1' } } : n === 2 ? 'reset' : n === 3 ? { status: 503, body: '' } : sample('roles-GET-200'),
    );
    const kube = await client(url);
    const role = await kube.readRole('astro-remote-kpo', 'astro-remote-kpo-role');
    expect(role?.kind).toBe('Role');
    expect(seen).toHaveLength(4);
  });

  it('waits what Retry-After asks on a 429 and a full-jitter backoff otherwise (the one retry loop)', async () => {
    const { seen, url } = await serve((_req, n) =>
      n === 1 ? { status: 429, body: '{"kind":"Status","code":429,"reason":"TooManyRequests"}', headers: { 'Retry-After': '2' } } : n === 2 ? { status: 503, body: '' } : sample('roles-GET-200'),
    );
    const slept: number[] = [];
    const kube = await client(url, { sleep: async (ms) => void slept.push(ms) });
    expect((await kube.readRole('astro-remote-kpo', 'astro-remote-kpo-role'))?.kind).toBe('Role');
    expect(seen).toHaveLength(3);
    expect(slept[0]).toBe(2000);
    // The second wait is the backoff's: in [0, 400) ms, full jitter under base 200 doubled once.
    expect(slept[1]).toBeGreaterThanOrEqual(0);
    expect(slept[1]).toBeLessThan(400);
  });

  it('codes follow the HTTP status and the Status reason, never the wording', () => {
    const cases: Array<[number, string | undefined, string]> = [
      [401, 'Unauthorized', 'KUBE_UNAUTHORIZED'],
      [403, 'Forbidden', 'KUBE_FORBIDDEN'],
      [404, 'NotFound', 'KUBE_NOT_FOUND'],
      [409, 'AlreadyExists', 'KUBE_ALREADY_EXISTS'],
      [409, 'Conflict', 'KUBE_CONFLICT'],
      [422, 'Invalid', 'KUBE_INVALID'],
      [429, 'TooManyRequests', 'KUBE_REQUEST_FAILED'],
      [500, undefined, 'KUBE_REQUEST_FAILED'],
    ];
    for (const [status, reason, code] of cases) {
      const e = new KubeRequestError('already exists, conflict, forbidden: words that decide nothing', status, reason);
      expect(e.code, `${status} ${reason}`).toBe(code);
      expect(e.exitCode).toBe(exitCodeOf(e.code));
    }
  });

  it('gives up after the attempts with the server message', async () => {
    const { seen, url } = await serve(() => ({ status: 500, body: '{"kind":"Status","message":"etcdserver: request timed out","code":500}' }));
    const kube = await client(url, { attempts: 3 });
    const err = await expectCode(kube.readRole('a', 'b'), 'KUBE_REQUEST_FAILED');
    // The server's own message says what went wrong.
    expect(err.message).toMatch(/HTTP 500.*etcdserver: request timed out/);
    expect(seen).toHaveLength(3);
  });

  it('says the API server cannot be reached, and why, when nothing listens', async () => {
    const { url } = await serve(() => ({ status: 200, body: '{}' }));
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    const kube = await client(url);
    const err = (await expectCode(kube.readNamespace('x'), 'KUBE_UNREACHABLE')) as KubeUnreachableError;
    expect(err.networkCode).toBe('ECONNREFUSED');
    expect(err.message).toContain(`cannot reach the API server ${url}`);
    expect(err.hint).toMatch(/private\? Check your network\/VPN/);
  });

  it('times out a server that never answers', async () => {
    const { url } = await serve(() => ({ status: 200, body: '{}' }));
    const hang = http.createServer(() => undefined);
    servers.push(hang);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const hangUrl = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
    expect(url).not.toBe(hangUrl);
    const kube = await client(hangUrl, { timeoutMs: 300 });
    const err = (await expectCode(kube.readNamespace('x'), 'KUBE_UNREACHABLE')) as KubeUnreachableError;
    expect(err.networkCode).toBe('ETIMEDOUT');
    hang.closeAllConnections();
  });

  it('verifies TLS with the cluster CA, and refuses a server the CA did not sign', async () => {
    const sim = makeSimTls();
    const tls = { key: sim.keyPem, cert: sim.certPem };
    const { url } = await serve(() => sample('namespaces-GET-200'), tls);
    const ca = Buffer.from(sim.caPem).toString('base64');
    const withCa = await createKubeClient({
      server: url,
      kubeconfig: {
        clusters: [{ name: 'c', cluster: { server: url, 'certificate-authority-data': ca } }],
        users: [{ name: 'u', user: { token: 'static-token' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      },
      authDescription: 'static token',
    });
    expect((await withCa.readNamespace('astro-remote-kpo'))?.metadata?.name).toBe('astro-remote-kpo');
    const withoutCa = await createKubeClient({
      server: url,
      kubeconfig: {
        clusters: [{ name: 'c', cluster: { server: url, 'certificate-authority-data': Buffer.from('not a cert').toString('base64') } }],
        users: [{ name: 'u', user: { token: 'static-token' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      },
      authDescription: 'static token',
    });
    const err = await expectCode(withoutCa.readNamespace('astro-remote-kpo'), 'KUBE_TLS_FAILED');
    expect(err).toBeInstanceOf(KubeUnreachableError);
  });

  it('sends a static kubeconfig token when there is no token source', async () => {
    const { seen, url } = await serve(() => sample('namespaces-GET-200'));
    const kube = await createKubeClient({
      server: url,
      kubeconfig: {
        clusters: [{ name: 'c', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'static-token' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      },
      authDescription: 'static token',
    });
    await kube.readNamespace('astro-remote-kpo');
    expect(seen[0]!.headers.authorization).toBe('Bearer static-token');
  });
});

describe('transport choice', () => {
  const kubeconfig = (server: string, user: Record<string, unknown>) => ({
    clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  });

  it('hands a non-AWS exec plugin to client-node, which runs it and sends its token', async () => {
    const { seen, url } = await serve(() => sample('namespaces-GET-200'));
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-plugin' } });
    const lines: string[] = [];
    const kube = await defaultClient(url, {
      tokenSource: undefined,
      debug: (l) => lines.push(l),
      kubeconfig: kubeconfig(url, {
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`], interactiveMode: 'Never' },
      }),
    });
    await kube.readNamespace('astro-remote-kpo');
    expect(seen[0]!.headers.authorization).toBe('Bearer from-plugin');
    expect(lines.join('\n')).toContain('client-node (the user runs an exec credential plugin)');
  });

  it('reuses one keep-alive connection for sequential requests over node:https', async () => {
    // The captured answer says `Connection: close`; a live API server keeps connections open.
    const { url } = await serve(() => ({ status: 200, body: sample('namespaces-GET-200').body }));
    const server = servers.at(-1)!;
    let connections = 0;
    server.on('connection', () => connections++);
    const kube = await defaultClient(url, { transport: undefined });
    for (let i = 0; i < 5; i++) await kube.readNamespace('astro-remote-kpo');
    expect(connections).toBe(1);
  });

  it('re-reads a tokenFile on each request (rotated tokens)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'kpo-token-')), 'token');
    writeFileSync(file, 'first\n');
    const { seen, url } = await serve(() => sample('namespaces-GET-200'));
    const kube = await defaultClient(url, { tokenSource: undefined, kubeconfig: kubeconfig(url, { tokenFile: file }) });
    await kube.readNamespace('a');
    writeFileSync(file, 'second\n');
    await kube.readNamespace('a');
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer first', 'Bearer second']);
  });
});

describe('HTTP/2', () => {
  const sim = makeSimTls();
  const tls = { key: sim.keyPem, cert: sim.certPem };
  const ca = Buffer.from(sim.caPem).toString('base64');
  const kubeconfig = (server: string) => ({
    clusters: [{ name: 'c', cluster: { server, 'certificate-authority-data': ca } }],
    users: [{ name: 'u', user: { token: 'static-token' } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  });

  async function h2Server(answer: (n: number, req: Http2ServerRequest, res: Http2ServerResponse) => void) {
    let n = 0;
    const versions: string[] = [];
    let connections = 0;
    const server = http2.createSecureServer({ ...tls, allowHTTP1: true }, (req, res) => {
      versions.push(req.httpVersion);
      answer(++n, req, res);
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, versions, connections: () => connections, close: () => new Promise<void>((r) => server.close(() => r())) };
  }
  const ok = (res: Http2ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(sample('namespaces-GET-200').body);
  };

  it('sends concurrent requests as streams of one connection when the server offers h2', async () => {
    const s = await h2Server((_n, _req, res) => setTimeout(() => ok(res), 20));
    try {
      const kube = await createClient({ server: s.url, kubeconfig: kubeconfig(s.url), authDescription: 'static token' });
      const answers = await Promise.all(Array.from({ length: 20 }, () => kube.readNamespace('astro-remote-kpo')));
      expect(answers.every((a) => a?.metadata?.name === 'astro-remote-kpo')).toBe(true);
      expect(s.versions).toEqual(Array(20).fill('2.0'));
      expect(s.connections()).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('retries on a new connection when the server drops the HTTP/2 session', async () => {
    const s = await h2Server((n, req, res) => (n === 1 ? req.stream.session?.destroy() : ok(res)));
    try {
      const kube = await createClient({ server: s.url, kubeconfig: kubeconfig(s.url), authDescription: 'static token', sleep: async () => undefined });
      expect((await kube.readNamespace('astro-remote-kpo'))?.metadata?.name).toBe('astro-remote-kpo');
      expect(s.versions).toEqual(['2.0', '2.0']);
      expect(s.connections()).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('uses HTTP/1.1 when the server does not offer h2', async () => {
    const { seen, url } = await serve(() => ({ status: 200, body: sample('namespaces-GET-200').body }), tls);
    const kube = await createClient({ server: url, kubeconfig: kubeconfig(url), authDescription: 'static token' });
    await kube.readNamespace('astro-remote-kpo');
    await kube.readNamespace('astro-remote-kpo');
    expect(seen).toHaveLength(2);
    expect(seen[1]!.headers.authorization).toBe('Bearer static-token');
  });
});

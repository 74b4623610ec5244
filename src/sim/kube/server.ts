// The fake Kubernetes API server for one EKS cluster: HTTPS on 127.0.0.1 with the simulation's
// throwaway CA (src/sim/tls.ts, made at start, never on disk), HTTP/2 or HTTP/1.1 as the client's ALPN asks (as kube-apiserver offers both), bearer-token authentication (static admin or EKS token), Impersonate-User/Group for callers
// RBAC lets impersonate, RBAC authorization of every request, classic discovery, and the
// resource handlers. Requests are logged and can be faulted like the AWS ones.
import { randomUUID } from 'node:crypto';
import http2, { type Http2ServerRequest } from 'node:http2';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { faultName, sleep, type CallLog, type Faults } from '../calls.js';
import { authenticate, type AuthDeps } from './auth.js';
import { handleResource, type ReqInfo } from './handlers.js';
import type { FakeKubelet } from './kubelet.js';
import { authorize, forbiddenMessage, type UserInfo } from './rbac.js';
import { forbidden, internalError, KubeError, pathNotFound, tooManyRequests, unauthorized, badRequest, failure } from './status.js';
import { qualified, RESOURCE_TYPES, type KubeStore, type ResourceType } from './store.js';

import type { SimTls } from '../tls.js';

export interface KubeServerDeps {
  clusterName: string;
  store: KubeStore;
  log: CallLog;
  faults: Faults;
  auth: AuthDeps;
  kubelet: FakeKubelet;
  /** The server certificate and key (one pair for every cluster of a simulation). */
  tls: Pick<SimTls, 'certPem' | 'keyPem'>;
}

type Req = IncomingMessage | Http2ServerRequest;
/** What the handlers use of an HTTP/1.1 or HTTP/2 (compat) response. */
interface Res {
  readonly headersSent: boolean;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  setHeader(name: string, value: string): unknown;
  end(): unknown;
  end(text: string): unknown;
}

const VERSION = { major: '1', minor: '30', gitVersion: 'v1.30.4-eks-a737599', gitCommit: '1ae5a2cbc2b2d1e56ad5e10bdd1b0e3ab5d43ad9', gitTreeState: 'clean', buildDate: '2024-08-13T22:02:00Z', goVersion: 'go1.22.5', compiler: 'gc', platform: 'linux/amd64' };
const GROUPS = ['rbac.authorization.k8s.io', 'authorization.k8s.io'];
const SUBRESOURCES: Record<string, string[]> = { namespaces: ['status', 'finalize'], pods: ['log', 'exec', 'status', 'attach', 'portforward'] };

function discovery(path: string, host: string): unknown {
  const gv = (g: string) => ({ groupVersion: `${g}/v1`, version: 'v1' });
  if (path === '/version') return VERSION;
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] };
  if (path === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: GROUPS.map((g) => ({ name: g, versions: [gv(g)], preferredVersion: gv(g) })) };
  const group = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (group && GROUPS.includes(group)) return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [gv(group)], preferredVersion: gv(group) };
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/v1)$/.exec(path);
  if (!m || (m[1] && !GROUPS.includes(m[1]))) return undefined;
  const types = RESOURCE_TYPES.filter((t) => t.group === (m[1] ?? ''));
  const resources = types.flatMap((t) => [
    { name: t.resource, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: t.verbs },
    ...(SUBRESOURCES[t.resource] ?? []).map((s) => ({ name: `${t.resource}/${s}`, singularName: '', namespaced: t.namespaced, kind: s === 'log' ? 'Pod' : t.kind, verbs: ['get'] })),
  ]);
  return { kind: 'APIResourceList', groupVersion: m[1] ? `${m[1]}/v1` : 'v1', resources };
}

/** Parses a resource path; undefined for non-resource paths (discovery, health), 'unknown' for resources this server lacks. */
function requestInfo(method: string, path: string, query: URLSearchParams): ReqInfo | 'unknown' | undefined {
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let rest: string[];
  if (seg[0] === 'api' && seg[1] === 'v1') rest = seg.slice(2);
  else if (seg[0] === 'apis' && seg.length >= 3 && seg[2] === 'v1') {
    group = seg[1]!;
    rest = seg.slice(3);
  } else return undefined;
  if (!rest.length) return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(SUBRESOURCES.namespaces ?? []).includes(rest[2]!)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  const type = RESOURCE_TYPES.find((t) => t.resource === resource && t.group === group && (t.namespaced || !namespace || t.resource === 'namespaces'));
  if (!type || rest.length > 3) return 'unknown';
  if (type.resource === 'namespaces' && name) namespace = name;
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' };
  const verb = method === 'GET' ? (name ? 'get' : query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : 'list') : (verbs[method] ?? method.toLowerCase());
  return { verb, type, namespace, name, subresource };
}

function reply(res: Res, status: number, body: unknown, pretty = false, plain = false): void {
  const text = plain ? String(body) : pretty ? JSON.stringify(body, null, 2) : `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Audit-Id': randomUUID(),
    'Cache-Control': 'no-cache, private',
    'Content-Type': plain ? 'text/plain' : 'application/json',
    'X-Kubernetes-Pf-Flowschema-Uid': '485ca474-6f76-4949-b49d-0edb7d91db1c',
    'X-Kubernetes-Pf-Prioritylevel-Uid': 'caf077de-e99a-49b4-8859-c68ac70867ee',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function impersonate(req: Req, caller: UserInfo, store: KubeStore): UserInfo {
  const asUser = req.headers['impersonate-user'];
  const header = req.headers['impersonate-group'];
  const raw = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const asGroups = raw.flatMap((g) => g.split(',').map((s) => s.trim())).filter(Boolean);
  if (typeof asUser !== 'string' || !asUser) {
    if (asGroups.length) throw badRequest('requested [{Group  ' + asGroups[0] + '  }] without impersonating a user');
    return caller;
  }
  const checks: Array<[string, string]> = [['users', asUser], ...asGroups.map((g): [string, string] => ['groups', g])];
  for (const [resource, name] of checks) {
    if (!authorize(store, caller, { kind: 'resource', verb: 'impersonate', group: '', resource, name }).allowed) {
      throw forbidden(undefined, undefined, `${resource} "${name}" is forbidden: User "${caller.username}" cannot impersonate resource "${resource}" in API group "" at the cluster scope`);
    }
  }
  return { username: asUser, groups: [...new Set([...asGroups, 'system:authenticated'])] };
}

async function readJson(req: Req): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
  }
}

async function handle(deps: KubeServerDeps, req: Req, res: Res): Promise<void> {
  const seq = deps.log.nextSeq();
  const url = new URL(req.url ?? '/', 'https://x');
  const method = req.method ?? 'GET';
  const parsed = requestInfo(method, url.pathname, url.searchParams);
  const info = parsed === 'unknown' ? undefined : parsed;
  const resourceName = info ? `${info.type.resource}${info.subresource ? `/${info.subresource}` : ''}` : url.pathname;
  const operation = `${method} ${resourceName}`;
  const isDry = url.searchParams.get('dryRun') === 'All';
  const mutating = method !== 'GET' && method !== 'HEAD' && !info?.type.virtual && !isDry;
  let caller: string | undefined;
  let note: string | undefined;
  const log = (status: number, fault?: string) =>
    deps.log.add({ service: 'kube', operation, mutating, status, seq, cluster: deps.clusterName, namespace: info?.namespace, name: info?.name, dryRun: isDry || undefined, caller, fault, note });

  const delay = deps.faults.delayFor(operation);
  if (delay) await sleep(delay);
  const fault = deps.faults.take(operation);
  if (fault === 'reset') {
    log(0, 'reset');
    // A dropped connection: HTTP/1.1 loses the socket; HTTP/2 loses the session (all its streams).
    if ('stream' in req) req.stream.session?.destroy();
    else req.socket.destroy();
    return;
  }
  if (fault === 'slow') await sleep(deps.faults.slowMs);
  try {
    if (fault === 'throttle') {
      res.setHeader('Retry-After', '1');
      throw tooManyRequests();
    }
    if (fault === '500') throw internalError('injected fault');
    if (fault && typeof fault === 'object') throw failure(fault.status, fault.code, fault.message);
    const body = await readJson(req);
    const authn = await authenticate(req.headers.authorization, deps.auth);
    if ('error' in authn) {
      note = authn.error;
      throw unauthorized();
    }
    const user = impersonate(req, authn.user, deps.store);
    caller = user.username;
    if (parsed === 'unknown') throw pathNotFound();
    if (!info) {
      const doc = discovery(url.pathname.replace(/\/$/, '') || '/', req.headers.host ?? '');
      if (!authorize(deps.store, user, { kind: 'nonResource', verb: 'get', path: url.pathname }).allowed) {
        throw forbidden(undefined, undefined, `forbidden: User "${user.username}" cannot get path "${url.pathname}"`);
      }
      if (/^\/(healthz|livez|readyz)$/.test(url.pathname)) {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
        res.end('ok');
        log(200);
        return;
      }
      if (!doc) throw pathNotFound();
      reply(res, 200, doc, url.pathname === '/version');
      log(200, fault ? faultName(fault) : undefined);
      return;
    }
    const t: ResourceType = info.type;
    const attrs = { kind: 'resource' as const, verb: info.verb, group: t.group, resource: t.resource, subresource: info.subresource, namespace: info.namespace, name: info.name };
    if (!authorize(deps.store, user, attrs).allowed) throw forbidden(t, info.name, forbiddenMessage(user, attrs, qualified(t)));
    const manager = String(req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown';
    const out = handleResource({ store: deps.store, info, method, body, query: url.searchParams, contentType: String(req.headers['content-type'] ?? 'application/json'), manager, user, kubelet: deps.kubelet });
    if (fault === 'hold') {
      log(out.status, 'hold');
      await sleep(deps.faults.slowMs);
      reply(res, out.status, out.body, false, out.text);
      return;
    }
    reply(res, out.status, out.body, false, out.text);
    log(out.status, fault ? faultName(fault) : undefined);
  } catch (e) {
    const err = e instanceof KubeError ? e : internalError(`test cloud bug: ${(e as Error).stack ?? String(e)}`);
    if (!(e instanceof KubeError)) console.error('[test-cloud kube]', e);
    reply(res, err.body.code, err.body);
    log(err.body.code, fault ? faultName(fault) : undefined);
  }
}

export interface KubeServer {
  url: string;
  /** TCP connections accepted so far, and how many of them are still open. */
  connections(): { opened: number; open: number };
  close(): Promise<void>;
}

export async function startKubeServer(deps: KubeServerDeps): Promise<KubeServer> {
  const server = http2.createSecureServer({ key: deps.tls.keyPem, cert: deps.tls.certPem, allowHTTP1: true }, (req: Req, res: Res) => {
    handle(deps, req, res).catch((e: unknown) => {
      console.error('[test-cloud kube]', e);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // No closeAllConnections() on an HTTP/2 server: keep the sockets to end them on close.
  const sockets = new Set<Socket>();
  let opened = 0;
  server.on('connection', () => opened++);
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    connections: () => ({ opened, open: sockets.size }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}


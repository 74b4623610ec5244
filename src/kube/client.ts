// KubeApi as plain REST calls: JSON in, the server's JSON out (no model classes that drop
// unknown fields or turn timestamps into Dates), over a Transport chosen from the kubeconfig
// (transport.ts). Here live what both transports share: our in-process EKS token (refreshed before
// expiry), Impersonate-User, a timeout, retries for throttling, 5xx and dropped connections, and
// errors worded with the server's own Status message and what to check.
import type { TokenSource } from '../aws/eks-token.js';
import { auditLine } from '../audit.js';
import { KpoError, errorMessage } from '../errors.js';
import {
  type AccessReviewAnswer,
  type AccessReviewQuery,
  type Collection,
  type ConfigMapObject,
  type DeleteOptions,
  type KubeApi,
  type KubeObject,
  type WriteOptions,
} from './api.js';
import { KubeRequestError, KubeUnreachableError, kubeConflict } from './errors.js';
import { httpsTransport } from './https-transport.js';
import { needsClientNode, type KubeMethod, type KubeResponse, type RawMap, type Transport } from './transport.js';
import { realRetryDeps, retryWithBackoff, type BackoffOptions, type RetryDeps } from '../retry.js';

export interface KubeClientOptions {
  server: string;
  /** A single-context kubeconfig (YAML shape): cluster TLS settings and the user. */
  kubeconfig: Record<string, unknown>;
  /** When set, every request carries `Authorization: Bearer <token>` from it (in-process EKS token). */
  tokenSource?: TokenSource;
  authDescription: string;
  /** Who we are (e.g. the caller ARN from preflight), for 403 messages. */
  caller?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Attempts for throttling, 5xx and dropped connections (default 4). */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
  debug?: (line: string) => void;
  /** Default: node:https unless the kubeconfig needs client-node (needsClientNode). */
  transport?: Transport['kind'];
}

interface Op {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

interface Call {
  method: KubeMethod;
  path: string;
  body?: unknown;
  impersonate?: string;
  /** Adds fieldManager, and dryRun=All when asked. */
  write?: WriteOptions;
}

const FIELD_MANAGER = 'astro-remote-kpo';
const USER_AGENT = 'astro-remote-kpo';
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_NETWORK = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNABORTED',
  // An HTTP/2 stream reset, or a session that went away under it (GOAWAY, closed).
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_INVALID_SESSION',
]);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL/;
/** The one retry loop's backoff (src/retry.ts) for the conditions above; a Retry-After the server
 * sends is waited instead, up to the cap. The number of attempts is the client's `attempts`. */
const KUBE_BACKOFF: BackoffOptions = { baseMs: 200, capMs: 5_000 };

/** A non-2xx answer, carried through the retry loop to be worded (httpError) when it gives up. */
class HttpAnswer extends Error {
  constructor(readonly answer: KubeResponse) {
    super(`HTTP ${answer.status}`);
  }
}

/** No answer within the client's timeout: not retried (the server may still be doing it). */
class TimedOut extends Error {
  constructor(cause: unknown) {
    super('timed out', { cause });
  }
}
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const AUTHZ = '/apis/authorization.k8s.io/v1';

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function statusOf(body: unknown): { reason?: string; message?: string; detailsKind?: string } {
  if (body && typeof body === 'object') {
    const b = body as { kind?: unknown; reason?: unknown; message?: unknown; details?: { kind?: unknown } };
    return {
      reason: typeof b.reason === 'string' ? b.reason : undefined,
      message: typeof b.message === 'string' ? b.message : undefined,
      detailsKind: typeof b.details?.kind === 'string' ? b.details.kind : undefined,
    };
  }
  return {};
}

/** The network error code, also when buried in undici's "fetch failed" TypeError. */
function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(op: Op): string {
  return `${op.verb} ${op.resource}${op.name ? ` "${op.name}"` : ''}${op.namespace ? ` in namespace ${op.namespace}` : ''}`;
}

type ObjectResource = 'namespaces' | 'roles' | 'rolebindings' | 'configmaps' | 'clusterroles' | 'serviceaccounts' | 'pods';
const API_PREFIX: Record<ObjectResource, string> = { namespaces: '/api/v1', configmaps: '/api/v1', serviceaccounts: '/api/v1', pods: '/api/v1', roles: RBAC, rolebindings: RBAC, clusterroles: RBAC };

/** The REST path of an object, or without a name of its collection (what POST creates in). */
function objectPath(resource: ObjectResource, namespace?: string, name?: string): string {
  const seg = encodeURIComponent;
  return `${API_PREFIX[resource]}${namespace ? `/namespaces/${seg(namespace)}` : ''}/${resource}${name ? `/${seg(name)}` : ''}`;
}

export class KubeClient implements KubeApi {
  readonly server: string;
  readonly authDescription: string;
  private readonly retryDeps: RetryDeps;

  constructor(
    private readonly transport: Transport,
    private readonly o: KubeClientOptions,
  ) {
    this.server = o.server;
    this.authDescription = o.authDescription;
    const sleep = o.sleep;
    this.retryDeps = sleep ? { ...realRetryDeps, sleep: (ms) => sleep(ms) } : realRetryDeps;
  }

  /** One request with retries; returns the answer for 2xx, throws a worded error otherwise. */
  private async call(op: Op, c: Call): Promise<KubeResponse> {
    const query = c.write ? `?${new URLSearchParams({ ...(c.write.dryRun ? { dryRun: 'All' } : {}), fieldManager: FIELD_MANAGER })}` : '';
    const body = c.body === undefined ? undefined : JSON.stringify(c.body);
    // Writes are audited (every attempt, as the server sees them); reviews and dry runs change nothing.
    const audit = c.method !== 'GET' && !c.write?.dryRun && !c.path.startsWith(AUTHZ)
      ? (outcome: string) => this.o.debug?.(auditLine({ service: 'kube', operation: `${c.method} ${op.resource}`, target: `${op.namespace ? `${op.namespace}/` : ''}${op.name ?? ''}`, outcome }))
      : undefined;
    const attempt = async (): Promise<KubeResponse> => {
      const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 30_000);
      const signal = this.o.signal ? AbortSignal.any([timeout, this.o.signal]) : timeout;
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: 'application/json' };
      if (this.o.tokenSource) headers.Authorization = `Bearer ${await this.token()}`;
      if (c.impersonate) headers['Impersonate-User'] = c.impersonate;
      let answer: KubeResponse;
      try {
        answer = await this.transport.send({ method: c.method, path: c.path + query, headers, body, signal });
      } catch (err) {
        audit?.(`failed (${networkCode(err) ?? errorMessage(err)})`);
        throw timeout.aborted ? new TimedOut(err) : err;
      }
      audit?.(answer.status < 300 ? `ok (${answer.status})` : `failed (${answer.status})`);
      if (answer.status < 300) return answer;
      throw new HttpAnswer(answer);
    };
    try {
      return await retryWithBackoff(attempt, {
        backoff: { ...KUBE_BACKOFF, maxAttempts: this.o.attempts ?? 4 },
        deps: this.retryDeps,
        isRetryable: (err) => {
          if (err instanceof HttpAnswer) {
            if (!RETRY_STATUS.has(err.answer.status)) return false;
            const retryAfter = Number(err.answer.headers['retry-after']);
            return Number.isFinite(retryAfter) && retryAfter > 0 ? { afterMs: retryAfter * 1000 } : true;
          }
          const code = networkCode(err);
          return !(err instanceof KpoError) && !(err instanceof TimedOut) && code !== undefined && RETRY_NETWORK.has(code);
        },
        onRetry: (n, ms, err) => this.o.debug?.(`kube ${describe(op)}: ${err instanceof HttpAnswer ? `HTTP ${err.answer.status}` : networkCode(err)}, retry ${n} in ${ms} ms`),
        ...(this.o.signal ? { signal: this.o.signal } : {}),
      });
    } catch (err) {
      if (err instanceof HttpAnswer) throw this.httpError(op, err.answer);
      if (err instanceof KpoError || this.o.signal?.aborted) throw err;
      if (err instanceof TimedOut) throw this.networkError(op, err.cause, true);
      throw this.networkError(op, err, false);
    }
  }

  private async token(): Promise<string> {
    const source = this.o.tokenSource!;
    try {
      return await source.get();
    } catch (err) {
      throw new KpoError(
        'EKS_TOKEN_FAILED',
        `could not sign an EKS token (${source.description}): ${errorMessage(err)}`,
        'Check your AWS credentials: `aws sts get-caller-identity` (or `aws sso login`) with the same profile.',
        { cause: err },
      );
    }
  }

  private httpError(op: Op, raw: KubeResponse): KubeRequestError {
    const { reason, message, detailsKind } = statusOf(parseJson(raw.text));
    const server = { ...(message !== undefined ? { message } : {}), ...(detailsKind !== undefined ? { detailsKind } : {}) };
    const detail = message ?? (raw.text.trim().slice(0, 300) || `HTTP ${raw.status}`);
    const caller = this.o.caller ? `${this.o.caller} (${this.authDescription})` : this.authDescription;
    if (raw.status === 401) {
      return new KubeRequestError(
        `the API server ${this.server} rejected our credentials (401 Unauthorized) for ${describe(op)}; authenticating with ${this.authDescription}`,
        401,
        reason ?? 'Unauthorized',
        'Check that `aws sts get-caller-identity` works with the same profile, that the kubeconfig context\'s user is the right one, and that this AWS identity has an EKS access entry or an aws-auth mapping on the cluster.',
      );
    }
    if (raw.status === 403) {
      return new KubeRequestError(
        `forbidden: ${caller} may not ${describe(op)} on ${this.server}: ${detail}`,
        403,
        reason ?? 'Forbidden',
        'Run as an identity with admin rights on the cluster (the cluster creator, or an access entry with AmazonEKSClusterAdminPolicy), or pick another context with --kube-context.',
        server,
      );
    }
    return new KubeRequestError(`${describe(op)} failed: HTTP ${raw.status}${reason ? ` ${reason}` : ''}: ${detail}`, raw.status, reason, undefined, server);
  }

  private networkError(op: Op, err: unknown, timedOut: boolean): KubeUnreachableError {
    const code = timedOut ? 'ETIMEDOUT' : networkCode(err);
    const cause = (err as { cause?: unknown }).cause;
    const detail = timedOut ? `no answer within ${Math.round((this.o.timeoutMs ?? 30_000) / 1000)} s` : errorMessage(cause ?? err);
    if (code && TLS_CODES.test(code)) {
      return new KubeUnreachableError(
        'KUBE_TLS_FAILED',
        `TLS to the API server ${this.server} failed for ${describe(op)}: ${detail}`,
        code,
        "The server's certificate does not match the cluster CA we used: check the kubeconfig context's certificate-authority data, or that the endpoint is the cluster's.",
        { cause: err },
      );
    }
    return new KubeUnreachableError(
      'KUBE_UNREACHABLE',
      `cannot reach the API server ${this.server}: ${detail}${code && !detail.includes(code) ? ` (${code})` : ''}`,
      code,
      'Is the cluster endpoint private? Check your network/VPN, and the cluster\'s endpoint access settings (endpointPublicAccess, publicAccessCidrs).',
      { cause: err },
    );
  }

  private json<T>(raw: KubeResponse): T {
    return (parseJson(raw.text) ?? {}) as T;
  }

  private async read<T>(resource: ObjectResource, namespace: string | undefined, name: string): Promise<T | undefined> {
    const op = { verb: 'get', resource, namespace, name };
    try {
      return this.json<T>(await this.call(op, { method: 'GET', path: objectPath(resource, namespace, name) }));
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 404) return undefined;
      throw err;
    }
  }

  private async create<T>(resource: ObjectResource, namespace: string | undefined, body: KubeObject, write: WriteOptions = {}, impersonate?: string): Promise<T> {
    const op = { verb: 'create', resource, namespace, name: body.metadata?.name };
    return this.json<T>(await this.call(op, { method: 'POST', path: objectPath(resource, namespace), body, write, ...(impersonate ? { impersonate } : {}) }));
  }

  private async replace<T>(resource: ObjectResource, namespace: string | undefined, name: string, body: KubeObject, write: WriteOptions = {}): Promise<T> {
    const op = { verb: 'update', resource, namespace, name };
    try {
      return this.json<T>(await this.call(op, { method: 'PUT', path: objectPath(resource, namespace, name), body, write }));
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 409) {
        throw kubeConflict(`${describe(op)}: the object changed since it was read (409 Conflict)`);
      }
      throw err;
    }
  }

  private async remove(resource: ObjectResource, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<void> {
    const op = { verb: 'delete', resource, namespace, name };
    // The precondition makes "read, decide, delete" safe: a version someone changed since is not deleted.
    const body = opts.resourceVersion ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: opts.resourceVersion } } : undefined;
    try {
      await this.call(op, { method: 'DELETE', path: objectPath(resource, namespace, name), ...(body ? { body } : {}) });
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 404) return; // already gone
      if (err instanceof KubeRequestError && err.status === 409) throw kubeConflict(`${describe(op)}: the object changed since it was read (409 Conflict)`);
      throw err;
    }
  }

  readNamespace(name: string) {
    return this.read<KubeObject>('namespaces', undefined, name);
  }
  createNamespace(body: KubeObject, opts?: WriteOptions) {
    return this.create<KubeObject>('namespaces', undefined, body, opts);
  }
  replaceNamespace(name: string, body: KubeObject, opts?: WriteOptions) {
    return this.replace<KubeObject>('namespaces', undefined, name, body, opts);
  }
  deleteNamespace(name: string, opts?: DeleteOptions) {
    return this.remove('namespaces', undefined, name, opts);
  }

  readRole(namespace: string, name: string) {
    return this.read<KubeObject>('roles', namespace, name);
  }
  createRole(namespace: string, body: KubeObject, opts?: WriteOptions) {
    return this.create<KubeObject>('roles', namespace, body, opts);
  }
  replaceRole(namespace: string, name: string, body: KubeObject, opts?: WriteOptions) {
    return this.replace<KubeObject>('roles', namespace, name, body, opts);
  }
  deleteRole(namespace: string, name: string, opts?: DeleteOptions) {
    return this.remove('roles', namespace, name, opts);
  }

  readRoleBinding(namespace: string, name: string) {
    return this.read<KubeObject>('rolebindings', namespace, name);
  }
  createRoleBinding(namespace: string, body: KubeObject, opts?: WriteOptions) {
    return this.create<KubeObject>('rolebindings', namespace, body, opts);
  }
  replaceRoleBinding(namespace: string, name: string, body: KubeObject, opts?: WriteOptions) {
    return this.replace<KubeObject>('rolebindings', namespace, name, body, opts);
  }
  deleteRoleBinding(namespace: string, name: string, opts?: DeleteOptions) {
    return this.remove('rolebindings', namespace, name, opts);
  }

  readServiceAccount(namespace: string, name: string) {
    return this.read<KubeObject>('serviceaccounts', namespace, name);
  }
  createServiceAccount(namespace: string, body: KubeObject, opts?: WriteOptions) {
    return this.create<KubeObject>('serviceaccounts', namespace, body, opts);
  }
  replaceServiceAccount(namespace: string, name: string, body: KubeObject, opts?: WriteOptions) {
    return this.replace<KubeObject>('serviceaccounts', namespace, name, body, opts);
  }
  deleteServiceAccount(namespace: string, name: string, opts?: DeleteOptions) {
    return this.remove('serviceaccounts', namespace, name, opts);
  }

  dryRunPod(namespace: string, body: KubeObject, asUser?: string) {
    return this.create<KubeObject>('pods', namespace, body, { dryRun: true }, asUser);
  }

  private async list(c: Collection, namespace: string | undefined): Promise<KubeObject[] | undefined> {
    const op = { verb: 'list', resource: c.resource, namespace };
    const where = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
    try {
      const raw = await this.call(op, { method: 'GET', path: `${c.prefix}${where}/${c.resource}` });
      const items = (parseJson(raw.text) as { items?: unknown } | undefined)?.items;
      return Array.isArray(items) ? (items.filter((i) => i && typeof i === 'object') as KubeObject[]) : [];
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 404) return undefined;
      throw err;
    }
  }

  listIn(namespace: string, c: Collection): Promise<KubeObject[] | undefined> {
    return this.list(c, namespace);
  }

  listAll(c: Collection): Promise<KubeObject[] | undefined> {
    return this.list(c, undefined);
  }

  readClusterRole(name: string) {
    return this.read<KubeObject>('clusterroles', undefined, name);
  }

  readConfigMap(namespace: string, name: string) {
    return this.read<ConfigMapObject>('configmaps', namespace, name);
  }
  createConfigMap(namespace: string, body: ConfigMapObject, opts?: WriteOptions) {
    return this.create<ConfigMapObject>('configmaps', namespace, body, opts);
  }
  replaceConfigMap(namespace: string, name: string, body: ConfigMapObject, opts?: WriteOptions) {
    return this.replace<ConfigMapObject>('configmaps', namespace, name, body, opts);
  }
  deleteConfigMap(namespace: string, name: string, opts?: DeleteOptions) {
    return this.remove('configmaps', namespace, name, opts);
  }

  private async review(
    kind: 'SubjectAccessReview' | 'SelfSubjectAccessReview',
    q: AccessReviewQuery,
    user?: string,
    impersonate?: string,
    groups?: string[],
  ): Promise<AccessReviewAnswer> {
    const resourceAttributes = {
      verb: q.verb,
      resource: q.resource,
      ...(q.subresource ? { subresource: q.subresource } : {}),
      group: q.group ?? '',
      ...(q.namespace ? { namespace: q.namespace } : {}),
    };
    const body = { apiVersion: 'authorization.k8s.io/v1', kind, spec: { ...(user ? { user } : {}), ...(groups?.length ? { groups } : {}), resourceAttributes } };
    const plural = `${kind.toLowerCase()}s`;
    const op = { verb: 'create', resource: impersonate ? `${plural} (impersonating ${impersonate})` : plural };
    const raw = await this.call(op, { method: 'POST', path: `${AUTHZ}/${plural}`, body, impersonate });
    const s = (parseJson(raw.text) as { status?: { allowed?: unknown; denied?: unknown; reason?: unknown } } | undefined)?.status ?? {};
    return { allowed: s.allowed === true && s.denied !== true, ...(typeof s.reason === 'string' && s.reason ? { reason: s.reason } : {}) };
  }

  subjectAccessReview(user: string, q: AccessReviewQuery, groups?: string[]): Promise<AccessReviewAnswer> {
    return this.review('SubjectAccessReview', q, user, undefined, groups);
  }

  selfSubjectAccessReviewAs(user: string, q: AccessReviewQuery): Promise<AccessReviewAnswer> {
    return this.review('SelfSubjectAccessReview', q, undefined, user);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /**
   * Proves the API server is reachable and accepts our credentials, without needing any RBAC
   * grant: every authenticated user may create a SelfSubjectAccessReview (system:basic-user).
   * Answers whether we may create RoleBindings in `namespace`, a useful early hint.
   */
  probe(namespace: string): Promise<AccessReviewAnswer> {
    return this.review('SelfSubjectAccessReview', { verb: 'create', resource: 'rolebindings', group: 'rbac.authorization.k8s.io', namespace });
  }
}

function single(kubeconfig: RawMap, key: 'clusters' | 'users', field: 'cluster' | 'user'): RawMap {
  const list = kubeconfig[key];
  const first = Array.isArray(list) ? (list[0] as Record<string, unknown> | undefined) : undefined;
  const value = first?.[field];
  return value && typeof value === 'object' ? (value as RawMap) : {};
}

export async function createKubeClient(o: KubeClientOptions): Promise<KubeClient> {
  const cluster = single(o.kubeconfig, 'clusters', 'cluster');
  const user = single(o.kubeconfig, 'users', 'user');
  const why = o.transport === 'client-node' ? 'asked for' : o.transport === 'node:https' ? undefined : needsClientNode(cluster, user);
  let transport: Transport;
  if (why) {
    o.debug?.(`kube: using client-node (${why})`);
    const { clientNodeTransport } = await import('./client-node-transport.js');
    transport = await clientNodeTransport(o.server, o.kubeconfig);
  } else {
    transport = await httpsTransport(o.server, cluster, user);
  }
  return new KubeClient(transport, o);
}

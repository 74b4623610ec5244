// KubeApi over @kubernetes/client-node 2.x (loaded lazily). client-node does the transport: TLS
// from the kubeconfig (CA, client certificates, proxies), static tokens, and exec plugins we do not
// replace. One per-request middleware adds what it cannot: our in-process EKS token (refreshed
// before expiry), Impersonate-User, a timeout, and the raw response text, so callers get the
// plain JSON the API server sent (client-node's model classes drop unknown fields and turn
// timestamps into Dates) and errors get the server's own Status message.
import type {
  ConfigurationOptions,
  CoreV1Api,
  AuthorizationV1Api,
  RbacAuthorizationV1Api,
  RequestContext,
  ResponseContext,
  V1ConfigMap,
  V1Namespace,
  V1Role,
  V1RoleBinding,
  V1SelfSubjectAccessReview,
  V1SubjectAccessReview,
} from '@kubernetes/client-node';
import type { TokenSource } from '../aws/eks-token.js';
import { KpoError, PrerequisiteError, errorMessage } from '../errors.js';
import {
  KubeConflictError,
  type AccessReviewAnswer,
  type AccessReviewQuery,
  type ConfigMapObject,
  type KubeApi,
  type KubeObject,
  type WriteOptions,
} from './api.js';
import { KubeRequestError, KubeUnreachableError } from './errors.js';

export interface KubeClientOptions {
  server: string;
  /** A single-context kubeconfig (YAML shape) for client-node: cluster TLS settings and the user. */
  kubeconfig: Record<string, unknown>;
  /** When set, every request carries `Authorization: Bearer <token>` from it (in-process EKS token). */
  tokenSource?: TokenSource;
  authDescription: string;
  /** Who we are, for 403 messages (e.g. the caller ARN from preflight). */
  caller?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Attempts for throttling, 5xx and dropped connections (default 4). */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
  debug?: (line: string) => void;
}

interface Op {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

interface Raw {
  status: number;
  text: string;
  headers: Record<string, string>;
}

const FIELD_MANAGER = 'astro-remote-kpo';
const USER_AGENT = 'astro-remote-kpo';
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_NETWORK = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL/;

type K8sModule = typeof import('@kubernetes/client-node');

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function statusOf(body: unknown): { reason?: string; message?: string } {
  if (body && typeof body === 'object') {
    const b = body as { kind?: unknown; reason?: unknown; message?: unknown };
    return {
      reason: typeof b.reason === 'string' ? b.reason : undefined,
      message: typeof b.message === 'string' ? b.message : undefined,
    };
  }
  return {};
}

/** The network error code buried in undici's "fetch failed" TypeError, if any. */
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

export class KubeClient implements KubeApi {
  readonly server: string;
  readonly authDescription: string;
  private readonly core: CoreV1Api;
  private readonly rbac: RbacAuthorizationV1Api;
  private readonly authz: AuthorizationV1Api;

  constructor(
    private readonly k8s: K8sModule,
    private readonly o: KubeClientOptions,
  ) {
    this.server = o.server;
    this.authDescription = o.authDescription;
    const kc = new k8s.KubeConfig();
    kc.loadFromString(JSON.stringify(o.kubeconfig));
    const config = k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(o.server.replace(/\/+$/, ''), {}),
      authMethods: { default: kc },
    });
    this.core = new k8s.CoreV1Api(config);
    this.rbac = new k8s.RbacAuthorizationV1Api(config);
    this.authz = new k8s.AuthorizationV1Api(config);
  }

  /** One request with retries; returns the raw answer for 2xx, throws a worded error otherwise. */
  private async call(op: Op, invoke: (opts: ConfigurationOptions) => Promise<unknown>, extra: { body?: unknown; impersonate?: string } = {}): Promise<Raw> {
    const attempts = this.o.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      let raw: Raw | undefined;
      const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 30_000);
      const signal = this.o.signal ? AbortSignal.any([timeout, this.o.signal]) : timeout;
      const pre = async (ctx: RequestContext): Promise<RequestContext> => {
        ctx.setHeaderParam('User-Agent', USER_AGENT);
        if (this.o.tokenSource) {
          let token: string;
          try {
            token = await this.o.tokenSource.get();
          } catch (err) {
            throw new PrerequisiteError(
              `could not sign an EKS token (${this.o.tokenSource.description}): ${errorMessage(err)}`,
              'Check your AWS credentials: `aws sts get-caller-identity` (or `aws sso login`) with the same profile.',
              { cause: err },
            );
          }
          ctx.setHeaderParam('Authorization', `Bearer ${token}`);
        }
        // Send exactly our JSON, not client-node's model re-serialisation (which drops fields it
        // does not know).
        if (extra.body !== undefined) ctx.setBody(JSON.stringify(extra.body));
        if (extra.impersonate) ctx.setHeaderParam('Impersonate-User', extra.impersonate);
        ctx.setSignal(signal);
        return ctx;
      };
      const post = async (rsp: ResponseContext): Promise<ResponseContext> => {
        const text = await rsp.body.text();
        raw = { status: rsp.httpStatusCode, text, headers: rsp.headers };
        return new this.k8s.ResponseContext(rsp.httpStatusCode, rsp.headers, {
          text: async () => text,
          binary: async () => Buffer.from(text, 'utf8'),
          stream: () => null,
        });
      };
      const middleware = { pre: (c: RequestContext) => new this.k8s.Observable(pre(c)), post: (r: ResponseContext) => new this.k8s.Observable(post(r)) };
      try {
        await invoke({ middleware: [middleware], middlewareMergeStrategy: 'append' });
        if (raw) return raw;
        throw new Error('no response');
      } catch (err) {
        if (err instanceof KpoError) throw err;
        if (this.o.signal?.aborted) throw err;
        const answer = raw as Raw | undefined;
        if (answer && answer.status >= 300) {
          if (RETRY_STATUS.has(answer.status) && attempt < attempts) {
            const retryAfter = Number(answer.headers['retry-after']);
            await this.backoff(attempt, Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 5000) : undefined);
            continue;
          }
          throw this.httpError(op, answer);
        }
        const code = networkCode(err);
        if (code && RETRY_NETWORK.has(code) && attempt < attempts) {
          this.o.debug?.(`kube ${describe(op)}: ${code}, retrying`);
          await this.backoff(attempt);
          continue;
        }
        throw this.networkError(op, err, timeout.aborted);
      }
    }
  }

  private async backoff(attempt: number, fixedMs?: number): Promise<void> {
    const ms = fixedMs ?? Math.min(4000, 200 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    if (this.o.sleep) return this.o.sleep(ms);
    const { setTimeout: delay } = await import('node:timers/promises');
    await delay(ms);
  }

  private httpError(op: Op, raw: Raw): KubeRequestError {
    const { reason, message } = statusOf(parseJson(raw.text));
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
      );
    }
    return new KubeRequestError(`${describe(op)} failed: HTTP ${raw.status}${reason ? ` ${reason}` : ''}: ${detail}`, raw.status, reason);
  }

  private networkError(op: Op, err: unknown, timedOut: boolean): KubeUnreachableError {
    const code = timedOut ? 'ETIMEDOUT' : networkCode(err);
    const cause = (err as { cause?: unknown }).cause;
    const detail = timedOut ? `no answer within ${Math.round((this.o.timeoutMs ?? 30_000) / 1000)} s` : errorMessage(cause ?? err);
    if (code && TLS_CODES.test(code)) {
      return new KubeUnreachableError(
        `TLS to the API server ${this.server} failed for ${describe(op)}: ${detail}`,
        code,
        "The server's certificate does not match the cluster CA we used: check the kubeconfig context's certificate-authority data, or that the endpoint is the cluster's.",
        { cause: err },
      );
    }
    return new KubeUnreachableError(
      `cannot reach the API server ${this.server}: ${detail}${code && !detail.includes(code) ? ` (${code})` : ''}`,
      code,
      'Is the cluster endpoint private? Check your network/VPN, and the cluster\'s endpoint access settings (endpointPublicAccess, publicAccessCidrs).',
      { cause: err },
    );
  }

  private json<T>(raw: Raw): T {
    return (parseJson(raw.text) ?? {}) as T;
  }

  private async read<T>(op: Op, invoke: (opts: ConfigurationOptions) => Promise<unknown>): Promise<T | undefined> {
    try {
      return this.json<T>(await this.call(op, invoke));
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 404) return undefined;
      throw err;
    }
  }

  private async replace<T>(op: Op, invoke: (opts: ConfigurationOptions) => Promise<unknown>, body: unknown): Promise<T> {
    try {
      return this.json<T>(await this.call(op, invoke, { body }));
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 409) {
        throw new KubeConflictError(`${describe(op)}: the object changed since it was read (409 Conflict)`);
      }
      throw err;
    }
  }

  private async remove(op: Op, invoke: (opts: ConfigurationOptions) => Promise<unknown>): Promise<void> {
    try {
      await this.call(op, invoke);
    } catch (err) {
      if (err instanceof KubeRequestError && err.status === 404) return; // already gone
      throw err;
    }
  }

  private dry(opts?: WriteOptions): { dryRun?: string; fieldManager: string } {
    return opts?.dryRun ? { dryRun: 'All', fieldManager: FIELD_MANAGER } : { fieldManager: FIELD_MANAGER };
  }

  readNamespace(name: string) {
    return this.read<KubeObject>({ verb: 'get', resource: 'namespaces', name }, (o) => this.core.readNamespace({ name }, o));
  }
  async createNamespace(body: KubeObject, opts?: WriteOptions) {
    const op = { verb: 'create', resource: 'namespaces', name: body.metadata?.name };
    const raw = await this.call(op, (o) => this.core.createNamespace({ body: body as V1Namespace, ...this.dry(opts) }, o), { body });
    return this.json<KubeObject>(raw);
  }
  replaceNamespace(name: string, body: KubeObject, opts?: WriteOptions) {
    const op = { verb: 'update', resource: 'namespaces', name };
    return this.replace<KubeObject>(op, (o) => this.core.replaceNamespace({ name, body: body as V1Namespace, ...this.dry(opts) }, o), body);
  }
  deleteNamespace(name: string) {
    return this.remove({ verb: 'delete', resource: 'namespaces', name }, (o) => this.core.deleteNamespace({ name }, o));
  }

  readRole(namespace: string, name: string) {
    return this.read<KubeObject>({ verb: 'get', resource: 'roles', namespace, name }, (o) => this.rbac.readNamespacedRole({ namespace, name }, o));
  }
  async createRole(namespace: string, body: KubeObject, opts?: WriteOptions) {
    const op = { verb: 'create', resource: 'roles', namespace, name: body.metadata?.name };
    const raw = await this.call(op, (o) => this.rbac.createNamespacedRole({ namespace, body: body as V1Role, ...this.dry(opts) }, o), { body });
    return this.json<KubeObject>(raw);
  }
  replaceRole(namespace: string, name: string, body: KubeObject, opts?: WriteOptions) {
    const op = { verb: 'update', resource: 'roles', namespace, name };
    return this.replace<KubeObject>(op, (o) => this.rbac.replaceNamespacedRole({ namespace, name, body: body as V1Role, ...this.dry(opts) }, o), body);
  }
  deleteRole(namespace: string, name: string) {
    return this.remove({ verb: 'delete', resource: 'roles', namespace, name }, (o) => this.rbac.deleteNamespacedRole({ namespace, name }, o));
  }

  readRoleBinding(namespace: string, name: string) {
    const op = { verb: 'get', resource: 'rolebindings', namespace, name };
    return this.read<KubeObject>(op, (o) => this.rbac.readNamespacedRoleBinding({ namespace, name }, o));
  }
  async createRoleBinding(namespace: string, body: KubeObject, opts?: WriteOptions) {
    const op = { verb: 'create', resource: 'rolebindings', namespace, name: body.metadata?.name };
    const raw = await this.call(op, (o) => this.rbac.createNamespacedRoleBinding({ namespace, body: body as unknown as V1RoleBinding, ...this.dry(opts) }, o), { body });
    return this.json<KubeObject>(raw);
  }
  replaceRoleBinding(namespace: string, name: string, body: KubeObject, opts?: WriteOptions) {
    const op = { verb: 'update', resource: 'rolebindings', namespace, name };
    return this.replace<KubeObject>(
      op,
      (o) => this.rbac.replaceNamespacedRoleBinding({ namespace, name, body: body as unknown as V1RoleBinding, ...this.dry(opts) }, o),
      body,
    );
  }
  deleteRoleBinding(namespace: string, name: string) {
    const op = { verb: 'delete', resource: 'rolebindings', namespace, name };
    return this.remove(op, (o) => this.rbac.deleteNamespacedRoleBinding({ namespace, name }, o));
  }

  readConfigMap(namespace: string, name: string) {
    const op = { verb: 'get', resource: 'configmaps', namespace, name };
    return this.read<ConfigMapObject>(op, (o) => this.core.readNamespacedConfigMap({ namespace, name }, o));
  }
  async createConfigMap(namespace: string, body: ConfigMapObject, opts?: WriteOptions) {
    const op = { verb: 'create', resource: 'configmaps', namespace, name: body.metadata?.name };
    const raw = await this.call(op, (o) => this.core.createNamespacedConfigMap({ namespace, body: body as V1ConfigMap, ...this.dry(opts) }, o), { body });
    return this.json<ConfigMapObject>(raw);
  }
  replaceConfigMap(namespace: string, name: string, body: ConfigMapObject, opts?: WriteOptions) {
    const op = { verb: 'update', resource: 'configmaps', namespace, name };
    return this.replace<ConfigMapObject>(
      op,
      (o) => this.core.replaceNamespacedConfigMap({ namespace, name, body: body as V1ConfigMap, ...this.dry(opts) }, o),
      body,
    );
  }

  private static attributes(q: AccessReviewQuery) {
    return {
      verb: q.verb,
      resource: q.resource,
      ...(q.subresource ? { subresource: q.subresource } : {}),
      group: q.group ?? '',
      ...(q.namespace ? { namespace: q.namespace } : {}),
    };
  }

  private static answer(raw: Raw): AccessReviewAnswer {
    const body = parseJson(raw.text) as { status?: { allowed?: unknown; denied?: unknown; reason?: unknown } } | undefined;
    const s = body?.status ?? {};
    return { allowed: s.allowed === true && s.denied !== true, ...(typeof s.reason === 'string' && s.reason ? { reason: s.reason } : {}) };
  }

  async subjectAccessReview(user: string, q: AccessReviewQuery): Promise<AccessReviewAnswer> {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user, resourceAttributes: KubeClient.attributes(q) },
    };
    const op = { verb: 'create', resource: 'subjectaccessreviews' };
    const raw = await this.call(op, (o) => this.authz.createSubjectAccessReview({ body: body as V1SubjectAccessReview }, o), { body });
    return KubeClient.answer(raw);
  }

  async selfSubjectAccessReviewAs(user: string, q: AccessReviewQuery): Promise<AccessReviewAnswer> {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: KubeClient.attributes(q) },
    };
    const op = { verb: 'create', resource: `selfsubjectaccessreviews (impersonating ${user})` };
    const raw = await this.call(op, (o) => this.authz.createSelfSubjectAccessReview({ body: body as V1SelfSubjectAccessReview }, o), {
      body,
      impersonate: user,
    });
    return KubeClient.answer(raw);
  }

  /**
   * Proves the API server is reachable and accepts our credentials, without needing any RBAC
   * grant: every authenticated user may create a SelfSubjectAccessReview (system:basic-user).
   * Answers whether we may create RoleBindings in `namespace`, a useful early hint.
   */
  async probe(namespace: string): Promise<AccessReviewAnswer> {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'create', resource: 'rolebindings', group: 'rbac.authorization.k8s.io', namespace } },
    };
    const op = { verb: 'create', resource: 'selfsubjectaccessreviews' };
    const raw = await this.call(op, (o) => this.authz.createSelfSubjectAccessReview({ body: body as V1SelfSubjectAccessReview }, o), { body });
    return KubeClient.answer(raw);
  }
}

// client-node is ~870 modules (most of a second to load on a small machine). One shared promise,
// so a caller that is about to wait anyway (eksctl creating the cluster) can start the load early.
let k8sModule: Promise<K8sModule> | undefined;
const loadK8s = (): Promise<K8sModule> => (k8sModule ??= import('@kubernetes/client-node'));

/** Starts loading client-node in the background; createKubeClient then finds it loaded. */
export function preloadKubeClient(): void {
  loadK8s().catch(() => {
    // A failed preload is retried (and reported) by createKubeClient.
    k8sModule = undefined;
  });
}

export async function createKubeClient(o: KubeClientOptions): Promise<KubeClient> {
  const k8s = await loadK8s();
  return new KubeClient(k8s, o);
}

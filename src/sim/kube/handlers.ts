// Resource handlers of the fake API server: list/get/create/update/patch/delete with
// resourceVersion conflicts, dry runs and the registry's defaults, plus (self)subjectaccessreviews.
import { randomBytes, randomUUID } from 'node:crypto';
import { admitPod, ensureDefaultServiceAccount } from './pod-admission.js';
import { FakeKubelet } from './kubelet.js';
import { authorize, type Attributes, type UserInfo } from './rbac.js';
import { alreadyExists, badRequest, conflict, failure, methodNotAllowed, notFound, preconditionFailed } from './status.js';
import { apiVersionOf, canonical, managedFields, resourceType, type KubeObj, type KubeStore, type ResourceType } from './store.js';
import { applyPatch, validateObject } from './validate.js';

export interface ReqInfo {
  verb: string;
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface HandlerCtx {
  store: KubeStore;
  info: ReqInfo;
  method: string;
  body: unknown;
  query: URLSearchParams;
  contentType: string;
  /** managedFields manager, from the User-Agent as the API server does. */
  manager: string;
  /** The (possibly impersonated) caller, for self reviews. */
  user: UserInfo;
  /** Pod admission, status and logs (the nodes this cloud lacks). */
  kubelet: FakeKubelet;
}

export interface HandlerReply {
  status: number;
  body: unknown;
  /** The body is plain text (pods/log), not JSON. */
  text?: boolean;
}

const NS_TYPE = resourceType('namespaces');
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function dryRun(q: URLSearchParams): boolean {
  const v = q.getAll('dryRun');
  if (v.some((x) => x !== 'All')) throw badRequest(`Invalid dryRun value: ${v.join(',')}; supported values: "All"`);
  return v.length > 0;
}

function labelSelector(sel: string | null): (o: KubeObj) => boolean {
  if (!sel) return () => true;
  const terms = sel.split(',').map((t) => t.trim()).filter(Boolean);
  return (o) =>
    terms.every((t) => {
      const labels = o.metadata?.labels ?? {};
      const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(t);
      if (!m) return t.startsWith('!') ? !(t.slice(1) in labels) : t in labels;
      const v = labels[m[1]!];
      return m[2] === '!=' ? v !== m[3] : v === m[3];
    });
}

/** `metadata.name=x,metadata.namespace!=y`: the field selectors every type supports. */
function fieldSelector(sel: string | null): (o: KubeObj) => boolean {
  if (!sel) return () => true;
  const terms = sel.split(',').map((t) => /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(t.trim()));
  if (terms.some((t) => !t)) throw badRequest(`unable to parse requirement: field label not supported: ${sel}`);
  return (o) =>
    terms.every((t) => {
      const v = t![1] === 'metadata.name' ? o.metadata?.name : o.metadata?.namespace;
      return t![2] === '!=' ? v !== t![3] : v === t![3];
    });
}

function asObject(body: unknown): KubeObj {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body of the request was not a JSON object');
  return structuredClone(body) as KubeObj;
}

function ensureNamespace(ctx: HandlerCtx): void {
  const ns = ctx.info.namespace!;
  const found = ctx.store.get(NS_TYPE, undefined, ns);
  if (!found) throw notFound(NS_TYPE, ns);
  if (found.metadata?.deletionTimestamp) {
    throw failure(403, 'Forbidden', `${ctx.info.type.resource} "${ctx.info.name ?? ''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);
  }
}

/** Defaults the registry applies (namespace label, finalizers and phase). */
function defaults(t: ResourceType, obj: KubeObj): KubeObj {
  if (t.kind !== 'Namespace') return obj;
  const name = obj.metadata?.name ?? '';
  return {
    ...obj,
    metadata: { ...obj.metadata, labels: { ...(obj.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'], ...((obj.spec as object | undefined) ?? {}) },
    status: { phase: 'Active', ...((obj.status as object | undefined) ?? {}) },
  };
}

function checkKind(t: ResourceType, obj: KubeObj): void {
  if (obj.kind !== undefined && obj.kind !== t.kind) throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(t)) throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
}

function prepare(ctx: HandlerCtx, obj: KubeObj): KubeObj {
  const { type: t, namespace } = ctx.info;
  checkKind(t, obj);
  obj.metadata ??= {};
  if (t.namespaced) {
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = namespace;
  }
  if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomBytes(3).toString('hex').slice(0, 5);
  return obj;
}

function create(ctx: HandlerCtx, obj: KubeObj, isDry: boolean): HandlerReply {
  const t = ctx.info.type;
  validateObject(t, obj);
  const name = obj.metadata!.name!;
  if (ctx.store.get(t, obj.metadata?.namespace, name)) throw alreadyExists(t, name);
  const full = defaults(t, obj);
  if (isDry) {
    const meta = { ...full.metadata, uid: randomUUID(), creationTimestamp: now(), managedFields: managedFields(t, ctx.manager, now()) };
    delete meta.resourceVersion;
    return { status: 201, body: canonical(t, { ...full, metadata: meta }) };
  }
  delete full.metadata!.resourceVersion;
  const saved = ctx.store.save(t, full, { manager: ctx.manager });
  if (t.kind === 'Namespace') ensureDefaultServiceAccount(ctx.store, name);
  if (t.kind === 'Pod') ctx.kubelet.created(saved);
  return { status: 201, body: saved };
}

function update(ctx: HandlerCtx, current: KubeObj, next: KubeObj, isDry: boolean): HandlerReply {
  const t = ctx.info.type;
  const rv = next.metadata?.resourceVersion;
  if (rv && rv !== current.metadata?.resourceVersion) throw conflict(t, ctx.info.name!);
  validateObject(t, next, current);
  let merged = next;
  if (t.kind === 'Namespace') merged = defaults(t, { ...next, spec: current.spec, status: current.status });
  if (isDry) return { status: 200, body: canonical(t, { ...merged, metadata: { ...merged.metadata, uid: current.metadata?.uid, resourceVersion: current.metadata?.resourceVersion, creationTimestamp: current.metadata?.creationTimestamp } }) };
  return { status: 200, body: ctx.store.save(t, merged, { manager: ctx.manager, previous: current }) };
}

export function handleResource(ctx: HandlerCtx): HandlerReply {
  const { store, info, query } = ctx;
  const t = info.type;
  if (t.kind === 'Pod' && info.subresource === 'log' && info.verb === 'get') return { ...ctx.kubelet.log(info.namespace!, info.name!, query.get('container')), text: true };
  if (info.subresource) throw methodNotAllowed();
  if (t.virtual) return handleReview(ctx);
  const ns = t.namespaced ? info.namespace : undefined;
  switch (info.verb) {
    case 'list': {
      const items = store
        .list(t, ns)
        .filter(labelSelector(query.get('labelSelector')))
        .filter(fieldSelector(query.get('fieldSelector')))
        .map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
      return { status: 200, body: { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: { resourceVersion: store.resourceVersion }, items } };
    }
    case 'watch':
      throw methodNotAllowed();
    case 'get': {
      const o = store.get(t, ns, info.name!);
      if (!o) throw notFound(t, info.name!);
      return { status: 200, body: o };
    }
    case 'create': {
      const isDry = dryRun(query);
      const raw = asObject(ctx.body);
      const requested = raw.metadata?.name || raw.metadata?.generateName || '';
      const obj = prepare(ctx, raw);
      if (t.namespaced) ensureNamespace(ctx);
      // Mutating admission runs before validation and before the name is generated.
      return create(ctx, t.kind === 'Pod' ? admitPod(store, obj, requested) : obj, isDry);
    }
    case 'update': {
      const isDry = dryRun(query);
      const obj = prepare(ctx, asObject(ctx.body));
      if (obj.metadata?.name !== info.name) throw badRequest(`the name of the object (${obj.metadata?.name ?? ''}) does not match the name on the URL (${info.name})`);
      const current = store.get(t, ns, info.name!);
      if (!current) {
        if (!t.createOnUpdate) throw notFound(t, info.name!);
        if (t.namespaced) ensureNamespace(ctx);
        return create(ctx, obj, isDry);
      }
      return update(ctx, current, obj, isDry);
    }
    case 'patch': {
      const isDry = dryRun(query);
      const current = store.get(t, ns, info.name!);
      if (!current) throw notFound(t, info.name!);
      const patched = applyPatch(current, ctx.contentType, ctx.body);
      patched.metadata = { ...patched.metadata, name: info.name, ...(t.namespaced ? { namespace: ns } : {}) };
      return update(ctx, current, patched, isDry);
    }
    case 'delete': {
      const isDry = dryRun(query);
      const current = store.get(t, ns, info.name!);
      if (!current) throw notFound(t, info.name!);
      // DeleteOptions.preconditions, as kube-apiserver checks them (uid, resourceVersion).
      const pre = ((ctx.body ?? {}) as { preconditions?: { uid?: string; resourceVersion?: string } }).preconditions ?? {};
      if (pre.uid && pre.uid !== current.metadata?.uid) throw preconditionFailed(t, info.name!, 'UID', pre.uid, String(current.metadata?.uid ?? ''));
      if (pre.resourceVersion && pre.resourceVersion !== current.metadata?.resourceVersion) {
        throw preconditionFailed(t, info.name!, 'ResourceVersion', pre.resourceVersion, String(current.metadata?.resourceVersion ?? ''));
      }
      if (!isDry) {
        store.remove(t, ns, info.name!);
        // The namespace controller finalises at once here: contents go with it.
        if (t.kind === 'Namespace') store.purgeNamespace(info.name!);
      }
      if (t.kind === 'Namespace') {
        return { status: 200, body: canonical(t, { ...current, metadata: { ...current.metadata, deletionTimestamp: now() }, status: { phase: 'Terminating' } }) };
      }
      return { status: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: info.name, ...(t.group ? { group: t.group } : {}), kind: t.resource, uid: current.metadata?.uid } } };
    }
    default:
      throw methodNotAllowed();
  }
}

interface ReviewSpec {
  resourceAttributes?: { namespace?: string; verb?: string; group?: string; version?: string; resource?: string; subresource?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: unknown;
}

const RA_ORDER = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'] as const;

function handleReview(ctx: HandlerCtx): HandlerReply {
  const t = ctx.info.type;
  if (ctx.info.verb !== 'create') throw failure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  const obj = asObject(ctx.body);
  checkKind(t, obj);
  const spec = (obj.spec ?? {}) as ReviewSpec;
  const self = t.kind === 'SelfSubjectAccessReview';
  const cause = (field: string, message: string) => failure(422, 'Invalid', `${t.kind}.authorization.k8s.io "" is invalid: ${field}: ${message}`, { group: 'authorization.k8s.io', kind: t.kind, causes: [{ reason: 'FieldValueInvalid', message, field }] });
  if (!!spec.resourceAttributes === !!spec.nonResourceAttributes) {
    throw cause('spec.resourceAttributes', 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified');
  }
  if (!self && !spec.user && !(spec.groups?.length)) throw cause('spec.user', 'Invalid value: "": at least one of user or group must be specified');
  const subject: UserInfo = self ? ctx.user : { username: spec.user ?? '', groups: spec.groups ?? [] };
  let attrs: Attributes;
  let echo: Record<string, unknown>;
  if (spec.resourceAttributes) {
    const ra = spec.resourceAttributes;
    attrs = { kind: 'resource', verb: ra.verb ?? '', group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource || undefined, namespace: ra.namespace || undefined, name: ra.name || undefined };
    const ordered: Record<string, unknown> = {};
    for (const k of RA_ORDER) if (ra[k]) ordered[k] = ra[k];
    echo = { resourceAttributes: ordered };
  } else {
    const na = spec.nonResourceAttributes!;
    attrs = { kind: 'nonResource', verb: na.verb ?? '', path: na.path ?? '' };
    echo = { nonResourceAttributes: { ...(na.path ? { path: na.path } : {}), ...(na.verb ? { verb: na.verb } : {}) } };
  }
  if (!self) {
    if (spec.user) echo.user = spec.user;
    if (spec.groups?.length) echo.groups = spec.groups;
    if (spec.uid) echo.uid = spec.uid;
  }
  const decision = authorize(ctx.store, subject, attrs);
  return {
    status: 201,
    body: {
      kind: t.kind,
      apiVersion: apiVersionOf(t),
      metadata: { creationTimestamp: null, managedFields: managedFields(t, ctx.manager, now()) },
      spec: echo,
      status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
    },
  };
}

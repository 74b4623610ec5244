// The fake API server's object store: what etcd + the registry do for the kinds the tool uses.
// Objects come out in the API server's field order (kind, apiVersion, metadata{name, namespace,
// uid, resourceVersion, creationTimestamp, labels, annotations, managedFields}, then the body).
import { randomUUID } from 'node:crypto';

export interface KubeObj {
  kind?: string;
  apiVersion?: string;
  metadata?: Meta;
  [k: string]: unknown;
}
export interface Meta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface ResourceType {
  resource: string;
  kind: string;
  group: string;
  version: string;
  namespaced: boolean;
  /** RBAC types accept PUT of a missing object as a create; core types answer 404. */
  createOnUpdate: boolean;
  /** Review types: POST only, nothing stored. */
  virtual?: boolean;
  verbs: string[];
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const rt = (resource: string, kind: string, group: string, namespaced: boolean, createOnUpdate = false): ResourceType => ({
  resource,
  kind,
  group,
  version: 'v1',
  namespaced,
  createOnUpdate,
  verbs: RW,
});

export const RESOURCE_TYPES: ResourceType[] = [
  { ...rt('namespaces', 'Namespace', '', false), verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  rt('configmaps', 'ConfigMap', '', true),
  rt('pods', 'Pod', '', true),
  rt('events', 'Event', '', true),
  rt('serviceaccounts', 'ServiceAccount', '', true),
  rt('roles', 'Role', 'rbac.authorization.k8s.io', true, true),
  rt('rolebindings', 'RoleBinding', 'rbac.authorization.k8s.io', true, true),
  rt('clusterroles', 'ClusterRole', 'rbac.authorization.k8s.io', false, true),
  rt('clusterrolebindings', 'ClusterRoleBinding', 'rbac.authorization.k8s.io', false, true),
  { ...rt('subjectaccessreviews', 'SubjectAccessReview', 'authorization.k8s.io', false), virtual: true, verbs: ['create'] },
  { ...rt('selfsubjectaccessreviews', 'SelfSubjectAccessReview', 'authorization.k8s.io', false), virtual: true, verbs: ['create'] },
];

/** 'Role', 'role', 'roles' → the roles type. */
export function resourceType(kindOrResource: string): ResourceType {
  const k = kindOrResource.toLowerCase();
  const t = RESOURCE_TYPES.find((r) => r.resource === k || r.kind.toLowerCase() === k);
  if (!t) throw new Error(`test cloud: unknown Kubernetes kind or resource "${kindOrResource}"`);
  return t;
}

export const apiVersionOf = (t: ResourceType): string => (t.group ? `${t.group}/${t.version}` : t.version);
/** `roles.rbac.authorization.k8s.io` / `configmaps`, as messages name them. */
export const qualified = (t: ResourceType): string => (t.group ? `${t.resource}.${t.group}` : t.resource);

const META_ORDER = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'];
const RULE_ORDER = ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'];
const SUBJECT_ORDER = ['kind', 'apiGroup', 'name', 'namespace'];

function ordered(obj: Record<string, unknown>, order: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) if (obj[k] !== undefined) out[k] = obj[k];
  for (const [k, v] of Object.entries(obj)) if (!(k in out) && v !== undefined) out[k] = v;
  return out;
}

/** Field order and defaults as the API server serialises them. */
export function canonical(t: ResourceType, obj: KubeObj): KubeObj {
  const { kind: _k, apiVersion: _a, metadata, ...rest } = obj;
  const body: Record<string, unknown> = { ...rest };
  if (Array.isArray(body.rules)) body.rules = (body.rules as Array<Record<string, unknown>>).map((r) => ordered(r, RULE_ORDER));
  if (Array.isArray(body.subjects)) body.subjects = (body.subjects as Array<Record<string, unknown>>).map((s) => ordered(s, SUBJECT_ORDER));
  if (body.roleRef && typeof body.roleRef === 'object') body.roleRef = ordered(body.roleRef as Record<string, unknown>, ['apiGroup', 'kind', 'name']);
  return { kind: t.kind, apiVersion: apiVersionOf(t), metadata: ordered(metadata ?? {}, META_ORDER) as Meta, ...body };
}

/** The managedFields entry the API server records for a write by `manager`. */
export function managedFields(t: ResourceType, manager: string, time: string): Array<Record<string, unknown>> {
  return [{ manager, operation: 'Update', apiVersion: apiVersionOf(t), time, fieldsType: 'FieldsV1', fieldsV1: {} }];
}

const key = (t: ResourceType, ns: string | undefined, name: string) => `${t.resource}/${t.namespaced ? (ns ?? '') : ''}/${name}`;

export class KubeStore {
  private readonly objects = new Map<string, KubeObj>();
  private rv = 200;

  get resourceVersion(): string {
    return String(this.rv);
  }

  get(t: ResourceType, ns: string | undefined, name: string): KubeObj | undefined {
    const o = this.objects.get(key(t, ns, name));
    return o ? structuredClone(o) : undefined;
  }

  list(t: ResourceType, ns?: string): KubeObj[] {
    const prefix = t.namespaced && ns ? `${t.resource}/${ns}/` : `${t.resource}/`;
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, o]) => structuredClone(o));
  }

  /** Stores `obj` (server-set fields filled in) and returns the stored copy. */
  save(t: ResourceType, obj: KubeObj, opts: { manager?: string; previous?: KubeObj } = {}): KubeObj {
    const meta: Meta = { ...(obj.metadata ?? {}) };
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    meta.uid = opts.previous?.metadata?.uid ?? meta.uid ?? randomUUID();
    meta.creationTimestamp = opts.previous?.metadata?.creationTimestamp ?? now;
    meta.resourceVersion = String(++this.rv);
    if (!t.namespaced) delete meta.namespace;
    meta.managedFields = managedFields(t, opts.manager ?? 'unknown', now);
    const stored = canonical(t, { ...obj, metadata: meta });
    this.objects.set(key(t, meta.namespace, meta.name ?? ''), stored);
    return structuredClone(stored);
  }

  remove(t: ResourceType, ns: string | undefined, name: string): KubeObj | undefined {
    const k = key(t, ns, name);
    const o = this.objects.get(k);
    this.objects.delete(k);
    if (o) this.rv++;
    return o;
  }

  /** Forgets every object (the cluster was deleted). */
  clear(): void {
    this.objects.clear();
  }

  /** Deletes everything in a namespace (what the namespace controller does on delete). */
  purgeNamespace(ns: string): void {
    for (const k of [...this.objects.keys()]) {
      const [, n] = k.split('/');
      if (n === ns) this.objects.delete(k);
    }
  }
}

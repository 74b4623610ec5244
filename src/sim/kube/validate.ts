// What kube-apiserver validates on write for the kinds the tool touches, and the patch formats
// (JSON merge patch, strategic merge patch — same as merge for these kinds — and JSON patch).
import { badRequest, failure, invalid, unsupportedMediaType, type Cause } from './status.js';
import type { KubeObj, ResourceType } from './store.js';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const RBAC_GROUP = 'rbac.authorization.k8s.io';

function nameCauses(t: ResourceType, name: string): Cause[] {
  if (t.group === RBAC_GROUP) {
    if (name === '.' || name === '..' || /[/%]/.test(name)) return [{ field: 'metadata.name', message: `Invalid value: "${name}": may not contain '/' or '%', and may not be '.' or '..'` }];
    return [];
  }
  if (t.resource === 'namespaces') {
    if (name.length > 63 || !LABEL.test(name)) {
      return [
        {
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        },
      ];
    }
    return [];
  }
  if (name.length > 253 || !SUBDOMAIN.test(name)) {
    return [
      {
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      },
    ];
  }
  return [];
}

function stringMap(v: unknown, field: string, causes: Cause[]): void {
  if (v === undefined) return;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    causes.push({ field, message: 'Invalid value: must be a map of strings', reason: 'FieldValueTypeInvalid' });
  }
}

interface Rule {
  verbs?: unknown;
  apiGroups?: unknown;
  resources?: unknown;
  nonResourceURLs?: unknown;
}

function ruleCauses(t: ResourceType, rules: unknown): Cause[] {
  const causes: Cause[] = [];
  if (rules === undefined) return causes;
  if (!Array.isArray(rules)) return [{ field: 'rules', message: 'Invalid value: must be a list', reason: 'FieldValueTypeInvalid' }];
  rules.forEach((r: Rule, i) => {
    const f = `rules[${i}]`;
    if (!Array.isArray(r.verbs) || r.verbs.length === 0) causes.push({ field: `${f}.verbs`, message: 'Required value: verbs must contain at least one value', reason: 'FieldValueRequired' });
    const hasNonResource = Array.isArray(r.nonResourceURLs) && r.nonResourceURLs.length > 0;
    if (hasNonResource && t.kind === 'Role') causes.push({ field: `${f}.nonResourceURLs`, message: 'Invalid value: namespaced rules cannot apply to non-resource URLs' });
    if (Array.isArray(r.resources) && r.resources.length > 0 && (!Array.isArray(r.apiGroups) || r.apiGroups.length === 0)) {
      causes.push({ field: `${f}.apiGroups`, message: 'Required value: resource rules must supply at least one api group', reason: 'FieldValueRequired' });
    }
    if (!hasNonResource && !(Array.isArray(r.resources) && r.resources.length > 0)) {
      causes.push({ field: `${f}.resources`, message: 'Required value: resource rules must supply at least one resource', reason: 'FieldValueRequired' });
    }
  });
  return causes;
}

function bindingCauses(t: ResourceType, obj: KubeObj): Cause[] {
  const causes: Cause[] = [];
  const ref = obj.roleRef as { apiGroup?: string; kind?: string; name?: string } | undefined;
  const kinds = t.kind === 'RoleBinding' ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!ref) return [{ field: 'roleRef.name', message: 'Required value', reason: 'FieldValueRequired' }];
  if (ref.apiGroup !== RBAC_GROUP) causes.push({ field: 'roleRef.apiGroup', message: `Unsupported value: "${ref.apiGroup ?? ''}": supported values: "${RBAC_GROUP}"`, reason: 'FieldValueNotSupported' });
  if (!ref.kind || !kinds.includes(ref.kind)) causes.push({ field: 'roleRef.kind', message: `Unsupported value: "${ref.kind ?? ''}": supported values: ${kinds.map((k) => `"${k}"`).join(', ')}`, reason: 'FieldValueNotSupported' });
  if (!ref.name) causes.push({ field: 'roleRef.name', message: 'Required value', reason: 'FieldValueRequired' });
  const subjects = (obj.subjects ?? []) as Array<{ kind?: string; apiGroup?: string; name?: string; namespace?: string }>;
  subjects.forEach((s, i) => {
    const f = `subjects[${i}]`;
    if (!s.name) causes.push({ field: `${f}.name`, message: 'Required value', reason: 'FieldValueRequired' });
    if (s.kind === 'User' || s.kind === 'Group') {
      if (s.apiGroup !== RBAC_GROUP) causes.push({ field: `${f}.apiGroup`, message: `Unsupported value: "${s.apiGroup ?? ''}": supported values: "${RBAC_GROUP}"`, reason: 'FieldValueNotSupported' });
    } else if (s.kind === 'ServiceAccount') {
      if (!s.namespace && t.kind === 'ClusterRoleBinding') causes.push({ field: `${f}.namespace`, message: 'Required value', reason: 'FieldValueRequired' });
    } else {
      causes.push({ field: `${f}.kind`, message: `Unsupported value: "${s.kind ?? ''}": supported values: "ServiceAccount", "User", "Group"`, reason: 'FieldValueNotSupported' });
    }
  });
  return causes;
}

/** The pod fields every pod needs: containers, each with a DNS-label name and an image. */
function podCauses(obj: KubeObj): Cause[] {
  const containers = ((obj.spec ?? {}) as { containers?: Array<{ name?: string; image?: string }> }).containers ?? [];
  if (!containers.length) return [{ field: 'spec.containers', message: 'Required value', reason: 'FieldValueRequired' }];
  return containers.flatMap((c, i) => [
    ...(!c.name ? [{ field: `spec.containers[${i}].name`, message: 'Required value', reason: 'FieldValueRequired' }] : !LABEL.test(c.name) ? [{ field: `spec.containers[${i}].name`, message: `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character` }] : []),
    ...(!c.image ? [{ field: `spec.containers[${i}].image`, message: 'Required value', reason: 'FieldValueRequired' }] : []),
  ]);
}

/** Throws 422 Invalid when `obj` would be rejected on create or update. */
export function validateObject(t: ResourceType, obj: KubeObj, previous?: KubeObj): void {
  const name = obj.metadata?.name ?? '';
  const causes: Cause[] = [];
  if (!name) causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required', reason: 'FieldValueRequired' });
  else causes.push(...nameCauses(t, name));
  stringMap(obj.metadata?.labels, 'metadata.labels', causes);
  stringMap(obj.metadata?.annotations, 'metadata.annotations', causes);
  if (t.kind === 'ConfigMap') {
    stringMap(obj.data, 'data', causes);
    for (const k of Object.keys((obj.data as object | undefined) ?? {})) {
      if (!/^[-._a-zA-Z0-9]+$/.test(k)) causes.push({ field: 'data', message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` });
    }
  }
  if (t.kind === 'Role' || t.kind === 'ClusterRole') causes.push(...ruleCauses(t, obj.rules));
  if (t.kind === 'Pod') causes.push(...podCauses(obj));
  if (t.kind === 'RoleBinding' || t.kind === 'ClusterRoleBinding') {
    causes.push(...bindingCauses(t, obj));
    if (previous && JSON.stringify(previous.roleRef) !== JSON.stringify(obj.roleRef)) {
      causes.push({ field: 'roleRef', message: `Invalid value: ${JSON.stringify(obj.roleRef)}: cannot change roleRef` });
    }
  }
  if (causes.length) throw invalid(t, name, causes);
}

type Json = unknown;

export function mergePatch(target: Json, patch: Json): Json {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, Json> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, Json>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`invalid JSON patch path ${path}`);
  return path.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('the JSON patch must be a list of operations');
  let root = structuredClone(doc);
  for (const op of ops as Array<{ op?: string; path?: string; value?: Json }>) {
    const parts = pointer(op.path ?? '');
    const last = parts.pop();
    let parent: Json = root;
    for (const p of parts) parent = (parent as Record<string, Json>)?.[p];
    if (typeof parent !== 'object' || parent === null || last === undefined) {
      if (last === undefined && (op.op === 'replace' || op.op === 'add')) {
        root = op.value;
        continue;
      }
      throw badRequest(`jsonpatch ${op.op} operation does not apply: doc is missing path: "${op.path}"`);
    }
    const arr = Array.isArray(parent) ? parent : undefined;
    const idx = arr ? (last === '-' ? arr.length : Number(last)) : -1;
    const obj = parent as Record<string, Json>;
    switch (op.op) {
      case 'add':
        if (arr) arr.splice(idx, 0, op.value);
        else obj[last] = op.value;
        break;
      case 'replace':
      case 'remove':
        if (arr ? idx >= arr.length : !(last in obj)) throw badRequest(`jsonpatch ${op.op} operation does not apply: doc is missing key: ${op.path}`);
        if (op.op === 'replace') {
          if (arr) arr[idx] = op.value;
          else obj[last] = op.value;
        } else if (arr) arr.splice(idx, 1);
        else delete obj[last];
        break;
      case 'test':
        if (JSON.stringify(arr ? arr[idx] : obj[last]) !== JSON.stringify(op.value)) throw failure(422, 'Invalid', `jsonpatch test operation does not apply: ${op.path}`);
        break;
      default:
        throw badRequest(`unsupported JSON patch operation ${op.op}`);
    }
  }
  return root;
}

export function applyPatch(current: KubeObj, contentType: string, patch: unknown): KubeObj {
  const ct = contentType.split(';')[0]!.trim();
  if (ct === 'application/merge-patch+json' || ct === 'application/strategic-merge-patch+json') return mergePatch(current, patch) as KubeObj;
  if (ct === 'application/json-patch+json') return jsonPatch(current, patch) as KubeObj;
  throw unsupportedMediaType(ct);
}

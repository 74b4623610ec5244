// Create-or-update for the objects we set up (Namespace, Role, RoleBinding): compare only the fields
// we need, update with the resourceVersion we read (retrying when someone else writes in between),
// keep the object's labels and annotations as they are, and say in words what changed. The dry run does the
// same against the API server's own dryRun=All, so the plan is what the server would accept.
import { isKpoError, KpoError, errorMessage } from '../errors.js';
import type { PlanItem } from '../types.js';
import type { KubeObject, WriteOptions } from './api.js';
import { KubeRequestError } from './errors.js';
import { Document, isScalar, visit } from 'yaml';

export interface ReconcileOps {
  /** For messages, e.g. `Role astro-remote-kpo-role in namespace astro-remote-kpo`. */
  label: string;
  desired: KubeObject;
  read(): Promise<KubeObject | undefined>;
  create(body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  replace(body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  remove?(): Promise<void>;
  /** Differences on the fields we own, in words; empty means in sync. */
  diff(current: KubeObject): string[];
  /** `current` with our fields applied; keeps its resourceVersion and others' metadata. */
  merge(current: KubeObject): KubeObject;
  /** A difference an update cannot make (RoleBinding roleRef): delete and create instead. */
  immutable?(current: KubeObject): string | undefined;
  /** Called with an existing object that differs, before anything is written to it: throws when
   * it is not ours to change (src/kube/takeover.ts: never a takeover). */
  guard?(current: KubeObject): Promise<void>;
}

export interface ReconcileResult {
  created: boolean;
  changed: string[];
}

const ATTEMPTS = 5;

export async function reconcile(ops: ReconcileOps): Promise<ReconcileResult> {
  // What we set out to change before a conflict: if the object is right after it (our update
  // landed and only its answer was lost, or someone made the same fix), that is still the change.
  let intended: string[] = [];
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const current = await ops.read();
    if (!current) {
      try {
        await ops.create(ops.desired);
        return { created: true, changed: [] };
      } catch (err) {
        // Created by someone else (or by our own retried request) since we read: compare again.
        if (err instanceof KubeRequestError && err.status === 409) continue;
        throw err;
      }
    }
    const immutable = ops.immutable?.(current);
    if (ops.guard && (immutable || ops.diff(current).length)) await ops.guard(current);
    if (immutable && ops.remove) {
      await ops.remove();
      // Re-created with the metadata it had: a found object does not turn into one of ours.
      const meta = current.metadata ?? {};
      const body: KubeObject = {
        ...ops.desired,
        metadata: { ...ops.desired.metadata, labels: meta.labels ?? {}, annotations: meta.annotations ?? {} },
      };
      for (const k of ['labels', 'annotations'] as const) if (Object.keys(body.metadata![k] ?? {}).length === 0) delete body.metadata![k];
      await ops.create(body);
      return { created: false, changed: [`${immutable} (roleRef cannot be changed in place: deleted and re-created)`] };
    }
    const changes = ops.diff(current);
    if (changes.length === 0) return { created: false, changed: intended };
    try {
      await ops.replace(ops.merge(current));
      return { created: false, changed: changes };
    } catch (err) {
      if (!isKpoError(err, 'KUBE_CONFLICT')) throw err;
      intended = changes; // changed under us: read the new version and redo
    }
  }
  throw new KpoError(
    'KEEPS_CHANGING',
    `${ops.label} kept changing while we updated it (${ATTEMPTS} conflicting writes in a row).`,
    'Another controller may be managing it (GitOps, an operator): stop it or let it own the object, then re-run.',
  );
}

/** A difference as the update would make it ("added verb x", "roleRef A → B") phrased as a
 * finding about the object as it is ("missing verb x", "roleRef is A, not B"). */
export function asFinding(change: string): string {
  const ref = /^roleRef (.*) → (.*)$/.exec(change);
  if (ref) return `roleRef is ${ref[1]}, not ${ref[2]}`;
  return change.replace(/^added /, 'missing ').replace(/^removed /, 'extra ');
}

/** Every way `current` differs from what we would make, as findings; empty when it matches. */
export function findings(ops: ReconcileOps, current: KubeObject): string[] {
  const immutable = ops.immutable?.(current);
  return [...(immutable ? [immutable] : []), ...ops.diff(current)].map(asFinding);
}

/** Read-only "already done?" for check(): undefined when in sync, else why not. */
export async function outOfSync(ops: ReconcileOps): Promise<string | undefined> {
  const current = await ops.read();
  if (!current) return `${ops.label} does not exist`;
  const found = findings(ops, current);
  return found.length ? `${ops.label}: ${found.join('; ')}` : undefined;
}

/** YAML as a person would write it: lists of plain values inline (`verbs: ["get", "list"]`). */
export async function toYaml(obj: unknown): Promise<string> {
  const doc = new Document(obj);
  visit(doc, {
    Seq(_key, node) {
      if (node.items.every((i) => isScalar(i))) node.flow = true;
    },
    Scalar(_key, node) {
      if (node.value === '') node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false }).trimEnd();
}

/** Whether the plan can ask the API server, and if not, why (a failed lookup, or just a note). */
export type PlanServer = { ask: true } | { ask: false; unknown: string } | { ask: false; note: string };

/**
 * The dry-run plan: the same decisions as reconcile(), with the writes sent as dryRun=All when the
 * API server can be asked, else rendered only.
 */
export async function planReconcile(ops: ReconcileOps, server: PlanServer): Promise<{ items: PlanItem[]; exists: boolean }> {
  const details = await toYaml(ops.desired);
  if (!server.ask) {
    const item: PlanItem =
      'unknown' in server
        ? { action: `create or update ${ops.label}`, details, unknown: server.unknown }
        : { action: `create ${ops.label} (${server.note})`, details };
    return { items: [item], exists: false };
  }
  let current: KubeObject | undefined;
  try {
    current = await ops.read();
  } catch (err) {
    return { items: [{ action: `create or update ${ops.label}`, details, unknown: errorMessage(err) }], exists: false };
  }
  const dry = async (what: () => Promise<unknown>): Promise<string | undefined> => {
    try {
      await what();
      return undefined;
    } catch (err) {
      return errorMessage(err);
    }
  };
  if (!current) {
    const problem = await dry(() => ops.create(ops.desired, { dryRun: true }));
    return {
      items: [{ action: `create ${ops.label}${problem ? '' : ' (accepted by the API server with dryRun=All)'}`, details, ...(problem ? { unknown: `server dry run: ${problem}` } : {}) }],
      exists: false,
    };
  }
  const immutable = ops.immutable?.(current);
  const changes = ops.diff(current);
  if (immutable || changes.length) {
    try {
      await ops.guard?.(current);
    } catch (err) {
      return { items: [{ action: `use ${ops.label} as found`, unknown: `init will refuse: ${errorMessage(err)}` }], exists: true };
    }
  }
  if (immutable) return { items: [{ action: `delete and re-create ${ops.label}: ${immutable}`, details }], exists: true };
  if (changes.length === 0) return { items: [{ action: `exists: ${ops.label} (no change)` }], exists: true };
  const problem = await dry(() => ops.replace(ops.merge(current), { dryRun: true }));
  return {
    items: [
      {
        action: `update ${ops.label}: ${changes.join('; ')}${problem ? '' : ' (accepted by the API server with dryRun=All)'}`,
        details,
        ...(problem ? { unknown: `server dry run: ${problem}` } : {}),
      },
    ],
    exists: true,
  };
}

// ---- comparisons on the fields we own -------------------------------------------------------

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

interface Grant {
  group: string;
  resource: string;
  verb: string;
  names: string;
}

/** Every (apiGroup, resource, verb, resourceNames) a rule list grants: rules compare as sets. */
export function grants(rules: unknown): Map<string, Grant> {
  const out = new Map<string, Grant>();
  for (const r of Array.isArray(rules) ? rules : []) {
    const rule = (r ?? {}) as Record<string, unknown>;
    const names = strings(rule.resourceNames).sort().join(',');
    for (const group of strings(rule.apiGroups)) {
      for (const resource of strings(rule.resources)) {
        for (const verb of strings(rule.verbs)) {
          const g = { group, resource, verb, names };
          out.set(JSON.stringify([group, resource, verb, names]), g);
        }
      }
    }
  }
  return out;
}

function where(g: Grant): string {
  return `${g.group ? `${g.resource}.${g.group}` : g.resource}${g.names ? ` (names ${g.names})` : ''}`;
}

function phrase(kind: 'added' | 'removed', list: Grant[]): string[] {
  const byTarget = new Map<string, string[]>();
  for (const g of list) byTarget.set(where(g), [...(byTarget.get(where(g)) ?? []), g.verb]);
  return [...byTarget.entries()].map(([target, verbs]) => `${kind} verb${verbs.length > 1 ? 's' : ''} ${verbs.join(', ')} on ${target}`);
}

/** "added verb delete on pods", "removed verbs deletecollection, update on pods". */
export function ruleChanges(currentRules: unknown, desiredRules: unknown): string[] {
  const have = grants(currentRules);
  const want = grants(desiredRules);
  const missing = [...want.entries()].filter(([k]) => !have.has(k)).map(([, g]) => g);
  const extra = [...have.entries()].filter(([k]) => !want.has(k)).map(([, g]) => g);
  return [...phrase('added', missing), ...phrase('removed', extra)];
}

interface Subject {
  kind: string;
  name: string;
  apiGroup: string;
  namespace: string;
}

function subjectKey(s: unknown): string {
  const o = (s ?? {}) as Record<string, unknown>;
  const kind = typeof o.kind === 'string' ? o.kind : '';
  const n: Subject = {
    kind,
    name: typeof o.name === 'string' ? o.name : '',
    // The API server defaults apiGroup for User and Group; ServiceAccount has none.
    apiGroup: typeof o.apiGroup === 'string' && o.apiGroup ? o.apiGroup : kind === 'ServiceAccount' ? '' : 'rbac.authorization.k8s.io',
    namespace: typeof o.namespace === 'string' ? o.namespace : '',
  };
  return `${n.kind} ${n.name}${n.namespace ? ` (namespace ${n.namespace})` : ''}${n.apiGroup && n.apiGroup !== 'rbac.authorization.k8s.io' ? ` [${n.apiGroup}]` : ''}`;
}

export function subjectChanges(current: unknown, desired: unknown): string[] {
  const have = new Set((Array.isArray(current) ? current : []).map(subjectKey));
  const want = new Set((Array.isArray(desired) ? desired : []).map(subjectKey));
  return [
    ...[...want].filter((s) => !have.has(s)).map((s) => `added subject ${s}`),
    ...[...have].filter((s) => !want.has(s)).map((s) => `removed subject ${s}`),
  ];
}

function refKey(r: unknown): string {
  const o = (r ?? {}) as Record<string, unknown>;
  return `${String(o.kind ?? '')}/${String(o.name ?? '')}${o.apiGroup && o.apiGroup !== 'rbac.authorization.k8s.io' ? ` [${String(o.apiGroup)}]` : ''}`;
}

export function roleRefChange(current: unknown, desired: unknown): string | undefined {
  const a = refKey(current);
  const b = refKey(desired);
  return a === b ? undefined : `roleRef ${a} → ${b}`;
}

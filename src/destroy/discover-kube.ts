// destroy's Kubernetes items: the RoleBinding, the Role, the task pods' ServiceAccount (when this
// project may have made one) and (with --delete-namespace) the namespace. Each is shared: it goes only when a project of this tool made it and no one else uses
// it (sharedDecision: other projects' use marks; the RoleBinding and Role also stay while the role
// whose user they bind stays for others); otherwise only this project's use mark goes. Reads only
// here; the deletions run later via apply(), which reads again right before deleting and deletes
// only the version it judged (resourceVersion precondition), so a project that starts using the
// object meanwhile keeps it. A namespace goes only when nothing is in it that init did not put
// there (unless state records that this project created it), nor a Role or RoleBinding kept for others.
import { MARKER_LABEL, roleBindingName } from '../desired.js';
import type { State } from '../engine/state.js';
import { errorMessage, isKpoError } from '../errors.js';
import type { Collection, DeleteOptions, KubeApi, KubeObject } from '../kube/api.js';
import { kubeUseMarks, kubeUses, type KubeObjectAccess } from '../kube/use-marks.js';
import type { Inputs } from '../types.js';
import { leave } from '../use-marks.js';
import { gone, marked, sharedDecision, useMarkItem, whoAmI, withoutStateHint, type DestroyItem, type Kept, type SharedDecision } from './items.js';
import { together } from '../together.js';

const [LABEL_KEY, LABEL_VALUE] = MARKER_LABEL;
const LABEL = `the label ${LABEL_KEY}=${LABEL_VALUE}`;

/** What a namespace can hold that matters to its owner (events come and go by themselves). */
const CONTENTS: readonly (Collection & { kind: string })[] = [
  { prefix: '/api/v1', resource: 'pods', kind: 'Pod' },
  { prefix: '/api/v1', resource: 'configmaps', kind: 'ConfigMap' },
  { prefix: '/api/v1', resource: 'secrets', kind: 'Secret' },
  { prefix: '/api/v1', resource: 'serviceaccounts', kind: 'ServiceAccount' },
  { prefix: '/api/v1', resource: 'services', kind: 'Service' },
  { prefix: '/api/v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim' },
  { prefix: '/apis/rbac.authorization.k8s.io/v1', resource: 'roles', kind: 'Role' },
  { prefix: '/apis/rbac.authorization.k8s.io/v1', resource: 'rolebindings', kind: 'RoleBinding' },
  { prefix: '/apis/apps/v1', resource: 'deployments', kind: 'Deployment' },
  { prefix: '/apis/apps/v1', resource: 'statefulsets', kind: 'StatefulSet' },
  { prefix: '/apis/apps/v1', resource: 'daemonsets', kind: 'DaemonSet' },
  { prefix: '/apis/batch/v1', resource: 'jobs', kind: 'Job' },
  { prefix: '/apis/batch/v1', resource: 'cronjobs', kind: 'CronJob' },
];

/** Objects Kubernetes itself puts in every namespace, or init's own (deleted before the namespace). */
function expected(kind: string, o: KubeObject, ours: Ours): boolean {
  const name = o.metadata?.name ?? '';
  if (kind === 'ConfigMap') return name === 'kube-root-ca.crt';
  if (kind === 'ServiceAccount') return name === 'default' || name === ours.serviceAccount;
  if (kind === 'Secret') return o.type === 'kubernetes.io/service-account-token' && o.metadata?.annotations?.['kubernetes.io/service-account.name'] === 'default';
  if (kind === 'Role') return name === ours.role;
  if (kind === 'RoleBinding') return name === ours.binding;
  return false;
}

/** init's own objects in the namespace that are deleted before it. */
interface Ours {
  role?: string;
  binding?: string;
  serviceAccount?: string;
}

/** What is in the namespace that init did not put there, e.g. ["ConfigMap team-settings"]. */
async function foreignContents(kube: KubeApi, namespace: string, ours: Ours): Promise<string[]> {
  const lists = await together(CONTENTS.map(async (c) => ({ c, items: await kube.listIn(namespace, c) })));
  return lists.flatMap(({ c, items }) => (items ?? []).filter((o) => !expected(c.kind, o, ours)).map((o) => `${c.kind} ${o.metadata?.name ?? '?'}`));
}

interface SharedKube {
  stage: 'role-binding' | 'k8s-role' | 'namespace' | 'pod-service-account';
  kind: 'role-binding' | 'role' | 'namespace' | 'service-account';
  access: KubeObjectAccess;
  current: KubeObject;
  recorded: boolean | undefined;
  state: State | undefined;
  /** The --workload-identity values: without state, they tell which marks are this destroy's. */
  identities: readonly string[];
  alsoUsedBy?: readonly string[];
  del(opts: DeleteOptions): Promise<void>;
  /** Even when nobody else uses it, a reason it stays (the namespace: no flag, things inside). */
  hold?(current: KubeObject, d: SharedDecision, atApply: boolean): Promise<string | undefined>;
}

/** The items for one shared object, and whether it is to be deleted. */
async function sharedItems(o: SharedKube): Promise<{ items: DestroyItem[]; deleting: boolean }> {
  const meOf = (c: KubeObject) => whoAmI(o.state, kubeUses(c), o.identities);
  const decide = (c: KubeObject) => sharedDecision({ marker: LABEL, uses: kubeUses(c), recorded: o.recorded, me: meOf(c), alsoUsedBy: o.alsoUsedBy ?? [] });
  const d = decide(o.current);
  const held = d.last ? await o.hold?.(o.current, d, false) : undefined;
  const me = meOf(o.current);
  const marks = kubeUseMarks(o.access);
  if (d.last && !held) {
    const apply = async (): Promise<undefined | Kept> => {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const now = await o.access.read();
        if (!now) return undefined;
        const again = decide(now);
        const stays = again.last ? await o.hold?.(now, again, true) : again.why;
        if (stays) {
          const uses = kubeUses(now);
          const who = meOf(now);
          if (marked(uses, who)) await leave(marks, uses, who);
          return { kept: `kept after all: ${stays}` };
        }
        try {
          await o.del({ resourceVersion: now.metadata?.resourceVersion });
          return undefined;
        } catch (err) {
          if (!isKpoError(err, 'KUBE_CONFLICT')) throw err; // changed since read: judge it again
        }
      }
      return { kept: `kept: ${o.access.label} kept changing while destroy judged it; run destroy again` };
    };
    return { items: [{ stage: o.stage, kind: o.kind, name: o.access.label, decision: 'delete', why: d.why, apply }], deleting: true };
  }
  const uses = kubeUses(o.current);
  const why = (held ? `${d.why}, but kept: ${held}` : d.why) + withoutStateHint(d, uses, marks, me);
  const mark = marked(uses, me) ? [useMarkItem(o.stage, marks, uses, me)] : [];
  return { items: [...mark, { stage: o.stage, kind: o.kind, name: o.access.label, decision: 'keep', why }], deleting: false };
}

type Kind = SharedKube['kind'];

/** What differs between the three kinds of object: their stage, how they are named, and which
 * calls reach them (`ns`: the namespace a Role or RoleBinding is in; a namespace's own name). */
const KINDS: Record<Kind, {
  stage: SharedKube['stage'];
  word: string;
  kubectl: string;
  namespaced: boolean;
  read(kube: KubeApi, ns: string, name: string): Promise<KubeObject | undefined>;
  replace(kube: KubeApi, ns: string, name: string, body: KubeObject): Promise<KubeObject>;
  del(kube: KubeApi, ns: string, name: string, opts: DeleteOptions): Promise<void>;
}> = {
  'role-binding': { stage: 'role-binding', word: 'RoleBinding', kubectl: 'rolebinding', namespaced: true, read: (k, ns, n) => k.readRoleBinding(ns, n), replace: (k, ns, n, b) => k.replaceRoleBinding(ns, n, b), del: (k, ns, n, o) => k.deleteRoleBinding(ns, n, o) },
  role: { stage: 'k8s-role', word: 'Role', kubectl: 'role', namespaced: true, read: (k, ns, n) => k.readRole(ns, n), replace: (k, ns, n, b) => k.replaceRole(ns, n, b), del: (k, ns, n, o) => k.deleteRole(ns, n, o) },
  namespace: { stage: 'namespace', word: 'namespace', kubectl: 'namespace', namespaced: false, read: (k, _ns, n) => k.readNamespace(n), replace: (k, _ns, n, b) => k.replaceNamespace(n, b), del: (k, _ns, n, o) => k.deleteNamespace(n, o) },
  'service-account': { stage: 'pod-service-account', word: 'ServiceAccount', kubectl: 'serviceaccount', namespaced: true, read: (k, ns, n) => k.readServiceAccount(ns, n), replace: (k, ns, n, b) => k.replaceServiceAccount(ns, n, b), del: (k, ns, n, o) => k.deleteServiceAccount(ns, n, o) },
};

/** One row of the table discoverKube walks: an object, and what is particular to it. */
interface Target {
  kind: Kind;
  name: string;
  ns: string;
  recorded: boolean | undefined;
  alsoUsedBy?: readonly string[];
  hold?: SharedKube['hold'];
  /** Why it is gone already although it can be read (a namespace being deleted). */
  going?(current: KubeObject): string | undefined;
  /** Said after the reason when it goes. */
  goesToo?: string;
}

interface Outcome {
  /** It exists and this destroy leaves it (for others, or held). */
  stays: boolean;
  deleting: boolean;
}

/** The items for one target, read as `current`: gone, already going, or a shared object's. */
async function targetItems(kube: KubeApi, t: Target, current: KubeObject | undefined, state: State | undefined, identities: readonly string[]): Promise<{ items: DestroyItem[]; outcome: Outcome }> {
  const k = KINDS[t.kind];
  const label = `${k.word} ${t.name}${k.namespaced ? ` in namespace ${t.ns}` : ''}`;
  if (!current) return { items: [gone(k.stage, t.kind, label)], outcome: { stays: false, deleting: false } };
  const going = t.going?.(current);
  if (going) return { items: [gone(k.stage, t.kind, label, going)], outcome: { stays: false, deleting: false } };
  const access: KubeObjectAccess = {
    label,
    kubectl: `${k.kubectl} ${t.name}${k.namespaced ? ` -n ${t.ns}` : ''}`,
    read: () => k.read(kube, t.ns, t.name),
    replace: (b: KubeObject) => k.replace(kube, t.ns, t.name, b),
  };
  const r = await sharedItems({
    stage: k.stage,
    kind: t.kind,
    access,
    current,
    recorded: t.recorded,
    state,
    identities,
    ...(t.alsoUsedBy ? { alsoUsedBy: t.alsoUsedBy } : {}),
    ...(t.hold ? { hold: t.hold } : {}),
    del: (opts) => k.del(kube, t.ns, t.name, opts),
  });
  if (t.goesToo) for (const i of r.items) if (i.kind === t.kind && i.decision === 'delete') i.why = `${i.why}; ${t.goesToo}`;
  return { items: r.items, outcome: { stays: !r.deleting, deleting: r.deleting } };
}

/** What state says of the pods' ServiceAccount (created or found), when it is about this one. */
function podServiceAccountRecord(state: State | undefined, inputs: Inputs): boolean | undefined {
  const rec = state?.stages['pod-service-account']?.outputs;
  return rec?.serviceAccount === inputs.podServiceAccount && rec.namespace === inputs.namespace ? rec.created : undefined;
}

/** `roleKeptFor`: who else uses the IAM role; what exists for its user (the RoleBinding and Role)
 * stays while the role stays for them. `pods`: the task pods' ServiceAccount is looked at too, and
 * stays while the pods' role stays for others (`keptFor`). The namespace comes last: whether it
 * may go depends on what stays in it. */
export async function discoverKube(kube: KubeApi, inputs: Inputs, state: State | undefined, deleteNamespace: boolean, roleKeptFor: readonly string[] = [], pods?: { keptFor: readonly string[] }): Promise<DestroyItem[]> {
  const { namespace, k8sRole } = inputs;
  const saName = inputs.podServiceAccount;
  const rbName = roleBindingName(k8sRole);
  const outcomes = new Map<Kind, Outcome>();
  const recorded = state?.stages.namespace?.outputs?.created;

  const hold = async (_c: KubeObject, _d: SharedDecision, atApply: boolean): Promise<string | undefined> => {
    if (!deleteNamespace) return 'pass --delete-namespace to delete it and everything in it';
    const rb = outcomes.get('role-binding');
    const role = outcomes.get('role');
    const sa = outcomes.get('service-account');
    const keptInside = [...(rb?.stays ? [`RoleBinding ${rbName}`] : []), ...(role?.stays ? [`Role ${k8sRole}`] : []), ...(sa?.stays ? [`ServiceAccount ${saName}`] : [])];
    if (keptInside.length > 0) return `it holds what stays for others (${keptInside.join(', ')})`;
    // Created by this very project (state): --delete-namespace takes it with everything in it.
    if (recorded === true) return undefined;
    // Ours by its marker only: prove it holds nothing of anyone else's before it goes. At apply
    // time our Role and RoleBinding are gone already.
    try {
      const others = await foreignContents(kube, namespace, atApply ? {} : { ...(role?.deleting ? { role: k8sRole } : {}), ...(rb?.deleting ? { binding: rbName } : {}), ...(sa?.deleting ? { serviceAccount: saName } : {}) });
      return others.length > 0 ? `it holds what init did not put there (${others.join(', ')})` : undefined;
    } catch (err) {
      return `could not list what is in it (${errorMessage(err)})`;
    }
  };

  const targets: Target[] = [
    { kind: 'role-binding', name: rbName, ns: namespace, recorded: state?.stages['role-binding']?.outputs?.created, alsoUsedBy: roleKeptFor },
    { kind: 'role', name: k8sRole, ns: namespace, recorded: state?.stages['k8s-role']?.outputs?.created, alsoUsedBy: roleKeptFor },
    ...(pods ? [{ kind: 'service-account' as const, name: saName, ns: namespace, recorded: podServiceAccountRecord(state, inputs), alsoUsedBy: pods.keptFor }] : []),
    {
      kind: 'namespace',
      name: namespace,
      ns: namespace,
      recorded,
      hold,
      going: (ns) => ((ns.status as { phase?: unknown } | undefined)?.phase === 'Terminating' ? 'already being deleted' : undefined),
      goesToo: 'everything in it goes too',
    },
  ];
  // The reads go out together; the judging is in order (the namespace's needs the others').
  const current = await together(targets.map((t) => KINDS[t.kind].read(kube, t.ns, t.name)));
  const items: DestroyItem[] = [];
  for (const [i, t] of targets.entries()) {
    const r = await targetItems(kube, t, current[i], state, inputs.workloadIdentities);
    outcomes.set(t.kind, r.outcome);
    items.push(...r.items);
  }
  return items;
}

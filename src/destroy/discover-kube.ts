// destroy's Kubernetes items: the RoleBinding, the Role and (with --delete-namespace) the
// namespace. Each is shared: it goes only when a project of this tool made it and no one else uses
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
function expected(kind: string, o: KubeObject, ours: { role?: string; binding?: string }): boolean {
  const name = o.metadata?.name ?? '';
  if (kind === 'ConfigMap') return name === 'kube-root-ca.crt';
  if (kind === 'ServiceAccount') return name === 'default';
  if (kind === 'Secret') return o.type === 'kubernetes.io/service-account-token' && o.metadata?.annotations?.['kubernetes.io/service-account.name'] === 'default';
  if (kind === 'Role') return name === ours.role;
  if (kind === 'RoleBinding') return name === ours.binding;
  return false;
}

/** What is in the namespace that init did not put there, e.g. ["ConfigMap team-settings"]. */
async function foreignContents(kube: KubeApi, namespace: string, ours: { role?: string; binding?: string }): Promise<string[]> {
  const lists = await Promise.all(CONTENTS.map(async (c) => ({ c, items: await kube.listIn(namespace, c) })));
  return lists.flatMap(({ c, items }) => (items ?? []).filter((o) => !expected(c.kind, o, ours)).map((o) => `${c.kind} ${o.metadata?.name ?? '?'}`));
}

interface SharedKube {
  stage: 'role-binding' | 'k8s-role' | 'namespace';
  kind: 'role-binding' | 'role' | 'namespace';
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

/** `roleKeptFor`: who else uses the IAM role; what exists for its user (the RoleBinding and Role)
 * stays while the role stays for them. */
export async function discoverKube(kube: KubeApi, inputs: Inputs, state: State | undefined, deleteNamespace: boolean, roleKeptFor: readonly string[] = []): Promise<DestroyItem[]> {
  const { namespace, k8sRole } = inputs;
  const rbName = roleBindingName(k8sRole);
  const [rb, role, ns] = await Promise.all([kube.readRoleBinding(namespace, rbName), kube.readRole(namespace, k8sRole), kube.readNamespace(namespace)]);
  const items: DestroyItem[] = [];

  const rbLabel = `RoleBinding ${rbName} in namespace ${namespace}`;
  let rbGoes = false;
  if (!rb) items.push(gone('role-binding', 'role-binding', rbLabel));
  else {
    const access = { label: rbLabel, kubectl: `rolebinding ${rbName} -n ${namespace}`, read: () => kube.readRoleBinding(namespace, rbName), replace: (b: KubeObject) => kube.replaceRoleBinding(namespace, rbName, b) };
    const r = await sharedItems({ stage: 'role-binding', kind: 'role-binding', access, current: rb, recorded: state?.stages['role-binding']?.outputs?.created, state, identities: inputs.workloadIdentities, alsoUsedBy: roleKeptFor, del: (opts) => kube.deleteRoleBinding(namespace, rbName, opts) });
    rbGoes = r.deleting;
    items.push(...r.items);
  }

  const roleLabel = `Role ${k8sRole} in namespace ${namespace}`;
  let roleGoes = false;
  if (!role) items.push(gone('k8s-role', 'role', roleLabel));
  else {
    const access = { label: roleLabel, kubectl: `role ${k8sRole} -n ${namespace}`, read: () => kube.readRole(namespace, k8sRole), replace: (b: KubeObject) => kube.replaceRole(namespace, k8sRole, b) };
    const r = await sharedItems({ stage: 'k8s-role', kind: 'role', access, current: role, recorded: state?.stages['k8s-role']?.outputs?.created, state, identities: inputs.workloadIdentities, alsoUsedBy: roleKeptFor, del: (opts) => kube.deleteRole(namespace, k8sRole, opts) });
    roleGoes = r.deleting;
    items.push(...r.items);
  }

  const nsLabel = `namespace ${namespace}`;
  if (!ns) items.push(gone('namespace', 'namespace', nsLabel));
  else if ((ns.status as { phase?: unknown } | undefined)?.phase === 'Terminating') items.push(gone('namespace', 'namespace', nsLabel, 'already being deleted'));
  else {
    const recorded = state?.stages.namespace?.outputs?.created;
    const keptInside = [...(rb && !rbGoes ? [`RoleBinding ${rbName}`] : []), ...(role && !roleGoes ? [`Role ${k8sRole}`] : [])];
    const hold = async (_c: KubeObject, _d: SharedDecision, atApply: boolean): Promise<string | undefined> => {
      if (!deleteNamespace) return 'pass --delete-namespace to delete it and everything in it';
      if (keptInside.length > 0) return `it holds what stays for others (${keptInside.join(', ')})`;
      // Created by this very project (state): --delete-namespace takes it with everything in it.
      if (recorded === true) return undefined;
      // Ours by its marker only: prove it holds nothing of anyone else's before it goes. At apply
      // time our Role and RoleBinding are gone already.
      try {
        const others = await foreignContents(kube, namespace, atApply ? {} : { ...(roleGoes ? { role: k8sRole } : {}), ...(rbGoes ? { binding: rbName } : {}) });
        return others.length > 0 ? `it holds what init did not put there (${others.join(', ')})` : undefined;
      } catch (err) {
        return `could not list what is in it (${errorMessage(err)})`;
      }
    };
    const access = { label: nsLabel, kubectl: `namespace ${namespace}`, read: () => kube.readNamespace(namespace), replace: (b: KubeObject) => kube.replaceNamespace(namespace, b) };
    const r = await sharedItems({ stage: 'namespace', kind: 'namespace', access, current: ns, recorded, state, identities: inputs.workloadIdentities, hold, del: (opts) => kube.deleteNamespace(namespace, opts) });
    for (const i of r.items) if (i.kind === 'namespace' && i.decision === 'delete') i.why = `${i.why}; everything in it goes too`;
    items.push(...r.items);
  }
  return items;
}

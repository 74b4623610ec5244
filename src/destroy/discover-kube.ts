// destroy's Kubernetes items: the RoleBinding, the Role and (with --delete-namespace) the
// namespace, each deleted only when ours; reads only here, the deletions run later via apply().
// A namespace that is ours only by its marker (no state record that init created it) goes only
// when nothing is in it that init did not put there: what else is inside is listed and it is kept.
import { MARKER_LABEL, roleBindingName } from '../desired.js';
import type { State } from '../engine/state.js';
import { errorMessage } from '../errors.js';
import type { Collection, KubeApi, KubeObject } from '../kube/api.js';
import type { Inputs } from '../types.js';
import { gone, ownership, readMarker, type DestroyItem, type Marker } from './items.js';

const [LABEL_KEY, LABEL_VALUE] = MARKER_LABEL;
const LABEL = `the label ${LABEL_KEY}=${LABEL_VALUE}`;

function marker(o: KubeObject): Marker {
  return readMarker(o.metadata?.labels, o.metadata?.annotations, LABEL_KEY, LABEL_VALUE, 'label');
}

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

export async function discoverKube(kube: KubeApi, inputs: Inputs, state: State | undefined, deleteNamespace: boolean): Promise<DestroyItem[]> {
  const { namespace, k8sRole } = inputs;
  const rbName = roleBindingName(k8sRole);
  const [rb, role, ns] = await Promise.all([kube.readRoleBinding(namespace, rbName), kube.readRole(namespace, k8sRole), kube.readNamespace(namespace)]);
  const items: DestroyItem[] = [];

  const rbLabel = `RoleBinding ${rbName} in namespace ${namespace}`;
  let rbOurs = false;
  if (!rb) items.push(gone('role-binding', 'role-binding', rbLabel));
  else {
    const o = ownership(state?.stages['role-binding']?.outputs?.created, marker(rb), `no ${LABEL}`, state);
    rbOurs = o.ours;
    items.push({
      stage: 'role-binding',
      kind: 'role-binding',
      name: rbLabel,
      decision: o.ours ? 'delete' : 'keep',
      why: o.why,
      apply: async () => void (await kube.deleteRoleBinding(namespace, rbName)),
    });
  }

  const roleLabel = `Role ${k8sRole} in namespace ${namespace}`;
  let roleOurs = false;
  if (!role) items.push(gone('k8s-role', 'role', roleLabel));
  else {
    const o = ownership(state?.stages['k8s-role']?.outputs?.created, marker(role), `no ${LABEL}`, state);
    roleOurs = o.ours;
    items.push({
      stage: 'k8s-role',
      kind: 'role',
      name: roleLabel,
      decision: o.ours ? 'delete' : 'keep',
      why: o.why,
      apply: async () => void (await kube.deleteRole(namespace, k8sRole)),
    });
  }

  const nsLabel = `namespace ${namespace}`;
  if (!ns) items.push(gone('namespace', 'namespace', nsLabel));
  else if ((ns.status as { phase?: unknown } | undefined)?.phase === 'Terminating') items.push(gone('namespace', 'namespace', nsLabel, 'already being deleted'));
  else {
    const recorded = state?.stages.namespace?.outputs?.created;
    const o = ownership(recorded, marker(ns), `no ${LABEL}`, state);
    let decision: 'delete' | 'keep' = o.ours && deleteNamespace ? 'delete' : 'keep';
    let why = o.ours && !deleteNamespace ? `${o.why}; kept: pass --delete-namespace to delete it and everything in it` : o.why;
    if (decision === 'delete' && recorded !== true) {
      // Ours by its marker only: prove it holds nothing of anyone else's before it goes.
      try {
        const others = await foreignContents(kube, namespace, { ...(roleOurs ? { role: k8sRole } : {}), ...(rbOurs ? { binding: rbName } : {}) });
        if (others.length > 0) {
          decision = 'keep';
          why = `${o.why}, but kept: it holds what init did not put there (${others.join(', ')})`;
        }
      } catch (err) {
        decision = 'keep';
        why = `${o.why}, but kept: could not list what is in it (${errorMessage(err)})`;
      }
    }
    items.push({
      stage: 'namespace',
      kind: 'namespace',
      name: nsLabel,
      decision,
      why: decision === 'delete' ? `${why}; everything in it goes too` : why,
      apply: async () => void (await kube.deleteNamespace(namespace)),
    });
  }
  return items;
}

// destroy's Kubernetes items: the RoleBinding, the Role and (with --delete-namespace) the
// namespace, each deleted only when ours; reads only here, the deletions run later via apply().
import { MANAGED_LABELS, roleBindingName } from '../desired.js';
import type { State } from '../engine/state.js';
import type { KubeApi, KubeObject } from '../kube/api.js';
import type { Inputs } from '../types.js';
import { gone, ownership, type DestroyItem } from './items.js';

const [LABEL_KEY, LABEL_VALUE] = Object.entries(MANAGED_LABELS)[0]!;
const LABEL = `the label ${LABEL_KEY}=${LABEL_VALUE}`;

function labelled(o: KubeObject): string | undefined {
  return o.metadata?.labels?.[LABEL_KEY] === LABEL_VALUE ? LABEL : undefined;
}

export async function discoverKube(kube: KubeApi, inputs: Inputs, state: State | undefined, deleteNamespace: boolean): Promise<DestroyItem[]> {
  const { namespace, k8sRole } = inputs;
  const rbName = roleBindingName(k8sRole);
  const [rb, role, ns] = await Promise.all([kube.readRoleBinding(namespace, rbName), kube.readRole(namespace, k8sRole), kube.readNamespace(namespace)]);
  const items: DestroyItem[] = [];

  const rbLabel = `RoleBinding ${rbName} in namespace ${namespace}`;
  if (!rb) items.push(gone('role-binding', 'role-binding', rbLabel));
  else {
    const o = ownership(state?.stages['role-binding']?.outputs?.created, labelled(rb), `no ${LABEL}`);
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
  if (!role) items.push(gone('k8s-role', 'role', roleLabel));
  else {
    const o = ownership(state?.stages['k8s-role']?.outputs?.created, labelled(role), `no ${LABEL}`);
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
    const o = ownership(state?.stages.namespace?.outputs?.created, labelled(ns), `no ${LABEL}`);
    const decision = o.ours && deleteNamespace ? 'delete' : 'keep';
    const why = o.ours && !deleteNamespace ? `${o.why}; kept: pass --delete-namespace to delete it and everything in it` : o.why;
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

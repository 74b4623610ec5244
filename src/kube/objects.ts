// How each object we own is read, written and compared: the Namespace (our labels), the Role (its
// rules, as a set, plus our labels) and the RoleBinding (its subjects and our labels; its roleRef
// is immutable, so a different one means delete and create). `kube` is a getter so a dry run
// without a connection can still build the ops (and only render them).
import { namespaceObject, roleBindingName, roleBindingObject, roleObject } from '../desired.js';
import { keepForRun, takeFromCheck } from '../engine/carry.js';
import type { StageContext } from '../engine/stage.js';
import { StageFailedError, errorMessage } from '../errors.js';
import type { Inputs } from '../types.js';
import type { KubeApi, KubeObject } from './api.js';
import {
  labelChanges,
  planReconcile,
  roleRefChange,
  ruleChanges,
  subjectChanges,
  withLabels,
  type ReconcileOps,
} from './reconcile.js';

export function namespaceOps(kube: () => KubeApi, inputs: Pick<Inputs, 'namespace'>): ReconcileOps {
  const name = inputs.namespace;
  const desired: KubeObject = namespaceObject(inputs);
  return {
    label: `namespace ${name}`,
    desired,
    async read() {
      const ns = await kube().readNamespace(name);
      const phase = (ns?.status as { phase?: unknown } | undefined)?.phase;
      if (phase === 'Terminating') {
        throw new StageFailedError(
          `namespace ${name} is being deleted (phase Terminating): nothing can be created in it until it is gone.`,
          `Wait for the deletion to finish (it may be blocked by finalizers), then re-run; or choose another --namespace.`,
        );
      }
      return ns;
    },
    create: (body, opts) => kube().createNamespace(body, opts),
    replace: (body, opts) => kube().replaceNamespace(name, body, opts),
    diff: (current) => labelChanges(current, desired),
    merge: (current) => withLabels(current, desired),
  };
}

export function roleOps(kube: () => KubeApi, inputs: Pick<Inputs, 'namespace' | 'k8sRole'>): ReconcileOps {
  const { namespace, k8sRole } = inputs;
  const desired: KubeObject = roleObject(inputs);
  return {
    label: `Role ${k8sRole} in namespace ${namespace}`,
    desired,
    read: () => kube().readRole(namespace, k8sRole),
    create: (body, opts) => kube().createRole(namespace, body, opts),
    replace: (body, opts) => kube().replaceRole(namespace, k8sRole, body, opts),
    diff: (current) => [...ruleChanges(current.rules, desired.rules), ...labelChanges(current, desired)],
    // The rules are ours entirely (exactly what EksPodOperator needs); labels and annotations
    // others added stay.
    merge: (current) => ({ ...withLabels(current, desired), rules: desired.rules }),
  };
}

export function roleBindingOps(kube: () => KubeApi, inputs: Pick<Inputs, 'namespace' | 'k8sRole' | 'k8sUser'>): ReconcileOps {
  const { namespace } = inputs;
  const name = roleBindingName(inputs.k8sRole);
  const desired: KubeObject = roleBindingObject(inputs);
  return {
    label: `RoleBinding ${name} in namespace ${namespace}`,
    desired,
    read: () => kube().readRoleBinding(namespace, name),
    create: (body, opts) => kube().createRoleBinding(namespace, body, opts),
    replace: (body, opts) => kube().replaceRoleBinding(namespace, name, body, opts),
    remove: () => kube().deleteRoleBinding(namespace, name),
    diff: (current) => [...subjectChanges(current.subjects, desired.subjects), ...labelChanges(current, desired)],
    merge: (current) => ({ ...withLabels(current, desired), subjects: desired.subjects }),
    immutable: (current) => roleRefChange(current.roleRef, desired.roleRef),
  };
}

/** The ops for check(): its read is kept for run() (engine/carry.ts). */
export function checkOps(ctx: StageContext, ops: ReconcileOps): ReconcileOps {
  return {
    ...ops,
    read: async () => {
      const current = await ops.read();
      keepForRun(ctx, ops.label, current);
      return current;
    },
  };
}

/** The ops for run(): the first read is check()'s, if it made one. reconcile() is built for a read
 * that may be stale: a write based on it fails with 409 and the loop reads again. */
export function runOps(ctx: StageContext, ops: ReconcileOps): ReconcileOps {
  return {
    ...ops,
    read: async () => {
      const kept = takeFromCheck<KubeObject | undefined>(ctx, ops.label);
      return kept.found ? kept.value : ops.read();
    },
  };
}

/**
 * Dry-run plan for one of our objects: ask the API server (dryRun=All) when the context stage
 * connected, and when the object's namespace already exists (else the server would only say
 * "namespace not found"; the namespace stage creates it first).
 */
export async function planOwned(ctx: StageContext, ops: ReconcileOps, inNamespace?: string) {
  const kube = ctx.services.kube;
  if (!kube) return planReconcile(ops, { ask: false, unknown: 'no connection to the API server (see the context stage)' });
  if (inNamespace) {
    try {
      if (!(await kube.readNamespace(inNamespace))) {
        return planReconcile(ops, { ask: false, note: `after namespace ${inNamespace} is created; not validated by the API server yet` });
      }
    } catch (err) {
      return planReconcile(ops, { ask: false, unknown: errorMessage(err) });
    }
  }
  return planReconcile(ops, { ask: true });
}

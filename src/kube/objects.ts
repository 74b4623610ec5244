// How each object we set up is read, written and compared: the Namespace (nothing to compare), the
// Role (its rules, as a set) and the RoleBinding (its subjects; its roleRef is immutable, so a
// different one means delete and create). Our creation marker (label + project annotation) is in
// the body only when WE create the object: an object we find is never compared on it nor given it,
// so nothing found ever looks like ours. `kube` is a getter so a dry run without a connection can
// still build the ops (and only render them).
import { MARKER_LABEL, PROJECT_KEY, provenOurs, namespaceObject, roleBindingName, roleBindingObject, roleObject } from '../desired.js';
import type { StageContext } from '../engine/stage.js';
import { KpoError, errorMessage } from '../errors.js';
import type { Inputs } from '../types.js';
import type { KubeApi, KubeObject } from './api.js';
import { findings, planReconcile, roleRefChange, ruleChanges, subjectChanges, type ReconcileOps } from './reconcile.js';

/** The slices of a stage's context these helpers use. */
type OwnerSlice = Pick<StageContext<{ services: 'owner' }>, 'owner'>;
type KubeSlice = Pick<StageContext<{ services: 'kube' }>, 'tryKube'>;

export function namespaceOps(kube: () => KubeApi, inputs: Pick<Inputs, 'namespace'>, projectId?: string): ReconcileOps {
  const name = inputs.namespace;
  const desired: KubeObject = namespaceObject(inputs, projectId);
  return {
    label: `namespace ${name}`,
    desired,
    async read() {
      const ns = await kube().readNamespace(name);
      const phase = (ns?.status as { phase?: unknown } | undefined)?.phase;
      if (phase === 'Terminating') {
        throw new KpoError(
          'NAMESPACE_TERMINATING',
          `namespace ${name} is being deleted (phase Terminating): nothing can be created in it until it is gone.`,
          `Wait for the deletion to finish (it may be blocked by finalizers), then re-run; or choose another --namespace.`,
        );
      }
      return ns;
    },
    create: (body, opts) => kube().createNamespace(body, opts),
    replace: (body, opts) => kube().replaceNamespace(name, body, opts),
    // A namespace has nothing we need to own: found is fine as it is.
    diff: () => [],
    merge: (current) => current,
  };
}

export function roleOps(kube: () => KubeApi, inputs: Pick<Inputs, 'namespace' | 'k8sRole'>, projectId?: string): ReconcileOps {
  const { namespace, k8sRole } = inputs;
  const desired: KubeObject = roleObject(inputs, projectId);
  return {
    label: `Role ${k8sRole} in namespace ${namespace}`,
    desired,
    read: () => kube().readRole(namespace, k8sRole),
    create: (body, opts) => kube().createRole(namespace, body, opts),
    replace: (body, opts) => kube().replaceRole(namespace, k8sRole, body, opts),
    diff: (current) => ruleChanges(current.rules, desired.rules),
    // The rules are what EksPodOperator needs, exactly; metadata stays as it is.
    merge: (current) => ({ ...current, rules: desired.rules }),
  };
}

export function roleBindingOps(kube: () => KubeApi, inputs: Pick<Inputs, 'namespace' | 'k8sRole' | 'k8sUser'>, projectId?: string): ReconcileOps {
  const { namespace } = inputs;
  const name = roleBindingName(inputs.k8sRole);
  const desired: KubeObject = roleBindingObject(inputs, projectId);
  return {
    label: `RoleBinding ${name} in namespace ${namespace}`,
    desired,
    read: () => kube().readRoleBinding(namespace, name),
    create: (body, opts) => kube().createRoleBinding(namespace, body, opts),
    replace: (body, opts) => kube().replaceRoleBinding(namespace, name, body, opts),
    remove: () => kube().deleteRoleBinding(namespace, name),
    diff: (current) => subjectChanges(current.subjects, desired.subjects),
    merge: (current) => ({ ...current, subjects: desired.subjects }),
    immutable: (current) => roleRefChange(current.roleRef, desired.roleRef),
  };
}

/** What a kube stage's check() read, for its run(): the object as it was (undefined: not found). */
export interface ObjectSeen {
  current: KubeObject | undefined;
}

/** The ops for check(): `seen` gets what it read (returned as CheckResult's `seen`). */
export function checkOps(ops: ReconcileOps, seen: (current: KubeObject | undefined) => void): ReconcileOps {
  return {
    ...ops,
    read: async () => {
      const current = await ops.read();
      seen(current);
      return current;
    },
  };
}

/** The ops for run(): the first read is check()'s (`fromCheck`), if it made one; later reads ask
 * again. reconcile() is built for a read that may be stale: a write based on it fails with 409 and
 * the loop reads again. Every create is preceded by its write-ahead intent in state. */
export function runOps(ctx: OwnerSlice, ops: ReconcileOps, fromCheck: ObjectSeen | undefined, seen?: (current: KubeObject | undefined) => void): ReconcileOps {
  let kept = fromCheck;
  return {
    ...ops,
    read: async () => {
      const current = kept ? kept.current : await ops.read();
      kept = undefined;
      seen?.(current);
      return current;
    },
    create: async (body, opts) => {
      await ctx.owner.intend(ops.label);
      return ops.create(body, opts);
    },
  };
}

/**
 * Whether this project created the object: recorded in state by an earlier run, our marker with
 * our project id on it, or our write-ahead intent for it (a run killed after the create and before
 * its answer) while it carries our marker. A found object never becomes ours, and ours never
 * becomes found.
 */
export function ownedByUs(ctx: OwnerSlice, label: string, recorded: boolean | undefined, current: KubeObject | undefined): boolean {
  // A record (created or found) stands; the proofs below are for a run that never recorded one.
  if (recorded !== undefined) return recorded;
  if (!current) return false;
  const marked = current.metadata?.labels?.[MARKER_LABEL[0]] === MARKER_LABEL[1];
  return provenOurs(marked, current.metadata?.annotations?.[PROJECT_KEY], ctx.owner.projectId, ctx.owner.intended(label));
}

/**
 * The ops with the never-a-takeover guard (src/kube/takeover.ts): an existing Role or RoleBinding
 * that differs is changed only when this project created it (ownedByUs: record, marker with our
 * id, or our intent); any other stops the stage before a write, naming every difference
 * (`refusal`: the stage's takeoverRefusal for its kind).
 */
export function guardFound(
  ctx: OwnerSlice,
  ops: ReconcileOps,
  recorded: boolean | undefined,
  refusal: (current: KubeObject, found: readonly string[]) => Promise<Error>,
): ReconcileOps {
  return {
    ...ops,
    guard: async (current) => {
      if (ownedByUs(ctx, ops.label, recorded, current)) return;
      throw await refusal(current, findings(ops, current));
    },
  };
}

/**
 * Dry-run plan for one of our objects: ask the API server (dryRun=All) when the context stage
 * connected, and when the object's namespace already exists (else the server would only say
 * "namespace not found"; the namespace stage creates it first).
 */
export async function planOwned(ctx: KubeSlice, ops: ReconcileOps, inNamespace?: string) {
  const kube = ctx.tryKube();
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

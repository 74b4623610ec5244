// Stage 9: bind the Role to the Kubernetes user the IAM role maps to (seed:
// `kubectl create -f k8s/role-binding.yaml`). Subjects compare as a set; roleRef cannot be changed
// in place, so a binding this project created that points at another Role is deleted and
// re-created (and reported). A found binding is used only if it matches: one with another roleRef
// or other subjects stops the stage, unchanged (src/kube/takeover.ts).
import { defineStage, type StageContext } from '../engine/stage.js';
import { roleBindingName } from '../desired.js';
import type { KubeObject } from '../kube/api.js';
import { checkOps, guardFound, type ObjectSeen, ownedByUs, planOwned, roleBindingOps, runOps } from '../kube/objects.js';
import { outOfSync, reconcile } from '../kube/reconcile.js';
import { takeoverRefusal } from '../kube/takeover.js';
import { markUsed, planMark, unmarkedReason } from '../kube/use-marks.js';
import type { CheckResult, StageOutputs } from '../types.js';

type Ctx = StageContext<{ inputs: 'namespace' | 'k8sRole' | 'k8sUser' | 'workloadIdentities'; services: 'kube' | 'owner' | 'commandLine'; own: 'role-binding' }>;

/** The RoleBinding's ops, guarded: one this project did not create that differs is refused, unchanged. */
const guardedOps = (ctx: Ctx) =>
  guardFound(ctx, roleBindingOps(() => ctx.kube(), ctx.inputs, ctx.owner.projectId), ctx.tryOutput('role-binding')?.created, (current, found) =>
    takeoverRefusal('RoleBinding', ctx.inputs, ctx.commandLine, current, found),
  );

export const roleBindingStage = defineStage({
  id: 'role-binding',
  title: 'Bind the Role to the Kubernetes user',
  needs: ['k8s-role'],
  // Its check reads only the object itself, through the context stage's connection: it goes out
  // with the namespace's (and the others') instead of after them. run() still comes after its needs.
  checkAfter: ['context'],
  // profile, region, clusterName: which cluster (so which RoleBinding) its record is about.
  // workloadIdentities: their fingerprint is in this project's use mark.
  inputs: ['profile', 'region', 'clusterName', 'namespace', 'k8sRole', 'k8sUser', 'workloadIdentities'],
  services: ['kube', 'owner', 'commandLine'],

  async check(ctx): Promise<CheckResult<StageOutputs['role-binding'], ObjectSeen>> {
    const name = roleBindingName(ctx.inputs.k8sRole);
    const ops = roleBindingOps(() => ctx.kube(), ctx.inputs, ctx.owner.projectId);
    let current: KubeObject | undefined;
    const why = await outOfSync(checkOps(ops, (c) => (current = c)));
    const unmarked = why ?? unmarkedReason(ops.label, current, ctx.owner.projectId, ctx.inputs.workloadIdentities);
    if (unmarked) return { done: false, reason: unmarked, seen: { current } };
    return {
      done: true,
      reason: `RoleBinding ${name} binds Role ${ctx.inputs.k8sRole} to User ${ctx.inputs.k8sUser}`,
      outputs: { created: ownedByUs(ctx, ops.label, ctx.tryOutput('role-binding')?.created, current), name, changed: [] },
    };
  },

  async run(ctx, seen) {
    const name = roleBindingName(ctx.inputs.k8sRole);
    const ops = guardedOps(ctx);
    let current: KubeObject | undefined;
    const r = await reconcile(runOps(ctx, ops, seen, (c) => (current = c)));
    const marked = await markUsed(ops, current, ctx.owner.projectId, ctx.inputs.workloadIdentities);
    if (marked) r.changed.push(marked);
    for (const c of r.changed) ctx.io.info(`RoleBinding ${name}: ${c}`);
    const created = r.created || ownedByUs(ctx, ops.label, ctx.tryOutput('role-binding')?.created, current);
    return {
      outputs: { created, name, changed: r.changed },
      summary: r.changed.length
        ? `${r.created ? 're-created' : 'updated'} RoleBinding ${name}: ${r.changed.join('; ')}`
        : r.created
          ? `created RoleBinding ${name} (Role ${ctx.inputs.k8sRole} → User ${ctx.inputs.k8sUser})`
          : `RoleBinding ${name} already as desired`,
    };
  },

  async plan(ctx) {
    const name = roleBindingName(ctx.inputs.k8sRole);
    const ops = guardedOps(ctx);
    const p = await planOwned(ctx, ops, ctx.inputs.namespace);
    return { items: [...p.items, ...(await planMark(ops, p.exists, ctx.owner.projectId, ctx.inputs.workloadIdentities))], outputs: { created: !p.exists, name, changed: [] } };
  },
});

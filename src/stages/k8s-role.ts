// Stage 4: the Role granting exactly what EksPodOperator needs in the namespace (seed:
// `kubectl create -f k8s/role.yaml`). Rules compare as a set; a drifted Role this project created
// is put back and the difference reported ("added verb delete on pods"), keeping labels and
// annotations others added. A found Role is used only if it matches: one with other rules stops
// the stage, unchanged (src/kube/takeover.ts).
import { defineStage, type HandoffsBy, type StageContext } from '../engine/stage.js';
import type { KubeObject } from '../kube/api.js';
import { checkOps, guardFound, type ObjectSeen, ownedByUs, planOwned, roleOps, runOps } from '../kube/objects.js';
import { outOfSync, reconcile } from '../kube/reconcile.js';
import { takeoverRefusal } from '../kube/takeover.js';
import { markUsed, planMark, unmarkedReason } from '../kube/use-marks.js';
import type { CheckResult, StageOutputs } from '../types.js';

type Ctx = StageContext<{ inputs: 'namespace' | 'k8sRole' | 'workloadIdentities'; services: 'kube' | 'owner' | 'commandLine'; own: 'k8s-role' }>;

/** The Role's ops, guarded: one this project did not create that differs is refused, unchanged. */
const guardedOps = (ctx: Ctx) =>
  guardFound(ctx, roleOps(() => ctx.kube(), ctx.inputs, ctx.owner.projectId), ctx.tryOutput('k8s-role')?.created, (current, found) =>
    takeoverRefusal('Role', ctx.inputs, ctx.commandLine, current, found),
  );

export const k8sRoleStage = defineStage({
  id: 'k8s-role',
  title: 'Create the Kubernetes Role',
  needs: ['namespace'],
  // Its check reads only the object itself, through the context stage's connection: it goes out
  // with the namespace's (and the others') instead of after them. run() still comes after its needs.
  checkAfter: ['context'],
  // profile, region, clusterName: which cluster (so which Role) its record is about.
  // workloadIdentities: their fingerprint is in this project's use mark.
  inputs: ['profile', 'region', 'clusterName', 'namespace', 'k8sRole', 'workloadIdentities'],
  services: ['kube', 'owner', 'commandLine'],

  async check(ctx): Promise<CheckResult<StageOutputs['k8s-role'], ObjectSeen, HandoffsBy<'k8s-role'>>> {
    const ops = roleOps(() => ctx.kube(), ctx.inputs, ctx.owner.projectId);
    let current: KubeObject | undefined;
    const why = await outOfSync(checkOps(ops, (c) => (current = c)));
    const unmarked = why ?? unmarkedReason(ops.label, current, ctx.owner.projectId, ctx.inputs.workloadIdentities);
    if (unmarked) return { done: false, reason: unmarked, seen: { current } };
    return {
      done: true,
      reason: `Role ${ctx.inputs.k8sRole} grants exactly the EksPodOperator rules`,
      outputs: { created: ownedByUs(ctx, ops.label, ctx.tryOutput('k8s-role')?.created, current), changed: [] },
      // As read, unchanged: the access check judges the user's bindings with it instead of asking again.
      ...(current ? { handoff: { 'access-check': { role: current } } } : {}),
    };
  },

  async run(ctx, seen) {
    const { k8sRole, namespace } = ctx.inputs;
    const ops = guardedOps(ctx);
    let current: KubeObject | undefined;
    const r = await reconcile(runOps(ctx, ops, seen, (c) => (current = c)));
    const marked = await markUsed(ops, current, ctx.owner.projectId, ctx.inputs.workloadIdentities);
    if (marked) r.changed.push(marked);
    for (const c of r.changed) ctx.io.info(`Role ${k8sRole}: ${c}`);
    return {
      outputs: { created: r.created || ownedByUs(ctx, ops.label, ctx.tryOutput('k8s-role')?.created, current), changed: r.changed },
      summary: r.created
        ? `created Role ${k8sRole} in ${namespace}`
        : r.changed.length
          ? `updated Role ${k8sRole}: ${r.changed.join('; ')}`
          : `Role ${k8sRole} already as desired`,
    };
  },

  async plan(ctx) {
    const ops = guardedOps(ctx);
    const p = await planOwned(ctx, ops, ctx.inputs.namespace);
    return { items: [...p.items, ...(await planMark(ops, p.exists, ctx.owner.projectId, ctx.inputs.workloadIdentities))], outputs: { created: !p.exists, changed: [] } };
  },
});

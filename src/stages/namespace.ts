// Stage 3: the namespace EksPodOperator's pods run in (seed: `kubectl create -f k8s/namespace.yaml`),
// created (with our creation marker) when missing; an existing namespace is used as it is, never
// marked as ours, and never an error.
import { defineStage } from '../engine/stage.js';
import type { KubeObject } from '../kube/api.js';
import { checkOps, type ObjectSeen, namespaceOps, ownedByUs, planOwned, runOps } from '../kube/objects.js';
import { outOfSync, reconcile } from '../kube/reconcile.js';
import { markUsed, planMark, unmarkedReason } from '../kube/use-marks.js';
import type { CheckResult, StageOutputs } from '../types.js';

export const namespaceStage = defineStage({
  id: 'namespace',
  title: 'Create the namespace',
  needs: ['context'],
  // profile, region, clusterName: which cluster (so which namespace) its record is about.
  // workloadIdentities: their fingerprint is in this project's use mark.
  inputs: ['profile', 'region', 'clusterName', 'namespace', 'workloadIdentities'],
  services: ['kube', 'owner'],

  async check(ctx): Promise<CheckResult<StageOutputs['namespace'], ObjectSeen>> {
    const ops = namespaceOps(() => ctx.kube(), ctx.inputs, ctx.owner.projectId);
    let current: KubeObject | undefined;
    const why = await outOfSync(checkOps(ops, (c) => (current = c)));
    const unmarked = why ?? unmarkedReason(ops.label, current, ctx.owner.projectId, ctx.inputs.workloadIdentities);
    if (unmarked) return { done: false, reason: unmarked, seen: { current } };
    const created = ownedByUs(ctx, ops.label, ctx.tryOutput('namespace')?.created, current);
    return {
      done: true,
      reason: `namespace ${ctx.inputs.namespace} exists (${created ? 'created by this project' : 'found, not ours'})`,
      outputs: { created },
    };
  },

  async run(ctx, seen) {
    const name = ctx.inputs.namespace;
    const ops = namespaceOps(() => ctx.kube(), ctx.inputs, ctx.owner.projectId);
    let current: KubeObject | undefined;
    const r = await reconcile(runOps(ctx, ops, seen, (c) => (current = c)));
    const marked = await markUsed(ops, current, ctx.owner.projectId, ctx.inputs.workloadIdentities);
    if (marked) r.changed.push(marked);
    for (const c of r.changed) ctx.io.info(`namespace ${name}: ${c}`);
    return {
      outputs: { created: r.created || ownedByUs(ctx, ops.label, ctx.tryOutput('namespace')?.created, current) },
      summary: r.created ? `created namespace ${name}` : r.changed.length ? `updated namespace ${name}: ${r.changed.join('; ')}` : `namespace ${name} exists`,
    };
  },

  async plan(ctx) {
    const ops = namespaceOps(() => ctx.kube(), ctx.inputs, ctx.owner.projectId);
    const p = await planOwned(ctx, ops);
    return { items: [...p.items, ...(await planMark(ops, p.exists, ctx.owner.projectId, ctx.inputs.workloadIdentities))], outputs: { created: !p.exists } };
  },
});

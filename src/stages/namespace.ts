// Stage 3: the namespace EksPodOperator's pods run in (seed: `kubectl create -f k8s/namespace.yaml`),
// created when missing, our label added when someone else created it; an existing namespace is
// never an error.
import type { Stage } from '../engine/stage.js';
import { checkOps, namespaceOps, planOwned, runOps } from '../kube/objects.js';
import { outOfSync, reconcile } from '../kube/reconcile.js';

export const namespaceStage: Stage<'namespace'> = {
  id: 'namespace',
  title: 'Create the namespace',
  needs: ['context'],
  inputs: ['clusterName', 'namespace'],

  async check(ctx) {
    const why = await outOfSync(checkOps(ctx, namespaceOps(() => ctx.kube(), ctx.inputs)));
    if (why) return { done: false, reason: why };
    return {
      done: true,
      reason: `namespace ${ctx.inputs.namespace} exists with our labels`,
      outputs: { created: ctx.tryOutput('namespace')?.created ?? false },
    };
  },

  async run(ctx) {
    const name = ctx.inputs.namespace;
    const r = await reconcile(runOps(ctx, namespaceOps(() => ctx.kube(), ctx.inputs)));
    for (const c of r.changed) ctx.io.info(`namespace ${name}: ${c}`);
    return {
      outputs: { created: r.created },
      summary: r.created ? `created namespace ${name}` : r.changed.length ? `updated namespace ${name}: ${r.changed.join('; ')}` : `namespace ${name} exists`,
    };
  },

  async plan(ctx) {
    const p = await planOwned(ctx, namespaceOps(() => ctx.kube(), ctx.inputs));
    return { items: p.items, outputs: { created: !p.exists } };
  },
};

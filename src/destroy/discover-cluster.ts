// destroy's cluster item: `eksctl delete cluster` only when the cluster is ours (state: init's
// eksctl created it; or our managed-by tag from templates/cluster.yaml), --delete-cluster was
// given, and the user confirmed: typing the cluster name interactively, or --yes.
import type { Cluster } from '@aws-sdk/client-eks';
import { intentName, MANAGED_BY } from '../desired.js';
import type { State } from '../engine/state.js';
import type { FullContext } from '../engine/stage.js';
import type { Io } from '../io.js';
import { intendedIn, ownership, readMarker, type DestroyItem } from './items.js';
import { eksctlDeleteCluster } from '../aws/eksctl.js';

export function clusterItem(ctx: FullContext, cluster: Cluster, state: State | undefined, deleteCluster: boolean): DestroyItem {
  const { clusterName, region } = ctx.inputs;
  const marker = readMarker(cluster.tags, cluster.tags, 'managed-by', MANAGED_BY, 'tag');
  const o = ownership(state?.stages.cluster?.outputs?.createdByUs, marker, 'no managed-by tag', state, intendedIn(state, 'cluster', intentName.cluster(clusterName, region)));
  const name = `EKS cluster ${clusterName} (${region})`;
  if (!o.ours) return { stage: 'cluster', kind: 'cluster', name, decision: 'keep', why: o.why };
  if (!deleteCluster) return { stage: 'cluster', kind: 'cluster', name, decision: 'keep', why: `${o.why}; kept: pass --delete-cluster to delete it with eksctl` };
  return {
    stage: 'cluster',
    kind: 'cluster',
    name,
    decision: 'delete',
    why: `${o.why}; eksctl delete cluster (takes 10-15 minutes)`,
    apply: async () => {
      const log = await eksctlDeleteCluster({ exec: ctx.exec, stateDir: ctx.stateDir, inputs: ctx.inputs, progress: (t) => ctx.progress(t), signal: ctx.signal, audit: (line) => ctx.debug(line) });
      return `eksctl log: ${log}`;
    },
  };
}

/** The interactive guard: the cluster goes only when its name is typed back. */
export async function confirmClusterDeletion(ctx: FullContext, io: Io, item: DestroyItem): Promise<DestroyItem> {
  if (item.decision !== 'delete' || !io.interactive) return item;
  const name = ctx.inputs.clusterName;
  const typed = await io.text({ flag: '--yes --delete-cluster', message: `Type the cluster name (${name}) to delete it with everything running in it; anything else keeps it`, default: '' });
  if (typed.trim() === name) return item;
  return { ...item, decision: 'keep', why: 'kept: the name typed did not match', apply: undefined };
}

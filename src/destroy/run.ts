// destroy: find every resource init sets up (read-only), decide per item (ours → delete, else
// keep and say why), then delete in reverse dependency order — RoleBinding, identity mapping,
// IAM policies and role, Role, namespace, cluster — stopping at the first failure. Each stage's
// state record is marked once its resources are gone, so a second run resumes where this one
// stopped and finds the rest "already gone".
import { roleArnWithoutPath } from '../desired.js';
import { makeStageContext, type ContextBase } from '../engine/context.js';
import type { FullContext } from '../engine/stage.js';
import type { KubeApi } from '../kube/api.js';
import type { State } from '../engine/state.js';
import type { StageId, StageOutputs } from '../types.js';
import { clusterItem } from './discover-cluster.js';
import { discoverIam } from './discover-iam.js';
import { discoverKube } from './discover-kube.js';
import { discoverMapping } from './discover-mapping.js';
import { discoverAssociation, discoverPodIam } from './discover-pods.js';
import { ALSO_STALE, gone, type DestroyItem } from './items.js';
import { preflightStage } from '../stages/preflight.js';
import { contextStage } from '../stages/context.js';
import { clusterOutputs, describeCluster } from '../aws/eks.js';
import { callAws } from '../aws/errors.js';
import { together } from '../together.js';

export interface DestroyOptions {
  ctx: FullContext;
  /** What `ctx` was made from: the stages destroy runs (preflight, context) get their own context from it. */
  base: ContextBase;
  /** The outputs object behind `ctx` (preflight and cluster are put here for the context stage). */
  outputs: Partial<StageOutputs>;
  /** Filled by discover(): the Kubernetes API the context stage connected, which the items'
   * deletes use; the command closes it once done. */
  held: { kube?: KubeApi };
  state: State | undefined;
  deleteNamespace: boolean;
  deleteCluster: boolean;
}

export async function discover(o: DestroyOptions): Promise<DestroyItem[]> {
  const { ctx } = o;
  const { inputs } = ctx;
  // Credentials first (a failure is exit 3); `only` keeps preflight from probing for eksctl.
  const pre = makeStageContext(preflightStage, { ...o.base, flags: { ...o.base.flags, only: 'preflight' } });
  const identity = (await preflightStage.run(pre)).outputs;
  o.outputs.preflight = identity;
  const eks = await ctx.aws.eks();
  const cluster = await callAws(`looking up EKS cluster ${inputs.clusterName}`, ctx.aws.profile, () => describeCluster(eks, inputs.clusterName));
  // The IAM reads (Airflow's role, the pods' role and OIDC provider) go out together.
  const [iam, pods] = await together([discoverIam(ctx, o.state), discoverPodIam(ctx, o.state, identity, cluster)]);
  const roleArn = iam.roleArn ?? `arn:${identity.partition}:iam::${identity.accountId}:role/${inputs.iamRole}`;

  const clusterName = `EKS cluster ${inputs.clusterName} (${inputs.region})`;
  if (!cluster || cluster.status === 'DELETING') {
    const why = cluster ? 'the cluster is being deleted' : `cluster ${inputs.clusterName} does not exist`;
    return [
      gone('role-binding', 'role-binding', 'RoleBinding', why),
      gone('identity-mapping', 'access-entry', 'identity mapping', why),
      ...(pods.relevant ? [gone('pod-service-account', 'service-account', `the task pods' ServiceAccount and its association`, why)] : []),
      ...pods.role,
      ...pods.provider,
      ...iam.items,
      gone('k8s-role', 'role', `Role ${inputs.k8sRole}`, why),
      gone('namespace', 'namespace', `namespace ${inputs.namespace}`, why),
      gone('cluster', 'cluster', clusterName, cluster ? 'being deleted' : 'does not exist'),
    ];
  }
  o.outputs.cluster = clusterOutputs(cluster, o.state?.stages.cluster?.outputs?.createdByUs ?? false);
  if (!cluster.endpoint) {
    // Still CREATING (e.g. init was interrupted while eksctl worked): no API server to read yet.
    // Nothing inside is decided on; the cluster itself, if ours, can still go (taking it all).
    const why = `cluster ${inputs.clusterName} is ${cluster.status ?? 'not ready'} and has no API endpoint yet: run destroy again once it is ACTIVE`;
    const mapping = await discoverMapping(ctx, { principalArn: roleArnWithoutPath(roleArn), clusterMode: o.outputs.cluster.authenticationMode, ...(iam.role ? { role: iam.role } : {}) }, o.state);
    const unread = (stage: StageId, kind: DestroyItem['kind'], name: string): DestroyItem => ({ stage, kind, name, decision: 'keep', why });
    return [
      unread('role-binding', 'role-binding', `RoleBinding in namespace ${inputs.namespace}`),
      ...mapping,
      ...(pods.relevant ? [unread('pod-service-account', 'service-account', `the task pods' ServiceAccount ${inputs.podServiceAccount} and its association`)] : []),
      ...pods.role,
      ...pods.provider,
      ...iam.items,
      unread('k8s-role', 'role', `Role ${inputs.k8sRole} in namespace ${inputs.namespace}`),
      unread('namespace', 'namespace', `namespace ${inputs.namespace}`),
      clusterItem(ctx, cluster, o.state, o.deleteCluster),
    ];
  }
  // The context stage's run() always returns the connection it made.
  const kube = (await contextStage.run(makeStageContext(contextStage, o.base, { outputs: o.outputs, progress: (t) => ctx.progress(t) }))).kube!;
  o.held.kube = kube;
  const [kubeItems, mapping, association] = await together([
    discoverKube(kube, inputs, o.state, o.deleteNamespace, iam.role?.keptFor, pods.relevant ? { keptFor: pods.roleKeptFor } : undefined),
    discoverMapping(ctx, { principalArn: roleArnWithoutPath(roleArn), clusterMode: o.outputs.cluster.authenticationMode, kube, ...(iam.role ? { role: iam.role } : {}) }, o.state),
    pods.relevant ? discoverAssociation(ctx, o.state, pods.roleKeptFor) : Promise.resolve([]),
  ]);
  const byStage = (s: StageId) => kubeItems.filter((i) => i.stage === s);
  // The pods' association and ServiceAccount before their role, the role before its OIDC provider.
  return [
    ...byStage('role-binding'),
    ...mapping,
    ...association,
    ...byStage('pod-service-account'),
    ...pods.role,
    ...pods.provider,
    ...iam.items,
    ...byStage('k8s-role'),
    ...byStage('namespace'),
    clusterItem(ctx, cluster, o.state, o.deleteCluster),
  ];
}

/** Marks `stage` (and the records that only described its resources) as not done any more. */
export function markRemoved(state: State, stage: StageId, keptStages: ReadonlySet<StageId>, now = new Date()): void {
  for (const id of [stage, ...(ALSO_STALE[stage] ?? [])]) {
    // What it intended to create is gone: a later init starts from nothing.
    if (!keptStages.has(id) && state.intents?.[id]) delete state.intents[id];
    if (keptStages.has(id) || !state.stages[id]) continue;
    state.stages[id] = { status: 'pending', reason: `removed by astro-remote-kpo destroy at ${now.toISOString()}` };
  }
}

export interface ExecuteHooks {
  /** Called after each item changes (deleted / failed). */
  onItem(item: DestroyItem): void;
  /** Persists state (when there is one) after a stage's items are done. */
  save(): Promise<void>;
}

/** Deletes the 'delete' items in order; stops at the first failure and returns it. */
/** `recordsKept`: stages whose record is about another object than the one destroyed now
 * (records.ts): that object is still there, so its record and intents stay. */
export async function execute(items: DestroyItem[], state: State | undefined, hooks: ExecuteHooks, recordsKept: readonly StageId[] = []): Promise<{ failed?: DestroyItem; error?: unknown }> {
  const kept = new Set([...items.filter((i) => i.decision === 'keep').map((i) => i.stage), ...recordsKept]);
  const stages = [...new Set(items.map((i) => i.stage))];
  for (const stage of stages) {
    for (const item of items.filter((i) => i.stage === stage && i.decision === 'delete')) {
      try {
        const r = await item.apply?.();
        // Looked at again right before deleting, it had to stay (someone started using it).
        if (r && typeof r === 'object') kept.add(stage);
        item.result = r && typeof r === 'object' ? 'kept' : 'deleted';
        item.note = (r && typeof r === 'object' ? r.kept : r) ?? undefined;
        hooks.onItem(item);
      } catch (error) {
        item.result = 'failed';
        item.note = error instanceof Error ? error.message : String(error);
        hooks.onItem(item);
        return { failed: item, error };
      }
    }
    if (state && !kept.has(stage)) {
      markRemoved(state, stage, kept);
      await hooks.save();
    }
  }
  return {};
}

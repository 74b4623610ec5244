// Stage 1: the EKS cluster. Found → skip (waiting if it is still CREATING); missing → eksctl
// create cluster -f <ClusterConfig>, then the SDK waiter until ACTIVE. The intent to create is
// saved before eksctl starts, so a run interrupted while eksctl works still knows the cluster is
// its own when it resumes (and destroy --delete-cluster can take it out).
import type { Cluster } from '@aws-sdk/client-eks';
import { CLUSTER_ACTIVE_MAX_WAIT_S, TRANSITIONAL_STATES, clusterOutputs, describeCluster, waitClusterActive } from '../aws/eks.js';
import { endpointPhrase, reachAdvice } from '../aws/endpoint-access.js';
import { checkClusterConfigFile, eksctlCreateCluster, prepareClusterConfig } from '../aws/eksctl.js';
import { callAws } from '../aws/errors.js';
import { intentName } from '../desired.js';
import { defineStage, type StageContext } from '../engine/stage.js';
import { KpoError, errorMessage } from '../errors.js';
import type { CheckResult, StageOutputs } from '../types.js';
import { assessCapacity, capacityGap, type Capacity, type CapacitySlice, completeNodeGroups, clusterConfigText, createdByUs, eksctlOptions, EXPECTED } from './cluster-capacity.js';

type Out = StageOutputs['cluster'];
/** What check() read, for run(): the cluster and, when it exists but cannot run pods yet, how it
 * stood after waiting for it (existing()) and its node groups, so run() asks neither again. */
type Seen = { cluster: Cluster | undefined; found?: CheckResult<Out> & { done: true }; capacity?: Capacity };

type LookupSlice = Pick<StageContext<{ inputs: 'clusterName'; services: 'aws' }>, 'inputs' | 'aws'>;
type AdviceSlice = Pick<StageContext<{ inputs: 'clusterName' | 'region' }>, 'inputs'>;
type ExistingSlice = CapacitySlice & Pick<StageContext, 'progress' | 'signal'>;

async function lookup(ctx: LookupSlice): Promise<Cluster | undefined> {
  const eks = await ctx.aws.eks();
  return callAws(`looking up EKS cluster ${ctx.inputs.clusterName}`, ctx.aws.profile, () => describeCluster(eks, ctx.inputs.clusterName));
}

/** Capacity warnings, and the one line about an API endpoint Astro Hosted may not reach (private,
 * or public from some CIDRs only; the whole advice ends init's summary and is a verify row). */
function warningsOf(ctx: AdviceSlice, out: Out, capacity: string[] = []): { warnings?: string[] } {
  const a = out.endpointAccess;
  const advice = a && (a.reach === 'private' || a.reach === 'limited') ? reachAdvice(a, { ...ctx.inputs, endpoint: out.endpoint }) : undefined;
  const all = [...capacity, ...(advice ? [`${advice.headline} What to do: at the end, and in \`verify\`.`] : [])];
  return all.length ? { warnings: all } : {};
}

/** An existing cluster as outputs: ACTIVE at once, CREATING/UPDATING after waiting, else an error. */
async function existing(ctx: ExistingSlice, cluster: Cluster): Promise<CheckResult<Out> & { done: true }> {
  const name = ctx.inputs.clusterName;
  const ours = createdByUs(ctx, cluster.arn);
  let c = cluster;
  if (c.status !== 'ACTIVE') {
    if (!TRANSITIONAL_STATES.has(c.status ?? '')) {
      throw new KpoError(
        'CLUSTER_NOT_ACTIVE',
        `EKS cluster ${name} exists but is ${c.status ?? 'in an unknown state'}; it must be ACTIVE.`,
        c.status === 'FAILED'
          ? `Delete it (\`eksctl delete cluster --name ${name} --region ${ctx.inputs.region}\`) or pick another --cluster-name, then run this command again.`
          : 'Wait until it settles (or pick another --cluster-name), then run this command again.',
      );
    }
    ctx.progress(`cluster ${name} is ${c.status}: waiting until it is ACTIVE (up to ${CLUSTER_ACTIVE_MAX_WAIT_S / 60} min)`);
    const eks = await ctx.aws.eks();
    c = await callAws(`waiting for EKS cluster ${name}`, ctx.aws.profile, () => waitClusterActive(eks, name, ctx.signal));
    return { done: true, reason: `cluster ${name} exists (ACTIVE after waiting; it was ${cluster.status})`, outputs: clusterOutputs(c, ours) };
  }
  return { done: true, reason: `cluster ${name} exists (ACTIVE)`, outputs: clusterOutputs(c, ours) };
}

export const clusterStage = defineStage({
  id: 'cluster',
  title: 'EKS cluster',
  // preflight: its DescribeCluster, handed on.
  needs: ['preflight'],
  // profile: the account the cluster is in; clusterConfig: what eksctl creates, and the node
  // groups a cluster we made must have.
  inputs: ['clusterName', 'region', 'profile', 'clusterConfig'],
  services: ['aws', 'exec', 'owner', 'projectDir', 'stateDir'],
  flags: ['switchContext'],
  expected: `${EXPECTED.eksctlCluster} when eksctl creates it`,

  async validate(ctx) {
    // A --cluster-config for another cluster would make us wait for the wrong one: exit 2 up front.
    if (!ctx.inputs.clusterConfig) return;
    await checkClusterConfigFile(ctx.inputs.clusterConfig, ctx.inputs, '--cluster-config');
  },

  async check(ctx): Promise<CheckResult<Out, Seen>> {
    // preflight looked it up a moment ago (a first run that creates it: one round trip fewer), and
    // init's confirmation may have looked at its node groups.
    const handed = ctx.handoff('cluster');
    const cluster = handed ? handed.cluster : await lookup(ctx);
    const seen: Seen = { cluster };
    if (!cluster) return { done: false, reason: `cluster ${ctx.inputs.clusterName} not found in ${ctx.inputs.region}`, seen };
    const found = await existing(ctx, cluster);
    // ACTIVE is not enough: a cluster is done when it can run pods. (The confirmation's look holds
    // only for the cluster as it was then: not after waiting for it here.)
    const capacity = cluster.status === 'ACTIVE' && handed?.capacity ? handed.capacity : await assessCapacity(ctx, cluster.arn);
    const gap = capacityGap(capacity);
    if (gap) return { done: false, reason: `cluster ${ctx.inputs.clusterName} is ACTIVE but ${gap}`, seen: { cluster, found, capacity } };
    return { ...found, ...warningsOf(ctx, found.outputs, capacity.warnings) };
  },

  async run(ctx, seen) {
    const name = ctx.inputs.clusterName;
    // --from/--only force run() even when the cluster is there (no check, nothing seen): look it
    // up, never ask eksctl to create it twice.
    const found = seen ? seen.cluster : await lookup(ctx);
    if (found) {
      const r = seen?.found ?? (await existing(ctx, found));
      const capacity = seen?.capacity ?? (await assessCapacity(ctx, found.arn));
      if (capacityGap(capacity)) return { outputs: r.outputs, summary: await completeNodeGroups(ctx, found, capacity), ...warningsOf(ctx, r.outputs, capacity.warnings) };
      return { outputs: r.outputs, summary: r.reason, ...warningsOf(ctx, r.outputs, capacity.warnings) };
    }
    const config = await prepareClusterConfig(ctx.projectDir, ctx.inputs);
    ctx.debug(`creating cluster ${name} with ${config.file} (${config.rendered ? 'rendered now' : 'existing file'})`);
    ctx.progress(`eksctl create cluster -f ${config.file} (${EXPECTED.eksctlCluster}; log in ${ctx.stateDir}/logs)`);
    await ctx.owner.intend(intentName.cluster(ctx.inputs.clusterName, ctx.inputs.region));
    const logFile = await eksctlCreateCluster(eksctlOptions(ctx, config.file, ctx.flags.switchContext));
    ctx.progress(`waiting until cluster ${name} is ACTIVE`);
    const eks = await ctx.aws.eks();
    const cluster = await callAws(`waiting for EKS cluster ${name}`, ctx.aws.profile, () => waitClusterActive(eks, name, ctx.signal));
    // The template's cluster is public (eksctl's default): nothing to say. A ClusterConfig of the
    // user's own may have made it private or limited it to some CIDRs.
    const outputs = clusterOutputs(cluster, true);
    return { outputs, summary: `created cluster ${name} with eksctl (${config.file}; log ${logFile})`, ...warningsOf(ctx, outputs) };
  },

  async plan(ctx) {
    const name = ctx.inputs.clusterName;
    let cluster: Cluster | undefined;
    let unknown: string | undefined;
    try {
      cluster = await lookup(ctx);
    } catch (err) {
      unknown = `could not look up cluster ${name}: ${errorMessage(err)}`;
    }
    if (cluster) {
      const outputs = clusterOutputs(cluster, ctx.tryOutput('cluster')?.createdByUs ?? false);
      const waiting = cluster.status !== 'ACTIVE' ? `; it is ${cluster.status}, the run waits until ACTIVE` : '';
      const access = outputs.endpointAccess!;
      const advice = reachAdvice(access, { ...ctx.inputs, endpoint: outputs.endpoint });
      const action = `exists: cluster ${name} (${cluster.status}, authentication mode ${outputs.authenticationMode}, ${endpointPhrase(access)}) (skip${waiting})`;
      return { items: [{ action, ...(advice ? { details: [advice.headline, ...advice.lines].join('\n') } : {}) }], outputs };
    }
    const file = ctx.inputs.clusterConfig ?? 'k8s/cluster.yaml';
    // What run() would hand eksctl: --cluster-config, your k8s/cluster.yaml, or the template.
    let details: string;
    try {
      details = (await clusterConfigText(ctx)).text;
    } catch (err) {
      details = `(could not read ${file}: ${errorMessage(err)})`;
    }
    return {
      items: [
        {
          action: `create EKS cluster ${name} in ${ctx.inputs.region}: eksctl create cluster -f ${file}, then wait until ACTIVE${unknown ? ' (if it does not exist)' : ''}`,
          details,
          ...(unknown ? { unknown } : {}),
        },
      ],
      // No outputs: there is no endpoint yet, and later plans say so themselves.
    };
  },
});

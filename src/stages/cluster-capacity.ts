// The cluster stage's second question: can the cluster run pods? For a cluster our ClusterConfig
// made (it carries our managed-by tag, or state says we created it) the node groups that config
// asks for must exist; a missing one (eksctl stopped between its stacks) is created with
// `eksctl create nodegroup --config-file <same config>`. For someone else's cluster we only look
// for another way to run pods (a node group or a Fargate profile) and warn when there is none: it
// may have self-managed nodes or Karpenter, which the EKS API does not show.
import type { Cluster } from '@aws-sdk/client-eks';
import path from 'node:path';
import { readTextIfExists } from '../airflow/files.js';
import { renderClusterConfig } from '../aws/cluster-config.js';
import { callAws } from '../aws/errors.js';
import { eksctlCreateNodegroup, prepareClusterConfig } from '../aws/eksctl.js';
import { checkNodeGroups, describeNodeGroups, listFargateProfiles, listNodegroups, nodeGroupsOf, waitNodegroupActive, type NodeGroupCheck, type NodeGroupSpec } from '../aws/node-groups.js';
import { intentName } from '../desired.js';
import type { StageContext } from '../engine/stage.js';
import { KpoError } from '../errors.js';

/** How long the slow steps usually take (printed, never asserted). */
export const EXPECTED = { eksctlCluster: 'usually 15–20 min', eksctlNodegroup: 'usually 3–5 min' } as const;

/** The slices of the cluster stage's context these helpers use (init's confirmation passes its own). */
type EksctlSlice = Pick<StageContext<{ inputs: 'clusterName' | 'region' | 'profile'; services: 'exec' | 'stateDir' }>, 'exec' | 'stateDir' | 'inputs' | 'progress' | 'signal' | 'debug'>;
type OwnerSlice = Pick<StageContext<{ inputs: 'clusterName' | 'region'; services: 'owner'; own: 'cluster' }>, 'inputs' | 'owner' | 'tryOutput' | 'previousOutput'>;
type ConfigSlice = Pick<StageContext<{ inputs: 'clusterName' | 'region' | 'clusterConfig'; services: 'projectDir' }>, 'inputs' | 'projectDir'>;
export type CapacitySlice = OwnerSlice & ConfigSlice & Pick<StageContext<{ services: 'aws' }>, 'aws'>;
type CompleteSlice = CapacitySlice & EksctlSlice & Pick<StageContext<{ inputs: 'clusterName' | 'region' | 'clusterConfig' | 'profile' }>, 'inputs'>;

/** What every eksctl call of the cluster stages is given: the run's exec, state dir, inputs, progress and signal. */
export const eksctlOptions = (ctx: EksctlSlice, configFile: string, switchContext: boolean) => ({
  exec: ctx.exec,
  configFile,
  stateDir: ctx.stateDir,
  inputs: ctx.inputs,
  switchContext,
  progress: (t: string) => ctx.progress(t),
  signal: ctx.signal,
  audit: (line: string) => ctx.debug(line),
});

export interface Capacity {
  specs: NodeGroupSpec[];
  check?: NodeGroupCheck;
  warnings: string[];
}

/** Ours: recorded so; or recorded so for this very cluster (`clusterArn`: the one found) before an
 * input the stage reads changed (say --cluster-config: the record no longer counts as a result,
 * yet it still says who made the cluster it names); or (no record) this project's intent to create
 * it stands — a run killed while eksctl created it. Never the generic managed-by tag alone: every
 * cluster made from the template carries it, another project's or a teammate's too, and the
 * cluster has no project id. */
export function createdByUs(ctx: OwnerSlice, clusterArn?: string): boolean {
  const recorded = ctx.tryOutput('cluster')?.createdByUs;
  if (recorded !== undefined) return recorded;
  const previous = ctx.previousOutput('cluster');
  if (clusterArn && previous?.clusterArn === clusterArn) return previous.createdByUs;
  return ctx.owner.intended(intentName.cluster(ctx.inputs.clusterName, ctx.inputs.region));
}

/** The ClusterConfig this run would hand eksctl, read-only: --cluster-config, k8s/cluster.yaml, or the template. */
export async function clusterConfigText(ctx: ConfigSlice): Promise<{ file: string; text: string }> {
  if (ctx.inputs.clusterConfig) return { file: ctx.inputs.clusterConfig, text: (await readTextIfExists(ctx.inputs.clusterConfig)) ?? '' };
  const file = path.join(ctx.projectDir, 'k8s', 'cluster.yaml');
  return { file, text: (await readTextIfExists(file)) ?? renderClusterConfig(ctx.inputs) };
}

const nodesHint = (name: string) => `Check with \`kubectl get nodes\` (or \`eksctl get nodegroup --cluster ${name}\`).`;

/** `clusterArn`: the cluster as found (see createdByUs). */
export async function assessCapacity(ctx: CapacitySlice, clusterArn?: string): Promise<Capacity> {
  const name = ctx.inputs.clusterName;
  const eks = await ctx.aws.eks();
  const profile = ctx.aws.profile;
  if (createdByUs(ctx, clusterArn)) {
    const specs = await nodeGroupsOf((await clusterConfigText(ctx)).text);
    const check = await callAws(`listing the node groups of EKS cluster ${name}`, profile, () => checkNodeGroups(eks, name, specs));
    const warnings = check.unchecked.length
      ? [`self-managed node group${check.unchecked.length > 1 ? 's' : ''} ${check.unchecked.join(', ')} cannot be seen through the EKS API, so ${check.unchecked.length > 1 ? 'they were' : 'it was'} not checked. ${nodesHint(name)}`]
      : [];
    return { specs, check, warnings };
  }
  const groups = await callAws(`listing the node groups of EKS cluster ${name}`, profile, () => listNodegroups(eks, name));
  if (groups.length) return { specs: [], warnings: [] };
  const fargate = await callAws(`listing the Fargate profiles of EKS cluster ${name}`, profile, () => listFargateProfiles(eks, name));
  if (fargate.length) return { specs: [], warnings: [] };
  return {
    specs: [],
    warnings: [
      `cluster ${name} has no managed node group and no Fargate profile: unless it has self-managed nodes (or Karpenter), EksPodOperator's pods will stay Pending. ${nodesHint(name)}`,
    ],
  };
}

/** Why the cluster cannot run pods yet, or undefined when it can (as far as EKS shows). */
export function capacityGap(c: Capacity): string | undefined {
  const parts = [
    ...(c.check?.missing.length ? [`node group ${c.check.missing.join(', ')} missing`] : []),
    ...(c.check?.unhealthy.map((u) => `node group ${u.name} is ${u.status}`) ?? []),
  ];
  return parts.length ? parts.join('; ') : undefined;
}

/** Creates the missing node groups with eksctl from the same ClusterConfig, then checks again. */
export async function completeNodeGroups(ctx: CompleteSlice, cluster: Cluster, c: Capacity): Promise<string> {
  const name = ctx.inputs.clusterName;
  const failed = c.check?.unhealthy.filter((u) => u.status !== 'CREATING') ?? [];
  const config = await prepareClusterConfig(ctx.projectDir, ctx.inputs);
  const command = `eksctl create nodegroup --config-file ${config.file}`;
  if (failed.length) {
    throw new KpoError(
      'NODEGROUP_FAILED',
      `EKS cluster ${name} is ACTIVE but node group ${failed.map((f) => `${f.name} is ${f.status}`).join(', ')}: it cannot run pods.`,
      `Look at it in the EKS console (Compute tab). To make it again: \`eksctl delete nodegroup --cluster ${name} --region ${ctx.inputs.region} --name ${failed[0]!.name} --wait\`, then \`${command}\`, then run this command again.`,
    );
  }
  if (c.check?.missing.length) {
    ctx.progress(`cluster ${name} has no node group ${c.check.missing.join(', ')}: ${command} (${EXPECTED.eksctlNodegroup})`);
    const logFile = await eksctlCreateNodegroup(eksctlOptions(ctx, config.file, false));
    ctx.debug(`eksctl create nodegroup log: ${logFile}`);
  }
  // CREATING ones (and the new ones, if eksctl returned early) must reach ACTIVE.
  const eks = await ctx.aws.eks();
  const waitFor = [...(c.check?.missing ?? []), ...(c.check?.unhealthy.map((u) => u.name) ?? [])];
  for (const ng of waitFor) {
    ctx.progress(`waiting until node group ${ng} is ACTIVE`);
    try {
      await waitNodegroupActive(eks, name, ng, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      throw new KpoError('NODEGROUP_FAILED', `node group ${ng} of EKS cluster ${name} did not become ACTIVE.`, `Look at it in the EKS console (Compute tab), then run \`${command}\` or this command again.`, { cause: err });
    }
  }
  const again = await assessCapacity(ctx, cluster.arn);
  const gap = capacityGap(again);
  if (gap) throw new KpoError('CLUSTER_NO_CAPACITY', `EKS cluster ${name} still cannot run pods: ${gap}.`, `Run \`${command}\` yourself and look at its output, then run this command again.`);
  return `cluster ${name} exists; created ${describeNodeGroups(c.specs.filter((s) => c.check?.missing.includes(s.name)))} with eksctl (it was missing)`;
}

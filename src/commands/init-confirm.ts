// init's confirmation, shown after preflight (so it knows the account and caller) and built from
// live lookups, not from state: the costly and visible actions one per line, the files it writes,
// and how to see every change first. Read-only; it reuses preflight's cluster lookup (the
// runner's handoffs) rather than asking again, makes its own reads together (the node groups, the
// role, the project files), and hands what it read on (ConfirmationFacts) to the question phase
// (init-questions.ts) and, as handoffs, to the stages that would read the same again
// (confirmationHandoffs).
import type { Cluster } from '@aws-sdk/client-eks';
import type { ChalkInstance } from 'chalk';
import path from 'node:path';
import { STATE_IGNORE } from '../airflow/project-files.js';
import { addedLines } from '../airflow/provider-floor.js';
import { summarizeClusterConfig } from '../aws/eksctl.js';
import { authModeOf, describeCluster } from '../aws/eks.js';
import { endpointAccessOf, endpointPhrase } from '../aws/endpoint-access.js';
import { callAws } from '../aws/errors.js';
import { createdByProject, inspectRole, type RoleRead } from '../aws/iam-role.js';
import { hasManagedTag } from '../aws/use-marks.js';
import { resolveMappingKind } from '../aws/mapping.js';
import { describeNodeGroups, nodeGroupsOf } from '../aws/node-groups.js';
import { intentName, roleBindingName } from '../desired.js';
import type { FullContext, StageHandoffs } from '../engine/stage.js';
import { errorMessage } from '../errors.js';
import type { StageId, StageOutputs } from '../types.js';
import { assessCapacity, clusterConfigText, createdByUs, EXPECTED, type Capacity } from '../stages/cluster-capacity.js';
import { roleLookOf } from '../stages/iam-role-look.js';
import { survey, type Survey } from '../stages/project-files.js';
import { together } from '../together.js';

/** What the confirmation read, for what comes after it: the question phase asks from these, and
 * the stages that would read the same again get them (confirmationHandoffs). */
export interface ConfirmationFacts {
  /** The cluster as DescribeCluster answered (undefined: not found, or the lookup failed). */
  cluster?: Cluster;
  /** The lookup failed: why. */
  clusterUnknown?: string;
  /** Whether the ACTIVE cluster can run pods (its node groups), when it looked. */
  capacity?: Capacity;
  /** The role as the iam-role stage looks at it, when this run may change it and the read worked. */
  role?: RoleRead;
  /** Where each project file stands (when this run may write them). */
  files?: Survey;
}

/**
 * What the confirmation read, for the stages that would read it again a moment later: the cluster
 * (with its node groups), the role, and the project files' survey. The survey only when nobody was
 * asked anything (`asked`): while a person reads the confirmation and answers, they may edit a
 * project file, and a survey from before would write over that edit; the AWS reads are handed on
 * either way, since every write they can lead to is safe on a stale read (StageHandoffs).
 */
export function confirmationHandoffs(facts: ConfirmationFacts, asked: boolean): Partial<StageHandoffs> {
  return {
    ...(facts.clusterUnknown === undefined ? { cluster: { cluster: facts.cluster, ...(facts.capacity ? { capacity: facts.capacity } : {}) } } : {}),
    ...(facts.role ? { 'iam-role': { role: facts.role } } : {}),
    ...(facts.files && !asked ? { 'project-files': { survey: facts.files } } : {}),
  };
}

/** preflight's lookup when it made one (read, not taken: the cluster stage's check() takes it). */
async function lookupCluster(ctx: FullContext, handed: StageHandoffs['cluster'] | undefined): Promise<Cluster | undefined> {
  if (handed) return handed.cluster;
  return callAws(`looking up EKS cluster ${ctx.inputs.clusterName}`, ctx.aws.profile, async () => describeCluster(await ctx.aws.eks(), ctx.inputs.clusterName));
}

/** The role as the iam-role stage looks at it, or why it could not be read. */
async function lookAtRole(ctx: FullContext): Promise<RoleRead | { unknown: string }> {
  const query = roleLookOf(ctx);
  try {
    return { query, inspection: await callAws(`reading IAM role ${query.roleName}`, ctx.aws.profile, async () => inspectRole(await ctx.aws.iam(), query)) };
  } catch (err) {
    return { unknown: errorMessage(err) };
  }
}

/** Project files stage 12 would write now: missing or different ones (a file the user changed says
 * what becomes of it), the ignore lines, the floor, the compose override. */
function filesToWrite(ctx: FullContext, s: NonNullable<ConfirmationFacts['files']>): string[] {
  const changed = ctx.flags.force ? 'overwritten: --force' : ctx.flags.interactive ? 'overwrite? asked below' : 'kept; --force overwrites it';
  const out = s.decisions.filter((d) => d.status !== 'same').map((d) => (d.status === 'changed' ? `${d.path} (you changed it: ${changed})` : d.path));
  for (const i of s.ignores) out.push(`${i.name} (adds ${STATE_IGNORE})`);
  if (s.floor.text !== undefined) out.push(`requirements.txt (adds ${addedLines(s.floor).join(', ')})`);
  if (s.compose !== undefined) out.push('docker-compose.override.yml (--local-dev: your ~/.aws read-only)');
  return out;
}

/** The task pods' identity (issue #20), from the inputs and what earlier runs recorded: no lookup. */
function podLines(ctx: FullContext): string[] {
  const { inputs } = ctx;
  if (!inputs.podPolicyArns.length) {
    // Turned off after it was on: what this project attached is detached (least privilege).
    const before = ctx.previousOutput('pod-role');
    const attached = before?.roleArn?.endsWith(`/${inputs.podRole}`) ? before.attachedByUs : [];
    return attached.length ? [`task pods: no AWS identity any more (no --pod-policy-arn): detach ${attached.join(', ')} from IAM role ${inputs.podRole} (attached by an earlier run); the role and ServiceAccount ${inputs.podServiceAccount} stay until destroy`] : [];
  }
  const how =
    inputs.podIdentity === 'irsa'
      ? 'IRSA (the cluster\'s OIDC issuer registered as an IAM OIDC provider if it is not; the ServiceAccount annotated with the role)'
      : inputs.podIdentity === 'pod-identity'
        ? 'EKS Pod Identity (an association; the cluster must run the eks-pod-identity-agent add-on)'
        : 'EKS Pod Identity if the cluster runs the eks-pod-identity-agent add-on, else IRSA (--pod-identity auto)';
  return [
    `task pods: IAM role ${inputs.podRole} with ${inputs.podPolicyArns.join(', ')}, trusted only by ServiceAccount ${inputs.podServiceAccount} in namespace ${inputs.namespace}, through ${how} (created, or used when found exactly so; one that differs stops the run, unchanged)`,
  ];
}

/** The lines of the confirmation and what it read; `selected` = the stages this run may change
 * (not --only's dependencies); `handoffs` = what preflight looked up on its way (StageHandoffs). */
export async function confirmation(
  ctx: FullContext,
  outputs: Partial<StageOutputs>,
  selected: ReadonlySet<StageId>,
  chalk: ChalkInstance,
  dryRunCommand: string,
  handoffs: Readonly<Partial<StageHandoffs>> = {},
): Promise<{ lines: string[]; facts: ConfirmationFacts }> {
  const { inputs } = ctx;
  const pre = outputs.preflight;
  const lines: string[] = [
    chalk.bold(`About to set up, as ${pre?.callerArn ?? 'an unknown caller'} in AWS account ${pre?.accountId ?? '?'} (region ${inputs.region}):`),
  ];
  const item = (stage: StageId, text: string) => {
    if (selected.has(stage)) lines.push(`  • ${text}`);
  };

  let cluster: Cluster | undefined;
  let clusterUnknown: string | undefined;
  try {
    cluster = await lookupCluster(ctx, handoffs.cluster);
  } catch (err) {
    clusterUnknown = errorMessage(err);
  }
  // The reads that do not depend on each other, together: the node groups of an ACTIVE cluster
  // (shown for ours; the cluster stage's check looks at them for any), the role (only when this
  // run may change it: an --only run of another stage does not), the project files.
  const ours = cluster?.status === 'ACTIVE' && createdByUs(ctx, cluster.arn);
  const [config, capacity, roleRead, projectFiles] = await together([
    clusterConfigText(ctx),
    cluster?.status === 'ACTIVE' && (ours || selected.has('cluster')) ? assessCapacity(ctx, cluster.arn).catch(() => undefined) : Promise.resolve(undefined),
    selected.has('iam-role') ? lookAtRole(ctx) : Promise.resolve(undefined),
    // Only what would really change: a re-run that finds every file as wanted lists none.
    selected.has('project-files') ? survey(ctx, pre?.accountId ?? '000000000000') : Promise.resolve(undefined),
  ]);
  let clusterMode = cluster ? authModeOf(cluster) : undefined;
  if (clusterUnknown) item('cluster', chalk.yellow(`EKS cluster ${inputs.clusterName}: could not look it up (${clusterUnknown})`));
  else if (cluster) {
    item('cluster', `use EKS cluster ${inputs.clusterName} (exists, ${cluster.status}, authentication mode ${clusterMode}, ${endpointPhrase(endpointAccessOf(cluster))})`);
    // Ours but without its node group (eksctl stopped between its stacks): that is a costly action too.
    if (ours) {
      const missing = capacity?.check?.missing ?? [];
      if (capacity && missing.length) {
        const specs = capacity.specs.filter((g) => missing.includes(g.name));
        item('cluster', chalk.bold(`create ${describeNodeGroups(specs)} in it with eksctl create nodegroup (${EXPECTED.eksctlNodegroup}; billed by AWS)`));
      }
    }
  }
  else {
    const groups = describeNodeGroups(await nodeGroupsOf(config.text));
    clusterMode = (await summarizeClusterConfig(config.text).catch(() => ({ authenticationMode: undefined }))).authenticationMode;
    item('cluster', chalk.bold(`create EKS cluster ${inputs.clusterName} with eksctl from ${path.relative(ctx.projectDir, config.file) || config.file} (${groups}; ${EXPECTED.eksctlCluster}; billed by AWS until you delete it)`));
  }

  const trust = `trusted by ${[...inputs.workloadIdentities, ...(inputs.localDev ? ['your own identity (--local-dev)'] : [])].join(', ')}`;
  const perms = inputs.permissions === 'scoped' ? `eks:DescribeCluster on ${inputs.clusterName} only` : "the seed README's three AWS managed policies";
  if (roleRead && 'unknown' in roleRead) item('iam-role', chalk.yellow(`create or update IAM role ${inputs.iamRole} (could not look it up: ${roleRead.unknown})`));
  else if (roleRead?.inspection.role) {
    const role = roleRead.inspection.role;
    // The stage's own rule (docs/destroy.md): a record stands, else proof by our project id or intent.
    const mine = outputs['iam-role']?.createdByUs ?? createdByProject(role, ctx.owner.projectId, ctx.owner.intended(intentName.iamRole(inputs.iamRole)));
    const whose = mine ? 'created by this project' : hasManagedTag(role) ? 'created by another astro-remote-kpo project; shared: marked as used by this one too, and only the last project\'s destroy deletes it' : 'not created by this tool; used, kept by destroy';
    item('iam-role', `use IAM role ${inputs.iamRole} (exists, ${whose}), adding only what is missing of: ${trust}; ${perms}`);
  } else if (roleRead) item('iam-role', `create IAM role ${inputs.iamRole}, ${trust}, with ${perms}`);

  let mapping: string;
  try {
    const kind = clusterMode ? resolveMappingKind(inputs.authMode, clusterMode, inputs.clusterName) : inputs.authMode;
    mapping = kind === 'access-entry' ? 'an EKS access entry' : kind === 'aws-auth' ? 'an entry in kube-system/aws-auth (a backup is kept)' : 'an access entry or aws-auth entry (decided by the cluster)';
  } catch (err) {
    mapping = chalk.yellow(`--auth-mode ${inputs.authMode}, which this cluster refuses: ${errorMessage(err)}`);
  }
  item('identity-mapping', `map IAM role ${inputs.iamRole} to Kubernetes user ${inputs.k8sUser} with ${mapping}`);
  item('namespace', `in the cluster: namespace ${inputs.namespace}, Role ${inputs.k8sRole}, RoleBinding ${roleBindingName(inputs.k8sRole)} (created, or put back if this project made them; a found one that differs stops the run, unchanged)`);
  for (const l of podLines(ctx)) item('pod-role', l);
  if (inputs.allowExtraAccess) item('access-check', `--allow-extra-access: if User ${inputs.k8sUser} may do more than EksPodOperator needs, that is reported, not a failure`);

  const files = projectFiles ? filesToWrite(ctx, projectFiles) : [];
  const written = [...(selected.has('connection') ? [`airflow_settings.yaml (connection ${inputs.connId}, if it differs)`] : []), ...files];
  if (written.length) lines.push(`  • write in ${ctx.projectDir}: ${written.join(', ')}`);
  const ids = inputs.astroDeploymentIds;
  if (ids.length) item('deployment-connection', `create or update connection ${inputs.connId} on Astro Deployment${ids.length > 1 ? 's' : ''} ${ids.join(', ')} with the astro CLI`);
  lines.push(`  Each change in AWS and in the cluster is logged in .astro-remote-kpo/logs/debug.log. See each one in full first: ${dryRunCommand}`);
  const facts: ConfirmationFacts = {
    ...(cluster ? { cluster } : {}),
    ...(clusterUnknown ? { clusterUnknown } : {}),
    ...(capacity ? { capacity } : {}),
    ...(roleRead && !('unknown' in roleRead) ? { role: roleRead } : {}),
    ...(projectFiles ? { files: projectFiles } : {}),
  };
  return { lines, facts };
}

// verify rows for the AWS side: credentials, the cluster and its API endpoint's access, and the IAM role's trust policy.
// Read-only calls only (GetCallerIdentity, DescribeCluster, GetRole).
import { initCommandLine } from '../resume-command.js';
import { makeStageContext } from '../engine/context.js';
import { fail, failFromError, pass, warn, type CheckRow } from './row.js';
import type { VerifyContext } from './context.js';
import { preflightStage } from '../stages/preflight.js';
import { clusterOutputs, describeCluster } from '../aws/eks.js';
import { reachAdvice } from '../aws/endpoint-access.js';
import { callAws } from '../aws/errors.js';
import { getRole } from '../aws/iam-role.js';
import { decodePolicyDocument, trustIncludes } from '../aws/trust-policy.js';
import { callerPrincipal } from '../aws/caller-principal.js';

/** Credentials through the preflight stage's own read path (GetCallerIdentity). */
export async function checkCredentials(vc: VerifyContext): Promise<CheckRow> {
  const c = vc.ctx;
  // `only` set to preflight: the stage then skips its "must eksctl create the cluster?" probe,
  // which verify answers itself in the cluster row.
  const ctx = makeStageContext(preflightStage, { ...vc.base, flags: { ...vc.base.flags, only: 'preflight' } });
  try {
    const r = await preflightStage.run(ctx);
    vc.identity = r.outputs;
    return pass('credentials', `${r.outputs.callerArn} (account ${r.outputs.accountId}, region ${c.inputs.region})`);
  } catch (err) {
    return failFromError(
      'credentials',
      err,
      `Check \`aws sts get-caller-identity\`${c.inputs.profile ? ` --profile ${c.inputs.profile}` : ''} works, then run verify again.`,
    );
  }
}

export async function checkCluster(vc: VerifyContext, createdByUs: boolean): Promise<CheckRow> {
  const { inputs } = vc.ctx;
  try {
    const eks = await vc.ctx.aws.eks();
    const cluster = await callAws(`looking up EKS cluster ${inputs.clusterName}`, vc.ctx.aws.profile, () => describeCluster(eks, inputs.clusterName));
    if (!cluster) {
      return fail(
        'cluster',
        `no EKS cluster ${inputs.clusterName} in ${inputs.region}`,
        `Check --cluster-name and --region, or create it: ${initCommandLine(inputs)}`,
      );
    }
    vc.cluster = cluster;
    vc.clusterOut = clusterOutputs(cluster, createdByUs);
    const mode = vc.clusterOut.authenticationMode;
    if (cluster.status !== 'ACTIVE') {
      return fail(
        'cluster',
        `cluster ${inputs.clusterName} is ${cluster.status ?? 'in an unknown state'}, not ACTIVE`,
        cluster.status === 'CREATING' || cluster.status === 'UPDATING'
          ? 'Wait until it is ACTIVE, then run verify again.'
          : `Look at it with \`aws eks describe-cluster --name ${inputs.clusterName} --region ${inputs.region}\`.`,
      );
    }
    return pass('cluster', `${inputs.clusterName} is ACTIVE (authentication mode ${mode}, endpoint ${cluster.endpoint ?? '?'})`);
  } catch (err) {
    return failFromError('cluster', err, 'Check the region and the permission eks:DescribeCluster of the identity you run verify with.');
  }
}

/**
 * Can the Deployment reach the API server? From the cluster row's DescribeCluster (no call of its
 * own). Private, limited to some CIDRs, or not reported: a warning, not a failure, because what
 * decides it is out of verify's sight (an Astro network connection to the VPC, the Deployment's
 * external IPs), and the chain may well work; the row says what to look at and what to run.
 */
export function checkEndpointAccess(vc: VerifyContext): CheckRow {
  const out = vc.clusterOut!;
  const access = out.endpointAccess!;
  const advice = reachAdvice(access, { ...vc.ctx.inputs, endpoint: out.endpoint });
  const data = { endpointAccess: access };
  if (!advice) return pass('endpoint-access', `public endpoint open to every address (${access.publicAccessCidrs!.join(', ')}): Astro Hosted reaches it without a network connection`, { data });
  return warn('endpoint-access', advice.headline, advice.lines.join('\n'), { data });
}

/** The role exists and an unconditional Allow statement lets every workload identity (and, with
 * --local-dev, the caller's own role or user) assume it. */
export async function checkTrust(vc: VerifyContext): Promise<CheckRow> {
  const { iamRole, workloadIdentities, localDev } = vc.ctx.inputs;
  const restore = `${initCommandLine(vc.ctx.inputs)} --from iam-role`;
  try {
    const iam = await vc.ctx.aws.iam();
    const role = await callAws(`reading IAM role ${iamRole}`, vc.ctx.aws.profile, () => getRole(iam, iamRole));
    if (!role) return fail('iam-trust', `IAM role ${iamRole} does not exist`, `Create it: ${restore}`);
    vc.role = role;
    vc.roleArn = role.Arn;
    const trust = decodePolicyDocument(role.AssumeRolePolicyDocument);
    const local = localDev && vc.identity ? await callerPrincipal(iam, vc.identity.callerArn).catch(() => undefined) : undefined;
    const wanted = [...workloadIdentities, ...(local && !workloadIdentities.includes(local.arn) ? [local.arn] : [])];
    const missing = wanted.filter((p) => !trustIncludes(trust, p));
    if (missing.length) {
      return fail(
        'iam-trust',
        `the trust policy of ${role.Arn ?? iamRole} does not let ${missing.join(', ')} call sts:AssumeRole (no unconditional Allow statement names ${missing.length > 1 ? 'them' : 'it'})`,
        `Add ${missing.length > 1 ? 'them' : 'it'} (other principals are kept): ${restore}; or add ${missing.map((m) => `"${m}"`).join(', ')} to Principal.AWS of the role's trust policy in the IAM console.`,
        { data: { trustPolicy: trust ?? null } },
      );
    }
    const extra = local ? `; --local-dev: also your own ${local.arn}` : '';
    return pass('iam-trust', `${role.Arn ?? iamRole} trusts ${workloadIdentities.join(', ')}${extra}`);
  } catch (err) {
    return failFromError('iam-trust', err, 'The identity you run verify with needs iam:GetRole.');
  }
}

// verify rows for the AWS side: credentials, the cluster, and the IAM role's trust policy.
// Read-only calls only (GetCallerIdentity, DescribeCluster, GetRole).
import type { StageContext } from '../engine/stage.js';
import { makeStageContext } from '../engine/runner.js';
import { fail, failFromError, pass, type CheckRow } from './row.js';
import type { VerifyContext } from './context.js';

/** Credentials through the preflight stage's own read path (GetCallerIdentity). */
export async function checkCredentials(vc: VerifyContext): Promise<CheckRow> {
  const { preflightStage } = await import('../stages/preflight.js');
  const c = vc.ctx;
  // `only` set to preflight: the stage then skips its "must eksctl create the cluster?" probe,
  // which verify answers itself in the cluster row.
  const ctx: StageContext = makeStageContext(
    { ...c, services: c.services, flags: { ...c.flags, only: 'preflight' }, debug: c.debug },
    {},
    () => undefined,
  );
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
  const [{ describeCluster, clusterOutputs }, { callAws }] = await Promise.all([import('../aws/eks.js'), import('../aws/errors.js')]);
  try {
    const eks = await vc.ctx.aws.eks();
    const cluster = await callAws(`looking up EKS cluster ${inputs.clusterName}`, vc.ctx.aws.profile, () => describeCluster(eks, inputs.clusterName));
    if (!cluster) {
      return fail(
        'cluster',
        `no EKS cluster ${inputs.clusterName} in ${inputs.region}`,
        `Check --cluster-name and --region, or create it: npx astro-remote-kpo init --workload-identity ${inputs.workloadIdentity} --cluster-name ${inputs.clusterName} --region ${inputs.region}`,
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

/** The role exists and an unconditional Allow statement lets the workload identity assume it. */
export async function checkTrust(vc: VerifyContext): Promise<CheckRow> {
  const { iamRole, workloadIdentity } = vc.ctx.inputs;
  const [{ getRole }, { callAws }, { decodePolicyDocument, trustIncludes }] = await Promise.all([
    import('../aws/iam-role.js'),
    import('../aws/errors.js'),
    import('../aws/trust-policy.js'),
  ]);
  const restore = `npx astro-remote-kpo init --workload-identity ${workloadIdentity} --from iam-role`;
  try {
    const iam = await vc.ctx.aws.iam();
    const role = await callAws(`reading IAM role ${iamRole}`, vc.ctx.aws.profile, () => getRole(iam, iamRole));
    if (!role) return fail('iam-trust', `IAM role ${iamRole} does not exist`, `Create it: ${restore}`);
    vc.role = role;
    vc.roleArn = role.Arn;
    const trust = decodePolicyDocument(role.AssumeRolePolicyDocument);
    if (!trustIncludes(trust, workloadIdentity)) {
      return fail(
        'iam-trust',
        `the trust policy of ${role.Arn ?? iamRole} does not let ${workloadIdentity} call sts:AssumeRole (no unconditional Allow statement names it)`,
        `Add it (other principals are kept): ${restore}; or add "${workloadIdentity}" to Principal.AWS of the role's trust policy in the IAM console.`,
        { data: { trustPolicy: trust ?? null } },
      );
    }
    return pass('iam-trust', `${role.Arn ?? iamRole} trusts ${workloadIdentity}`);
  } catch (err) {
    return failFromError('iam-trust', err, 'The identity you run verify with needs iam:GetRole.');
  }
}

// verify rows for the task pods' own AWS identity (issue #20), only when --pod-policy-arn is on:
// the link (the IAM OIDC provider for IRSA, or the Pod Identity association), the role's trust
// exactly as init makes it, the policies attached, and the ServiceAccount (annotation right, and
// usable by the Kubernetes user: the access check's dry run). The mode is decided as init decides
// it, live (auto: the agent add-on or EKS Auto Mode). Read-only calls only.
import { initCommandLine } from '../resume-command.js';
import { callAws } from '../aws/errors.js';
import { acceptsIrsa, getOidcProvider } from '../aws/oidc-provider.js';
import { findAssociation, podIdentityAgent } from '../aws/pod-identity.js';
import { inspectPodRole } from '../aws/pod-role.js';
import { oidcProviderArn, podTrust, trustDifferences } from '../aws/pod-trust.js';
import { ROLE_ARN_ANNOTATION, roleArnWithoutPath } from '../desired.js';
import { annotationFindings, proveServiceAccountUsable, wantedAnnotation } from '../kube/service-account.js';
import type { PodIdentityMode } from '../types.js';
import type { VerifyContext } from './context.js';
import { fail, failFromError, pass, skip, type CheckId, type CheckRow } from './row.js';

export const POD_CHECKS = ['pod-link', 'pod-role-trust', 'pod-role-policies', 'pod-service-account'] as const satisfies readonly CheckId[];

const restore = (vc: VerifyContext, from: string) => `${initCommandLine(vc.ctx.inputs)} --from ${from}`;

/** The rows, or none when the feature is off. Needs the cluster row's findings (and the kube-api
 * row's connection for the ServiceAccount). */
export async function checkPods(vc: VerifyContext): Promise<CheckRow[]> {
  const { inputs } = vc.ctx;
  if (!inputs.podPolicyArns.length) return [];
  if (!vc.clusterOut || !vc.identity) return POD_CHECKS.map((id) => skip(id, 'cluster', 'the cluster was not found'));
  const cluster = vc.clusterOut;
  const eks = await vc.ctx.aws.eks();
  const iam = await vc.ctx.aws.iam();
  const profile = vc.ctx.aws.profile;
  let mode: PodIdentityMode;
  try {
    if (inputs.podIdentity === 'auto') {
      const agent = await callAws(`looking for the Pod Identity agent of EKS cluster ${inputs.clusterName}`, profile, () => podIdentityAgent(eks, inputs.clusterName, cluster.autoMode));
      mode = agent.present ? 'pod-identity' : 'irsa';
    } else mode = inputs.podIdentity;
  } catch (err) {
    return [failFromError('pod-link', err, 'The identity you run verify with needs eks:DescribeAddon.'), ...POD_CHECKS.slice(1).map((id) => skip(id, 'pod-link', 'the mode could not be decided'))];
  }
  const providerArn = cluster.oidcIssuer ? oidcProviderArn(vc.identity.partition, vc.identity.accountId, cluster.oidcIssuer) : undefined;
  // The role, the link and the ServiceAccount are independent reads: asked together.
  const [role, link, sa] = await Promise.all([
    callAws(`reading IAM role ${inputs.podRole}`, profile, () => inspectPodRole(iam, inputs.podRole)).then((r) => ({ r }), (err: unknown) => ({ err })),
    linkRow(vc, mode, providerArn, eks, iam),
    vc.kube ? vc.kube.readServiceAccount(inputs.namespace, inputs.podServiceAccount).then((r) => ({ r }), (err: unknown) => ({ err })) : Promise.resolve(undefined),
  ]);
  const rows: CheckRow[] = [link.row];
  if ('err' in role) {
    rows.push(failFromError('pod-role-trust', role.err, 'The identity you run verify with needs iam:GetRole and iam:ListAttachedRolePolicies.'), skip('pod-role-policies', 'pod-role-trust', 'the role could not be read'));
  } else if (!role.r.role) {
    rows.push(fail('pod-role-trust', `IAM role ${inputs.podRole} does not exist`, `Create it: ${restore(vc, 'pod-identity')}`), skip('pod-role-policies', 'pod-role-trust', `IAM role ${inputs.podRole} does not exist`));
  } else {
    const want = podTrust({ mode, clusterArn: cluster.clusterArn, ...(cluster.oidcIssuer ? { issuer: cluster.oidcIssuer } : {}), ...(providerArn ? { oidcProviderArn: providerArn } : {}), namespace: inputs.namespace, serviceAccount: inputs.podServiceAccount });
    const diff = trustDifferences(role.r.trust, want);
    rows.push(
      diff.length
        ? fail('pod-role-trust', `the trust policy of ${role.r.role.Arn ?? inputs.podRole} is not exactly the pods' (${mode}): ${diff.join('; ')}`, `If this project created the role, init puts it back: ${restore(vc, 'pod-role')}; otherwise give it exactly the trust init shows with --dry-run.`, { data: { trustPolicy: role.r.trust ?? null } })
        : pass('pod-role-trust', `${role.r.role.Arn ?? inputs.podRole} is trusted only by ServiceAccount ${inputs.podServiceAccount} in namespace ${inputs.namespace} (${mode === 'irsa' ? 'IRSA' : 'EKS Pod Identity'})`),
    );
    const missing = inputs.podPolicyArns.filter((p) => !role.r.attached.includes(p));
    const more = role.r.attached.filter((p) => !inputs.podPolicyArns.includes(p));
    const notes = more.length ? { notes: [`it also has ${more.join(', ')}, which --pod-policy-arn does not name`] } : {};
    rows.push(missing.length ? fail('pod-role-policies', `IAM role ${inputs.podRole} lacks ${missing.join(', ')}`, `Attach ${missing.length > 1 ? 'them' : 'it'}: ${restore(vc, 'pod-role')}`, notes) : pass('pod-role-policies', `${inputs.podPolicyArns.join(', ')} attached to ${inputs.podRole}`, notes));
  }
  rows.push(await serviceAccountRow(vc, mode, role && 'r' in role ? role.r.role?.Arn : undefined, sa));
  return rows;
}

async function linkRow(vc: VerifyContext, mode: PodIdentityMode, providerArn: string | undefined, eks: Awaited<ReturnType<VerifyContext['ctx']['aws']['eks']>>, iam: Awaited<ReturnType<VerifyContext['ctx']['aws']['iam']>>): Promise<{ row: CheckRow }> {
  const { inputs } = vc.ctx;
  try {
    if (mode === 'irsa') {
      if (!providerArn) return { row: fail('pod-link', `IRSA needs the OIDC issuer of cluster ${inputs.clusterName}, and it reports none`, 'Use --pod-identity pod-identity with the eks-pod-identity-agent add-on.', { code: 'OIDC_ISSUER_MISSING' }) };
      const p = await callAws(`reading IAM OIDC provider ${providerArn}`, vc.ctx.aws.profile, () => getOidcProvider(iam, providerArn));
      if (!p) return { row: fail('pod-link', `IRSA: the cluster's issuer is not an IAM OIDC provider (${providerArn} does not exist)`, `Register it: ${restore(vc, 'pod-identity')}`) };
      if (!acceptsIrsa(p)) return { row: fail('pod-link', `IRSA: IAM OIDC provider ${providerArn} does not accept the audience sts.amazonaws.com`, `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${providerArn} --client-id sts.amazonaws.com`, { code: 'OIDC_PROVIDER_UNUSABLE' }) };
      return { row: pass('pod-link', `IRSA: IAM OIDC provider ${providerArn} (audience sts.amazonaws.com)`) };
    }
    const a = await callAws(`reading the EKS Pod Identity association of ${inputs.namespace}/${inputs.podServiceAccount}`, vc.ctx.aws.profile, () => findAssociation(eks, inputs.clusterName, inputs.namespace, inputs.podServiceAccount));
    const roleSuffix = `:role/${inputs.podRole}`;
    if (!a) return { row: fail('pod-link', `EKS Pod Identity: no association for ${inputs.namespace}/${inputs.podServiceAccount}`, `Create it: ${restore(vc, 'pod-service-account')}`) };
    // By name: IAM role names are unique in an account, and a found role may have a path.
    if (!roleArnWithoutPath(a.roleArn ?? '').endsWith(roleSuffix)) return { row: fail('pod-link', `EKS Pod Identity: association ${a.associationId} of ${inputs.namespace}/${inputs.podServiceAccount} names ${a.roleArn}, not role ${inputs.podRole}`, `If this project created it, init points it back: ${restore(vc, 'pod-service-account')}`) };
    return { row: pass('pod-link', `EKS Pod Identity: association ${a.associationId} ${inputs.namespace}/${inputs.podServiceAccount} → ${a.roleArn}`) };
  } catch (err) {
    return { row: failFromError('pod-link', err, 'The identity you run verify with needs iam:GetOpenIDConnectProvider (IRSA) or eks:ListPodIdentityAssociations and eks:DescribePodIdentityAssociation (Pod Identity).') };
  }
}

async function serviceAccountRow(vc: VerifyContext, mode: PodIdentityMode, roleArn: string | undefined, sa: { r: unknown } | { err: unknown } | undefined): Promise<CheckRow> {
  const { inputs } = vc.ctx;
  const id = 'pod-service-account';
  if (!vc.kube || !sa) return skip(id, 'kube-api', 'no connection to the Kubernetes API');
  if ('err' in sa) return failFromError(id, sa.err, 'The identity you run verify with needs get on serviceaccounts in the namespace.');
  const current = sa.r as Parameters<typeof annotationFindings>[0] | undefined;
  if (!current) return fail(id, `ServiceAccount ${inputs.podServiceAccount} does not exist in namespace ${inputs.namespace}`, `Create it: ${restore(vc, 'pod-service-account')}`);
  const want = wantedAnnotation(mode, roleArn);
  const found = mode === 'irsa' && !roleArn ? [] : annotationFindings(current, want);
  if (found.length) return fail(id, `ServiceAccount ${inputs.podServiceAccount}: ${found.join('; ')}`, `If this project created it, init puts it right: ${restore(vc, 'pod-service-account')}; otherwise set ${ROLE_ARN_ANNOTATION} yourself.`);
  try {
    const proof = await proveServiceAccountUsable(vc.kube, inputs.k8sUser, inputs.namespace, inputs.podServiceAccount);
    return pass(id, `${inputs.podServiceAccount} exists${want ? ` (annotated ${want})` : ''}; User ${inputs.k8sUser} may run a pod as it (dry run${proof.as === 'caller' ? ' as the caller' : ''})`, proof.note ? { notes: [proof.note] } : {});
  } catch (err) {
    return failFromError(id, err, `Check the ServiceAccount and the cluster's admission policies; ${restore(vc, 'pod-service-account')} puts back what init made.`);
  }
}

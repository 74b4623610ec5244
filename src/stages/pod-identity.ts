// Stage 14: how the task pods get AWS credentials (issue #20). Off without --pod-policy-arn. On,
// --pod-identity decides: pod-identity (EKS Pod Identity: the cluster must run the agent, as the
// eks-pod-identity-agent add-on or on an EKS Auto Mode cluster), irsa, or auto (Pod Identity when
// the agent is there, else IRSA). For IRSA the cluster's OIDC issuer must be an IAM OIDC provider:
// registered when it is not (with our creation tags: ours), used when found (eksctl's, which
// `withOIDC: true` makes with the cluster; a person's; another project's, marked as used). It
// comes after the cluster stage on purpose: eksctl creates the provider without looking first,
// and would fail if we had made it. Pod Identity's association is the ServiceAccount stage's.
import { callAws } from '../aws/errors.js';
import { acceptsIrsa, createOidcProvider, getOidcProvider, providerUses, type OidcProvider } from '../aws/oidc-provider.js';
import { podIdentityAgent } from '../aws/pod-identity.js';
import { oidcProviderArn, POD_IDENTITY_AGENT } from '../aws/pod-trust.js';
import { oidcProviderUseMarks } from '../aws/use-marks.js';
import { intentName, provenOurs, PROJECT_KEY } from '../desired.js';
import { defineStage, type StageContext } from '../engine/stage.js';
import { KpoError, errorMessage } from '../errors.js';
import type { CheckResult, PlanItem, PodIdentityMode, StageOutputs } from '../types.js';
import { marksToAdd } from '../use-marks.js';

type Out = StageOutputs['pod-identity'];
type Ctx = StageContext<{
  inputs: 'clusterName' | 'region' | 'podPolicyArns' | 'podIdentity' | 'workloadIdentities';
  services: 'aws' | 'owner';
  needs: 'cluster' | 'preflight';
  own: 'pod-identity';
}>;

/** The mode, and for IRSA the provider as read (undefined: not there). */
interface Resolved {
  mode: PodIdentityMode;
  why: string;
  issuer?: string;
  arn?: string;
  provider?: OidcProvider;
}

export const OFF_REASON = 'off: no --pod-policy-arn given, so the task pods get no AWS identity of their own';

/** What earlier runs recorded about a provider this project created: kept while the mode is not
 * IRSA or the feature is off, so destroy still knows it (history is never dropped). */
function providerHistory(ctx: Ctx): Partial<Out> {
  const p = ctx.previousOutput('pod-identity');
  return p?.oidcProviderArn && p.oidcProviderCreatedByUs ? { oidcProviderArn: p.oidcProviderArn, oidcProviderCreatedByUs: true, ...(p.issuer ? { issuer: p.issuer } : {}) } : {};
}

async function resolve(ctx: Ctx): Promise<Resolved> {
  const flag = ctx.inputs.podIdentity;
  const cluster = ctx.output('cluster');
  const name = ctx.inputs.clusterName;
  let mode: PodIdentityMode = 'irsa';
  let why = '--pod-identity irsa';
  if (flag !== 'irsa') {
    const eks = await ctx.aws.eks();
    const agent = await callAws(`looking for the ${POD_IDENTITY_AGENT} add-on of EKS cluster ${name}`, ctx.aws.profile, () => podIdentityAgent(eks, name, cluster.autoMode));
    if (agent.present) return { mode: 'pod-identity', why: `${flag === 'auto' ? 'auto' : '--pod-identity pod-identity'}: ${agent.why}` };
    if (flag === 'pod-identity') {
      throw new KpoError(
        'POD_IDENTITY_AGENT_MISSING',
        `--pod-identity pod-identity, but ${agent.why}, and it is not an EKS Auto Mode cluster: its pods cannot get EKS Pod Identity credentials.`,
        `Install the add-on, then run init again:\n  eksctl create addon --cluster ${name} --region ${ctx.inputs.region} --name ${POD_IDENTITY_AGENT}\n` +
          `  (or: aws eks create-addon --cluster-name ${name} --region ${ctx.inputs.region} --addon-name ${POD_IDENTITY_AGENT})\n` +
          'or use IRSA instead: --pod-identity irsa (or auto, which falls back to IRSA).',
      );
    }
    mode = 'irsa';
    why = `auto: ${agent.why}, so IRSA`;
  }
  const issuer = cluster.oidcIssuer;
  if (!issuer) {
    throw new KpoError(
      'OIDC_ISSUER_MISSING',
      `IRSA (${why}) needs the OIDC issuer of cluster ${name}, and DescribeCluster reports none (identity.oidc.issuer).`,
      `Every EKS cluster has one; an emulator may not. Use EKS Pod Identity instead: install the ${POD_IDENTITY_AGENT} add-on and pass --pod-identity pod-identity.`,
    );
  }
  const pre = ctx.output('preflight');
  const arn = oidcProviderArn(pre.partition, pre.accountId, issuer);
  const iam = await ctx.aws.iam();
  const provider = await callAws(`reading IAM OIDC provider ${arn}`, ctx.aws.profile, () => getOidcProvider(iam, arn));
  return { mode, why, issuer, arn, ...(provider ? { provider } : {}) };
}

/** Ours: recorded for this very provider, or our creation tag with our project id (or our intent). */
function ours(ctx: Ctx, r: Resolved): boolean {
  const rec = ctx.previousOutput('pod-identity');
  if (rec?.oidcProviderArn === r.arn && rec?.oidcProviderCreatedByUs !== undefined) return rec.oidcProviderCreatedByUs;
  const uses = providerUses(r.provider);
  return provenOurs(uses.created, r.provider?.tags[PROJECT_KEY], ctx.owner.projectId, ctx.owner.intended(intentName.oidcProvider(r.arn ?? '')));
}

function whose(ctx: Ctx, r: Resolved): string {
  if (ours(ctx, r)) return 'created by this project';
  const uses = providerUses(r.provider);
  if (uses.created) return 'created by another astro-remote-kpo project: shared';
  const eksctl = r.provider?.tags['alpha.eksctl.io/cluster-name'];
  return `found${eksctl ? ` (made by eksctl for cluster ${eksctl})` : ''}: used, never deleted by destroy`;
}

/** A provider that refuses IRSA's audience is never changed (not ours: never a takeover). */
function refuseDeaf(ctx: Ctx, r: Resolved): void {
  if (!r.provider || acceptsIrsa(r.provider) || ours(ctx, r)) return;
  throw new KpoError(
    'OIDC_PROVIDER_UNUSABLE',
    `IAM OIDC provider ${r.arn} (${whose(ctx, r)}) does not accept the audience sts.amazonaws.com (its client IDs: ${r.provider.clientIds.join(', ') || 'none'}), so IRSA tokens would be refused. init does not change what this project did not create: nothing was changed.`,
    `Add the audience yourself, then run init again:\n  aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${r.arn} --client-id sts.amazonaws.com\nor use EKS Pod Identity: --pod-identity pod-identity (with the ${POD_IDENTITY_AGENT} add-on).`,
  );
}

function outputs(ctx: Ctx, r: Resolved, createdByUs?: boolean): Out {
  if (r.mode !== 'irsa') return { ...providerHistory(ctx), enabled: true, mode: r.mode, why: r.why };
  return { enabled: true, mode: 'irsa', why: r.why, issuer: r.issuer!, oidcProviderArn: r.arn!, oidcProviderCreatedByUs: createdByUs ?? ours(ctx, r) };
}

const marksFor = (ctx: Ctx, r: Resolved) => marksToAdd(providerUses(r.provider), ctx.owner.projectId, ctx.inputs.workloadIdentities);

export const podIdentityStage = defineStage({
  id: 'pod-identity',
  title: 'How the task pods get AWS credentials (IRSA or EKS Pod Identity)',
  needs: ['cluster', 'preflight'],
  // workloadIdentities: their fingerprint is in this project's use mark on a shared provider.
  inputs: ['profile', 'region', 'clusterName', 'podPolicyArns', 'podIdentity', 'workloadIdentities'],
  services: ['aws', 'owner'],

  async check(ctx): Promise<CheckResult<Out, Resolved>> {
    if (!ctx.inputs.podPolicyArns.length) return { done: true, reason: OFF_REASON, outputs: { ...providerHistory(ctx), enabled: false } };
    const r = await resolve(ctx);
    if (r.mode === 'irsa') {
      if (!r.provider) return { done: false, reason: `IAM OIDC provider ${r.arn} does not exist`, seen: r };
      refuseDeaf(ctx, r);
      if (Object.keys(marksFor(ctx, r)).length) return { done: false, reason: `IAM OIDC provider ${r.arn} does not carry this project's use mark yet`, seen: r };
    }
    const where = r.mode === 'irsa' ? `; IAM OIDC provider ${r.arn} (${whose(ctx, r)})` : '';
    return { done: true, reason: `${r.mode === 'irsa' ? 'IRSA' : 'EKS Pod Identity'} (${r.why})${where}`, outputs: outputs(ctx, r) };
  },

  async run(ctx, seen) {
    if (!ctx.inputs.podPolicyArns.length) return { outputs: { ...providerHistory(ctx), enabled: false }, summary: OFF_REASON };
    let r = seen ?? (await resolve(ctx));
    const mode = r.mode === 'irsa' ? 'IRSA' : 'EKS Pod Identity';
    if (r.mode !== 'irsa') return { outputs: outputs(ctx, r), summary: `${mode} (${r.why})` };
    const iam = await ctx.aws.iam();
    const arn = r.arn!;
    if (!r.provider) {
      await ctx.owner.intend(intentName.oidcProvider(arn));
      const made = await callAws(`registering the OIDC issuer of cluster ${ctx.inputs.clusterName} as an IAM OIDC provider`, ctx.aws.profile, () =>
        createOidcProvider(iam, r.issuer!, ctx.owner.projectId, ctx.inputs.workloadIdentities),
      );
      if (made) return { outputs: outputs(ctx, r, true), summary: `${mode} (${r.why}); created IAM OIDC provider ${made} (audience sts.amazonaws.com)` };
      // Registered meanwhile by someone else (eksctl, another run): judged like any found provider.
      const provider = await callAws(`reading IAM OIDC provider ${arn}`, ctx.aws.profile, () => getOidcProvider(iam, arn));
      r = { ...r, ...(provider ? { provider } : {}) };
    }
    refuseDeaf(ctx, r);
    const add = marksFor(ctx, r);
    if (Object.keys(add).length) await callAws(`marking IAM OIDC provider ${arn} as used`, ctx.aws.profile, () => oidcProviderUseMarks(iam, arn).add(add));
    return { outputs: outputs(ctx, r, false), summary: `${mode} (${r.why}); IAM OIDC provider ${arn} (${whose(ctx, r)})${Object.keys(add).length ? ', marked as used by this project' : ''}` };
  },

  async plan(ctx) {
    if (!ctx.inputs.podPolicyArns.length) return { items: [{ action: `nothing for the task pods (${OFF_REASON})` }], outputs: { enabled: false } };
    const flag = ctx.inputs.podIdentity;
    const howAuto = `EKS Pod Identity if cluster ${ctx.inputs.clusterName} runs the ${POD_IDENTITY_AGENT} add-on (the ClusterConfig init renders installs it), else IRSA`;
    let r: Resolved;
    try {
      if (!ctx.tryOutput('cluster')?.clusterArn || !ctx.tryOutput('preflight')?.accountId) throw new Error('the cluster or the AWS account is not known yet');
      r = await resolve(ctx);
    } catch (err) {
      const action = flag === 'auto' ? `--pod-identity auto: ${howAuto}` : flag === 'irsa' ? 'IRSA: register the cluster\'s OIDC issuer as an IAM OIDC provider if it is not (audience sts.amazonaws.com)' : 'EKS Pod Identity (the cluster must run the eks-pod-identity-agent add-on)';
      const known: Out = { enabled: true, ...(flag !== 'auto' ? { mode: flag } : {}) };
      return { items: [{ action, unknown: errorMessage(err) }], outputs: known };
    }
    const items: PlanItem[] = [{ action: `${r.mode === 'irsa' ? 'IRSA' : 'EKS Pod Identity'} (${r.why})` }];
    if (r.mode === 'irsa') {
      if (!r.provider) items.push({ action: `create IAM OIDC provider ${r.arn} for issuer ${r.issuer} (audience sts.amazonaws.com, no thumbprint: IAM fetches it; tag managed-by=astro-remote-kpo)` });
      else {
        items.push({ action: `exists: IAM OIDC provider ${r.arn} (${whose(ctx, r)})` });
        const add = marksFor(ctx, r);
        if (Object.keys(add).length) items.push({ action: `mark IAM OIDC provider ${r.arn} as used by this project (tag ${Object.keys(add).join(', ')})` });
        try {
          refuseDeaf(ctx, r);
        } catch (err) {
          items.push({ action: `use IAM OIDC provider ${r.arn} as found`, unknown: `init will refuse: ${errorMessage(err)}` });
        }
      }
    }
    return { items, outputs: outputs(ctx, r, r.mode === 'irsa' && !r.provider ? true : undefined) };
  },
});

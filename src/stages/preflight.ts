// Stage 0: who am I in AWS (STS GetCallerIdentity), and is eksctl there if a cluster must be made.
import { getCallerIdentity } from '../aws/caller-principal.js';
import { describeCluster } from '../aws/eks.js';
import { eksctlMissing, eksctlVersion } from '../aws/eksctl.js';
import { awsFailure, callAws } from '../aws/errors.js';
import { lookUpPolicies, type PolicyLookup } from '../aws/policies.js';
import { defineStage, type StageContext, type StageHandoffs } from '../engine/stage.js';
import { KpoError, errorMessage } from '../errors.js';
import type { StageOutputs } from '../types.js';

type Identity = Pick<StageOutputs['preflight'], 'accountId' | 'callerArn' | 'partition'>;
type Ctx = StageContext<{ inputs: 'clusterName' | 'podPolicyArns'; services: 'aws' | 'exec'; flags: 'only' }>;

async function lookupIdentity(ctx: Pick<Ctx, 'aws'>): Promise<Identity> {
  try {
    const r = await getCallerIdentity(ctx.aws);
    const callerArn = r.Arn ?? '';
    return { accountId: r.Account ?? '', callerArn, partition: /^arn:([^:]+):/.exec(callerArn)?.[1] ?? 'aws' };
  } catch (err) {
    throw awsFailure(err, 'looking up the AWS identity (STS GetCallerIdentity)', ctx.aws.profile);
  }
}

/** eksctl matters only when this run will create the cluster: it does not exist and the cluster
 * stage is part of the run (`--only <other stage>` never creates one, so nothing is looked up). */
async function lookupCluster(ctx: Pick<Ctx, 'aws' | 'inputs' | 'flags'>): Promise<StageHandoffs['cluster'] | undefined> {
  if (ctx.flags.only && ctx.flags.only !== 'cluster') return undefined;
  const eks = await ctx.aws.eks();
  return { cluster: await callAws(`looking up EKS cluster ${ctx.inputs.clusterName}`, ctx.aws.profile, () => describeCluster(eks, ctx.inputs.clusterName)) };
}

/** The task pods' policies, looked up while the identity is (no round trip of their own), and only
 * when this run may attach them: `--only <other stage>` attaches nothing, nor do verify and destroy,
 * which run this stage with `only: 'preflight'` for the identity alone (a policy deleted since init
 * must not stop a destroy). */
async function lookupPodPolicies(ctx: Pick<Ctx, 'aws' | 'inputs' | 'flags'>): Promise<PolicyLookup[]> {
  if (!ctx.inputs.podPolicyArns.length || (ctx.flags.only && ctx.flags.only !== 'pod-role')) return [];
  return lookUpPolicies(await ctx.aws.iam(), ctx.inputs.podPolicyArns);
}

/** Bad input found by asking IAM: exit 2, before any stage has changed anything. */
function refuseMissingPolicies(found: PolicyLookup[], accountId: string): void {
  const bad = found.filter((p) => p.usable === false);
  if (!bad.length) return;
  throw new KpoError(
    'POD_POLICY_NOT_FOUND',
    bad.map((p) => `--pod-policy-arn ${p.arn}: ${p.why} (account ${accountId}). Allowed: the ARN of an existing managed policy, AWS managed (arn:aws:iam::aws:policy/<Name>) or customer managed (arn:aws:iam::${accountId}:policy/<Name>).`).join('\n') +
      '\nNothing was changed.',
    `List the customer managed policies with: aws iam list-policies --scope Local --query 'Policies[].Arn'`,
  );
}

const mustCreate = (looked: StageHandoffs['cluster'] | undefined) => looked !== undefined && looked.cluster === undefined;

type EksctlFound = Awaited<ReturnType<typeof eksctlVersion>>;

/** `started` is called once eksctl runs, or once it is clear that it will not. */
async function probeEksctl(ctx: Pick<Ctx, 'exec'>, started?: () => void): Promise<EksctlFound> {
  try {
    return await eksctlVersion(ctx.exec, { onSpawn: started });
  } finally {
    started?.();
  }
}

export const preflightStage = defineStage({
  id: 'preflight',
  title: 'AWS identity and prerequisites',
  needs: [],
  // podPolicyArns: looked up here, so a policy that does not exist stops the run before any change.
  inputs: ['region', 'profile', 'clusterName', 'podPolicyArns'],
  services: ['aws', 'exec'],
  flags: ['only'],
  // Whether a cluster is recorded: a guess only (the lookup below decides).
  hints: ['cluster'],

  async run(ctx) {
    // No cluster recorded yet (a first run): eksctl will most likely be needed, so ask its version
    // (read-only, local) while the AWS lookups are in flight rather than after them; its answer is
    // ignored if the cluster turns out to exist. Started first, because loading the AWS SDK then
    // holds the thread for a few hundred milliseconds.
    let early: Promise<EksctlFound> | undefined;
    if (!ctx.tryOutput('cluster') && (!ctx.flags.only || ctx.flags.only === 'cluster')) {
      await new Promise<void>((started) => {
        early = probeEksctl(ctx, started);
        early.catch(() => undefined);
      });
    }
    // Independent lookups: ask both at once (one round trip, not two). The identity is awaited
    // first so that, with bad credentials, its clearer error is the one reported.
    const cluster = lookupCluster(ctx);
    cluster.catch(() => undefined);
    const policies = lookupPodPolicies(ctx);
    policies.catch(() => undefined);
    const identity = await lookupIdentity(ctx);
    ctx.debug(`AWS identity ${identity.callerArn} (account ${identity.accountId}), region ${ctx.inputs.region}`);
    const looked = await cluster;
    const pods = await policies;
    for (const p of pods) if (p.usable === undefined) ctx.debug(`could not look up --pod-policy-arn ${p.arn} (${p.why}): AttachRolePolicy decides`);
    refuseMissingPolicies(pods, identity.accountId);
    let version: string | undefined;
    if (mustCreate(looked)) {
      // eksctl's answer is still on its way and the thread is idle: load the IAM client the
      // iam-role stage asks for next. Loaded later, its SDK holds the thread just as eksctl is
      // about to start creating the cluster. (An --only run loads it if and when it gets there.)
      if (!ctx.flags.only) ctx.aws.iam().catch(() => undefined);
      const found = await (early ?? probeEksctl(ctx));
      if (!found) throw eksctlMissing(ctx.inputs.clusterName);
      version = found.version;
      ctx.debug(`eksctl ${found.version} at ${found.path}`);
    }
    return {
      outputs: { ...identity, ...(version ? { eksctlVersion: version } : {}) },
      summary: `AWS identity ${identity.callerArn} (account ${identity.accountId}, region ${ctx.inputs.region})${version ? `; eksctl ${version}` : ''}`,
      // The cluster stage's check() would ask the same a moment later.
      ...(looked ? { handoff: { cluster: looked } } : {}),
    };
  },

  async plan(ctx) {
    let identity: Identity;
    try {
      identity = await lookupIdentity(ctx);
    } catch (err) {
      return {
        items: [{ action: `look up the AWS identity (STS GetCallerIdentity) in ${ctx.inputs.region}`, unknown: `could not look up the AWS identity: ${errorMessage(err)}` }],
      };
    }
    const items = [{ action: `AWS identity ${identity.callerArn} (account ${identity.accountId}, region ${ctx.inputs.region})` }];
    for (const p of await lookupPodPolicies(ctx)) {
      if (p.usable === false) items.push({ action: `--pod-policy-arn ${p.arn}: ${p.why} (account ${identity.accountId}): the run would stop here (exit 2, POD_POLICY_NOT_FOUND)` });
    }
    try {
      if (mustCreate(await lookupCluster(ctx))) {
        const found = await eksctlVersion(ctx.exec);
        items.push({ action: found ? `eksctl ${found.version} found at ${found.path} (needed to create the cluster)` : 'eksctl is NOT on PATH: the run would stop here (exit 3) because the cluster must be created' });
      }
    } catch (err) {
      return { items: [...items, { action: `look up EKS cluster ${ctx.inputs.clusterName}`, unknown: errorMessage(err) }], outputs: identity };
    }
    return { items, outputs: identity };
  },
});

// Stage 0: who am I in AWS (STS GetCallerIdentity), and is eksctl there if a cluster must be made.
import { shareInRun } from '../engine/carry.js';
import type { Stage, StageContext } from '../engine/stage.js';
import type { StageOutputs } from '../types.js';

type Identity = Pick<StageOutputs['preflight'], 'accountId' | 'callerArn' | 'partition'>;

async function lookupIdentity(ctx: StageContext): Promise<Identity> {
  const [{ GetCallerIdentityCommand }, { awsFailure }] = await Promise.all([import('@aws-sdk/client-sts'), import('../aws/errors.js')]);
  try {
    const r = await (await ctx.aws.sts()).send(new GetCallerIdentityCommand({}));
    const callerArn = r.Arn ?? '';
    return { accountId: r.Account ?? '', callerArn, partition: /^arn:([^:]+):/.exec(callerArn)?.[1] ?? 'aws' };
  } catch (err) {
    throw awsFailure(err, 'looking up the AWS identity (STS GetCallerIdentity)', ctx.aws.profile);
  }
}

/** eksctl matters only when this run will create the cluster: it does not exist and the cluster
 * stage is part of the run (`--only <other stage>` never creates one). */
async function clusterMustBeCreated(ctx: StageContext): Promise<boolean> {
  if (ctx.flags.only && ctx.flags.only !== 'cluster') return false;
  const [{ describeCluster }, { callAws }] = await Promise.all([import('../aws/eks.js'), import('../aws/errors.js')]);
  const eks = await ctx.aws.eks();
  const cluster = await callAws(`looking up EKS cluster ${ctx.inputs.clusterName}`, ctx.aws.profile, () => describeCluster(eks, ctx.inputs.clusterName));
  // The cluster stage's check() would ask the same a moment later.
  if (!ctx.flags.dryRun) shareInRun(ctx.services, 'describe-cluster', cluster);
  return cluster === undefined;
}

type EksctlFound = Awaited<ReturnType<typeof import('../aws/eksctl.js').eksctlVersion>>;

/** `started` is called once eksctl runs, or once it is clear that it will not. */
async function probeEksctl(ctx: StageContext, started?: () => void): Promise<EksctlFound> {
  try {
    const { eksctlVersion } = await import('../aws/eksctl.js');
    return await eksctlVersion(ctx.exec, { onSpawn: started });
  } finally {
    started?.();
  }
}

export const preflightStage: Stage<'preflight'> = {
  id: 'preflight',
  title: 'AWS identity and prerequisites',
  needs: [],
  inputs: ['region', 'profile', 'clusterName'],

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
    const mustCreate = clusterMustBeCreated(ctx);
    mustCreate.catch(() => undefined);
    const identity = await lookupIdentity(ctx);
    ctx.debug(`AWS identity ${identity.callerArn} (account ${identity.accountId}), region ${ctx.inputs.region}`);
    let eksctlVersion: string | undefined;
    if (await mustCreate) {
      const { eksctlMissing } = await import('../aws/eksctl.js');
      const found = await (early ?? probeEksctl(ctx));
      if (!found) throw eksctlMissing(ctx.inputs.clusterName);
      eksctlVersion = found.version;
      ctx.debug(`eksctl ${found.version} at ${found.path}`);
    }
    return {
      outputs: { ...identity, ...(eksctlVersion ? { eksctlVersion } : {}) },
      summary: `AWS identity ${identity.callerArn} (account ${identity.accountId}, region ${ctx.inputs.region})${eksctlVersion ? `; eksctl ${eksctlVersion}` : ''}`,
    };
  },

  async plan(ctx) {
    const { errorMessage } = await import('../errors.js');
    let identity: Identity;
    try {
      identity = await lookupIdentity(ctx);
    } catch (err) {
      return {
        items: [{ action: `look up the AWS identity (STS GetCallerIdentity) in ${ctx.inputs.region}`, unknown: `could not look up the AWS identity: ${errorMessage(err)}` }],
      };
    }
    const items = [{ action: `AWS identity ${identity.callerArn} (account ${identity.accountId}, region ${ctx.inputs.region})` }];
    try {
      if (await clusterMustBeCreated(ctx)) {
        const { eksctlVersion: probe } = await import('../aws/eksctl.js');
        const found = await probe(ctx.exec);
        items.push({ action: found ? `eksctl ${found.version} found at ${found.path} (needed to create the cluster)` : 'eksctl is NOT on PATH: the run would stop here (exit 3) because the cluster must be created' });
      }
    } catch (err) {
      return { items: [...items, { action: `look up EKS cluster ${ctx.inputs.clusterName}`, unknown: errorMessage(err) }], outputs: identity };
    }
    return { items, outputs: identity };
  },
};

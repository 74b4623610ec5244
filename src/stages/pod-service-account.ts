// Stage 16: the ServiceAccount the task pods run as, and its link to the pods' role: for IRSA the
// annotation eks.amazonaws.com/role-arn, for EKS Pod Identity an association (CreatePodIdentity-
// Association; it needs iam:PassRole on the role). The usual ownership rules: the creation marker
// only on what init creates, a found ServiceAccount or association used as found (marked as used
// when another project of this tool made it) and never changed when it differs (refused, with the
// fix). The KPO user needs no new RBAC to run a pod as it: the access check proves that.
import type { PodIdentityAssociation } from '@aws-sdk/client-eks';
import { callAws } from '../aws/errors.js';
import { retryIamPropagation } from '../aws/retry.js';
import { createAssociation, deleteAssociation, findAssociation, updateAssociationRole } from '../aws/pod-identity.js';
import { associationUseMarks, associationUses } from '../aws/use-marks.js';
import { intentName, partitionOf, PROJECT_KEY, provenOurs } from '../desired.js';
import { defineStage, type StageContext } from '../engine/stage.js';
import { KpoError, errorMessage } from '../errors.js';
import type { KubeObject } from '../kube/api.js';
import { checkOps, guardFound, ownedByUs, planOwned, runOps, type ObjectSeen } from '../kube/objects.js';
import { outOfSync, reconcile } from '../kube/reconcile.js';
import { serviceAccountOps, serviceAccountRefusal, wantedAnnotation } from '../kube/service-account.js';
import { markUsed, planMark, unmarkedReason } from '../kube/use-marks.js';
import type { CheckResult, PlanItem, PodIdentityMode, StageOutputs } from '../types.js';
import { marksToAdd } from '../use-marks.js';
import { OFF_REASON } from './pod-identity.js';
import { together } from '../together.js';

type Out = StageOutputs['pod-service-account'];
type Ctx = StageContext<{
  inputs: 'clusterName' | 'region' | 'namespace' | 'podServiceAccount' | 'podPolicyArns' | 'workloadIdentities' | 'podRole';
  services: 'aws' | 'kube' | 'owner' | 'commandLine';
  needs: 'pod-identity' | 'pod-role' | 'namespace' | 'preflight';
  own: 'pod-service-account';
}>;
/** What check() read: the ServiceAccount, and the association (null: looked, none; undefined: not looked). */
type Seen = ObjectSeen & { association?: PodIdentityAssociation | null };

const on = (ctx: Ctx) => ctx.inputs.podPolicyArns.length > 0;
const modeOf = (ctx: Ctx): PodIdentityMode | undefined => ctx.tryOutput('pod-identity')?.mode;
const roleArnOf = (ctx: Ctx) => ctx.tryOutput('pod-role')?.roleArn;
const assocIntent = (ctx: Ctx) => intentName.podIdentityAssociation(ctx.inputs.clusterName, ctx.inputs.namespace, ctx.inputs.podServiceAccount);

/** History of the ServiceAccount and association, kept while the feature is off (destroy reads it). */
function history(ctx: Ctx): Partial<Out> {
  const p = ctx.previousOutput('pod-service-account');
  if (!p || p.namespace !== ctx.inputs.namespace || p.serviceAccount !== ctx.inputs.podServiceAccount) return {};
  const { enabled: _enabled, ...rest } = p;
  return rest;
}

const guardedOps = (ctx: Ctx, want: string | undefined) =>
  guardFound(ctx, serviceAccountOps(() => ctx.kube(), ctx.inputs, want, ctx.owner.projectId), history(ctx).created, async (current) => serviceAccountRefusal(ctx.inputs, ctx.commandLine, current, want));

/** Ours: recorded (this very association), or tagged with our project id (or our intent). */
function associationOurs(ctx: Ctx, a: PodIdentityAssociation): boolean {
  const rec = history(ctx).association;
  if (rec && rec.id === a.associationId) return rec.createdByUs;
  const uses = associationUses(a);
  return provenOurs(uses.created, a.tags?.[PROJECT_KEY], ctx.owner.projectId, ctx.owner.intended(assocIntent(ctx)));
}

/** Whether the association must be looked up: Pod Identity; or IRSA after this project made one
 * (a switch: the association would win over the annotation, so ours goes). */
const wantsAssociationRead = (ctx: Ctx) => modeOf(ctx) === 'pod-identity' || history(ctx).association?.createdByUs === true;

async function readAssociation(ctx: Ctx): Promise<PodIdentityAssociation | null> {
  const { clusterName, namespace, podServiceAccount } = ctx.inputs;
  const eks = await ctx.aws.eks();
  return (await callAws(`reading the EKS Pod Identity association of ${namespace}/${podServiceAccount}`, ctx.aws.profile, () => findAssociation(eks, clusterName, namespace, podServiceAccount))) ?? null;
}

/** Why the association is not as wanted (undefined: it is), refusing one that is not ours. */
function associationTodo(ctx: Ctx, a: PodIdentityAssociation | null, refuse: boolean): string | undefined {
  const roleArn = roleArnOf(ctx);
  const where = `${ctx.inputs.namespace}/${ctx.inputs.podServiceAccount}`;
  if (modeOf(ctx) !== 'pod-identity') return a && associationOurs(ctx, a) ? `the EKS Pod Identity association of ${where} made by this project must go (IRSA now; it would take precedence)` : undefined;
  if (!a) return `no EKS Pod Identity association for ${where}`;
  if (a.roleArn !== roleArn) {
    if (!associationOurs(ctx, a)) {
      if (!refuse) return `the EKS Pod Identity association ${a.associationId} of ${where} names ${a.roleArn}`;
      throw new KpoError(
        'POD_ASSOCIATION_TAKEOVER_REFUSED',
        `EKS Pod Identity association ${a.associationId} of ${where} on cluster ${ctx.inputs.clusterName} exists, was not created by this project, and names IAM role ${a.roleArn}, not ${roleArn}. init does not change what this project did not create: nothing was changed.`,
        `Either pick another ServiceAccount for the task pods, e.g.\n  ${ctx.commandLine({ podServiceAccount: `${ctx.inputs.podServiceAccount}-2` })}\n` +
          `or, if that association is meant for these task pods, point it at the pods' role yourself, then run init again:\n  aws eks update-pod-identity-association --cluster-name ${ctx.inputs.clusterName} --region ${ctx.inputs.region} --association-id ${a.associationId} --role-arn ${roleArn}`,
      );
    }
    return `the EKS Pod Identity association ${a.associationId} of ${where} (made by this project) names ${a.roleArn}, not ${roleArn}`;
  }
  return Object.keys(marksToAdd(associationUses(a), ctx.owner.projectId, ctx.inputs.workloadIdentities)).length ? `EKS Pod Identity association ${a.associationId} does not carry this project's use mark yet` : undefined;
}

function outputs(ctx: Ctx, created: boolean, a: PodIdentityAssociation | null | undefined, madeNow = false): Out {
  const mode = modeOf(ctx);
  const roleArn = roleArnOf(ctx);
  const assoc = mode === 'pod-identity' && a?.associationId ? { association: { id: a.associationId, arn: a.associationArn ?? '', createdByUs: madeNow || associationOurs(ctx, a) } } : {};
  return { enabled: true, namespace: ctx.inputs.namespace, serviceAccount: ctx.inputs.podServiceAccount, created, ...(mode ? { mode } : {}), ...(roleArn ? { roleArn } : {}), ...assoc };
}

/** Makes the association as wanted; returns what it did (for the summary) and the association. */
async function applyAssociation(ctx: Ctx, seen: PodIdentityAssociation | null): Promise<{ did?: string; a: PodIdentityAssociation | null; madeNow: boolean }> {
  const { clusterName, namespace, podServiceAccount } = ctx.inputs;
  const eks = await ctx.aws.eks();
  const roleArn = roleArnOf(ctx)!;
  const profile = ctx.aws.profile;
  let a = seen;
  // A role created seconds ago may not be visible to EKS yet ("Role provided in the request does not exist").
  const propagated = <T>(fn: () => Promise<T>) => retryIamPropagation(fn, { afterCreate: false, progress: (t) => ctx.progress(t), debug: (t) => ctx.debug(t), signal: ctx.signal });
  if (modeOf(ctx) !== 'pod-identity') {
    if (!a || !associationOurs(ctx, a)) return { a: null, madeNow: false };
    await callAws(`deleting EKS Pod Identity association ${a.associationId}`, profile, () => deleteAssociation(eks, clusterName, a!.associationId!));
    return { did: `deleted our EKS Pod Identity association ${a.associationId} (IRSA now)`, a: null, madeNow: false };
  }
  if (!a) {
    await ctx.owner.intend(assocIntent(ctx));
    const made = await callAws(`creating the EKS Pod Identity association of ${namespace}/${podServiceAccount}`, profile, () =>
      propagated(() => createAssociation(eks, { clusterName, namespace, serviceAccount: podServiceAccount, roleArn, projectId: ctx.owner.projectId, workloadIdentities: ctx.inputs.workloadIdentities })),
    );
    if (made) return { did: `created EKS Pod Identity association ${made.associationId} (${namespace}/${podServiceAccount} → ${roleArn})`, a: made, madeNow: true };
    a = await readAssociation(ctx); // made meanwhile by someone else: judged as found
    if (!a) throw new KpoError('KEEPS_CHANGING', `the EKS Pod Identity association of ${namespace}/${podServiceAccount} was reported to exist, but cannot be found.`, 'Run the same command again.');
  }
  associationTodo(ctx, a, true);
  if (a.roleArn !== roleArn) {
    const updated = await callAws(`pointing EKS Pod Identity association ${a.associationId} at ${roleArn}`, profile, () => propagated(() => updateAssociationRole(eks, clusterName, a!.associationId!, roleArn)));
    return { did: `pointed our EKS Pod Identity association ${a.associationId} at ${roleArn}`, a: updated ?? a, madeNow: false };
  }
  const add = marksToAdd(associationUses(a), ctx.owner.projectId, ctx.inputs.workloadIdentities);
  if (!Object.keys(add).length) return { a, madeNow: false };
  await callAws(`marking EKS Pod Identity association ${a.associationId} as used`, profile, () => associationUseMarks(eks, a!).add(add));
  return { did: `marked EKS Pod Identity association ${a.associationId} as used by this project`, a, madeNow: false };
}

export const podServiceAccountStage = defineStage({
  id: 'pod-service-account',
  title: "The task pods' ServiceAccount and its link to the role",
  needs: ['pod-identity', 'pod-role', 'namespace', 'preflight'],
  // profile, region, clusterName: the cluster its record is about; podRole: the role it names.
  inputs: ['profile', 'region', 'clusterName', 'namespace', 'podServiceAccount', 'podPolicyArns', 'podRole', 'workloadIdentities'],
  services: ['aws', 'kube', 'owner', 'commandLine'],

  async check(ctx): Promise<CheckResult<Out, Seen>> {
    if (!on(ctx)) return { done: true, reason: OFF_REASON, outputs: { ...history(ctx), enabled: false } };
    const want = wantedAnnotation(modeOf(ctx), roleArnOf(ctx));
    const ops = guardedOps(ctx, want);
    let current: KubeObject | undefined;
    // The ServiceAccount and the association are independent reads: asked together.
    const [why, association] = await together([outOfSync(checkOps(ops, (c) => (current = c))), wantsAssociationRead(ctx) ? readAssociation(ctx) : Promise.resolve(undefined)]);
    const todo = why ?? unmarkedReason(ops.label, current, ctx.owner.projectId, ctx.inputs.workloadIdentities) ?? (association !== undefined ? associationTodo(ctx, association, false) : undefined);
    if (todo) return { done: false, reason: todo, seen: { current, ...(association !== undefined ? { association } : {}) } };
    const created = ownedByUs(ctx, ops.label, history(ctx).created, current);
    const link = modeOf(ctx) === 'irsa' ? `annotated ${want}` : `EKS Pod Identity association ${association?.associationId ?? ''} → ${roleArnOf(ctx) ?? ''}`;
    return { done: true, reason: `ServiceAccount ${ctx.inputs.podServiceAccount} (${created ? 'created by this project' : 'found, not ours'}) ${link}`, outputs: outputs(ctx, created, association) };
  },

  async run(ctx, seen) {
    if (!on(ctx)) return { outputs: { ...history(ctx), enabled: false }, summary: OFF_REASON };
    const want = wantedAnnotation(modeOf(ctx), roleArnOf(ctx));
    const ops = guardedOps(ctx, want);
    let current: KubeObject | undefined;
    const r = await reconcile(runOps(ctx, ops, seen, (c) => (current = c)));
    const marked = await markUsed(ops, current, ctx.owner.projectId, ctx.inputs.workloadIdentities);
    const created = r.created || ownedByUs(ctx, ops.label, history(ctx).created, current);
    const first = seen?.association !== undefined ? seen.association : wantsAssociationRead(ctx) ? await readAssociation(ctx) : null;
    const link = await applyAssociation(ctx, first);
    const did = [
      ...(r.created ? [`created ServiceAccount ${ctx.inputs.podServiceAccount}${want ? ` (annotated ${want})` : ''}`] : r.changed.map((c) => `ServiceAccount ${ctx.inputs.podServiceAccount}: ${c}`)),
      ...(marked ? [`ServiceAccount ${ctx.inputs.podServiceAccount}: ${marked}`] : []),
      ...(link.did ? [link.did] : []),
    ];
    return { outputs: outputs(ctx, created, link.a, link.madeNow), summary: did.length ? did.join('; ') : `ServiceAccount ${ctx.inputs.podServiceAccount} and its link already as wanted` };
  },

  async plan(ctx) {
    if (!on(ctx)) return { items: [{ action: `nothing for the task pods (${OFF_REASON})` }], outputs: { enabled: false } };
    const mode = modeOf(ctx);
    const account = ctx.tryOutput('preflight')?.accountId ?? '<account-id>';
    const roleArn = roleArnOf(ctx) || `arn:${partitionOf(ctx.inputs.region)}:iam::${account}:role/${ctx.inputs.podRole}`;
    const want = wantedAnnotation(mode, roleArn);
    const ops = guardedOps(ctx, want);
    const p = await planOwned(ctx, ops, ctx.inputs.namespace);
    const items: PlanItem[] = [...p.items, ...(await planMark(ops, p.exists, ctx.owner.projectId, ctx.inputs.workloadIdentities))];
    const where = `${ctx.inputs.namespace}/${ctx.inputs.podServiceAccount}`;
    if (!mode) items.push({ action: `then link it to ${roleArn}: with IRSA the annotation eks.amazonaws.com/role-arn: ${roleArn}; with EKS Pod Identity an association ${where} → ${roleArn} (CreatePodIdentityAssociation)` });
    else if (mode === 'pod-identity') {
      try {
        const a = await readAssociation(ctx);
        const todo = associationTodo(ctx, a, false);
        items.push({ action: !a ? `create EKS Pod Identity association ${where} → ${roleArn} on cluster ${ctx.inputs.clusterName} (tag managed-by=astro-remote-kpo)` : todo ? `fix: ${todo}` : `exists: EKS Pod Identity association ${a.associationId} ${where} → ${roleArn} (skip)` });
      } catch (err) {
        items.push({ action: `create EKS Pod Identity association ${where} → ${roleArn} (if there is none)`, unknown: errorMessage(err) });
      }
    }
    return { items, outputs: { enabled: true, namespace: ctx.inputs.namespace, serviceAccount: ctx.inputs.podServiceAccount, created: !p.exists, ...(mode ? { mode } : {}), roleArn } };
  },
});

// Stage 15: the task pods' IAM role. Its trust is exactly one statement for the pods'
// ServiceAccount (src/aws/pod-trust.ts: IRSA through the cluster's OIDC provider, or EKS Pod
// Identity scoped by its session tags to this cluster, namespace and ServiceAccount); the
// --pod-policy-arn policies are attached, and of the others only those this project attached are
// detached (least privilege, never more). A role this project created is put right; any other is
// used only when its trust is already exactly that (never a takeover), and marked as used when
// another project of this tool made it. Feature off: what this project attached is detached, so
// the pods' role grants nothing any more (the role itself goes with destroy).
import { callAws } from '../aws/errors.js';
import { createdByProject } from '../aws/iam-role.js';
import { applyPodRole, describePodRoleAction, foreignTrust, inspectPodRole, pendingPodRoleActions, type DesiredPodRole, type PodRoleInspection } from '../aws/pod-role.js';
import { oidcProviderArn, podTrust, type PodTrustSpec } from '../aws/pod-trust.js';
import { hasManagedTag } from '../aws/use-marks.js';
import { clusterArn, intentName, partitionOf } from '../desired.js';
import { defineStage, type StageContext } from '../engine/stage.js';
import { KpoError, errorMessage } from '../errors.js';
import type { CheckResult, PlanItem, StageOutputs } from '../types.js';
import { OFF_REASON } from './pod-identity.js';

type Out = StageOutputs['pod-role'];
type Ctx = StageContext<{
  inputs: 'clusterName' | 'region' | 'namespace' | 'podRole' | 'podPolicyArns' | 'podServiceAccount' | 'workloadIdentities';
  services: 'aws' | 'owner' | 'commandLine';
  needs: 'pod-identity' | 'cluster' | 'preflight';
  own: 'pod-role';
}>;

/** This stage's history, when it is about the role named now (another --pod-role's is not). */
function recorded(ctx: Ctx): Out | undefined {
  const p = ctx.previousOutput('pod-role');
  return p?.roleArn && !p.roleArn.endsWith(`/${ctx.inputs.podRole}`) ? undefined : p;
}

const on = (ctx: Ctx) => ctx.inputs.podPolicyArns.length > 0;

/** The trust as run() would write it; placeholders where the plan cannot know yet. */
function trustSpec(ctx: Pick<Ctx, 'inputs' | 'tryOutput'>, mode: 'irsa' | 'pod-identity'): PodTrustSpec {
  const id = ctx.tryOutput('pod-identity');
  const account = ctx.tryOutput('preflight')?.accountId ?? '<account-id>';
  const issuer = id?.issuer ?? `https://oidc.eks.${ctx.inputs.region}.amazonaws.com/id/<the cluster's OIDC id>`;
  return {
    mode,
    clusterArn: ctx.tryOutput('cluster')?.clusterArn || clusterArn(ctx.inputs, account),
    issuer,
    oidcProviderArn: id?.oidcProviderArn ?? oidcProviderArn(partitionOf(ctx.inputs.region), account, issuer),
    namespace: ctx.inputs.namespace,
    serviceAccount: ctx.inputs.podServiceAccount,
  };
}

function desired(ctx: Ctx): DesiredPodRole {
  const mode = on(ctx) ? ctx.tryOutput('pod-identity')?.mode : undefined;
  return {
    roleName: ctx.inputs.podRole,
    ...(mode ? { trust: podTrust(trustSpec(ctx, mode)) } : {}),
    policies: on(ctx) ? ctx.inputs.podPolicyArns : [],
    attachedByUsBefore: recorded(ctx)?.attachedByUs ?? [],
    serviceAccount: ctx.inputs.podServiceAccount,
    ...(ctx.owner.projectId ? { projectId: ctx.owner.projectId } : {}),
    workloadIdentities: ctx.inputs.workloadIdentities,
  };
}

/** Ours: recorded, or tagged at creation with our project id (or with our intent to create it). */
function ours(ctx: Ctx, i: PodRoleInspection): boolean {
  const before = recorded(ctx)?.createdByUs;
  if (before !== undefined) return before;
  return createdByProject(i.role, ctx.owner.projectId, ctx.owner.intended(intentName.iamRole(ctx.inputs.podRole)));
}

function whose(ctx: Ctx, i: PodRoleInspection): string {
  if (ours(ctx, i)) return 'created by this project';
  return hasManagedTag(i.role) ? 'created by another astro-remote-kpo project' : 'not created by astro-remote-kpo';
}

/** Never a takeover: a role this project did not create is used only with exactly our trust. */
function refuseForeign(ctx: Ctx, i: PodRoleInspection, d: DesiredPodRole): void {
  const found = foreignTrust(i, d, ours(ctx, i));
  if (!found.length) return;
  const name = ctx.inputs.podRole;
  throw new KpoError(
    'POD_ROLE_TAKEOVER_REFUSED',
    `IAM role ${name} exists, was ${whose(ctx, i)}, and its trust policy is not exactly the one init would make for the task pods: ${found.join('; ')}. init does not change what this project did not create: nothing was changed.`,
    `Either let init make its own: pick another --pod-role, e.g.\n  ${ctx.commandLine({ podRole: `${name}2`.slice(0, 64) })}\n` +
      `or, if role ${name} is meant for these task pods only, give it exactly this trust policy yourself (aws iam update-assume-role-policy --role-name ${name} --policy-document file://trust.json), then run init again:\n${JSON.stringify(d.trust, null, 2)}`,
  );
}

function outputs(ctx: Ctx, i: PodRoleInspection, attachedByUs: string[], createdNow = false): Out {
  if (!i.role) return { enabled: on(ctx), attachedByUs: [] };
  return {
    enabled: on(ctx),
    roleArn: i.role.Arn ?? '',
    createdByUs: createdNow || ours(ctx, i),
    attachedByUs,
    ...(on(ctx) ? { policies: [...ctx.inputs.podPolicyArns] } : {}),
  };
}

const inspect = async (ctx: Ctx) => callAws(`reading IAM role ${ctx.inputs.podRole}`, ctx.aws.profile, async () => inspectPodRole(await ctx.aws.iam(), ctx.inputs.podRole));

export const podRoleStage = defineStage({
  id: 'pod-role',
  title: "The task pods' IAM role",
  needs: ['pod-identity', 'cluster', 'preflight'],
  // namespace, podServiceAccount: the only ServiceAccount its trust names; clusterName, region: the
  // cluster (Pod Identity's condition); workloadIdentities: this project's use mark.
  inputs: ['profile', 'region', 'clusterName', 'namespace', 'podRole', 'podPolicyArns', 'podServiceAccount', 'workloadIdentities'],
  services: ['aws', 'owner', 'commandLine'],

  async check(ctx): Promise<CheckResult<Out, { insp: PodRoleInspection }>> {
    const d = desired(ctx);
    // Off, with nothing of ours attached: not even a read.
    if (!on(ctx) && !d.attachedByUsBefore.length) return { done: true, reason: OFF_REASON, outputs: { ...recorded(ctx), enabled: false, attachedByUs: [] } };
    const insp = await inspect(ctx);
    if (on(ctx)) refuseForeign(ctx, insp, d);
    const todo = pendingPodRoleActions(insp, d);
    if (todo.length) return { done: false, reason: todo.map((a) => describePodRoleAction(a, d)).join('; '), seen: { insp } };
    const attached = d.attachedByUsBefore.filter((a) => insp.attached.includes(a));
    if (!on(ctx)) return { done: true, reason: OFF_REASON, outputs: outputs(ctx, insp, attached) };
    return {
      done: true,
      reason: `IAM role ${d.roleName} (${whose(ctx, insp)}) trusts only ServiceAccount ${ctx.inputs.podServiceAccount} and has ${d.policies.join(', ')}`,
      outputs: outputs(ctx, insp, attached),
    };
  },

  async run(ctx, seen) {
    const d = desired(ctx);
    const iam = await ctx.aws.iam();
    const insp = seen?.insp ?? (await inspect(ctx));
    if (on(ctx)) refuseForeign(ctx, insp, d);
    const r = await callAws(`setting up IAM role ${d.roleName} for the task pods`, ctx.aws.profile, () =>
      applyPodRole(iam, d, insp, {
        progress: (t) => ctx.progress(t),
        debug: (t) => ctx.debug(t),
        signal: ctx.signal,
        beforeCreate: () => ctx.owner.intend(intentName.iamRole(d.roleName)),
        beforeAttach: (arn) => ctx.owner.intend(intentName.attachedPolicy(d.roleName, arn)),
        judgeFound: (found) => refuseForeign(ctx, found, d),
      }),
    );
    const what = r.applied.length ? r.applied.map((a) => describePodRoleAction(a, d)).join('; ') : `IAM role ${d.roleName} already as wanted`;
    return { outputs: outputs(ctx, { ...insp, ...(r.role ? { role: r.role } : {}) }, r.attachedByUs, r.created), summary: on(ctx) ? what : `${what} (${OFF_REASON})` };
  },

  async plan(ctx) {
    const d = desired(ctx);
    const mode = ctx.tryOutput('pod-identity')?.mode;
    if (!on(ctx) && !d.attachedByUsBefore.length) return { items: [{ action: `nothing for the task pods (${OFF_REASON})` }], outputs: { enabled: false, attachedByUs: [] } };
    // Without the mode (no credentials, auto), both trusts are shown: one of them will be written.
    const trusts = (mode ? [mode] : (['irsa', 'pod-identity'] as const)).map((m) => `trust policy (${m === 'irsa' ? 'IRSA' : 'EKS Pod Identity'}${mode ? '' : ', if the cluster decides so'}):\n${JSON.stringify(podTrust(trustSpec(ctx, m)), null, 2)}`).join('\n');
    let insp: PodRoleInspection;
    try {
      if (!ctx.tryOutput('preflight')?.accountId) throw new Error('the AWS account is unknown (no identity)');
      insp = await inspectPodRole(await ctx.aws.iam(), d.roleName);
    } catch (err) {
      const items: PlanItem[] = on(ctx)
        ? [{ action: `create IAM role ${d.roleName} for the task pods (if it does not exist), trusted only by ServiceAccount ${ctx.inputs.podServiceAccount} in namespace ${ctx.inputs.namespace}`, details: trusts, unknown: `could not read IAM role ${d.roleName}: ${errorMessage(err)}` }, ...d.policies.map((arn) => ({ action: `attach ${arn} to ${d.roleName}` }))]
        : d.attachedByUsBefore.map((arn) => ({ action: `detach ${arn} from ${d.roleName} if attached (this project attached it; ${OFF_REASON})` }));
      return { items, outputs: { enabled: on(ctx), attachedByUs: [] } };
    }
    const items: PlanItem[] = [];
    try {
      if (on(ctx) && d.trust) refuseForeign(ctx, insp, d);
    } catch (err) {
      return { items: [{ action: `use IAM role ${d.roleName} as found`, unknown: `init will refuse: ${errorMessage(err)}` }], outputs: outputs(ctx, insp, []) };
    }
    const todo = d.trust || !on(ctx) ? pendingPodRoleActions(insp, d) : [];
    for (const a of todo) items.push({ action: describePodRoleAction(a, d), ...(a.kind === 'create-role' || a.kind === 'set-trust' ? { details: trusts } : {}) });
    if (!todo.length) items.push({ action: insp.role ? `exists: IAM role ${d.roleName} (${whose(ctx, insp)}) as wanted (skip)` : `create IAM role ${d.roleName} once the mode is known`, ...(insp.role ? {} : { details: trusts }) });
    return { items, outputs: { ...outputs(ctx, insp, []), ...(insp.role ? {} : { roleArn: `arn:${partitionOf(ctx.inputs.region)}:iam::${ctx.tryOutput('preflight')!.accountId}:role/${d.roleName}` }) } };
  },
});

// Stage 5: the IAM role the Deployments' workload identities assume. Trust: every workload
// identity, and with --local-dev the caller's own role or user (added to, never replacing,
// whatever principals an existing role has). Permissions: one inline
// policy allowing eks:DescribeCluster on this cluster (scoped, default) or the seed's three
// managed policies (seed). Only what is missing is changed. The role is ours only when this
// project created it (state, or its creation tag with our project id); a role another project or
// person made is used, recorded as found, and only what we added to it is ours to take out.
import type { Role } from '@aws-sdk/client-iam';
import type { DesiredRole } from '../aws/iam-role.js';
import { defineStage } from '../engine/stage.js';
import type { PlanItem, StageOutputs } from '../types.js';
import { applyRole, createdByProject, describeAction, inspectRole, pendingActions, roleQuery } from '../aws/iam-role.js';
import { hasManagedTag } from '../aws/use-marks.js';
import { trustWith } from '../aws/trust-policy.js';
import { callAws } from '../aws/errors.js';
import { errorMessage } from '../errors.js';
import { inlinePolicyName, intentName, partitionOf, permissionsPolicy, seedPolicyArns } from '../desired.js';

import { localPrincipal, look, seedAttachedBefore, type Ctx } from './iam-role-look.js';

type Out = StageOutputs['iam-role'];

const ACCOUNT_PLACEHOLDER = '<account-id>';

/** What an earlier run recorded, kept across a change of inputs (e.g. one more workload identity):
 * ownership history (created, attached, trust principals added) must never be forgotten. */
const recorded = (ctx: Ctx): Out | undefined => ctx.previousOutput('iam-role');

function desired(ctx: Ctx, accountId: string, local?: string): DesiredRole {
  // --local-dev dropped: the caller an earlier run trusted for it goes again (least privilege).
  const wasLocal = recorded(ctx)?.localDevPrincipal;
  const revoke = wasLocal && wasLocal !== local && !ctx.inputs.workloadIdentities.includes(wasLocal) ? [wasLocal] : [];
  const seedArns = seedPolicyArns(ctx.inputs.region);
  return {
    roleName: ctx.inputs.iamRole,
    principals: local && !ctx.inputs.workloadIdentities.includes(local) ? [...ctx.inputs.workloadIdentities, local] : ctx.inputs.workloadIdentities,
    mode: ctx.inputs.permissions,
    inlineName: inlinePolicyName(ctx.inputs.iamRole),
    inlineDoc: permissionsPolicy(ctx.inputs, accountId),
    seedArns,
    attachedByUsBefore: seedAttachedBefore(ctx),
    revoke,
    clusterName: ctx.inputs.clusterName,
    projectId: ctx.owner.projectId,
    workloadIdentities: ctx.inputs.workloadIdentities,
  };
}

/** The write-ahead intents' names (desired.ts): a principal added to a found role's trust policy,
 * our inline policy put on a found role. destroy undoes them whatever became of the stage. */
const principalIntent = intentName.trustPrincipal;
const inlineIntent = intentName.inlinePolicy;

/** Ours: recorded by an earlier run, tagged at creation with our project id, or our intent was
 * recorded and the role carries our creation tag (a run killed right after CreateRole). */
async function ours(ctx: Ctx, role: Role | undefined, createdNow: boolean): Promise<boolean> {
  if (createdNow) return true;
  // A record (created or found) stands; the proofs below are for a run that never recorded one.
  const before = recorded(ctx)?.createdByUs;
  if (before !== undefined) return before;
  return createdByProject(role, ctx.owner.projectId, ctx.owner.intended(intentName.iamRole(ctx.inputs.iamRole)));
}

/** Our inline policy is recorded (for destroy) when the role is ours, or when this project put it
 * on a found role where it was missing; a found role's own copy is never ours to delete. */
function inlineRecorded(ctx: Ctx, dr: DesiredRole, createdByUs: boolean, addedNow: boolean): boolean {
  if (dr.mode !== 'scoped') return false;
  // An earlier run killed right after putting it knows it by its intent.
  return createdByUs || addedNow || recorded(ctx)?.inlinePolicy === dr.inlineName || ctx.owner.intended(inlineIntent(dr.roleName, dr.inlineName));
}

/** What init has put into the role's trust policy, over all runs (previous ones in state, plus
 * `addedNow`; when it created the role, every principal it was made with): a role others use too
 * outlives this project's destroy, which takes out exactly these. */
function trustAdded(ctx: Ctx, dr: DesiredRole, addedNow: readonly string[] = [], removedNow: readonly string[] = []): string[] {
  // recorded(): the history survives a change of inputs (e.g. one more workload identity).
  const before = recorded(ctx)?.trustPrincipalsAdded ?? [];
  // A run killed right after adding one knows it by its intent (the principal is there now).
  const intended = dr.principals.filter((p) => ctx.owner.intended(principalIntent(dr.roleName, p)));
  return [...new Set([...before, ...intended, ...addedNow])].filter((p) => !removedNow.includes(p));
}

function outputs(dr: DesiredRole, roleArn: string, createdByUs: boolean, attachedByUs: string[], trust: string[], inline: boolean, local?: string): Out {
  return {
    roleArn,
    createdByUs,
    ...(inline ? { inlinePolicy: dr.inlineName } : {}),
    attachedPolicies: attachedByUs,
    ...(trust.length ? { trustPrincipalsAdded: trust } : {}),
    ...(local ? { localDevPrincipal: local } : {}),
  };
}

export const iamRoleStage = defineStage({
  id: 'iam-role',
  title: 'IAM role',
  needs: ['preflight'],
  // permissions: what the role may do. Across a scoped<->seed switch the record goes stale, and
  // its history (previousOutput) still tells run() which seed policies WE attached. profile: the
  // account the role is in; clusterName, region: the scoped policy's cluster ARN.
  inputs: ['iamRole', 'workloadIdentities', 'localDev', 'clusterName', 'region', 'permissions', 'profile'],
  services: ['aws', 'owner'],

  async check(ctx) {
    const seen = await look(ctx);
    const { local, warnings, insp } = seen;
    const dr = desired(ctx, ctx.output('preflight').accountId, local);
    if (!insp.role) return { done: false, reason: `role ${dr.roleName} does not exist`, seen };
    const todo = pendingActions(insp, dr);
    if (todo.length > 0) return { done: false, reason: todo.map((a) => describeAction(a, dr)).join('; '), seen };
    const createdByUs = await ours(ctx, insp.role, false);
    const attached = dr.mode === 'seed' ? dr.attachedByUsBefore.filter((a) => insp.attached?.includes(a)) : [];
    return {
      done: true,
      reason: `role ${dr.roleName} trusts ${dr.principals.join(', ')} and has the ${dr.mode} permissions${createdByUs ? '' : hasManagedTag(insp.role) ? ' (made by another astro-remote-kpo project: shared, only the last project\'s destroy deletes it)' : ' (found: not created by this tool, kept by destroy)'}`,
      outputs: outputs(dr, insp.role.Arn ?? '', createdByUs, attached, trustAdded(ctx, dr), inlineRecorded(ctx, dr, createdByUs, false), local),
      ...(warnings.length ? { warnings } : {}),
      // role-arn would read the very role again.
      handoff: { 'role-arn': { role: insp.role } },
    };
  },

  async run(ctx, seen) {
    // --from/--only force run() without a check: it looks itself.
    const { local, warnings, insp } = seen ?? (await look(ctx));
    const dr = desired(ctx, ctx.output('preflight').accountId, local);
    const iam = await ctx.aws.iam();
    const r = await callAws(`setting up IAM role ${dr.roleName}`, ctx.aws.profile, () =>
      applyRole(iam, dr, {
        progress: (t) => ctx.progress(t),
        debug: (t) => ctx.debug(t),
        signal: ctx.signal,
        beforeCreate: () => ctx.owner.intend(intentName.iamRole(dr.roleName)),
        beforeAddPrincipals: async (ps) => {
          for (const p of ps) await ctx.owner.intend(principalIntent(dr.roleName, p));
        },
        beforePutInline: () => ctx.owner.intend(inlineIntent(dr.roleName, dr.inlineName)),
      }, insp),
    );
    const createdByUs = await ours(ctx, r.role, r.created);
    const removedNow = r.applied.flatMap((a) => (a.kind === 'remove-principal' ? [a.principal] : []));
    for (const a of r.applied) ctx.debug(`iam-role: ${describeAction(a, dr)}`);
    const what = r.created
      ? `created IAM role ${dr.roleName}`
      : r.applied.length > 0
        ? `updated IAM role ${dr.roleName}: ${r.applied.map((a) => describeAction(a, dr)).join('; ')}`
        : `IAM role ${dr.roleName} already as wanted`;
    return {
      outputs: outputs(dr, r.role.Arn ?? '', createdByUs, r.attachedByUs, trustAdded(ctx, dr, r.trustAdded, removedNow), inlineRecorded(ctx, dr, createdByUs, r.inlineAdded), local),
      summary: `${what} (${r.role.Arn ?? ''}, --permissions ${dr.mode})`,
      ...(warnings.length ? { warnings } : {}),
      // A role it found: role-arn need not read it again. One it created: role-arn waits until IAM shows it.
      ...(r.created ? {} : { handoff: { 'role-arn': { role: r.role } } }),
    };
  },

  async plan(ctx) {
    const accountId = ctx.tryOutput('preflight')?.accountId;
    // --local-dev: the caller as run() will name it (GetRole is read-only); unknown without an identity.
    const local = await localPrincipal(ctx, []).catch(() => undefined);
    const dr = desired(ctx, accountId ?? ACCOUNT_PLACEHOLDER, local);
    let trust = JSON.stringify(trustWith(undefined, dr.principals), null, 2);
    const details = (a: { kind: string }) =>
      a.kind === 'create-role' || a.kind === 'add-principal'
        ? `trust policy:\n${trust}`
        : a.kind === 'put-inline'
          ? `${dr.inlineName}:\n${JSON.stringify(dr.inlineDoc, null, 2)}`
          : undefined;
    const predictedArn = accountId ? `arn:${partitionOf(ctx.inputs.region)}:iam::${accountId}:role/${dr.roleName}` : '';
    const guess: Out = { roleArn: predictedArn, createdByUs: true, ...(dr.mode === 'scoped' ? { inlinePolicy: dr.inlineName } : {}), attachedPolicies: [] };
    let insp: Awaited<ReturnType<typeof inspectRole>>;
    try {
      if (!accountId) throw new Error('the AWS account is unknown (no identity)');
      insp = await inspectRole(await ctx.aws.iam(), roleQuery(dr));
    } catch (err) {
      const unknown = `could not read IAM role ${dr.roleName}: ${errorMessage(err)}`;
      const items: PlanItem[] = pendingActions({}, dr).map((a, i) => ({
        action: `${describeAction(a, dr)} (if it does not exist)`,
        ...(details(a) ? { details: details(a) } : {}),
        ...(i === 0 ? { unknown } : {}),
      }));
      return { items, outputs: guess };
    }
    // An existing role keeps its other principals: show the merged document.
    trust = JSON.stringify(trustWith(insp.trust, dr.principals), null, 2);
    const todo = pendingActions(insp, dr);
    if (todo.length === 0) {
      return { items: [{ action: `exists: role ${dr.roleName} trusts ${dr.principals.join(', ')} with the ${dr.mode} permissions (skip)` }], outputs: { ...guess, roleArn: insp.role?.Arn ?? predictedArn, createdByUs: false } };
    }
    const items: PlanItem[] = todo.map((a) => ({ action: describeAction(a, dr), ...(details(a) ? { details: details(a) } : {}) }));
    return { items, outputs: { ...guess, roleArn: insp.role?.Arn ?? predictedArn } };
  },
});

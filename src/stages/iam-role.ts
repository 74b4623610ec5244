// Stage 5: the IAM role the Deployment's workload identity assumes. Trust: the workload identity
// (added to, never replacing, whatever principals an existing role has). Permissions: one inline
// policy allowing eks:DescribeCluster on this cluster (scoped, default) or the seed's three
// managed policies (seed). Only what is missing is changed. The role is ours only when this
// project created it (state, or its creation tag with our project id); a role another project or
// person made is used, recorded as found, and only what we added to it is ours to take out.
import type { Role } from '@aws-sdk/client-iam';
import type { DesiredRole } from '../aws/iam-role.js';
import type { Stage, StageContext } from '../engine/stage.js';
import type { PlanItem, StageOutputs } from '../types.js';

type Out = StageOutputs['iam-role'];

const ACCOUNT_PLACEHOLDER = '<account-id>';

async function desired(ctx: StageContext, accountId: string): Promise<DesiredRole> {
  const d = await import('../desired.js');
  const seedArns = d.seedPolicyArns(ctx.inputs.region);
  const before = ctx.tryOutput('iam-role')?.attachedPolicies ?? [];
  return {
    roleName: ctx.inputs.iamRole,
    workloadIdentity: ctx.inputs.workloadIdentity,
    mode: ctx.inputs.permissions,
    inlineName: d.inlinePolicyName(ctx.inputs.iamRole),
    inlineDoc: d.permissionsPolicy(ctx.inputs, accountId),
    seedArns,
    attachedByUsBefore: before.filter((a) => seedArns.includes(a)),
    clusterName: ctx.inputs.clusterName,
    projectId: ctx.owner.projectId,
  };
}

/** The write-ahead intents' names: the role, a principal added to a found role's trust policy,
 * our inline policy put on a found role. */
const intentOf = (roleName: string) => `IAM role ${roleName}`;
const principalIntent = (roleName: string, principal: string) => `trust principal ${principal} on IAM role ${roleName}`;
const inlineIntent = (roleName: string, policy: string) => `inline policy ${policy} on IAM role ${roleName}`;

/** Ours: recorded by an earlier run, tagged at creation with our project id, or our intent was
 * recorded and the role carries our creation tag (a run killed right after CreateRole). */
async function ours(ctx: StageContext, role: Role | undefined, createdNow: boolean): Promise<boolean> {
  if (createdNow) return true;
  // A record (created or found) stands; the proofs below are for a run that never recorded one.
  const recorded = ctx.tryOutput('iam-role')?.createdByUs;
  if (recorded !== undefined) return recorded;
  const { createdByProject, hasManagedTag, projectTagOf } = await import('../aws/iam-role.js');
  const other = projectTagOf(role);
  return (
    createdByProject(role, ctx.owner.projectId) ||
    (ctx.owner.intended(intentOf(ctx.inputs.iamRole)) && hasManagedTag(role) && (other === undefined || other === ctx.owner.projectId))
  );
}

/** Our inline policy is recorded (for destroy) when the role is ours, or when this project put it
 * on a found role where it was missing; a found role's own copy is never ours to delete. */
function inlineRecorded(ctx: StageContext, dr: DesiredRole, createdByUs: boolean, addedNow: boolean): boolean {
  if (dr.mode !== 'scoped') return false;
  // An earlier run killed right after putting it knows it by its intent.
  return createdByUs || addedNow || ctx.tryOutput('iam-role')?.inlinePolicy === dr.inlineName || ctx.owner.intended(inlineIntent(dr.roleName, dr.inlineName));
}

/** What init has added to an existing role's trust policy, over all runs (previous ones in state,
 * plus `addedNow`); nothing for a role of ours, which destroy deletes whole. */
function trustAdded(ctx: StageContext, createdByUs: boolean, addedNow: readonly string[] = []): string[] {
  if (createdByUs) return [];
  const before = ctx.tryOutput('iam-role')?.trustPrincipalsAdded ?? [];
  // A run killed right after adding it knows it by its intent (the principal is there now).
  const wi = ctx.inputs.workloadIdentity;
  const intended = ctx.owner.intended(principalIntent(ctx.inputs.iamRole, wi)) ? [wi] : [];
  return [...new Set([...before, ...intended, ...addedNow])];
}

function outputs(dr: DesiredRole, roleArn: string, createdByUs: boolean, attachedByUs: string[], trust: string[], inline: boolean): Out {
  return {
    roleArn,
    createdByUs,
    ...(inline ? { inlinePolicy: dr.inlineName } : {}),
    attachedPolicies: attachedByUs,
    ...(trust.length ? { trustPrincipalsAdded: trust } : {}),
  };
}

export const iamRoleStage: Stage<'iam-role'> = {
  id: 'iam-role',
  title: 'IAM role',
  needs: ['preflight'],
  // Not 'permissions': check() compares the live role with the current mode anyway, and keeping
  // the recorded outputs across a scoped<->seed switch tells run() which seed policies WE attached.
  inputs: ['iamRole', 'workloadIdentity', 'clusterName', 'region'],

  async check(ctx) {
    const [{ inspectRole, pendingActions, describeAction }, { callAws }] = await Promise.all([
      import('../aws/iam-role.js'),
      import('../aws/errors.js'),
    ]);
    const dr = await desired(ctx, ctx.output('preflight').accountId);
    const iam = await ctx.aws.iam();
    const insp = await callAws(`reading IAM role ${dr.roleName}`, ctx.aws.profile, () => inspectRole(iam, dr));
    if (!insp.role) return { done: false, reason: `role ${dr.roleName} does not exist` };
    const todo = pendingActions(insp, dr);
    if (todo.length > 0) return { done: false, reason: todo.map((a) => describeAction(a, dr)).join('; ') };
    const createdByUs = await ours(ctx, insp.role, false);
    const attached = dr.mode === 'seed' ? dr.attachedByUsBefore.filter((a) => insp.attached?.includes(a)) : [];
    return {
      done: true,
      reason: `role ${dr.roleName} trusts ${dr.workloadIdentity} and has the ${dr.mode} permissions${createdByUs ? '' : ' (found: not created by this project, kept by destroy)'}`,
      outputs: outputs(dr, insp.role.Arn ?? '', createdByUs, attached, trustAdded(ctx, createdByUs), inlineRecorded(ctx, dr, createdByUs, false)),
    };
  },

  async run(ctx) {
    const [{ applyRole, describeAction }, { callAws }] = await Promise.all([import('../aws/iam-role.js'), import('../aws/errors.js')]);
    const dr = await desired(ctx, ctx.output('preflight').accountId);
    const iam = await ctx.aws.iam();
    const r = await callAws(`setting up IAM role ${dr.roleName}`, ctx.aws.profile, () =>
      applyRole(iam, dr, {
        progress: (t) => ctx.progress(t),
        debug: (t) => ctx.debug(t),
        signal: ctx.signal,
        beforeCreate: () => ctx.owner.intend(intentOf(dr.roleName)),
        beforeAddPrincipals: async (ps) => {
          for (const p of ps) await ctx.owner.intend(principalIntent(dr.roleName, p));
        },
        beforePutInline: () => ctx.owner.intend(inlineIntent(dr.roleName, dr.inlineName)),
      }),
    );
    const createdByUs = await ours(ctx, r.role, r.created);
    for (const a of r.applied) ctx.debug(`iam-role: ${describeAction(a, dr)}`);
    const what = r.created
      ? `created IAM role ${dr.roleName}`
      : r.applied.length > 0
        ? `updated IAM role ${dr.roleName}: ${r.applied.map((a) => describeAction(a, dr)).join('; ')}`
        : `IAM role ${dr.roleName} already as wanted`;
    return {
      outputs: outputs(dr, r.role.Arn ?? '', createdByUs, r.attachedByUs, trustAdded(ctx, createdByUs, r.trustAdded), inlineRecorded(ctx, dr, createdByUs, r.inlineAdded)),
      summary: `${what} (${r.role.Arn ?? ''}, --permissions ${dr.mode})`,
    };
  },

  async plan(ctx) {
    const [{ inspectRole, pendingActions, describeAction }, { errorMessage }, { partitionOf }] = await Promise.all([
      import('../aws/iam-role.js'),
      import('../errors.js'),
      import('../desired.js'),
    ]);
    const accountId = ctx.tryOutput('preflight')?.accountId;
    const dr = await desired(ctx, accountId ?? ACCOUNT_PLACEHOLDER);
    const { mergeTrustPrincipal } = await import('../aws/trust-policy.js');
    let trust = JSON.stringify(mergeTrustPrincipal(undefined, dr.workloadIdentity).doc, null, 2);
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
      insp = await inspectRole(await ctx.aws.iam(), dr);
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
    trust = JSON.stringify(mergeTrustPrincipal(insp.trust, dr.workloadIdentity).doc, null, 2);
    const todo = pendingActions(insp, dr);
    if (todo.length === 0) {
      return { items: [{ action: `exists: role ${dr.roleName} trusts ${dr.workloadIdentity} with the ${dr.mode} permissions (skip)` }], outputs: { ...guess, roleArn: insp.role?.Arn ?? predictedArn, createdByUs: false } };
    }
    const items: PlanItem[] = todo.map((a) => ({ action: describeAction(a, dr), ...(details(a) ? { details: details(a) } : {}) }));
    return { items, outputs: { ...guess, roleArn: insp.role?.Arn ?? predictedArn } };
  },
};

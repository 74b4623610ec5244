// What the iam-role stage looks at before it decides anything: the caller's own principal
// (--local-dev) and the role with the policies it compares, read together (one round trip). init's
// confirmation asks the role the same question (roleLookOf) and hands its answer on, so the
// stage's check() does not ask again; check() hands its look to run() (`seen`).
import type { RoleInspection, RoleQuery } from '../aws/iam-role.js';
import { inspectRole, readAnswers, roleQuery } from '../aws/iam-role.js';
import { callerPrincipal } from '../aws/caller-principal.js';
import { callAws } from '../aws/errors.js';
import { inlinePolicyName, seedPolicyArns } from '../desired.js';
import type { StageContext } from '../engine/stage.js';
import { together } from '../together.js';

/** The iam-role stage's context. */
export type Ctx = StageContext<{
  inputs: 'iamRole' | 'workloadIdentities' | 'localDev' | 'clusterName' | 'region' | 'permissions';
  services: 'aws' | 'owner';
  needs: 'preflight';
  own: 'iam-role';
}>;

/** What check() looked at, for run(): the caller's principal (--local-dev) and the role. */
export interface Look {
  local: string | undefined;
  warnings: string[];
  insp: RoleInspection;
}

/** --local-dev's principal, worked out from the caller this run (iam:GetRole for a role's path). */
export async function localPrincipal(ctx: Ctx, warnings: string[]): Promise<string | undefined> {
  if (!ctx.inputs.localDev) return undefined;
  const callerArn = ctx.tryOutput('preflight')?.callerArn;
  if (!callerArn) return undefined;
  const p = await callerPrincipal(await ctx.aws.iam(), callerArn);
  if (p.warning) warnings.push(p.warning);
  return p.arn;
}

/** The seed policies an earlier run recorded attaching (a switch to scoped detaches exactly these). */
export function seedAttachedBefore(ctx: Pick<Ctx, 'inputs' | 'previousOutput'>): string[] {
  const seedArns = seedPolicyArns(ctx.inputs.region);
  return (ctx.previousOutput('iam-role')?.attachedPolicies ?? []).filter((a) => seedArns.includes(a));
}

/** What the stage looks at on the role (init's confirmation asks the same, and hands its look on). */
export function roleLookOf(ctx: Pick<Ctx, 'inputs' | 'previousOutput'>): RoleQuery {
  return roleQuery({ roleName: ctx.inputs.iamRole, inlineName: inlinePolicyName(ctx.inputs.iamRole), mode: ctx.inputs.permissions, attachedByUsBefore: seedAttachedBefore(ctx) });
}

/** --local-dev's principal and the role, read together; the role as init's confirmation handed it
 * when it asked the same. */
export async function look(ctx: Ctx): Promise<Look> {
  const warnings: string[] = [];
  const q = roleLookOf(ctx);
  const handed = ctx.handoff('iam-role')?.role;
  const iam = await ctx.aws.iam();
  const [local, insp] = await together([
    callAws('reading your own IAM identity (--local-dev)', ctx.aws.profile, () => localPrincipal(ctx, warnings)),
    handed && readAnswers(handed, q) ? Promise.resolve(handed.inspection) : callAws(`reading IAM role ${q.roleName}`, ctx.aws.profile, () => inspectRole(iam, q)),
  ]);
  return { local, warnings, insp };
}

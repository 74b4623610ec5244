// Stage 6: read the role's ARN (GetRole) and the form identity mappings need (no IAM path).
import { defineStage, type StageContext } from '../engine/stage.js';
import type { StageOutputs } from '../types.js';
import { errorMessage, KpoError } from '../errors.js';
import { roleArnWithoutPath } from '../desired.js';
import { getRole } from '../aws/iam-role.js';
import { callAws } from '../aws/errors.js';
import { retryIamPropagation } from '../aws/retry.js';

type Out = StageOutputs['role-arn'];

async function readArn(ctx: Pick<StageContext<{ inputs: 'iamRole'; services: 'aws' }>, 'inputs' | 'aws' | 'progress' | 'debug' | 'signal'>, waitForPropagation: boolean): Promise<Out | undefined> {
  const iam = await ctx.aws.iam();
  const name = ctx.inputs.iamRole;
  const role = await callAws(`reading IAM role ${name}`, ctx.aws.profile, () =>
    waitForPropagation
      ? // iam-role saw (or made) the role a moment ago: NoSuchEntity now means IAM has not caught up;
        // AccessDenied on GetRole is a missing permission, never propagation (fails at once).
        retryIamPropagation(
          async () => {
            const r = await getRole(iam, name);
            if (!r) throw Object.assign(new Error(`IAM role ${name} not found`), { name: 'NoSuchEntityException' });
            return r;
          },
          { afterCreate: false, notFoundIsPropagation: true, progress: (t) => ctx.progress(t), debug: (t) => ctx.debug(t), signal: ctx.signal },
        )
      : getRole(iam, name),
  );
  if (!role?.Arn) return undefined;
  return { roleArn: role.Arn, mappingArn: roleArnWithoutPath(role.Arn) };
}

export const roleArnStage = defineStage({
  id: 'role-arn',
  title: 'IAM role ARN',
  needs: ['iam-role'],
  // profile: the account the role is in; region: the partition of the ARN.
  inputs: ['iamRole', 'profile', 'region'],
  services: ['aws'],
  lookup: true,

  // Read-only, so "already done" is simply the same lookup; none when iam-role read the role a
  // moment ago (its check, or its run on a role it found) and handed it on.
  async check(ctx) {
    const handed = ctx.handoff('role-arn')?.role.Arn;
    const out = handed ? { roleArn: handed, mappingArn: roleArnWithoutPath(handed) } : await readArn(ctx, false);
    if (!out) return { done: false, reason: `role ${ctx.inputs.iamRole} not found` };
    return { done: true, reason: `role ARN ${out.roleArn}`, outputs: out };
  },

  async run(ctx) {
    const out = await readArn(ctx, true);
    if (!out) throw new KpoError('AWS_UNUSABLE_ANSWER', `IAM role ${ctx.inputs.iamRole} has no ARN`);
    return {
      outputs: out,
      summary: out.mappingArn === out.roleArn ? `role ARN ${out.roleArn}` : `role ARN ${out.roleArn} (mapped as ${out.mappingArn}, without its path)`,
    };
  },

  async plan(ctx) {
    try {
      const out = await readArn(ctx, false);
      if (out) return { items: [{ action: `read role ARN: ${out.roleArn}` }], outputs: out };
    } catch (err) {
      const guess = ctx.tryOutput('iam-role')?.roleArn;
      return {
        items: [{ action: `read the ARN of IAM role ${ctx.inputs.iamRole}`, unknown: errorMessage(err) }],
        ...(guess ? { outputs: { roleArn: guess, mappingArn: roleArnWithoutPath(guess) } } : {}),
      };
    }
    const guess = ctx.tryOutput('iam-role')?.roleArn;
    return {
      items: [{ action: `read the ARN of IAM role ${ctx.inputs.iamRole} once it exists${guess ? `: ${guess}` : ''}` }],
      ...(guess ? { outputs: { roleArn: guess, mappingArn: roleArnWithoutPath(guess) } } : {}),
    };
  },
});

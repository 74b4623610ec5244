// Do the --pod-policy-arn policies exist? Asked in preflight, before anything is made: a typo then
// stops the run with nothing created. Asked later, AttachRolePolicy's NoSuchEntity on a role this
// run has just created reads as IAM propagation and is retried for a minute before it fails, with
// the role already made.
import type { IAMClient } from '@aws-sdk/client-iam';
import { sdk as awsSdk } from './clients.js';
import { awsErrorCode, describeAwsError } from './errors.js';

export interface PolicyLookup {
  arn: string;
  /** false: IAM says there is no such policy (or it cannot be attached); undefined: not known. */
  usable: boolean | undefined;
  why?: string;
}

/** iam:GetPolicy for each ARN, all at once. Only IAM's own "no such policy" answer counts against
 * one: without iam:GetPolicy, or from an emulator that lacks it, AttachRolePolicy decides later. */
export async function lookUpPolicies(iam: IAMClient, arns: readonly string[]): Promise<PolicyLookup[]> {
  const { GetPolicyCommand } = await awsSdk.iam();
  return Promise.all(
    arns.map(async (arn): Promise<PolicyLookup> => {
      try {
        const r = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
        return r.Policy?.IsAttachable === false ? { arn, usable: false, why: 'it exists but IAM says it cannot be attached' } : { arn, usable: true };
      } catch (err) {
        if (awsErrorCode(err) === 'NoSuchEntity') return { arn, usable: false, why: 'IAM has no such policy' };
        return { arn, usable: undefined, why: describeAwsError(err) };
      }
    }),
  );
}

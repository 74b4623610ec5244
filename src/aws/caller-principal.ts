// --local-dev: the principal a trust policy must name so the caller's own credentials (what
// `astro dev` containers get from ~/.aws) may assume the role. STS reports a session
// (arn:aws:sts::A:assumed-role/R/session) that drops the role's path; a trust policy needs the
// role's real ARN (arn:aws:iam::A:role/some/path/R), so GetRole supplies it when allowed.
import type { IAMClient } from '@aws-sdk/client-iam';
import type { GetCallerIdentityCommandOutput } from '@aws-sdk/client-sts';
import { sdk, type AwsClients } from './clients.js';
import { KpoError } from '../errors.js';
import { getRole } from './iam-role.js';

export interface CallerPrincipal {
  arn: string;
  /** Set when the role's path could not be confirmed (GetRole refused): the ARN assumes none. */
  warning?: string;
}

const ASSUMED = /^arn:(aws[\w-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/[^/]+$/;
const USER = /^arn:(aws[\w-]*):iam::(\d{12}):user\/([\w+=,.@/-]+)$/;

/** STS GetCallerIdentity: who the credentials are. */
export async function getCallerIdentity(aws: Pick<AwsClients, 'sts'>): Promise<GetCallerIdentityCommandOutput> {
  const [{ GetCallerIdentityCommand }, sts] = await Promise.all([sdk.sts(), aws.sts()]);
  return sts.send(new GetCallerIdentityCommand({}));
}

export async function callerPrincipal(iam: IAMClient, callerArn: string): Promise<CallerPrincipal> {
  if (USER.test(callerArn)) return { arn: callerArn };
  const m = ASSUMED.exec(callerArn);
  if (!m) {
    throw new KpoError(
      'LOCAL_DEV_IDENTITY_UNSUPPORTED',
      `--local-dev: your AWS identity ${callerArn} is neither an IAM user nor an assumed IAM role, so no trust policy can name it.`,
      'Run with credentials of an IAM user or role (e.g. an SSO profile: --profile), or leave --local-dev out and test in the Deployment.',
    );
  }
  const [, partition, account, roleName] = m as unknown as [string, string, string, string];
  const shaped = `arn:${partition}:iam::${account}:role/${roleName}`;
  try {
    const role = await getRole(iam, roleName);
    if (role?.Arn) return { arn: role.Arn };
    return { arn: shaped, warning: `--local-dev: IAM role ${roleName} behind your session was not found; trusting ${shaped}.` };
  } catch {
    // SSO roles live under /aws-reserved/sso.amazonaws.com/: without iam:GetRole the path is unknown.
    return { arn: shaped, warning: `--local-dev: could not read IAM role ${roleName} (iam:GetRole) to learn its path; trusting ${shaped}. If the role has a path (SSO roles do), AssumeRole from \`astro dev\` will be denied.` };
  }
}

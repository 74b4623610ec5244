// Fake STS: GetCallerIdentity answers the caller's real identity (unlike moto), AssumeRole
// enforces the role's trust policy like AWS (403 AccessDenied) and issues working temporary keys.
import type { FakeIam } from './iam.js';
import type { KeyStore, Principal } from './identity.js';
import { parsePolicy, trustAllows } from './policy.js';
import { AwsError, queryResponse, required, STS_NS, type Params, type Reply } from './xml.js';

export function handleSts(op: string, params: Params, caller: Principal, iam: FakeIam, keys: KeyStore): Reply {
  switch (op) {
    case 'GetCallerIdentity':
      return queryResponse(STS_NS, op, { UserId: caller.userId, Account: iam.accountId, Arn: caller.arn });
    case 'AssumeRole': {
      const roleArn = required(params, 'RoleArn');
      const session = required(params, 'RoleSessionName');
      if (!/^[\w+=,.@-]{2,64}$/.test(session)) {
        throw new AwsError(400, 'ValidationError', `1 validation error detected: Value '${session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
      }
      const denied = new AwsError(403, 'AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
      const role = iam.roleByArn(roleArn);
      // AWS matches the full ARN, path included.
      if (!role || role.arn !== roleArn) throw denied;
      if (!trustAllows(parsePolicy(role.trustPolicyRaw, 'trust'), caller.iamArn, iam.accountId)) throw denied;
      const duration = Number(params.get('DurationSeconds') ?? 3600);
      if (!Number.isInteger(duration) || duration < 900) {
        throw new AwsError(400, 'ValidationError', `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`);
      }
      if (duration > role.maxSessionDuration) {
        throw new AwsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
      }
      const principal: Principal = {
        arn: `arn:aws:sts::${iam.accountId}:assumed-role/${role.name}/${session}`,
        userId: `${role.roleId}:${session}`,
        iamArn: role.arn,
      };
      const rec = keys.issue(principal, duration);
      return queryResponse(STS_NS, op, {
        Credentials: {
          AccessKeyId: rec.accessKeyId,
          SecretAccessKey: rec.secretAccessKey,
          SessionToken: rec.sessionToken,
          Expiration: rec.expiresAt,
        },
        AssumedRoleUser: { AssumedRoleId: principal.userId, Arn: principal.arn },
      });
    }
    default:
      throw new AwsError(400, 'InvalidAction', `Could not find operation ${op} for version 2011-06-15`);
  }
}

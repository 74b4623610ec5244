import { describe, expect, it } from 'vitest';
import { awsErrorCode, awsFailure, credentialError, isAwsNotFound } from '../../src/aws/errors.js';
import { pendingActions, type DesiredRole } from '../../src/aws/iam-role.js';
import { hasManagedTag } from '../../src/aws/use-marks.js';
import { inlinePolicyName, permissionsPolicy, seedPolicyArns, trustPolicy } from '../../src/desired.js';
import { exitCodeOf } from '../../src/errors.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const inputs = { region: 'us-east-1', clusterName: 'remote-kpo-demo' };
const SEED = seedPolicyArns('us-east-1');

function desired(over: Partial<DesiredRole> = {}): DesiredRole {
  return {
    roleName: 'AstroRemoteKPO',
    principals: [WI],
    mode: 'scoped',
    inlineName: inlinePolicyName('AstroRemoteKPO'),
    inlineDoc: permissionsPolicy(inputs, '123456789012'),
    seedArns: SEED,
    attachedByUsBefore: [],
    clusterName: 'remote-kpo-demo',
    workloadIdentities: [WI],
    ...over,
  };
}

const role = { RoleName: 'AstroRemoteKPO', Arn: 'arn:aws:iam::123456789012:role/AstroRemoteKPO', Path: '/', RoleId: 'AROA1', CreateDate: new Date() };

describe('pendingActions', () => {
  it('a missing role: create it, then the scoped inline policy (or the seed attachments)', () => {
    expect(pendingActions({}, desired())).toEqual([{ kind: 'create-role' }, { kind: 'put-inline' }]);
    expect(pendingActions({}, desired({ mode: 'seed' }))).toEqual([{ kind: 'create-role' }, ...SEED.map((arn) => ({ kind: 'attach', arn }))]);
  });

  it('nothing to do when trust and the inline policy (in any key order) are in place', () => {
    const doc = permissionsPolicy(inputs, '123456789012');
    const reordered = { Statement: [{ Resource: doc.Statement[0]!.Resource as string, Action: 'eks:DescribeCluster', Effect: 'Allow' }], Version: '2012-10-17' };
    expect(pendingActions({ role, trust: trustPolicy([WI]) as never, inline: reordered }, desired())).toEqual([]);
  });

  it('a missing principal or a different policy is detected', () => {
    const other = trustPolicy(['arn:aws:iam::123456789012:role/other']) as never;
    const wrong = permissionsPolicy({ region: 'us-east-1', clusterName: 'other' }, '123456789012') as never;
    expect(pendingActions({ role, trust: other, inline: wrong }, desired())).toEqual([{ kind: 'add-principal', principal: WI }, { kind: 'put-inline' }]);
  });

  it('seed mode: attaches what is missing and removes our inline policy; never touches other attachments', () => {
    const insp = { role, trust: trustPolicy([WI]) as never, inline: permissionsPolicy(inputs, '123456789012') as never, attached: [SEED[0]!, 'arn:aws:iam::aws:policy/Unrelated'] };
    expect(pendingActions(insp, desired({ mode: 'seed' }))).toEqual([
      { kind: 'attach', arn: SEED[1] },
      { kind: 'attach', arn: SEED[2] },
      { kind: 'delete-inline' },
    ]);
  });

  it('switching back to scoped detaches only the seed policies we recorded attaching', () => {
    const insp = { role, trust: trustPolicy([WI]) as never, inline: permissionsPolicy(inputs, '123456789012') as never, attached: [...SEED] };
    expect(pendingActions(insp, desired({ attachedByUsBefore: [SEED[1]!] }))).toEqual([{ kind: 'detach', arn: SEED[1] }]);
    expect(pendingActions(insp, desired())).toEqual([]);
  });

  it('recognises roles carrying our tag', () => {
    expect(hasManagedTag({ ...role, Tags: [{ Key: 'managed-by', Value: 'astro-remote-kpo' }] })).toBe(true);
    expect(hasManagedTag({ ...role, Tags: [{ Key: 'managed-by', Value: 'terraform' }] })).toBe(false);
    expect(hasManagedTag(role)).toBe(false);
  });
});

const sdkError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: {} });

describe('AWS error mapping', () => {
  it('normalises codes with or without the Exception suffix', () => {
    expect(awsErrorCode(sdkError('NoSuchEntityException', 'x'))).toBe('NoSuchEntity');
    expect(awsErrorCode(sdkError('AccessDenied', 'x'))).toBe('AccessDenied');
    expect(isAwsNotFound(sdkError('ResourceNotFoundException', 'x'))).toBe(true);
    expect(isAwsNotFound(sdkError('AccessDenied', 'x'))).toBe(false);
  });

  it('no credentials → exit 3 naming the profile', () => {
    const e = credentialError(sdkError('CredentialsProviderError', 'Could not load credentials from any providers'), 'dev');
    expect(e).toMatchObject({ code: 'CREDENTIALS_MISSING', exitCode: 3, awsCode: 'CredentialsProviderError' });
    expect(e?.message).toMatch(/profile "dev"/);
    expect(e?.hint).toMatch(/aws sso login --profile dev/);
  });

  it('expired SSO session → exit 3 with the aws sso login command', () => {
    const e = credentialError(
      sdkError('CredentialsProviderError', 'The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.'),
      'astro-sso',
    );
    expect(e).toMatchObject({ code: 'CREDENTIALS_SSO_EXPIRED', exitCode: 3 });
    expect(e?.hint).toBe('Run `aws sso login --profile astro-sso` and then this command again.');
  });

  it('invalid or expired tokens → exit 3; other errors fail the stage', () => {
    expect(credentialError(sdkError('InvalidClientTokenId', 'The security token included in the request is invalid.'), undefined)).toMatchObject({ code: 'CREDENTIALS_REJECTED', exitCode: 3 });
    const expired = credentialError(sdkError('ExpiredTokenException', 'The security token included in the request is expired'), 'p');
    expect(expired).toMatchObject({ code: 'CREDENTIALS_EXPIRED', exitCode: 3, awsCode: 'ExpiredTokenException' });
    expect(expired?.hint).toMatch(/expired/);
    expect(credentialError(sdkError('NoSuchEntityException', 'nope'), undefined)).toBeUndefined();
    const f = awsFailure(sdkError('AccessDenied', 'User is not authorized to perform iam:CreateRole'), 'creating role X', undefined);
    expect(f).toMatchObject({ code: 'AWS_ACCESS_DENIED', exitCode: 1 });
    expect(f.message).toMatch(/creating role X: access denied/);
  });

  it('throttling, quotas and the rest: a code each, exit 1, AWS\'s own name kept as awsCode', () => {
    const cases: Array<[unknown, string, string | undefined]> = [
      [sdkError('Throttling', 'Rate exceeded'), 'AWS_THROTTLED', 'Throttling'],
      [sdkError('ThrottlingException', 'Rate exceeded'), 'AWS_THROTTLED', 'ThrottlingException'],
      [Object.assign(new Error('slow down'), { name: 'Whatever', $metadata: { httpStatusCode: 429 } }), 'AWS_THROTTLED', 'Whatever'],
      [Object.assign(new Error('x'), { name: 'TooBusy', $metadata: { httpStatusCode: 400 }, $retryable: { throttling: true } }), 'AWS_THROTTLED', 'TooBusy'],
      [sdkError('LimitExceededException', 'Cannot exceed quota for RolesPerAccount: 1000'), 'AWS_QUOTA_EXCEEDED', 'LimitExceededException'],
      [sdkError('ResourceLimitExceededException', 'access entries'), 'AWS_QUOTA_EXCEEDED', 'ResourceLimitExceededException'],
      [sdkError('InvalidParameterException', 'bad'), 'AWS_REQUEST_FAILED', 'InvalidParameterException'],
      [new Error('socket hang up'), 'AWS_REQUEST_FAILED', undefined],
    ];
    for (const [err, code, awsCode] of cases) {
      const f = awsFailure(err, 'a step', undefined);
      expect(f.code, String(err)).toBe(code);
      expect(f.awsCode).toBe(awsCode);
      expect(f.exitCode).toBe(exitCodeOf(f.code));
      expect(f.cause).toBe(err);
    }
  });
});

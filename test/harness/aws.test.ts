// The fake STS and IAM, driven by the real AWS SDK v3 clients: every response parses, every
// error becomes the SDK's typed error, and the XML matches the wire samples' element structure.
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteConflictException,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRoleTagsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePolicyCommand,
  SimulatePrincipalPolicyCommand,
  TagRoleCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { clients, rawAws, sample, xmlPaths } from './helpers.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const trust = (...principals: string[]) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: principals }, Action: 'sts:AssumeRole' }] });
const describePolicy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: 'arn:aws:eks:us-east-1:123456789012:cluster/remote-kpo-demo' }] });

let cloud: TestCloud;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  cloud = await startTestCloud();
  c = clients(cloud);
});
afterAll(() => cloud.stop());
beforeEach(() => {
  for (const name of [...cloud.aws.roles.keys()]) cloud.aws.roles.delete(name);
  cloud.faults.clear();
  cloud.resetCalls();
});

describe('STS', () => {
  it('GetCallerIdentity answers the caller, like AWS (not moto)', async () => {
    const id = await c.sts.send(new GetCallerIdentityCommand({}));
    expect(id.Account).toBe('123456789012');
    expect(id.Arn).toBe('arn:aws:iam::123456789012:user/test-admin');
    expect(id.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
  });

  it('AssumeRole enforces the trust policy; the issued keys work and identify the session', async () => {
    await c.iam.send(new CreateRoleCommand({ RoleName: 'AstroRemoteKPO', AssumeRolePolicyDocument: trust(WI) }));
    const denied = await c.sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/AstroRemoteKPO', RoleSessionName: 's1' })).catch((e: Error) => e);
    expect(denied).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const wi = clients(cloud, cloud.aws.issueCredentials(WI, 'airflow'));
    expect((await wi.sts.send(new GetCallerIdentityCommand({}))).Arn).toBe('arn:aws:sts::123456789012:assumed-role/astro-dep-abc123/airflow');
    const out = await wi.sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/AstroRemoteKPO', RoleSessionName: 'astro-remote-kpo', DurationSeconds: 3600 }));
    expect(out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::123456789012:assumed-role/AstroRemoteKPO/astro-remote-kpo');
    expect(out.Credentials?.Expiration).toBeInstanceOf(Date);
    const assumed = clients(cloud, { accessKeyId: out.Credentials!.AccessKeyId!, secretAccessKey: out.Credentials!.SecretAccessKey!, sessionToken: out.Credentials!.SessionToken! });
    expect((await assumed.sts.send(new GetCallerIdentityCommand({}))).Arn).toBe('arn:aws:sts::123456789012:assumed-role/AstroRemoteKPO/astro-remote-kpo');
    // The session is held to the role's policies: no iam:GetRole allowed.
    await expect(assumed.iam.send(new GetRoleCommand({ RoleName: 'AstroRemoteKPO' }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('rejects unknown keys, bad signatures and expired sessions with AWS error codes', async () => {
    const unknown = clients(cloud, { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' });
    await expect(unknown.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId', $metadata: { httpStatusCode: 403 } });
    const forged = clients(cloud, { accessKeyId: cloud.credentials.accessKeyId, secretAccessKey: 'not-the-secret' });
    await expect(forged.iam.send(new GetRoleCommand({ RoleName: 'x' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    const keys = cloud.aws.issueCredentials(WI);
    cloud.aws.expireCredentials(keys.accessKeyId);
    await expect(clients(cloud, keys).sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'ExpiredToken' });
    cloud.aws.renewCredentials(keys.accessKeyId);
    await expect(clients(cloud, keys).sts.send(new GetCallerIdentityCommand({}))).resolves.toBeTruthy();
  });
});

describe('endpoints', () => {
  it('env has one endpoint per service; each refuses requests signed for another service, like AWS', async () => {
    const { IAMClient } = await import('@aws-sdk/client-iam');
    const { STSClient } = await import('@aws-sdk/client-sts');
    const at = (endpoint: string) => ({ region: 'us-east-1', endpoint, credentials: cloud.credentials, maxAttempts: 1 });
    expect(cloud.env.AWS_ENDPOINT_URL_IAM).toBe(cloud.endpoints.iam);
    expect(new Set([cloud.env.AWS_ENDPOINT_URL_IAM, cloud.env.AWS_ENDPOINT_URL_STS, cloud.env.AWS_ENDPOINT_URL_EKS]).size).toBe(3);
    await expect(new STSClient(at(cloud.endpoints.sts)).send(new GetCallerIdentityCommand({}))).resolves.toBeTruthy();
    const wrong = await new IAMClient(at(cloud.endpoints.sts)).send(new GetRoleCommand({ RoleName: 'x' })).catch((e: Error) => e);
    expect(wrong).toMatchObject({ name: 'SignatureDoesNotMatch', message: "Credential should be scoped to correct service: 'sts'. " });
  });
});

describe('IAM', () => {
  it('creates a role with path, tags and description; returns the trust policy URL-encoded like AWS', async () => {
    const created = await c.iam.send(
      new CreateRoleCommand({ RoleName: 'AstroRemoteKPO', Path: '/astro/', AssumeRolePolicyDocument: trust(WI), Description: 'Lets the Astro Deployment launch pods', Tags: [{ Key: 'managed-by', Value: 'astro-remote-kpo' }] }),
    );
    expect(created.Role).toMatchObject({ RoleName: 'AstroRemoteKPO', Path: '/astro/', Arn: 'arn:aws:iam::123456789012:role/astro/AstroRemoteKPO', MaxSessionDuration: 3600 });
    expect(created.Role?.CreateDate).toBeInstanceOf(Date);
    const got = await c.iam.send(new GetRoleCommand({ RoleName: 'AstroRemoteKPO' }));
    expect(got.Role?.AssumeRolePolicyDocument).toMatch(/^%7B%22Version%22/);
    expect(JSON.parse(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!))).toEqual(JSON.parse(trust(WI)));
    expect(got.Role?.Tags).toEqual([{ Key: 'managed-by', Value: 'astro-remote-kpo' }]);
    expect(cloud.aws.role('AstroRemoteKPO')?.path).toBe('/astro/');
  });

  it('typed errors: EntityAlreadyExists, NoSuchEntity, MalformedPolicyDocument, DeleteConflict', async () => {
    await c.iam.send(new CreateRoleCommand({ RoleName: 'R', AssumeRolePolicyDocument: trust(WI) }));
    await expect(c.iam.send(new CreateRoleCommand({ RoleName: 'R', AssumeRolePolicyDocument: trust(WI) }))).rejects.toBeInstanceOf(EntityAlreadyExistsException);
    await expect(c.iam.send(new GetRoleCommand({ RoleName: 'Nope' }))).rejects.toBeInstanceOf(NoSuchEntityException);
    await expect(c.iam.send(new GetRolePolicyCommand({ RoleName: 'R', PolicyName: 'p' }))).rejects.toBeInstanceOf(NoSuchEntityException);
    await expect(c.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'R', PolicyDocument: '{not json' }))).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    await expect(c.iam.send(new PutRolePolicyCommand({ RoleName: 'R', PolicyName: 'p', PolicyDocument: trust(WI) }))).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    await c.iam.send(new PutRolePolicyCommand({ RoleName: 'R', PolicyName: 'p', PolicyDocument: describePolicy }));
    await expect(c.iam.send(new DeleteRoleCommand({ RoleName: 'R' }))).rejects.toBeInstanceOf(DeleteConflictException);
    await c.iam.send(new DeleteRolePolicyCommand({ RoleName: 'R', PolicyName: 'p' }));
    await c.iam.send(new DeleteRoleCommand({ RoleName: 'R' }));
    await expect(c.iam.send(new DeleteRoleCommand({ RoleName: 'R' }))).rejects.toBeInstanceOf(NoSuchEntityException);
  });

  it('"Invalid principal in policy" for a principal IAM does not see yet, then success', async () => {
    cloud.aws.invalidPrincipal(WI, 2);
    for (let i = 0; i < 2; i++) {
      const e = await c.iam.send(new CreateRoleCommand({ RoleName: 'R', AssumeRolePolicyDocument: trust(WI) })).catch((x: Error) => x);
      expect(e).toBeInstanceOf(MalformedPolicyDocumentException);
      expect((e as Error).message).toBe(`Invalid principal in policy: "AWS":"${WI}"`);
    }
    await expect(c.iam.send(new CreateRoleCommand({ RoleName: 'R', AssumeRolePolicyDocument: trust(WI) }))).resolves.toBeTruthy();
  });

  it('inline and managed policies, tags; SimulatePrincipalPolicy evaluates them', async () => {
    await c.iam.send(new CreateRoleCommand({ RoleName: 'R', AssumeRolePolicyDocument: trust(WI) }));
    await c.iam.send(new PutRolePolicyCommand({ RoleName: 'R', PolicyName: 'R-eks-describe', PolicyDocument: describePolicy }));
    const pol = await c.iam.send(new GetRolePolicyCommand({ RoleName: 'R', PolicyName: 'R-eks-describe' }));
    expect(JSON.parse(decodeURIComponent(pol.PolicyDocument!))).toEqual(JSON.parse(describePolicy));
    expect((await c.iam.send(new ListRolePoliciesCommand({ RoleName: 'R' }))).PolicyNames).toEqual(['R-eks-describe']);
    await c.iam.send(new AttachRolePolicyCommand({ RoleName: 'R', PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy' }));
    await expect(c.iam.send(new AttachRolePolicyCommand({ RoleName: 'R', PolicyArn: 'arn:aws:iam::aws:policy/NoSuchPolicy' }))).rejects.toBeInstanceOf(NoSuchEntityException);
    expect((await c.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'R' }))).AttachedPolicies).toEqual([
      { PolicyName: 'AmazonEKSWorkerNodePolicy', PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy' },
    ]);
    const sim = await c.iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: 'arn:aws:iam::123456789012:role/R',
        ActionNames: ['eks:DescribeCluster', 'eks:DeleteCluster', 'ec2:DescribeSubnets'],
        ResourceArns: ['arn:aws:eks:us-east-1:123456789012:cluster/remote-kpo-demo'],
      }),
    );
    expect(sim.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalDecision])).toEqual([
      ['eks:DescribeCluster', 'allowed'],
      ['eks:DeleteCluster', 'implicitDeny'],
      ['ec2:DescribeSubnets', 'allowed'],
    ]);
    await c.iam.send(new DetachRolePolicyCommand({ RoleName: 'R', PolicyArn: 'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy' }));
    expect(cloud.aws.attachedPolicies('R')).toEqual([]);
    await c.iam.send(new TagRoleCommand({ RoleName: 'R', Tags: [{ Key: 'managed-by', Value: 'x' }, { Key: 'astro-deployment', Value: 'abc123' }] }));
    await c.iam.send(new UntagRoleCommand({ RoleName: 'R', TagKeys: ['managed-by'] }));
    expect((await c.iam.send(new ListRoleTagsCommand({ RoleName: 'R' }))).Tags).toEqual([{ Key: 'astro-deployment', Value: 'abc123' }]);
    await c.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'R', PolicyDocument: trust(WI, 'arn:aws:iam::123456789012:role/astro-dep-def456') }));
    expect(cloud.aws.trustPolicy('R')?.Statement[0]).toMatchObject({ Principal: { AWS: [WI, 'arn:aws:iam::123456789012:role/astro-dep-def456'] } });
  });

  it('logs every call with its operation and whether it mutates', async () => {
    await c.iam.send(new CreateRoleCommand({ RoleName: 'R', AssumeRolePolicyDocument: trust(WI) }));
    await c.iam.send(new GetRoleCommand({ RoleName: 'R' }));
    await c.sts.send(new GetCallerIdentityCommand({}));
    expect(cloud.calls.map((x) => [x.service, x.operation, x.mutating, x.status])).toEqual([
      ['iam', 'CreateRole', true, 200],
      ['iam', 'GetRole', false, 200],
      ['sts', 'GetCallerIdentity', false, 200],
    ]);
    expect(cloud.mutatingCalls().map((x) => x.operation)).toEqual(['CreateRole']);
  });
});

describe('fault injection', () => {
  it('throttles the Nth call; the SDK sees Throttling and its retry succeeds', async () => {
    cloud.faults.failNth('GetCallerIdentity', 2, 'throttle');
    await c.sts.send(new GetCallerIdentityCommand({}));
    await expect(c.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    const retrying = clients(cloud, cloud.credentials, 3);
    cloud.faults.failNth('GetRole', 1, 'throttle');
    cloud.faults.failNth('GetRole', 2, '500');
    await c.iam.send(new CreateRoleCommand({ RoleName: 'R', AssumeRolePolicyDocument: trust(WI) }));
    await expect(retrying.iam.send(new GetRoleCommand({ RoleName: 'R' }))).resolves.toBeTruthy();
    expect(cloud.calls.filter((x) => x.operation === 'GetRole').map((x) => [x.status, x.fault])).toEqual([
      [400, 'throttle'],
      [500, '500'],
      [200, undefined],
    ]);
  });

  it('resets the connection and delays a slow response', async () => {
    cloud.faults.failNth('GetCallerIdentity', 1, 'reset');
    await expect(c.sts.send(new GetCallerIdentityCommand({}))).rejects.toThrow();
    cloud.faults.slowMs = 50;
    cloud.faults.failNth('GetCallerIdentity', 1, 'slow');
    await expect(c.sts.send(new GetCallerIdentityCommand({}))).resolves.toBeTruthy();
    cloud.faults.failNth('GetCallerIdentity', 1, { code: 'AccessDenied', status: 403, message: 'nope' });
    await expect(c.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'AccessDenied', message: 'nope' });
    expect(cloud.calls.map((x) => x.fault)).toEqual(['reset', 'slow', 'AccessDenied']);
  });
});

describe('shapes match the wire samples', () => {
  const cases = [
    'sts-GetCallerIdentity',
    'iam-CreateRole',
    'iam-CreateRole-EntityAlreadyExists',
    'iam-GetRole',
    'iam-GetRole-NoSuchEntity',
    'sts-AssumeRole',
    'iam-UpdateAssumeRolePolicy',
    'iam-ListRolePolicies-empty',
    'iam-GetRolePolicy-NoSuchEntity',
    'iam-PutRolePolicy',
    'iam-GetRolePolicy',
    'iam-ListRolePolicies',
    'iam-ListAttachedRolePolicies-empty',
    'iam-AttachRolePolicy',
    'iam-ListAttachedRolePolicies',
    'iam-TagRole',
    'iam-GetRole-after-updates',
    'iam-DeleteRole-DeleteConflict',
    'iam-DetachRolePolicy',
    'iam-DeleteRolePolicy',
    'iam-DeleteRole',
    'iam-DeleteRole-NoSuchEntity',
  ];

  it('replays every IAM/STS sample request in capture order: same status, same XML elements', async () => {
    for (const name of cases) {
      const s = sample(`aws/${name}`);
      // The sample's AssumeRole caller was in the trust policy only because moto doesn't check: allow ours.
      if (name === 'sts-AssumeRole') cloud.aws.createRole({ name: 'Tmp', trustPolicy: trust('arn:aws:iam::123456789012:user/test-admin') });
      const body = name === 'sts-AssumeRole' ? s.request.body.replace('AstroRemoteKPO', 'Tmp') : s.request.body;
      const res = await rawAws(cloud, name.startsWith('sts') ? 'sts' : 'iam', 'POST', '/', body, 'application/x-www-form-urlencoded');
      expect(res.status, name).toBe(s.response.status);
      expect(res.headers.get('content-type'), name).toBe('text/xml');
      const want = [...xmlPaths(s.response.body)].filter((p) => !p.endsWith('/PackedPolicySize')).sort();
      expect([...xmlPaths(res.body)].sort(), name).toEqual(want);
    }
  });
});

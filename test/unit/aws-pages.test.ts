// Every list the tool reads goes through the SDK's paginators and reads every page: the test
// cloud pages as IAM (MaxItems/Marker, IsTruncated) and EKS (maxResults/nextToken) do, here one
// item per page, so each list below spans 60 pages (past the 50 the old hand-written loop stopped
// at without a word). An endpoint that repeats a page token stops with an error, never silently.
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAssociatedPolicies } from '../../src/aws/eks.js';
import { listAttachedPolicyArns, listInlinePolicyNames } from '../../src/aws/iam-role.js';
import { listFargateProfiles, listNodegroups } from '../../src/aws/node-groups.js';
import { allItems } from '../../src/aws/pages.js';
import { expectCode } from '../support/failure.js';
import { startTestCloud, type TestCloud } from '../support/cloud.js';

const N = 60;
const names = (prefix: string) => Array.from({ length: N }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);

let cloud: TestCloud;
let iam: IAMClient;
let eks: EKSClient;

beforeAll(async () => {
  cloud = await startTestCloud({ cluster: { name: 'paged', nodeGroup: false } });
  const common = { region: cloud.region, credentials: cloud.credentials, maxAttempts: 1 };
  iam = new IAMClient({ ...common, endpoint: cloud.endpoints.iam });
  eks = new EKSClient({ ...common, endpoint: cloud.endpoints.eks });
  cloud.aws.iam.pageSize = 1;
  cloud.aws.eks.pageSize = 1;
});

afterAll(async () => {
  iam?.destroy();
  eks?.destroy();
  await cloud?.stop();
});

const calls = (operation: string) => cloud.calls.filter((c) => c.operation === operation).length;

describe('the SDK paginators read every page', () => {
  it('IAM: inline policy names and attached policy ARNs', async () => {
    const role = cloud.aws.iam.createRole({ name: 'Paged', trustPolicy: { Version: '2012-10-17', Statement: [] } });
    for (const n of names('inline')) role.inline.set(n, '{"Version":"2012-10-17","Statement":[]}');
    role.attached = names('arn:aws:iam::aws:policy/P');
    cloud.resetCalls();
    expect(await listInlinePolicyNames(iam, 'Paged')).toEqual(names('inline'));
    expect(await listAttachedPolicyArns(iam, 'Paged')).toEqual(names('arn:aws:iam::aws:policy/P'));
    expect([calls('ListRolePolicies'), calls('ListAttachedRolePolicies')]).toEqual([N, N]);
  });

  it('EKS: node groups, Fargate profiles and the access policies of an entry', async () => {
    const c = cloud.aws.eks.clusters.get('paged')!;
    for (const n of names('ng')) c.nodegroups.set(n, { name: n, status: 'ACTIVE', instanceType: 't3.small', desiredSize: 1, nodeRole: 'arn:aws:iam::123456789012:role/node', createdAt: new Date() });
    c.fargateProfiles = names('fp');
    const principal = 'arn:aws:iam::123456789012:role/Paged';
    const entry = cloud.aws.eks.addAccessEntry(c, principal, { username: 'paged' });
    const now = new Date();
    entry.policies = names('arn:aws:eks::aws:cluster-access-policy/P').map((policyArn) => ({ policyArn, accessScope: { type: 'cluster', namespaces: [] }, associatedAt: now, modifiedAt: now }));
    cloud.resetCalls();
    expect(await listNodegroups(eks, 'paged')).toEqual(names('ng'));
    expect(await listFargateProfiles(eks, 'paged')).toEqual(names('fp'));
    expect(await listAssociatedPolicies(eks, 'paged', principal)).toEqual(names('arn:aws:eks::aws:cluster-access-policy/P').map((p) => `${p} (cluster-wide)`));
    expect([calls('ListNodegroups'), calls('ListFargateProfiles'), calls('ListAssociatedAccessPolicies')]).toEqual([N, N, N]);
  });

  it('an access entry that is gone grants nothing (the one not-found helper)', async () => {
    expect(await listAssociatedPolicies(eks, 'paged', 'arn:aws:iam::123456789012:role/NoEntry')).toEqual([]);
  });
});

describe('allItems', () => {
  async function* pages(tokens: Array<string | undefined>) {
    for (const [i, t] of tokens.entries()) yield { items: [i], next: t };
  }

  it('collects every page until the token runs out', async () => {
    expect(await allItems('x', pages(['a', 'b', undefined]), (p) => p.items, (p) => p.next)).toEqual([0, 1, 2]);
  });

  it('stops with an error naming the call when the endpoint repeats a token', async () => {
    const err = await expectCode(allItems('iam:ListRolePolicies on IAM role R', pages(['a', 'b', 'a', 'c']), (p) => p.items, (p) => p.next), 'AWS_UNUSABLE_ANSWER');
    expect(err.message).toMatch(/^iam:ListRolePolicies on IAM role R: .*"a" a second time/);
  });
});

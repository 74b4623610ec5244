// The fake EKS's Pod Identity associations, add-ons and OIDC issuer, driven by the real EKSClient
// (client-eks 3.1175): the shapes research-20.md §3 checked against the SDK's serializers, typed
// errors (409 ResourceInUseException, ResourceNotFoundException), clientRequestToken idempotency,
// tagging, paging, iam:PassRole for role sessions, the call log and faults.
import {
  CreatePodIdentityAssociationCommand,
  DeletePodIdentityAssociationCommand,
  DescribeAddonCommand,
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  ListAddonsCommand,
  ListPodIdentityAssociationsCommand,
  ListTagsForResourceCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdatePodIdentityAssociationCommand,
  paginateListPodIdentityAssociations,
} from '@aws-sdk/client-eks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { clients, rawAws } from './helpers.js';

const CLUSTER = 'remote-kpo-demo';
const NS = 'astro-remote-kpo';
const SA = 'astro-remote-kpo-pods';
const ROLE = 'arn:aws:iam::123456789012:role/AstroRemoteKPOPods';
let cloud: TestCloud;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  cloud = await startTestCloud({ cluster: { name: CLUSTER } });
  c = clients(cloud);
});
afterAll(() => cloud.stop());
beforeEach(() => {
  cloud.aws.cluster(CLUSTER)!.podIdentityAssociations.clear();
  cloud.faults.clear();
  cloud.resetCalls();
});

const create = (o: { namespace?: string; serviceAccount?: string; roleArn?: string; clientRequestToken?: string; tags?: Record<string, string> } = {}) =>
  c.eks.send(new CreatePodIdentityAssociationCommand({ clusterName: CLUSTER, namespace: NS, serviceAccount: SA, roleArn: ROLE, ...o }));

describe('the cluster OIDC issuer', () => {
  it('DescribeCluster carries identity.oidc.issuer as EKS forms it, a new one per cluster; oidcIssuer: false leaves it out', async () => {
    const d = await c.eks.send(new DescribeClusterCommand({ name: CLUSTER }));
    expect(d.cluster?.identity?.oidc?.issuer).toMatch(/^https:\/\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\/[0-9A-F]{32}$/);
    await cloud.addCluster({ name: 'second' });
    expect((await c.eks.send(new DescribeClusterCommand({ name: 'second' }))).cluster?.identity?.oidc?.issuer).not.toBe(d.cluster?.identity?.oidc?.issuer);
    await cloud.addCluster({ name: 'no-issuer', oidcIssuer: false });
    expect((await c.eks.send(new DescribeClusterCommand({ name: 'no-issuer' }))).cluster?.identity).toBeUndefined();
  });
});

describe('EKS Pod Identity associations', () => {
  it('create, describe, list (filters; summaries without roleArn), update, delete', async () => {
    const made = (await create({ tags: { 'managed-by': 'astro-remote-kpo' } })).association!;
    expect(made).toMatchObject({ clusterName: CLUSTER, namespace: NS, serviceAccount: SA, roleArn: ROLE, tags: { 'managed-by': 'astro-remote-kpo' }, disableSessionTags: false });
    expect(made.associationId).toMatch(/^a-[a-z0-9]{17}$/);
    expect(made.associationArn).toBe(`arn:aws:eks:us-east-1:123456789012:podidentityassociation/${CLUSTER}/${made.associationId}`);
    expect(made.createdAt).toBeInstanceOf(Date);
    const other = (await create({ namespace: 'team-b', serviceAccount: 'reader' })).association!;
    const described = await c.eks.send(new DescribePodIdentityAssociationCommand({ clusterName: CLUSTER, associationId: made.associationId }));
    expect(described.association).toEqual(made);
    const all = await c.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: CLUSTER }));
    expect(all.associations?.map((a) => a.associationId)).toEqual([made.associationId, other.associationId]);
    const mine = await c.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: CLUSTER, namespace: NS, serviceAccount: SA }));
    expect(mine.associations).toEqual([{ clusterName: CLUSTER, namespace: NS, serviceAccount: SA, associationArn: made.associationArn, associationId: made.associationId }]);
    expect((await c.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: CLUSTER, namespace: NS, serviceAccount: 'nobody' }))).associations).toEqual([]);
    const newRole = 'arn:aws:iam::123456789012:role/path/OtherPods';
    const updated = await c.eks.send(new UpdatePodIdentityAssociationCommand({ clusterName: CLUSTER, associationId: made.associationId, roleArn: newRole }));
    expect(updated.association).toMatchObject({ associationId: made.associationId, namespace: NS, serviceAccount: SA, roleArn: newRole });
    const deleted = await c.eks.send(new DeletePodIdentityAssociationCommand({ clusterName: CLUSTER, associationId: made.associationId }));
    expect(deleted.association).toMatchObject({ associationId: made.associationId, roleArn: newRole });
    expect(cloud.aws.podIdentityAssociations(CLUSTER)).toEqual([{ associationId: other.associationId, associationArn: other.associationArn, namespace: 'team-b', serviceAccount: 'reader', roleArn: ROLE, tags: {} }]);
    expect(cloud.calls.map((x) => [x.operation, x.mutating, x.status])).toEqual([
      ['CreatePodIdentityAssociation', true, 200],
      ['CreatePodIdentityAssociation', true, 200],
      ['DescribePodIdentityAssociation', false, 200],
      ['ListPodIdentityAssociations', false, 200],
      ['ListPodIdentityAssociations', false, 200],
      ['ListPodIdentityAssociations', false, 200],
      ['UpdatePodIdentityAssociation', true, 200],
      ['DeletePodIdentityAssociation', true, 200],
    ]);
  });

  it('one association per ServiceAccount: a second is 409 ResourceInUseException naming the first; a retried request (same token) gets the first back', async () => {
    const first = (await create({ clientRequestToken: 'token-1' })).association!;
    const e = await create({ roleArn: 'arn:aws:iam::123456789012:role/Else' }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(ResourceInUseException);
    expect(e).toMatchObject({ message: `Association already exists: ${first.associationId}`, $metadata: { httpStatusCode: 409 } });
    expect((await create({ clientRequestToken: 'token-1' })).association?.associationId).toBe(first.associationId);
    expect(cloud.aws.podIdentityAssociations(CLUSTER)).toHaveLength(1);
  });

  it('ResourceNotFoundException for a missing association or cluster; InvalidParameterException for a role that is no role ARN', async () => {
    await expect(c.eks.send(new DescribePodIdentityAssociationCommand({ clusterName: CLUSTER, associationId: 'a-00000000000000000' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(c.eks.send(new DeletePodIdentityAssociationCommand({ clusterName: CLUSTER, associationId: 'a-00000000000000000' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(c.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(create({ roleArn: 'arn:aws:iam::123456789012:user/someone' })).rejects.toMatchObject({ name: 'InvalidParameterException', $metadata: { httpStatusCode: 400 } });
  });

  it('tags on the association ARN (TagResource, UntagResource, ListTagsForResource)', async () => {
    const a = (await create({ tags: { 'managed-by': 'astro-remote-kpo' } })).association!;
    await c.eks.send(new TagResourceCommand({ resourceArn: a.associationArn, tags: { 'astro-remote-kpo/p1': 'used' } }));
    await c.eks.send(new UntagResourceCommand({ resourceArn: a.associationArn, tagKeys: ['managed-by'] }));
    expect((await c.eks.send(new ListTagsForResourceCommand({ resourceArn: a.associationArn }))).tags).toEqual({ 'astro-remote-kpo/p1': 'used' });
    expect(cloud.mutatingCalls('eks').map((x) => x.operation)).toEqual(['CreatePodIdentityAssociation', 'TagResource', 'UntagResource']);
  });

  it('pages by maxResults/nextToken as EKS does', async () => {
    for (let i = 0; i < 5; i++) await create({ serviceAccount: `sa-${i}` });
    const seen: string[] = [];
    for await (const page of paginateListPodIdentityAssociations({ client: c.eks, pageSize: 2 }, { clusterName: CLUSTER })) {
      expect(page.associations!.length).toBeLessThanOrEqual(2);
      seen.push(...page.associations!.map((a) => a.serviceAccount!));
    }
    expect(seen).toEqual(['sa-0', 'sa-1', 'sa-2', 'sa-3', 'sa-4']);
  });

  it('the request on the wire is what research-20.md captured from the SDK', async () => {
    const body = JSON.stringify({ namespace: NS, serviceAccount: SA, roleArn: ROLE, clientRequestToken: 'd03bd7b4-0000-4000-8000-000000000000', tags: { 'managed-by': 'astro-remote-kpo' } });
    const res = await rawAws(cloud, 'eks', 'POST', `/clusters/${CLUSTER}/pod-identity-associations`, body, 'application/json');
    expect(res.status).toBe(200);
    const a = (JSON.parse(res.body) as { association: Record<string, unknown> }).association;
    expect(Object.keys(a).sort()).toEqual(['associationArn', 'associationId', 'clusterName', 'createdAt', 'disableSessionTags', 'modifiedAt', 'namespace', 'roleArn', 'serviceAccount', 'tags']);
    expect(typeof a.createdAt).toBe('number'); // epoch seconds, as EKS sends them
    const list = await rawAws(cloud, 'eks', 'GET', `/clusters/${CLUSTER}/pod-identity-associations?namespace=${NS}&serviceAccount=${SA}`, '');
    expect(JSON.parse(list.body)).toEqual({ associations: [{ clusterName: CLUSTER, namespace: NS, serviceAccount: SA, associationArn: a.associationArn, associationId: a.associationId }] });
    const dup = await rawAws(cloud, 'eks', 'POST', `/clusters/${CLUSTER}/pod-identity-associations`, body.replace('d03bd7b4', 'e03bd7b4'), 'application/json');
    expect(dup.status).toBe(409);
    expect(dup.headers.get('x-amzn-errortype')).toBe('ResourceInUseException');
  });

  it('a role session needs iam:PassRole on the role to associate it (EKS docs); hold makes the association and holds the answer', async () => {
    const admin = 'arn:aws:iam::123456789012:role/Installer';
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: cloud.adminArn }, Action: 'sts:AssumeRole' }] };
    const installer = cloud.aws.createRole({ name: 'Installer', trustPolicy: trust });
    installer.inline.set('eks', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'eks:*PodIdentityAssociation*', Resource: '*' }] }));
    const session = clients(cloud, cloud.aws.issueCredentials(admin, 'install'));
    const denied = await session.eks.send(new CreatePodIdentityAssociationCommand({ clusterName: CLUSTER, namespace: NS, serviceAccount: SA, roleArn: ROLE })).catch((x: Error) => x);
    expect(denied).toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining(`not authorized to perform: iam:PassRole on resource: ${ROLE}`) as unknown });
    installer.inline.set('pass', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: ROLE }] }));
    cloud.faults.slowMs = 400;
    cloud.faults.failNth('CreatePodIdentityAssociation', 1, 'hold');
    let answered = false;
    const p = session.eks.send(new CreatePodIdentityAssociationCommand({ clusterName: CLUSTER, namespace: NS, serviceAccount: SA, roleArn: ROLE })).then((r) => ((answered = true), r));
    while (!cloud.aws.podIdentityAssociations(CLUSTER).length) await new Promise((r) => setTimeout(r, 10));
    expect(answered).toBe(false);
    expect((await p).association?.serviceAccount).toBe(SA);
    expect(cloud.calls.filter((x) => x.operation === 'CreatePodIdentityAssociation').map((x) => [x.status, x.fault, x.caller])).toEqual([
      [403, undefined, 'arn:aws:sts::123456789012:assumed-role/Installer/install'],
      [200, 'hold', 'arn:aws:sts::123456789012:assumed-role/Installer/install'],
    ]);
  });
});

describe('EKS add-ons', () => {
  it('ListAddons gives names; DescribeAddon the add-on or ResourceNotFoundException in AWS\'s words', async () => {
    await cloud.addCluster({ name: 'with-agent', addons: ['vpc-cni', 'eks-pod-identity-agent'] });
    expect((await c.eks.send(new ListAddonsCommand({ clusterName: CLUSTER }))).addons).toEqual([]);
    expect((await c.eks.send(new ListAddonsCommand({ clusterName: 'with-agent' }))).addons).toEqual(['vpc-cni', 'eks-pod-identity-agent']);
    const d = await c.eks.send(new DescribeAddonCommand({ clusterName: 'with-agent', addonName: 'eks-pod-identity-agent' }));
    expect(d.addon).toMatchObject({ addonName: 'eks-pod-identity-agent', clusterName: 'with-agent', status: 'ACTIVE', health: { issues: [] } });
    expect(d.addon?.addonArn).toMatch(/^arn:aws:eks:us-east-1:123456789012:addon\/with-agent\/eks-pod-identity-agent\/[0-9a-f-]{36}$/);
    expect(d.addon?.createdAt).toBeInstanceOf(Date);
    const e = await c.eks.send(new DescribeAddonCommand({ clusterName: CLUSTER, addonName: 'eks-pod-identity-agent' })).catch((x: Error) => x);
    expect(e).toBeInstanceOf(ResourceNotFoundException);
    expect((e as Error).message).toBe(`No addon: eks-pod-identity-agent found in cluster: ${CLUSTER}`);
    cloud.aws.addAddon(CLUSTER, 'eks-pod-identity-agent', 'DEGRADED');
    expect((await c.eks.send(new DescribeAddonCommand({ clusterName: CLUSTER, addonName: 'eks-pod-identity-agent' }))).addon?.status).toBe('DEGRADED');
    expect(cloud.mutatingCalls()).toEqual([]);
  });
});

// The fake IAM's OpenID Connect providers (IRSA), driven by the real IAMClient: shapes as
// client-iam 3.1169 parses them and as moto 5.2.1 answered the project's SDK (research-20.md §1),
// typed errors, the call log's mutating flag, faults (hold) and signatures; and IAM's check that a
// trust policy's Federated provider exists.
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  EntityAlreadyExistsException,
  GetOpenIDConnectProviderCommand,
  InvalidInputException,
  ListOpenIDConnectProvidersCommand,
  ListOpenIDConnectProviderTagsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  paginateListRoles,
  TagOpenIDConnectProviderCommand,
  UntagOpenIDConnectProviderCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { clients, rawAws, xmlPaths } from './helpers.js';

const ISSUER = 'https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const HOST_PATH = 'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const ARN = `arn:aws:iam::123456789012:oidc-provider/${HOST_PATH}`;
const SUB = 'system:serviceaccount:astro-remote-kpo:astro-remote-kpo-pods';
const irsaTrust = (provider = ARN) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Federated: provider }, Action: 'sts:AssumeRoleWithWebIdentity', Condition: { StringEquals: { [`${HOST_PATH}:sub`]: SUB, [`${HOST_PATH}:aud`]: 'sts.amazonaws.com' } } }],
  });

let cloud: TestCloud;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  cloud = await startTestCloud();
  c = clients(cloud);
});
afterAll(() => cloud.stop());
beforeEach(() => {
  cloud.aws.iam.oidc.byArn.clear();
  cloud.aws.roles.clear();
  cloud.faults.clear();
  cloud.resetCalls();
});

describe('IAM OpenID Connect providers', () => {
  it('create (no thumbprint), get, list, tag, untag, list tags, delete: the shapes IAM answers', async () => {
    const created = await c.iam.send(new CreateOpenIDConnectProviderCommand({ Url: ISSUER, ClientIDList: ['sts.amazonaws.com'], Tags: [{ Key: 'managed-by', Value: 'astro-remote-kpo' }] }));
    expect(created.OpenIDConnectProviderArn).toBe(ARN);
    expect(created.Tags).toEqual([{ Key: 'managed-by', Value: 'astro-remote-kpo' }]);
    const got = await c.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN }));
    // The Url comes back without its scheme, like AWS's own example ("server.example.com").
    expect(got).toMatchObject({ Url: HOST_PATH, ClientIDList: ['sts.amazonaws.com'], ThumbprintList: [], Tags: [{ Key: 'managed-by', Value: 'astro-remote-kpo' }] });
    expect(got.CreateDate).toBeInstanceOf(Date);
    expect((await c.iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).toEqual([{ Arn: ARN }]);
    await c.iam.send(new TagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN, Tags: [{ Key: 'astro-remote-kpo/project', Value: 'p1' }, { Key: 'managed-by', Value: 'someone' }] }));
    await c.iam.send(new UntagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN, TagKeys: ['managed-by'] }));
    const tags = await c.iam.send(new ListOpenIDConnectProviderTagsCommand({ OpenIDConnectProviderArn: ARN }));
    expect(tags).toMatchObject({ Tags: [{ Key: 'astro-remote-kpo/project', Value: 'p1' }], IsTruncated: false });
    expect(cloud.aws.oidcProviders()).toEqual([{ arn: ARN, url: HOST_PATH, clientIds: ['sts.amazonaws.com'], thumbprints: [], tags: { 'astro-remote-kpo/project': 'p1' } }]);
    await c.iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN }));
    // Idempotent, as the SDK documents: deleting a provider that is gone is no error.
    await c.iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN }));
    expect((await c.iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).toEqual([]);
    expect(cloud.calls.map((x) => [x.operation, x.mutating, x.status])).toEqual([
      ['CreateOpenIDConnectProvider', true, 200],
      ['GetOpenIDConnectProvider', false, 200],
      ['ListOpenIDConnectProviders', false, 200],
      ['TagOpenIDConnectProvider', true, 200],
      ['UntagOpenIDConnectProvider', true, 200],
      ['ListOpenIDConnectProviderTags', false, 200],
      ['DeleteOpenIDConnectProvider', true, 200],
      ['DeleteOpenIDConnectProvider', true, 200],
      ['ListOpenIDConnectProviders', false, 200],
    ]);
  });

  it('typed errors: EntityAlreadyExists for the same issuer (also with eksctl\'s :443), NoSuchEntity for a missing one', async () => {
    await c.iam.send(new CreateOpenIDConnectProviderCommand({ Url: ISSUER, ClientIDList: ['sts.amazonaws.com'] }));
    const again = await c.iam.send(new CreateOpenIDConnectProviderCommand({ Url: ISSUER })).catch((e: Error) => e);
    expect(again).toBeInstanceOf(EntityAlreadyExistsException);
    expect(again).toMatchObject({ message: `Provider with url ${ISSUER} already exists.`, $metadata: { httpStatusCode: 409 } });
    // eksctl sends https://host:443/id/…; IAM keys the provider by host and path all the same.
    const withPort = ISSUER.replace('.com/', '.com:443/');
    await expect(c.iam.send(new CreateOpenIDConnectProviderCommand({ Url: withPort }))).rejects.toBeInstanceOf(EntityAlreadyExistsException);
    const missing = `${ARN.slice(0, -7)}MISSING`;
    const e = await c.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: missing })).catch((x: Error) => x);
    expect(e).toBeInstanceOf(NoSuchEntityException);
    expect((e as Error).message).toBe(`OpenIDConnect Provider not found for arn ${missing}`);
    await expect(c.iam.send(new TagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: missing, Tags: [{ Key: 'k', Value: 'v' }] }))).rejects.toBeInstanceOf(NoSuchEntityException);
    await expect(c.iam.send(new UntagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: missing, TagKeys: ['k'] }))).rejects.toBeInstanceOf(NoSuchEntityException);
    await expect(c.iam.send(new ListOpenIDConnectProviderTagsCommand({ OpenIDConnectProviderArn: missing }))).rejects.toBeInstanceOf(NoSuchEntityException);
    await expect(c.iam.send(new CreateOpenIDConnectProviderCommand({ Url: 'http://oidc.example.com/id/X' }))).rejects.toBeInstanceOf(InvalidInputException);
  });

  it('a provider someone else made (createOidcProvider) is what the SDK finds', async () => {
    const { arn } = cloud.aws.createOidcProvider({ url: ISSUER, tags: { owner: 'platform-team' } });
    expect(arn).toBe(ARN);
    const got = await c.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN }));
    expect(got).toMatchObject({ Url: HOST_PATH, ClientIDList: ['sts.amazonaws.com'], Tags: [{ Key: 'owner', Value: 'platform-team' }] });
    expect(cloud.mutatingCalls()).toEqual([]);
  });

  it('the XML has the elements of the moto capture (research-20.md §1)', async () => {
    const form = (o: Record<string, string>) => new URLSearchParams({ Version: '2010-05-08', ...o }).toString();
    const send = (o: Record<string, string>) => rawAws(cloud, 'iam', 'POST', '/', form(o), 'application/x-www-form-urlencoded');
    const create = await send({ Action: 'CreateOpenIDConnectProvider', Url: ISSUER, 'ClientIDList.member.1': 'sts.amazonaws.com', 'Tags.member.1.Key': 'managed-by', 'Tags.member.1.Value': 'astro-remote-kpo' });
    expect(create.status).toBe(200);
    const R = 'CreateOpenIDConnectProviderResponse/CreateOpenIDConnectProviderResult';
    // moto leaves the Result's Tags out; AWS's model has them.
    expect([...xmlPaths(create.body)].filter((p) => !p.includes('/Tags')).sort()).toEqual(['CreateOpenIDConnectProviderResponse', R, `${R}/OpenIDConnectProviderArn`, 'CreateOpenIDConnectProviderResponse/ResponseMetadata', 'CreateOpenIDConnectProviderResponse/ResponseMetadata/RequestId'].sort());
    const get = await send({ Action: 'GetOpenIDConnectProvider', OpenIDConnectProviderArn: ARN });
    const G = 'GetOpenIDConnectProviderResponse/GetOpenIDConnectProviderResult';
    expect([...xmlPaths(get.body)].filter((p) => p.startsWith(G)).sort()).toEqual(
      [G, `${G}/Url`, `${G}/ClientIDList`, `${G}/ClientIDList/member`, `${G}/ThumbprintList`, `${G}/CreateDate`, `${G}/Tags`, `${G}/Tags/member`, `${G}/Tags/member/Key`, `${G}/Tags/member/Value`].sort(),
    );
    expect(get.body).toContain('<ThumbprintList/>');
    expect(get.body).toContain(`<Url>${HOST_PATH}</Url>`);
    const missing = await send({ Action: 'GetOpenIDConnectProvider', OpenIDConnectProviderArn: `${ARN}X` });
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('<Code>NoSuchEntity</Code>');
    const list = await send({ Action: 'ListOpenIDConnectProviders' });
    expect(list.body).toContain(`<OpenIDConnectProviderList><member><Arn>${ARN}</Arn></member></OpenIDConnectProviderList>`);
    const del = await send({ Action: 'DeleteOpenIDConnectProvider', OpenIDConnectProviderArn: ARN });
    expect(del.body).toMatch(/^<DeleteOpenIDConnectProviderResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><ResponseMetadata>/);
    expect((await send({ Action: 'ListOpenIDConnectProviders' })).body).toContain('<OpenIDConnectProviderList/>');
  });

  it('hold: the provider is made and logged while the answer is held; signatures are checked', async () => {
    cloud.faults.slowMs = 400;
    cloud.faults.failNth('CreateOpenIDConnectProvider', 1, 'hold');
    let answered = false;
    const p = c.iam.send(new CreateOpenIDConnectProviderCommand({ Url: ISSUER })).then((r) => ((answered = true), r));
    while (!cloud.aws.oidcProviders().length) await new Promise((r) => setTimeout(r, 10));
    expect(cloud.calls).toMatchObject([{ operation: 'CreateOpenIDConnectProvider', mutating: true, status: 200, fault: 'hold' }]);
    expect(answered).toBe(false);
    expect((await p).OpenIDConnectProviderArn).toBe(ARN);
    cloud.faults.failNth('GetOpenIDConnectProvider', 1, 'throttle');
    await expect(c.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN }))).rejects.toMatchObject({ name: 'Throttling' });
    const forged = clients(cloud, { accessKeyId: cloud.credentials.accessKeyId, secretAccessKey: 'guess' });
    await expect(forged.iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    expect(cloud.aws.oidcProviders()).toHaveLength(1);
  });
});

describe('trust policies naming identity providers', () => {
  it('a Federated OIDC provider must exist (MalformedPolicyDocument until it does); pods.eks.amazonaws.com is a valid Service', async () => {
    const e = await c.iam.send(new CreateRoleCommand({ RoleName: 'Pods', AssumeRolePolicyDocument: irsaTrust() })).catch((x: Error) => x);
    expect(e).toBeInstanceOf(MalformedPolicyDocumentException);
    expect((e as Error).message).toBe(`Invalid principal in policy: "Federated":"${ARN}"`);
    expect(cloud.aws.role('Pods')).toBeUndefined();
    cloud.aws.createOidcProvider({ url: ISSUER });
    await c.iam.send(new CreateRoleCommand({ RoleName: 'Pods', AssumeRolePolicyDocument: irsaTrust() }));
    expect(cloud.aws.trustPolicy('Pods')?.Statement[0]).toMatchObject({ Principal: { Federated: ARN }, Action: 'sts:AssumeRoleWithWebIdentity' });
    const other = ARN.replace('EXAMPLED539', 'FFFFFFF539');
    await expect(c.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'Pods', PolicyDocument: irsaTrust(other) }))).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    const podIdentity = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'AllowEksAuthToAssumeRoleForPodIdentity', Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] });
    await c.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'Pods', PolicyDocument: podIdentity }));
    expect(cloud.aws.trustPolicy('Pods')).toEqual(JSON.parse(podIdentity));
    const junk = await c.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'Pods', PolicyDocument: irsaTrust('not a provider') })).catch((x: Error) => x);
    expect(junk).toBeInstanceOf(MalformedPolicyDocumentException);
    expect((junk as Error).message).toBe('Federated principals must be valid domain names or SAML metadata ARNs');
  });

  it('ListRoles pages by MaxItems/Marker and carries each trust policy: who else trusts a provider can be read', async () => {
    cloud.aws.createOidcProvider({ url: ISSUER });
    for (let i = 0; i < 5; i++) await c.iam.send(new CreateRoleCommand({ RoleName: `Pods${i}`, AssumeRolePolicyDocument: irsaTrust() }));
    const trusting: string[] = [];
    for await (const page of paginateListRoles({ client: c.iam, pageSize: 2 }, {})) {
      expect(page.Roles!.length).toBeLessThanOrEqual(2);
      for (const r of page.Roles!) if (decodeURIComponent(r.AssumeRolePolicyDocument!).includes(ARN)) trusting.push(r.RoleName!);
    }
    expect(trusting).toEqual(['Pods0', 'Pods1', 'Pods2', 'Pods3', 'Pods4']);
    expect(cloud.calls.filter((x) => x.operation === 'ListRoles')).toHaveLength(3);
  });
});

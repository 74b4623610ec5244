// The fake EKS (REST-JSON through the real EKSClient) and EKS-token authentication at the fake API
// server: tokens accepted, expired/wrong-cluster/forged ones rejected, identities mapped through
// access entries, aws-auth or the creator rule, also via the kubeconfig exec plugin.
import path from 'node:path';
import {
  CreateAccessEntryCommand,
  DeleteAccessEntryCommand,
  DescribeAccessEntryCommand,
  DescribeClusterCommand,
  InvalidParameterException,
  InvalidRequestException,
  ListAccessEntriesCommand,
  ListClustersCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  waitUntilClusterActive,
} from '@aws-sdk/client-eks';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_CLI_BIN_DIR, startTestCloud, type TestCloud } from '../support/cloud.js';
import { clients, eksToken, jsonPaths, kubeRaw, sample } from './helpers.js';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/AstroRemoteKPO';
let cloud: TestCloud;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  cloud = await startTestCloud({ awsCli: true });
  c = clients(cloud);
  cloud.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/astro-dep-abc123' }, Action: 'sts:AssumeRole' }] } });
});
afterAll(() => cloud.stop());

const get = (token: string, p = '/api/v1/namespaces/default', server = cloud.kube.url) => kubeRaw(server, 'GET', p, { token });

describe('EKS API', () => {
  it('ListClusters/DescribeCluster/waiter with the shapes of the wire samples, plus the fields moto lacks', async () => {
    const empty = await c.eks.send(new ListClustersCommand({}));
    expect(empty.clusters).toEqual([]);
    await expect(c.eks.send(new DescribeClusterCommand({ name: 'no-such-cluster' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await cloud.addCluster({ name: 'remote-kpo-demo', status: 'CREATING' });
    setTimeout(() => void (cloud.aws.cluster('remote-kpo-demo')!.status = 'ACTIVE'), 100);
    await waitUntilClusterActive({ client: c.eks, minDelay: 1, maxWaitTime: 20 }, { name: 'remote-kpo-demo' });
    const d = await c.eks.send(new DescribeClusterCommand({ name: 'remote-kpo-demo' }));
    expect(d.cluster).toMatchObject({ name: 'remote-kpo-demo', status: 'ACTIVE', arn: 'arn:aws:eks:us-east-1:123456789012:cluster/remote-kpo-demo', endpoint: cloud.kube.url, accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' } });
    expect(d.cluster?.createdAt).toBeInstanceOf(Date);
    const raw = await fetch(`${cloud.awsEndpoint}/clusters`).then((r) => r.status);
    expect(raw).toBe(403); // unsigned
    const want = [...jsonPaths(JSON.parse(sample('aws/eks-DescribeCluster').response.body))].filter((p) => !/clientRequestToken|encryptionConfig/.test(p));
    const got = jsonPaths({ cluster: JSON.parse(JSON.stringify(d.cluster)) as unknown });
    for (const p of want) expect(got.has(p), p).toBe(true);
    expect((await c.eks.send(new ListClustersCommand({}))).clusters).toEqual(['remote-kpo-demo']);
  });

  it('access entries: create, describe, list, delete; typed errors', async () => {
    const created = await c.eks.send(new CreateAccessEntryCommand({ clusterName: 'remote-kpo-demo', principalArn: ROLE_ARN, username: 'AstroRemoteKPO' }));
    expect(created.accessEntry).toMatchObject({ principalArn: ROLE_ARN, username: 'AstroRemoteKPO', type: 'STANDARD', kubernetesGroups: [] });
    await expect(c.eks.send(new CreateAccessEntryCommand({ clusterName: 'remote-kpo-demo', principalArn: ROLE_ARN }))).rejects.toBeInstanceOf(ResourceInUseException);
    await expect(c.eks.send(new CreateAccessEntryCommand({ clusterName: 'remote-kpo-demo', principalArn: 'arn:aws:iam::123456789012:role/x', kubernetesGroups: ['system:masters'] }))).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(c.eks.send(new CreateAccessEntryCommand({ clusterName: 'nope', principalArn: ROLE_ARN }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect((await c.eks.send(new DescribeAccessEntryCommand({ clusterName: 'remote-kpo-demo', principalArn: ROLE_ARN }))).accessEntry?.username).toBe('AstroRemoteKPO');
    const list = await c.eks.send(new ListAccessEntriesCommand({ clusterName: 'remote-kpo-demo' }));
    expect(list.accessEntries).toContain(ROLE_ARN);
    expect(list.accessEntries).toContain(cloud.adminArn); // the creator's bootstrap admin entry, as EKS makes it
    await cloud.addCluster({ name: 'legacy', authenticationMode: 'CONFIG_MAP' });
    await expect(c.eks.send(new CreateAccessEntryCommand({ clusterName: 'legacy', principalArn: ROLE_ARN }))).rejects.toBeInstanceOf(InvalidRequestException);
    await c.eks.send(new DeleteAccessEntryCommand({ clusterName: 'remote-kpo-demo', principalArn: ROLE_ARN }));
    await expect(c.eks.send(new DescribeAccessEntryCommand({ clusterName: 'remote-kpo-demo', principalArn: ROLE_ARN }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(cloud.mutatingCalls('eks').map((x) => x.operation)).toEqual(['CreateAccessEntry', 'CreateAccessEntry', 'CreateAccessEntry', 'CreateAccessEntry', 'CreateAccessEntry', 'DeleteAccessEntry']);
  });
});

describe('EKS tokens at the API server', () => {
  it('accepts a valid token (the creator is admin) and rejects expired, wrong-cluster, forged, padded and foreign-host ones', async () => {
    expect((await get(await eksToken(cloud, 'remote-kpo-demo'))).status).toBe(200);
    const bad: Array<[string, Promise<string>]> = [
      ['expired', eksToken(cloud, 'remote-kpo-demo', { signingDate: new Date(Date.now() - 16 * 60_000) })],
      ['wrong cluster', eksToken(cloud, 'legacy')],
      ['forged', eksToken(cloud, 'remote-kpo-demo', { credentials: { accessKeyId: cloud.credentials.accessKeyId, secretAccessKey: 'guess' } })],
      ['padded', eksToken(cloud, 'remote-kpo-demo', { pad: true })],
      ['foreign host', eksToken(cloud, 'remote-kpo-demo', { host: 'https://sts.evil.example.com' })],
      ['unsigned cluster id', eksToken(cloud, 'remote-kpo-demo', { signHeader: false })],
    ];
    for (const [why, token] of bad) {
      const res = await get(await token);
      expect(res.status, why).toBe(401);
      expect(JSON.parse(res.body), why).toEqual(JSON.parse(sample('kubernetes/namespaces-GET-401-bad-token').response.body));
    }
    // A token signed for the real regional STS host is fine too (it is never sent there).
    expect((await get(await eksToken(cloud, 'remote-kpo-demo', { host: 'https://sts.us-east-1.amazonaws.com' }))).status).toBe(200);
    expect(cloud.calls.filter((x) => x.status === 401).map((x) => x.note)).toEqual([
      'X-Amz-Date parameter is expired (15 minute expiration)',
      'signature mismatch (wrong cluster, wrong secret or tampered URL)',
      'signature mismatch (wrong cluster, wrong secret or tampered URL)',
      'token is not unpadded base64url',
      'unexpected STS host sts.evil.example.com',
      'x-k8s-aws-id is not signed',
    ]);
  });

  it('maps a role session through its access entry, then RBAC decides', async () => {
    const session = cloud.aws.issueCredentials(ROLE_ARN, 'airflow-task');
    const token = await eksToken(cloud, 'remote-kpo-demo', { credentials: session });
    expect((await get(token)).status).toBe(401); // no mapping yet
    cloud.aws.addAccessEntry('remote-kpo-demo', ROLE_ARN, { username: 'AstroRemoteKPO' });
    const denied = await get(token, '/api/v1/namespaces/default/pods');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body).message).toBe('pods is forbidden: User "AstroRemoteKPO" cannot list resource "pods" in API group "" in the namespace "default"');
    cloud.kube.put({ kind: 'Role', metadata: { name: 'r', namespace: 'default' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] });
    cloud.kube.put({ kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'default' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'AstroRemoteKPO' }] });
    expect((await get(token, '/api/v1/namespaces/default/pods')).status).toBe(200);
  });

  it('maps through aws-auth on a CONFIG_MAP cluster (role ARN without path only) and the creator is admin', async () => {
    const legacy = cloud.kubeOf('legacy');
    const session = cloud.aws.issueCredentials(ROLE_ARN, 's');
    const token = await eksToken(cloud, 'legacy', { credentials: session });
    expect((await get(await eksToken(cloud, 'legacy'), '/api/v1/namespaces', legacy.url)).status).toBe(200);
    const cm = legacy.configMap('kube-system', 'aws-auth')!;
    expect((await get(token, '/version', legacy.url)).status).toBe(401);
    legacy.put({ ...cm, data: { mapRoles: `${cm.data!.mapRoles}- rolearn: arn:aws:iam::123456789012:role/some/path/AstroRemoteKPO\n  username: AstroRemoteKPO\n` } });
    expect((await get(token, '/version', legacy.url)).status).toBe(401); // the path defeats aws-auth, as on EKS
    legacy.put({ ...cm, data: { mapRoles: `${cm.data!.mapRoles}- rolearn: ${ROLE_ARN}\n  username: AstroRemoteKPO\n  groups:\n  - readers\n` } });
    expect((await get(token, '/version', legacy.url)).status).toBe(200);
    expect(cloud.calls.at(-1)).toMatchObject({ caller: 'AstroRemoteKPO', status: 200, cluster: 'legacy' });
  });

  it('works through the kubeconfig exec plugin (stand-in `aws eks get-token`) as client-node runs it', async () => {
    await cloud.addCluster({ name: 'exec-demo', withKubeconfigContext: true });
    // client-node spawns the plugin with this process's environment.
    Object.assign(process.env, { ...cloud.env, PATH: `${AWS_CLI_BIN_DIR}${path.delimiter}${process.env.PATH}` });
    const kc = new KubeConfig();
    kc.loadFromFile(cloud.kubeconfigPath);
    expect(kc.getCurrentContext()).toBe('test-admin@exec-demo.us-east-1.eksctl.io');
    const ns = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(ns.items.map((n) => n.metadata?.name)).toContain('kube-system');
    expect(cloud.calls.at(-1)).toMatchObject({ service: 'kube', cluster: 'exec-demo', caller: cloud.adminArn, status: 200 });
  });

  it("accepts the CLI's own in-process token generator (src/aws/eks-token.ts)", async () => {
    const { generateEksToken } = await import('../../src/aws/eks-token.js');
    const { token } = await generateEksToken({ clusterName: 'remote-kpo-demo', region: 'us-east-1', credentials: cloud.credentials, env: cloud.env });
    expect((await get(token)).status).toBe(200);
    const other = await generateEksToken({ clusterName: 'legacy', region: 'us-east-1', credentials: cloud.credentials, env: cloud.env });
    expect((await get(other.token)).status).toBe(401);
  });
});

// The fake EKS's access policies through the real EKSClient (the SDK model's REST-JSON shapes:
// epoch timestamps, accessScope), and what they mean at the fake API server: a cluster-scoped
// AmazonEKSClusterAdminPolicy makes the identity admin; Kubernetes groups reach RBAC and
// SubjectAccessReview `groups`.
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  DisassociateAccessPolicyCommand,
  InvalidParameterException,
  ListAssociatedAccessPoliciesCommand,
  ResourceNotFoundException,
  UpdateAccessEntryCommand,
} from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { clusterAdminBinding } from '../support/cloud.js';
import { clients, eksToken, kubeRaw } from './helpers.js';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/AstroRemoteKPO';
const ADMIN = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';
const VIEW = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy';
let cloud: TestCloud;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  cloud = await startTestCloud({ cluster: { name: 'remote-kpo-demo', authenticationMode: 'API' } });
  c = clients(cloud);
  cloud.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/astro-dep-abc123' }, Action: 'sts:AssumeRole' }] } });
});
afterAll(() => cloud.stop());

describe('EKS access policies', () => {
  it('associate, list (SDK shapes), disassociate; unknown entry and bad ARN are typed errors', async () => {
    const clusterName = 'remote-kpo-demo';
    await c.eks.send(new CreateAccessEntryCommand({ clusterName, principalArn: ROLE_ARN, username: 'AstroRemoteKPO' }));
    const empty = await c.eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName, principalArn: ROLE_ARN }));
    expect(empty).toMatchObject({ clusterName, principalArn: ROLE_ARN, associatedAccessPolicies: [] });

    const a = await c.eks.send(new AssociateAccessPolicyCommand({ clusterName, principalArn: ROLE_ARN, policyArn: VIEW, accessScope: { type: 'namespace', namespaces: ['team-a'] } }));
    expect(a.associatedAccessPolicy).toMatchObject({ policyArn: VIEW, accessScope: { type: 'namespace', namespaces: ['team-a'] } });
    expect(a.associatedAccessPolicy?.associatedAt).toBeInstanceOf(Date);
    await c.eks.send(new AssociateAccessPolicyCommand({ clusterName, principalArn: ROLE_ARN, policyArn: ADMIN, accessScope: { type: 'cluster' } }));
    const list = await c.eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName, principalArn: ROLE_ARN }));
    expect(list.associatedAccessPolicies?.map((p) => [p.policyArn, p.accessScope?.type])).toEqual([
      [VIEW, 'namespace'],
      [ADMIN, 'cluster'],
    ]);
    expect(list.associatedAccessPolicies?.[1]?.modifiedAt).toBeInstanceOf(Date);

    await expect(c.eks.send(new AssociateAccessPolicyCommand({ clusterName, principalArn: ROLE_ARN, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess', accessScope: { type: 'cluster' } }))).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(c.eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName, principalArn: 'arn:aws:iam::123456789012:role/none' }))).rejects.toBeInstanceOf(ResourceNotFoundException);

    await c.eks.send(new DisassociateAccessPolicyCommand({ clusterName, principalArn: ROLE_ARN, policyArn: VIEW }));
    expect((await c.eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName, principalArn: ROLE_ARN }))).associatedAccessPolicies?.map((p) => p.policyArn)).toEqual([ADMIN]);
    expect(cloud.mutatingCalls('eks').map((x) => x.operation)).toEqual(['CreateAccessEntry', 'AssociateAccessPolicy', 'AssociateAccessPolicy', 'AssociateAccessPolicy', 'DisassociateAccessPolicy']);
  });

  it('at the API server: the cluster admin policy admits everything; kubernetesGroups reach RBAC and SubjectAccessReview groups', async () => {
    const session = cloud.aws.issueCredentials(ROLE_ARN, 'airflow-task');
    const token = await eksToken(cloud, 'remote-kpo-demo', { credentials: session });
    expect((await kubeRaw(cloud.kube.url, 'GET', '/api/v1/namespaces/kube-system/pods', { token })).status).toBe(200);
    await c.eks.send(new DisassociateAccessPolicyCommand({ clusterName: 'remote-kpo-demo', principalArn: ROLE_ARN, policyArn: ADMIN }));
    expect((await kubeRaw(cloud.kube.url, 'GET', '/api/v1/namespaces/kube-system/pods', { token })).status).toBe(403);

    cloud.kube.put(clusterAdminBinding('ops-admins'));
    await c.eks.send(new UpdateAccessEntryCommand({ clusterName: 'remote-kpo-demo', principalArn: ROLE_ARN, kubernetesGroups: ['ops-admins'] }));
    expect((await kubeRaw(cloud.kube.url, 'GET', '/api/v1/namespaces/kube-system/pods', { token })).status).toBe(200);

    // The same question as a SubjectAccessReview: without the groups denied, with them allowed.
    const sar = async (groups?: string[]) => {
      const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'AstroRemoteKPO', ...(groups ? { groups } : {}), resourceAttributes: { verb: 'get', resource: 'secrets', namespace: 'kube-system' } } };
      const r = await kubeRaw(cloud.kube.url, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { token: cloud.kube.adminToken, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
      return (JSON.parse(r.body) as { status: { allowed: boolean } }).status.allowed;
    };
    expect(await sar()).toBe(false);
    expect(await sar(['ops-admins', 'system:authenticated'])).toBe(true);
  });
});

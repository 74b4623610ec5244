// The task pods' identity (issue #20) in-process: the trust documents and their comparison, and
// the three stages' check() or plan() with their context as a small literal (exactly what each
// declares). AWS answers come from a table by command name, on clients that pass the SDK
// paginators' instanceof check, so the list calls page as the real clients do.
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../src/aws/clients.js';
import { oidcProviderArn, podIdentityTrust, trustDifferences } from '../../src/aws/pod-trust.js';
import type { Owner } from '../../src/engine/stage.js';
import { migrateInputs } from '../../src/engine/state.js';
import { podIdentityStage } from '../../src/stages/pod-identity.js';
import { podRoleStage } from '../../src/stages/pod-role.js';
import { podServiceAccountStage } from '../../src/stages/pod-service-account.js';
import type { Inputs, StageOutputs } from '../../src/types.js';
import { expectCode } from '../support/failure.js';
import { ambient, awsError, outputsOf } from '../support/stage-ctx.js';

const ACCOUNT = '123456789012';
const WI = `arn:aws:iam::${ACCOUNT}:role/astro-dep-abc123`;
const ISSUER = 'https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`;
const ECR = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly';
const PROJECT = 'a1b2c3d4-0000-4000-8000-000000000000';
const CLUSTER_ARN = `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/remote-kpo-demo`;
const owner: Owner = { projectId: PROJECT, intend: async () => undefined, intended: () => false };
const preflight: StageOutputs['preflight'] = { accountId: ACCOUNT, callerArn: `arn:aws:iam::${ACCOUNT}:user/admin`, partition: 'aws' };
const cluster = (o: Partial<StageOutputs['cluster']> = {}): StageOutputs['cluster'] => ({ clusterArn: CLUSTER_ARN, endpoint: 'https://x', certificateAuthority: '', authenticationMode: 'API', createdByUs: false, oidcIssuer: ISSUER, ...o });
const WHERE = { profile: undefined, region: 'us-east-1', clusterName: 'remote-kpo-demo' };

/** AWS clients answering by command name, recording every call; instances of the SDK's client
 * classes (only `send` is ours), so the SDK's paginators accept them. */
function aws(answers: Record<string, (input: Record<string, unknown>) => unknown>): AwsClients & { sent: string[] } {
  const sent: string[] = [];
  const send = async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    sent.push(command.constructor.name);
    const answer = answers[command.constructor.name];
    if (!answer) throw new Error(`unexpected AWS call ${command.constructor.name}`);
    return answer(command.input);
  };
  const iam = Object.assign(Object.create(IAMClient.prototype) as IAMClient, { send });
  const eks = Object.assign(Object.create(EKSClient.prototype) as EKSClient, { send });
  const fail = () => Promise.reject(new Error('not used by this test'));
  return { sent, region: 'us-east-1', sts: fail, iam: async () => iam, eks: async () => eks, credentials: fail, logTo: () => undefined };
}

describe('the trust documents', () => {
  it('the provider ARN has no scheme and no port; an equal trust in another spelling has no difference', () => {
    expect(oidcProviderArn('aws', ACCOUNT, `${ISSUER}/`)).toBe(PROVIDER);
    const t = { namespace: 'ns', serviceAccount: 'sa' };
    const ours = podIdentityTrust(CLUSTER_ARN, t);
    // IAM keeps what it was given; a person may write single values, reorder lists and drop the Sid.
    const theirs = {
      Version: '2012-10-17',
      Statement: {
        Effect: 'Allow',
        Principal: { Service: ['pods.eks.amazonaws.com'] },
        Action: ['sts:TagSession', 'sts:AssumeRole'],
        Condition: { StringEquals: { 'aws:RequestTag/kubernetes-service-account': ['sa'], 'aws:RequestTag/kubernetes-namespace': 'ns', 'aws:RequestTag/eks-cluster-arn': CLUSTER_ARN } },
      },
    };
    expect(trustDifferences(theirs, ours)).toEqual([]);
    // No condition: the role would trust every pod of every cluster in the account with an association.
    const open = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] };
    expect(trustDifferences(open, ours)).toEqual([`Condition is absent, not ${JSON.stringify({ StringEquals: { 'aws:RequestTag/eks-cluster-arn': [CLUSTER_ARN], 'aws:RequestTag/kubernetes-namespace': ['ns'], 'aws:RequestTag/kubernetes-service-account': ['sa'] } })}`]);
    expect(trustDifferences({ Statement: [...open.Statement, ...open.Statement] }, ours)[0]).toMatch(/^it has 2 statements, not exactly one/);
  });
});

describe('pod-identity', () => {
  const inputs = (o: Partial<Inputs> = {}) => ({ ...WHERE, podPolicyArns: [ECR], podIdentity: 'auto' as const, workloadIdentities: [WI], ...o });
  const ctx = (a: AwsClients, i: ReturnType<typeof inputs>, c = cluster()) => ({ inputs: i, flags: {}, answers: {}, aws: a, owner, ...ambient(), ...outputsOf({ cluster: c, preflight }) });
  const noSuchProvider = () => {
    throw awsError('NoSuchEntityException');
  };

  it('off: done at once, no AWS call', async () => {
    const a = aws({});
    const c = await podIdentityStage.check!(ctx(a, inputs({ podPolicyArns: [] })));
    expect(c).toMatchObject({ done: true, outputs: { enabled: false } });
    expect(a.sent).toEqual([]);
  });

  it('irsa: no add-on lookup; a missing provider is not done, and what was read goes to run()', async () => {
    const a = aws({ GetOpenIDConnectProviderCommand: noSuchProvider });
    const c = await podIdentityStage.check!(ctx(a, inputs({ podIdentity: 'irsa' })));
    expect(c).toEqual({ done: false, reason: `IAM OIDC provider ${PROVIDER} does not exist`, seen: { mode: 'irsa', why: '--pod-identity irsa', issuer: ISSUER, arn: PROVIDER } });
    expect(a.sent).toEqual(['GetOpenIDConnectProviderCommand']);
  });

  it('auto on an EKS Auto Mode cluster: Pod Identity without asking for add-ons', async () => {
    const a = aws({});
    const c = await podIdentityStage.check!(ctx(a, inputs(), cluster({ autoMode: true })));
    expect(c).toMatchObject({ done: true, outputs: { enabled: true, mode: 'pod-identity' } });
    expect(a.sent).toEqual([]);
  });

  it('auto with an agent that failed: IRSA; pod-identity with it: the refusal names the fix', async () => {
    const a = () =>
      aws({
        DescribeAddonCommand: () => ({ addon: { addonName: 'eks-pod-identity-agent', status: 'CREATE_FAILED' } }),
        GetOpenIDConnectProviderCommand: () => ({ Url: ISSUER.slice(8), ClientIDList: ['sts.amazonaws.com'], Tags: [] }),
      });
    const auto = await podIdentityStage.check!(ctx(a(), inputs()));
    expect(auto).toMatchObject({ done: true, outputs: { mode: 'irsa', oidcProviderArn: PROVIDER, oidcProviderCreatedByUs: false } });
    const err = await expectCode(podIdentityStage.check!(ctx(a(), inputs({ podIdentity: 'pod-identity' }))), 'POD_IDENTITY_AGENT_MISSING');
    expect(err.message).toContain('the eks-pod-identity-agent add-on of cluster remote-kpo-demo is CREATE_FAILED');
    expect(err.hint).toContain('eksctl create addon --cluster remote-kpo-demo --region us-east-1 --name eks-pod-identity-agent');
  });

  it("IRSA without the cluster's issuer, and a found provider deaf to sts.amazonaws.com, stop the stage", async () => {
    await expectCode(podIdentityStage.check!(ctx(aws({}), inputs({ podIdentity: 'irsa' }), cluster({ oidcIssuer: undefined }))), 'OIDC_ISSUER_MISSING');
    const deaf = aws({ GetOpenIDConnectProviderCommand: () => ({ Url: ISSUER.slice(8), ClientIDList: ['my-app'], Tags: [] }) });
    const err = await expectCode(podIdentityStage.check!(ctx(deaf, inputs({ podIdentity: 'irsa' }))), 'OIDC_PROVIDER_UNUSABLE');
    expect(err.hint).toContain(`aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${PROVIDER} --client-id sts.amazonaws.com`);
  });
});

describe('pod-role', () => {
  const base = { ...WHERE, namespace: 'ns', podRole: 'Pods', podServiceAccount: 'sa', workloadIdentities: [WI] };
  const identity: StageOutputs['pod-identity'] = { enabled: true, mode: 'pod-identity', why: 'test' };
  const ctx = (a: AwsClients, podPolicyArns: string[], own?: StageOutputs['pod-role']) => ({
    inputs: { ...base, podPolicyArns },
    flags: {},
    answers: {},
    aws: a,
    owner,
    commandLine: (c: Partial<Inputs> = {}) => `npx astro-remote-kpo init${c.podRole ? ` --pod-role ${c.podRole}` : ''}`,
    ...ambient(),
    ...outputsOf({ 'pod-identity': identity, cluster: cluster(), preflight, ...(own ? { 'pod-role': own } : {}) }),
  });
  const role = (trust: object, tags: Array<{ Key: string; Value: string }> = []) => ({ Role: { RoleName: 'Pods', Arn: `arn:aws:iam::${ACCOUNT}:role/Pods`, AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(trust)), Tags: tags } });
  const ec2 = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

  it("a role another made with another trust: refused, naming the difference and another --pod-role", async () => {
    const a = aws({ GetRoleCommand: () => role(ec2), ListAttachedRolePoliciesCommand: () => ({ AttachedPolicies: [] }) });
    const err = await expectCode(podRoleStage.check!(ctx(a, [ECR])), 'POD_ROLE_TAKEOVER_REFUSED');
    expect(err.message).toContain('was not created by astro-remote-kpo');
    expect(err.message).toContain('Principal is {"Service":["ec2.amazonaws.com"]}, not {"Service":["pods.eks.amazonaws.com"]}');
    expect(err.hint).toContain('npx astro-remote-kpo init --pod-role Pods2');
  });

  it('our own role with another trust is put right (not done: set the trust)', async () => {
    const tags = [{ Key: 'managed-by', Value: 'astro-remote-kpo' }, { Key: 'astro-remote-kpo/project-id', Value: PROJECT }, { Key: `astro-remote-kpo/used-by-${PROJECT}`, Value: '2026-01-01 wi:x' }];
    const a = aws({ GetRoleCommand: () => role(ec2, tags), ListAttachedRolePoliciesCommand: () => ({ AttachedPolicies: [{ PolicyArn: ECR }] }) });
    const c = await podRoleStage.check!(ctx(a, [ECR]));
    expect(c.done).toBe(false);
    expect(c.done ? '' : c.reason).toMatch(/^mark IAM role Pods as used by this project .*; set the trust policy of Pods \(made by this project\)/);
  });

  it('off: nothing of ours attached is done without a call; a policy this project attached is detached', async () => {
    const none = aws({});
    expect(await podRoleStage.check!(ctx(none, []))).toMatchObject({ done: true, outputs: { enabled: false, attachedByUs: [] } });
    expect(none.sent).toEqual([]);
    const history: StageOutputs['pod-role'] = { enabled: true, roleArn: `arn:aws:iam::${ACCOUNT}:role/Pods`, createdByUs: true, attachedByUs: [ECR], policies: [ECR] };
    const a = aws({ GetRoleCommand: () => role(podIdentityTrust(CLUSTER_ARN, { namespace: 'ns', serviceAccount: 'sa' })), ListAttachedRolePoliciesCommand: () => ({ AttachedPolicies: [{ PolicyArn: ECR }] }) });
    const c = await podRoleStage.check!(ctx(a, [], history));
    expect(c).toMatchObject({ done: false, reason: `detach ${ECR} from Pods (attached by this project, no longer given)` });
  });
});

describe('pod-service-account', () => {
  it('plan without a connection: the ServiceAccount as it would be made, annotated for IRSA', async () => {
    const ctx = {
      inputs: { ...WHERE, namespace: 'ns', podServiceAccount: 'sa', podPolicyArns: [ECR], podRole: 'Pods', workloadIdentities: [WI] },
      flags: {},
      answers: {},
      aws: aws({}),
      owner,
      commandLine: () => 'npx astro-remote-kpo init',
      kube: () => {
        throw new Error('no connection');
      },
      tryKube: () => undefined,
      ...ambient(),
      ...outputsOf({ 'pod-identity': { enabled: true, mode: 'irsa' }, 'pod-role': { enabled: true, roleArn: `arn:aws:iam::${ACCOUNT}:role/Pods`, attachedByUs: [] }, preflight }),
    };
    const p = await podServiceAccountStage.plan(ctx);
    expect(p.items[0]).toMatchObject({ action: 'create or update ServiceAccount sa in namespace ns', unknown: 'no connection to the API server (see the context stage)' });
    expect(p.items[0]!.details).toContain(`eks.amazonaws.com/role-arn: arn:aws:iam::${ACCOUNT}:role/Pods`);
    expect(p.items[0]!.details).toContain('app.kubernetes.io/managed-by: astro-remote-kpo');
  });
});

describe('state of an earlier version', () => {
  it("reads as the feature off, with the default names", () => {
    const old = { clusterName: 'c', region: 'us-east-1', namespace: 'n', k8sRole: 'r', k8sUser: 'u', iamRole: 'I', workloadIdentities: [WI], authMode: 'auto', permissions: 'scoped', connId: 'aws_eks', astroDeploymentIds: [], localDev: false } as unknown as Inputs;
    expect(migrateInputs(old)).toMatchObject({ podPolicyArns: [], podIdentity: 'auto', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'astro-remote-kpo-pods' });
  });
});

// Each stage's check() or plan() with its context as a small literal: exactly what the stage
// declares (inputs, services, flags, answers, the outputs it needs), nothing faked beyond that.
// AWS answers come from a table by command name, Kubernetes from a literal KubeApi. (The
// Airflow-side stages, connection, deployment-connection and project-files, have their own files:
// airflow-connection.test.ts and airflow-project-files.test.ts.)
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { namespaceObject, roleObject } from '../../src/desired.js';
import type { Owner, StageHandoffs } from '../../src/engine/stage.js';
import type { KubeApi, KubeObject } from '../../src/kube/api.js';
import { accessCheckStage } from '../../src/stages/access-check.js';
import { clusterStage } from '../../src/stages/cluster.js';
import { contextStage } from '../../src/stages/context.js';
import { iamRoleStage } from '../../src/stages/iam-role.js';
import { identityMappingStage } from '../../src/stages/identity-mapping.js';
import { k8sRoleStage } from '../../src/stages/k8s-role.js';
import { namespaceStage } from '../../src/stages/namespace.js';
import { preflightStage } from '../../src/stages/preflight.js';
import { roleArnStage } from '../../src/stages/role-arn.js';
import { roleBindingStage } from '../../src/stages/role-binding.js';
import { verifyMappingStage } from '../../src/stages/verify-mapping.js';
import type { StageOutputs } from '../../src/types.js';
import { expectCode } from '../support/failure.js';
import { ambient, awsAnswering, awsError, outputsOf } from '../support/stage-ctx.js';

const ACCOUNT = '123456789012';
const WI = `arn:aws:iam::${ACCOUNT}:role/astro-dep-abc123`;
const WHERE = { profile: undefined, region: 'us-east-1', clusterName: 'remote-kpo-demo' };
const PROJECT = 'a1b2c3d4-0000-4000-8000-000000000000';
const owner: Owner = { projectId: PROJECT, intend: async () => undefined, intended: () => false };
const preflight: StageOutputs['preflight'] = { accountId: ACCOUNT, callerArn: `arn:aws:iam::${ACCOUNT}:user/admin`, partition: 'aws' };
const noExec = { which: async () => undefined, run: async () => ({ exitCode: 1, output: '' }) };

/** A KubeApi with only the methods a test gives it (calling another fails the test: not a function). */
const kubeOf = (answers: Partial<KubeApi>): KubeApi => answers as KubeApi;
const kubeService = (kube: KubeApi | undefined) => ({ kube: () => kube!, tryKube: () => kube });

describe('preflight', () => {
  it('plan: the identity, and eksctl missing when the cluster must be created', async () => {
    const aws = awsAnswering({
      GetCallerIdentityCommand: () => ({ Account: ACCOUNT, Arn: preflight.callerArn }),
      DescribeClusterCommand: () => {
        throw awsError('ResourceNotFoundException');
      },
    });
    const p = await preflightStage.plan({ inputs: { ...WHERE, podPolicyArns: [] }, flags: {}, answers: {}, aws, exec: noExec, ...ambient(), ...outputsOf() });
    expect(p.outputs).toEqual({ accountId: ACCOUNT, callerArn: preflight.callerArn, partition: 'aws' });
    expect(p.items.map((i) => i.action)).toEqual([
      `AWS identity ${preflight.callerArn} (account ${ACCOUNT}, region us-east-1)`,
      'eksctl is NOT on PATH: the run would stop here (exit 3) because the cluster must be created',
    ]);
  });
});

describe('cluster', () => {
  /** The cluster stage's context, with `handed` as what was handed to it. */
  const clusterCtx = (aws: ReturnType<typeof awsAnswering>, handed: StageHandoffs['cluster']) => ({
    inputs: { ...WHERE, clusterConfig: undefined },
    flags: { switchContext: false },
    answers: {},
    aws,
    exec: noExec,
    owner,
    projectDir: '/p',
    stateDir: '/p/.astro-remote-kpo',
    ...ambient(),
    ...outputsOf({ preflight }),
    handoff: () => handed,
  });

  it("check: preflight's handoff says not found; nothing asked again, and run() gets what was seen", async () => {
    const aws = awsAnswering({});
    const c = await clusterStage.check!(clusterCtx(aws, { cluster: undefined }));
    expect(c).toEqual({ done: false, reason: 'cluster remote-kpo-demo not found in us-east-1', seen: { cluster: undefined } });
    expect(aws.sent).toEqual([]);
  });

  it("check: an ACTIVE cluster whose node groups init's confirmation looked at: done, with no call at all", async () => {
    const aws = awsAnswering({});
    const cluster = { name: 'remote-kpo-demo', arn: `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/remote-kpo-demo`, status: 'ACTIVE' as const, endpoint: 'https://e', certificateAuthority: { data: 'Q0E=' }, accessConfig: { authenticationMode: 'API' as const } };
    expect(await clusterStage.check!(clusterCtx(aws, { cluster, capacity: { specs: [], warnings: [] } }))).toMatchObject({ done: true, reason: 'cluster remote-kpo-demo exists (ACTIVE)' });
    expect(aws.sent).toEqual([]);
  });
});

describe('context', () => {
  it("plan: of several contexts pointing at the cluster, the question phase's answer is used", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-ctx-'));
    const file = path.join(dir, 'config');
    // Port 9 on loopback: nothing listens, so the probe fails at once and the plan says so.
    const server = 'https://127.0.0.1:9';
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- {name: a, cluster: {server: "${server}"}}`,
        'users:',
        '- {name: u, user: {token: t}}',
        'contexts:',
        '- {name: first-ctx, context: {cluster: a, user: u}}',
        '- {name: picked-ctx, context: {cluster: a, user: u}}',
        'current-context: first-ctx',
        '',
      ].join('\n'),
    );
    const cluster: StageOutputs['cluster'] = { clusterArn: 'arn', endpoint: server, certificateAuthority: '', authenticationMode: 'API', createdByUs: false };
    const ctx = (answers: { kubeContext?: string }) => ({
      inputs: { ...WHERE, kubeContext: undefined, namespace: 'astro-remote-kpo' },
      flags: { switchContext: false },
      answers,
      aws: awsAnswering({}),
      env: { KUBECONFIG: file },
      ...ambient(),
      ...outputsOf({ cluster, preflight }),
    });
    expect((await contextStage.plan(ctx({ kubeContext: 'picked-ctx' }))).outputs?.contextName).toBe('picked-ctx');
    // No answer (non-interactive): the current one, and the stage says --kube-context picks another.
    const plain = await contextStage.plan(ctx({}));
    expect(plain.outputs?.contextName).toBe('first-ctx');
    expect(plain.items[0]?.action).toContain('pass --kube-context to pick another');
  });
});

describe('namespace', () => {
  const inputs = { ...WHERE, namespace: 'astro-remote-kpo', workloadIdentities: [WI] };
  const ctx = (kube: KubeApi) => ({ inputs, flags: {}, answers: {}, owner, ...kubeService(kube), ...ambient(), ...outputsOf() });

  it('check: missing is not done, and what it read goes to run(); ours (marker and project id) is done', async () => {
    expect(await namespaceStage.check!(ctx(kubeOf({ readNamespace: async () => undefined })))).toEqual({
      done: false,
      reason: 'namespace astro-remote-kpo does not exist',
      seen: { current: undefined },
    });
    const ours = namespaceObject(inputs, PROJECT);
    expect(await namespaceStage.check!(ctx(kubeOf({ readNamespace: async () => ours })))).toMatchObject({ done: true, outputs: { created: true } });
  });

  it('check: a namespace being deleted stops the stage', async () => {
    const terminating: KubeObject = { ...namespaceObject(inputs, PROJECT), status: { phase: 'Terminating' } };
    await expectCode(namespaceStage.check!(ctx(kubeOf({ readNamespace: async () => terminating }))), 'NAMESPACE_TERMINATING');
  });
});

describe('k8s-role', () => {
  const inputs = { ...WHERE, namespace: 'astro-remote-kpo', k8sRole: 'astro-remote-kpo-role', workloadIdentities: [WI] };
  const ctx = (kube: KubeApi | undefined) => ({ inputs, flags: {}, answers: {}, owner, commandLine: () => 'npx astro-remote-kpo init', ...kubeService(kube), ...ambient(), ...outputsOf() });

  it("check: someone else's Role with other rules is not done, naming the difference", async () => {
    const theirs: KubeObject = { ...roleObject(inputs), rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
    const c = await k8sRoleStage.check!(ctx(kubeOf({ readRole: async () => theirs })));
    expect(c.done).toBe(false);
    expect(!c.done && c.reason).toMatch(/^Role astro-remote-kpo-role in namespace astro-remote-kpo: /);
  });

  it('plan: without a connection to the API server the plan says so', async () => {
    const p = await k8sRoleStage.plan(ctx(undefined));
    expect(p.items[0]?.unknown).toContain('no connection to the API server');
  });
});

describe('role-binding', () => {
  it('check: missing is not done; what it read goes to run()', async () => {
    const ctx = {
      inputs: { ...WHERE, namespace: 'astro-remote-kpo', k8sRole: 'astro-remote-kpo-role', k8sUser: 'AstroRemoteKPO', workloadIdentities: [WI] },
      flags: {},
      answers: {},
      owner,
      commandLine: () => 'npx astro-remote-kpo init',
      ...kubeService(kubeOf({ readRoleBinding: async () => undefined })),
      ...ambient(),
      ...outputsOf(),
    };
    expect(await roleBindingStage.check!(ctx)).toMatchObject({ done: false, seen: { current: undefined } });
  });
});

describe('iam-role', () => {
  it('check: no role yet is not done; the role and its inline policy are asked together, and what was read goes to run()', async () => {
    const aws = awsAnswering({
      GetRoleCommand: () => {
        throw awsError('NoSuchEntityException');
      },
      GetRolePolicyCommand: () => {
        throw awsError('NoSuchEntityException');
      },
    });
    const ctx = {
      inputs: { ...WHERE, iamRole: 'AstroRemoteKPO', workloadIdentities: [WI], localDev: false, permissions: 'scoped' as const },
      flags: {},
      answers: {},
      aws,
      owner,
      ...ambient(),
      ...outputsOf({ preflight }),
    };
    expect(await iamRoleStage.check!(ctx)).toEqual({ done: false, reason: 'role AstroRemoteKPO does not exist', seen: { local: undefined, warnings: [], insp: {} } });
    expect(aws.sent.sort()).toEqual(['GetRoleCommand', 'GetRolePolicyCommand']);
  });
});

describe('role-arn', () => {
  it('check: the role iam-role read a moment ago is handed on: no call', async () => {
    const arn = `arn:aws:iam::${ACCOUNT}:role/team/AstroRemoteKPO`;
    const aws = awsAnswering({});
    const ctx = { inputs: { ...WHERE, iamRole: 'AstroRemoteKPO' }, flags: {}, answers: {}, aws, ...ambient(), ...outputsOf(), handoff: () => ({ role: { Arn: arn, RoleName: 'AstroRemoteKPO', Path: '/team/', RoleId: 'AROA1', CreateDate: new Date() } }) };
    expect(await roleArnStage.check!(ctx)).toEqual({ done: true, reason: `role ARN ${arn}`, outputs: { roleArn: arn, mappingArn: `arn:aws:iam::${ACCOUNT}:role/AstroRemoteKPO` } });
    expect(aws.sent).toEqual([]);
  });

  it('check: the ARN as read, and the form a mapping needs (no path)', async () => {
    const arn = `arn:aws:iam::${ACCOUNT}:role/team/AstroRemoteKPO`;
    const ctx = { inputs: { ...WHERE, iamRole: 'AstroRemoteKPO' }, flags: {}, answers: {}, aws: awsAnswering({ GetRoleCommand: () => ({ Role: { Arn: arn } }) }), ...ambient(), ...outputsOf() };
    expect(await roleArnStage.check!(ctx)).toEqual({
      done: true,
      reason: `role ARN ${arn}`,
      outputs: { roleArn: arn, mappingArn: `arn:aws:iam::${ACCOUNT}:role/AstroRemoteKPO` },
    });
  });
});

describe('identity-mapping', () => {
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/AstroRemoteKPO`;
  const ctx = (outputs: Partial<StageOutputs>, aws = awsAnswering({})) => ({
    inputs: { ...WHERE, authMode: 'auto' as const, k8sUser: 'AstroRemoteKPO', iamRole: 'AstroRemoteKPO', workloadIdentities: [WI] },
    flags: {},
    answers: {},
    aws,
    owner,
    stateDir: '/p/.astro-remote-kpo',
    ...kubeService(undefined),
    ...ambient(),
    ...outputsOf(outputs),
  });

  it('check: an API-mode cluster without the access entry is not done; the entry and its policies are asked together, and what was read goes to run()', async () => {
    const aws = awsAnswering({
      DescribeAccessEntryCommand: () => {
        throw awsError('ResourceNotFoundException');
      },
      ListAssociatedAccessPoliciesCommand: () => {
        throw awsError('ResourceNotFoundException');
      },
    });
    const cluster: StageOutputs['cluster'] = { clusterArn: 'arn', endpoint: 'https://e', certificateAuthority: '', authenticationMode: 'API', createdByUs: false };
    expect(await identityMappingStage.check!(ctx({ cluster, 'role-arn': { roleArn, mappingArn: roleArn } }, aws))).toEqual({
      done: false,
      seen: { kind: 'access-entry', principalArn: roleArn, read: { entry: undefined, policies: [] } },
    });
    expect(aws.sent.sort()).toEqual(['DescribeAccessEntryCommand', 'ListAssociatedAccessPoliciesCommand']);
  });

  it('plan: before the role and the cluster are known, it says what it would do and that it cannot tell more', async () => {
    const p = await identityMappingStage.plan(ctx({}));
    expect(p.items).toEqual([
      {
        action: 'create EKS access entry <ARN of role AstroRemoteKPO, without path> → user AstroRemoteKPO (type STANDARD) unless present',
        unknown: 'the role ARN or the cluster is not known yet',
      },
    ]);
  });
});

describe('verify-mapping', () => {
  it("plan: reads back the kind identity-mapping made", async () => {
    const mapping: StageOutputs['identity-mapping'] = { kind: 'aws-auth', principalArn: 'arn', username: 'AstroRemoteKPO', createdByUs: true };
    const ctx = { inputs: { ...WHERE, k8sUser: 'AstroRemoteKPO' }, flags: {}, answers: {}, aws: awsAnswering({}), ...kubeService(undefined), ...ambient(), ...outputsOf({ 'identity-mapping': mapping }) };
    expect(await verifyMappingStage.plan(ctx)).toEqual({
      items: [{ action: 'read kube-system/aws-auth back and check it maps the role to AstroRemoteKPO' }],
      outputs: { kind: 'aws-auth', username: 'AstroRemoteKPO' },
    });
  });

  it("run: identity-mapping's check found the entry as wanted and handed its read on: that is the read-back, no call", async () => {
    const principalArn = `arn:aws:iam::${ACCOUNT}:role/AstroRemoteKPO`;
    const mapping: StageOutputs['identity-mapping'] = { kind: 'access-entry', principalArn, username: 'AstroRemoteKPO', createdByUs: true };
    const aws = awsAnswering({});
    const read = { entry: { principalArn, username: 'AstroRemoteKPO', kubernetesGroups: [] }, policies: [] };
    const ctx = {
      inputs: { ...WHERE, k8sUser: 'AstroRemoteKPO' },
      flags: {},
      answers: {},
      aws,
      ...kubeService(undefined),
      ...ambient(),
      ...outputsOf({ 'identity-mapping': mapping }),
      handoff: () => ({ mapping: { kind: 'access-entry' as const, principalArn, read } }),
    };
    expect(await verifyMappingStage.run(ctx)).toEqual({ outputs: { kind: 'access-entry', username: 'AstroRemoteKPO' }, summary: `access entry ${principalArn} → user AstroRemoteKPO` });
    expect(aws.sent).toEqual([]);
  });
});

describe('access-check', () => {
  it('plan: the questions it will ask, and what more access does with and without --allow-extra-access', async () => {
    const ctx = (allowExtraAccess?: boolean) => ({
      inputs: { ...WHERE, namespace: 'astro-remote-kpo', k8sRole: 'astro-remote-kpo-role', k8sUser: 'AstroRemoteKPO', allowExtraAccess, podPolicyArns: [], podServiceAccount: 'astro-remote-kpo-pods' },
      flags: { verbose: false },
      answers: {},
      commandLine: () => 'npx astro-remote-kpo init',
      ...kubeService(undefined),
      ...ambient(),
      ...outputsOf(),
    });
    const strict = (await accessCheckStage.plan(ctx())).items[0]!;
    expect(strict.action).toMatch(/^check with SubjectAccessReview that User AstroRemoteKPO has the 11 permissions EksPodOperator needs and not the 10 it must not have/);
    expect(strict.action).toContain('more fails the stage');
    expect(strict.details?.split('\n')).toContain('allowed  get pods/log in namespace astro-remote-kpo');
    expect((await accessCheckStage.plan(ctx(true))).items[0]!.action).toContain('accepted with --allow-extra-access');
  });
});

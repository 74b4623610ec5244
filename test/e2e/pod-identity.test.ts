// E2E (issue #20): the task pods get an AWS identity of their own, through IRSA or EKS Pod
// Identity, decided by --pod-identity (auto: Pod Identity when the cluster runs the
// eks-pod-identity-agent add-on, else IRSA). Each mode: a first run, a re-run with no mutating
// call, verify, status's chain, destroy leaving nothing of the pods'. Then the ownership rules: a
// found OIDC provider survives destroy, a found ServiceAccount is never changed, a found role with
// another trust is refused; turning the feature off; the access check's dry run; bad values.
// Expected documents are written out here by hand, from the EKS User Guide's forms.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type StartTestCloudOptions, type TestCloud } from '../support/cloud.js';
import { createKubeClient } from '../../src/kube/client.js';
import { accessCheckStage } from '../../src/stages/access-check.js';
import { expectCode, expectFailure } from '../support/failure.js';
import { ambient, outputsOf } from '../support/stage-ctx.js';
import { runCli } from '../support/run-cli.js';
import { initArgs, readState, requireBuild } from './aws-helpers.js';

beforeAll(requireBuild);

/** A cloud and a project of the test's own (the tests run concurrently), both gone after it. */
async function withCloud(opts: StartTestCloudOptions, fn: (s: { cloud: TestCloud; dir: string }) => Promise<void>): Promise<void> {
  const cloud = await startTestCloud(opts);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-e2e-pods-'));
  try {
    await fn({ cloud, dir });
  } finally {
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const CLUSTER = 'remote-kpo-demo';
const NS = 'astro-remote-kpo';
const SA = 'astro-remote-kpo-pods';
const POD_ROLE = 'AstroRemoteKPOPods';
const POD_ROLE_ARN = `arn:aws:iam::123456789012:role/${POD_ROLE}`;
const ECR = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly';
const CNI = 'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy';
const PODS = ['--pod-policy-arn', ECR];
const AGENT = 'eks-pod-identity-agent';
const PROJECT_KEY = 'astro-remote-kpo/project-id';

const existing = (o: { addons?: string[]; oidcIssuer?: boolean } = {}) => ({ cluster: { name: CLUSTER, withKubeconfigContext: true as const, ...o } });
const init = (cloud: TestCloud, dir: string, extra: string[] = []) => runCli(initArgs(dir, extra), { env: cloud.env, cwd: dir });
const cli = (cloud: TestCloud, dir: string, args: string[]) => runCli([...args, '--project-dir', dir], { env: cloud.env, cwd: dir });
const issuerOf = (cloud: TestCloud) => cloud.aws.cluster(CLUSTER)!.oidcIssuer!;
const hostOf = (issuer: string) => issuer.replace(/^https:\/\//, '');
const providerArnOf = (cloud: TestCloud) => `arn:aws:iam::123456789012:oidc-provider/${hostOf(issuerOf(cloud))}`;
const mutating = (cloud: TestCloud) => cloud.mutatingCalls().map((c) => `${c.service} ${c.operation}`);

/** The audit lines of the pods' calls, in order (logs/debug.log names every mutating call's target). */
async function podAudit(dir: string): Promise<string[]> {
  const log = await readFile(path.join(dir, '.astro-remote-kpo', 'logs', 'debug.log'), 'utf8');
  return log
    .split('\n')
    .filter((l) => / audit /.test(l) && /(OpenIDConnectProvider|PodIdentityAssociation|AstroRemoteKPOPods|serviceaccounts)/.test(l))
    .map((l) => l.replace(/^\S+ audit /, '').replace(/ -> .*$/, '').replace(/\/id\/[0-9A-F]{32}/, '/id/<id>'));
}

const irsaTrust = (cloud: TestCloud) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'TaskPodsServiceAccountViaIRSA',
      Effect: 'Allow',
      Principal: { Federated: providerArnOf(cloud) },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringEquals: { [`${hostOf(issuerOf(cloud))}:sub`]: `system:serviceaccount:${NS}:${SA}`, [`${hostOf(issuerOf(cloud))}:aud`]: 'sts.amazonaws.com' } },
    },
  ],
});

const podIdentityTrust = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'AllowEksAuthToAssumeRoleForPodIdentity',
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: {
        StringEquals: {
          'aws:RequestTag/eks-cluster-arn': `arn:aws:eks:us-east-1:123456789012:cluster/${CLUSTER}`,
          'aws:RequestTag/kubernetes-namespace': NS,
          'aws:RequestTag/kubernetes-service-account': SA,
        },
      },
    },
  ],
};

/** The chain as `status` prints it: the pods' part (from "Task pod" on). */
async function podChain(cloud: TestCloud, dir: string): Promise<string[]> {
  const r = await cli(cloud, dir, ['status']);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.split('\n');
  const at = lines.findIndex((l) => l.includes('Task pod (remote_kpo)'));
  return lines.slice(at, at + 4).map((l) => l.trimEnd());
}

/** The same init again makes no mutating call, and verify passes, its four pod rows too. */
async function rerunAndVerify(cloud: TestCloud, dir: string): Promise<void> {
  cloud.resetCalls();
  const again = await init(cloud, dir, PODS);
  expect(again.code, again.stdout + again.stderr).toBe(0);
  expect(mutating(cloud)).toEqual([]);
  const v = await cli(cloud, dir, ['verify', '--json']);
  expect(v.code, v.stdout).toBe(0);
  const checks = (JSON.parse(v.stdout) as { checks: Array<{ id: string; status: string }> }).checks;
  expect(checks.filter((c) => c.id.startsWith('pod-')).map((c) => `${c.id} ${c.status}`)).toEqual(['pod-link pass', 'pod-role-trust pass', 'pod-role-policies pass', 'pod-service-account pass']);
}

/** Nothing of the pods' is left after destroy. */
function expectNoPodsLeft(cloud: TestCloud): void {
  expect(cloud.aws.role(POD_ROLE), "the pods' role").toBeUndefined();
  expect(cloud.aws.podIdentityAssociations(CLUSTER)).toEqual([]);
  expect(cloud.kube.serviceAccount(NS, SA)).toBeUndefined();
  expect(cloud.aws.oidcProviders().filter((p) => p.tags['managed-by'] === 'astro-remote-kpo')).toEqual([]);
}

describe.concurrent('the task pods get an AWS identity of their own', () => {
  it('IRSA (auto, the cluster has no agent add-on): created, re-run with 0 mutating calls, verify, status, destroy', { timeout: 180_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      const r = await init(cloud, dir, PODS);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      // The calls the pods' part makes, in order.
      expect(await podAudit(dir)).toEqual([
        `iam CreateOpenIDConnectProvider Url=${issuerOf(cloud).replace(/\/id\/[0-9A-F]{32}/, '/id/<id>')}`,
        `iam CreateRole RoleName=${POD_ROLE}`,
        `iam AttachRolePolicy RoleName=${POD_ROLE} PolicyArn=${ECR}`,
        `kube POST serviceaccounts ${NS}/${SA}`,
      ]);
      // The provider: the issuer as DescribeCluster gives it, the audience, no thumbprint, ours.
      const provider = cloud.aws.oidcProviders().find((p) => p.arn === providerArnOf(cloud))!;
      const state = await readState(dir);
      expect(provider).toMatchObject({ url: hostOf(issuerOf(cloud)), clientIds: ['sts.amazonaws.com'], thumbprints: [] });
      expect(provider.tags).toMatchObject({ 'managed-by': 'astro-remote-kpo', [PROJECT_KEY]: state.projectId });
      // Exactly one statement: the ServiceAccount's token, through that provider.
      expect(cloud.aws.trustPolicy(POD_ROLE)).toEqual(irsaTrust(cloud));
      expect(cloud.aws.attachedPolicies(POD_ROLE)).toEqual([ECR]);
      expect(cloud.kube.serviceAccount(NS, SA)?.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(POD_ROLE_ARN);
      expect(cloud.aws.podIdentityAssociations(CLUSTER)).toEqual([]);
      expect(state.stages['pod-identity'].outputs).toMatchObject({ enabled: true, mode: 'irsa', oidcProviderArn: providerArnOf(cloud), oidcProviderCreatedByUs: true });
      expect(state.stages['pod-role'].outputs).toEqual({ enabled: true, roleArn: POD_ROLE_ARN, createdByUs: true, attachedByUs: [ECR], policies: [ECR] });
      expect(state.stages['pod-service-account'].outputs).toEqual({ enabled: true, namespace: NS, serviceAccount: SA, created: true, mode: 'irsa', roleArn: POD_ROLE_ARN });
      expect(state.stages['access-check'].outputs.serviceAccountCheck).toEqual({ serviceAccount: SA, as: 'user' });
      // The DAGs run their pod as the ServiceAccount.
      for (const dag of ['remote_kpo.py', 'test_eks_connectivity.py']) {
        const text = await readFile(path.join(dir, 'dags', dag), 'utf8');
        expect(text, dag).toMatch(/^POD_SERVICE_ACCOUNT = "astro-remote-kpo-pods"$/m);
        expect(text, dag).toMatch(/^POD_ROLE_NAME = "AstroRemoteKPOPods"$/m);
      }

      await rerunAndVerify(cloud, dir);
      expect(await podChain(cloud, dir)).toEqual([
        '  Task pod (remote_kpo)',
        `    └ runs as → ServiceAccount ${SA} (namespace ${NS})`,
        `    └ IRSA    → IAM role ${POD_ROLE_ARN} (annotation eks.amazonaws.com/role-arn; OIDC provider ${hostOf(issuerOf(cloud))})`,
        `    └ may use → ${ECR}`,
      ]);

      const d = await cli(cloud, dir, ['destroy', '--json', '--yes', '--delete-namespace']);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      const items = (JSON.parse(d.stdout) as { items: Array<{ kind: string; result?: string }> }).items;
      expect(items.filter((i) => ['oidc-provider', 'service-account'].includes(i.kind)).map((i) => `${i.kind} ${i.result}`)).toEqual(['service-account deleted', 'oidc-provider deleted']);
      expectNoPodsLeft(cloud);
      expect(cloud.aws.oidcProviders()).toEqual([]);
    });
  });

  it('EKS Pod Identity (auto, the cluster has the agent add-on): association, re-run with 0 mutating calls, verify, status, destroy', { timeout: 180_000 }, async () => {
    await withCloud(existing({ addons: [AGENT] }), async ({ cloud, dir }) => {
      const r = await init(cloud, dir, PODS);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(await podAudit(dir)).toEqual([
        `iam CreateRole RoleName=${POD_ROLE}`,
        `iam AttachRolePolicy RoleName=${POD_ROLE} PolicyArn=${ECR}`,
        `kube POST serviceaccounts ${NS}/${SA}`,
        `eks CreatePodIdentityAssociation clusterName=${CLUSTER} namespace=${NS} serviceAccount=${SA} roleArn=${POD_ROLE_ARN}`,
      ]);
      const state = await readState(dir);
      expect(cloud.aws.trustPolicy(POD_ROLE)).toEqual(podIdentityTrust);
      const [a] = cloud.aws.podIdentityAssociations(CLUSTER);
      expect(a).toMatchObject({ namespace: NS, serviceAccount: SA, roleArn: POD_ROLE_ARN, tags: { 'managed-by': 'astro-remote-kpo', [PROJECT_KEY]: state.projectId } });
      // No annotation (the association is the link), and no OIDC provider of ours.
      expect(cloud.kube.serviceAccount(NS, SA)?.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();
      expect(cloud.aws.oidcProviders()).toEqual([]);
      expect(state.stages['pod-identity'].outputs).toEqual({ enabled: true, mode: 'pod-identity', why: `auto: cluster ${CLUSTER} has the ${AGENT} add-on (ACTIVE)` });
      expect(state.stages['pod-service-account'].outputs.association).toEqual({ id: a!.associationId, arn: a!.associationArn, createdByUs: true });

      await rerunAndVerify(cloud, dir);
      expect(await podChain(cloud, dir)).toEqual([
        '  Task pod (remote_kpo)',
        `    └ runs as          → ServiceAccount ${SA} (namespace ${NS})`,
        `    └ EKS Pod Identity → IAM role ${POD_ROLE_ARN} (association ${a!.associationId})`,
        `    └ may use          → ${ECR}`,
      ]);
      const d = await cli(cloud, dir, ['destroy', '--json', '--yes', '--delete-namespace']);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      expectNoPodsLeft(cloud);
    });
  });

  it('--pod-identity pod-identity on a cluster without the agent stops with the fix; --pod-identity irsa on one with it is IRSA', { timeout: 120_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      const r = await init(cloud, dir, [...PODS, '--pod-identity', 'pod-identity']);
      expectFailure(r, 'POD_IDENTITY_AGENT_MISSING');
      expect(r.stdout + r.stderr).toContain(`eksctl create addon --cluster ${CLUSTER} --region us-east-1 --name ${AGENT}`);
      expect(cloud.aws.role(POD_ROLE)).toBeUndefined();
      expect(cloud.aws.oidcProviders()).toEqual([]);
      // Once the add-on is there, the same command goes on.
      cloud.aws.addAddon(CLUSTER, AGENT);
      const ok = await init(cloud, dir, [...PODS, '--pod-identity', 'pod-identity']);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(cloud.aws.podIdentityAssociations(CLUSTER)).toHaveLength(1);
      // Pinned to IRSA on a cluster with the agent: our association goes (it would take precedence).
      const irsa = await init(cloud, dir, [...PODS, '--pod-identity', 'irsa']);
      expect(irsa.code, irsa.stdout + irsa.stderr).toBe(0);
      expect(cloud.aws.podIdentityAssociations(CLUSTER)).toEqual([]);
      expect(cloud.aws.trustPolicy(POD_ROLE)).toEqual(irsaTrust(cloud));
      expect(cloud.kube.serviceAccount(NS, SA)?.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(POD_ROLE_ARN);
    });
  });

  it("a found OIDC provider (eksctl's) is used, never marked, and survives destroy", { timeout: 120_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      const eksctlTags = { 'alpha.eksctl.io/cluster-name': CLUSTER, 'alpha.eksctl.io/eksctl-version': '0.210.0' };
      cloud.aws.createOidcProvider({ url: issuerOf(cloud), tags: eksctlTags });
      const r = await init(cloud, dir, PODS);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(mutating(cloud)).not.toContain('iam CreateOpenIDConnectProvider');
      expect(mutating(cloud)).not.toContain('iam TagOpenIDConnectProvider');
      expect((await readState(dir)).stages['pod-identity'].outputs).toMatchObject({ mode: 'irsa', oidcProviderCreatedByUs: false });
      expect(cloud.aws.trustPolicy(POD_ROLE)).toEqual(irsaTrust(cloud));
      const d = await cli(cloud, dir, ['destroy', '--json', '--yes', '--delete-namespace']);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      const item = (JSON.parse(d.stdout) as { items: Array<{ kind: string; decision: string; why: string }> }).items.find((i) => i.kind === 'oidc-provider');
      expect(item).toMatchObject({ decision: 'keep' });
      expect(cloud.aws.oidcProviders()).toEqual([expect.objectContaining({ arn: providerArnOf(cloud), tags: eksctlTags })]);
      expect(cloud.aws.role(POD_ROLE)).toBeUndefined();
    });
  });

  it('a found ServiceAccount is never changed: IRSA refuses one without the annotation; Pod Identity uses it as found and destroy keeps it', { timeout: 150_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
      const theirs = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS, labels: { team: 'data' } } };
      cloud.kube.put(theirs);
      const before = JSON.stringify(cloud.kube.serviceAccount(NS, SA));
      const r = await init(cloud, dir, PODS);
      expectFailure(r, 'TAKEOVER_REFUSED');
      expect(r.stdout + r.stderr).toContain(`kubectl -n ${NS} annotate --overwrite serviceaccount ${SA} eks.amazonaws.com/role-arn=${POD_ROLE_ARN}`);
      expect(JSON.stringify(cloud.kube.serviceAccount(NS, SA))).toBe(before);
      // Another role's annotation is refused in Pod Identity mode too.
      cloud.aws.addAddon(CLUSTER, AGENT);
      cloud.kube.put({ ...theirs, metadata: { ...theirs.metadata, annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/someone-elses' } } });
      const other = JSON.stringify(cloud.kube.serviceAccount(NS, SA));
      expectFailure(await init(cloud, dir, PODS), 'TAKEOVER_REFUSED');
      expect(JSON.stringify(cloud.kube.serviceAccount(NS, SA))).toBe(other);
      // Without an annotation, Pod Identity needs none: used as found, unmarked, and destroy keeps it.
      cloud.kube.put(theirs);
      const ok = await init(cloud, dir, PODS);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      const found = cloud.kube.serviceAccount(NS, SA)!;
      expect(found.metadata?.labels).toEqual({ team: 'data' });
      expect(Object.keys(found.metadata?.annotations ?? {})).toEqual([]);
      expect((await readState(dir)).stages['pod-service-account'].outputs.created).toBe(false);
      const d = await cli(cloud, dir, ['destroy', '--json', '--yes']);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      expect(cloud.kube.serviceAccount(NS, SA)?.metadata?.labels).toEqual({ team: 'data' });
      expect(cloud.aws.podIdentityAssociations(CLUSTER)).toEqual([]);
    });
  });

  it('a found pods role with another trust is refused, unchanged', { timeout: 120_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
      cloud.aws.createRole({ name: POD_ROLE, trustPolicy: trust });
      const r = await init(cloud, dir, PODS);
      expectFailure(r, 'POD_ROLE_TAKEOVER_REFUSED');
      expect(r.stdout + r.stderr).toContain('--pod-role AstroRemoteKPOPods2');
      expect(cloud.aws.trustPolicy(POD_ROLE)).toEqual(trust);
      expect(cloud.aws.attachedPolicies(POD_ROLE)).toEqual([]);
      expect(cloud.aws.tags(POD_ROLE)).toEqual({});
    });
  });

  it('a found pods role with exactly the trust is used: the policies init attached go with destroy, the role and the rest stay', { timeout: 120_000 }, async () => {
    await withCloud(existing({ addons: [AGENT] }), async ({ cloud, dir }) => {
      // A person's role, under an IAM path (the association and verify name it with its path).
      cloud.aws.createRole({ name: POD_ROLE, path: '/team/', trustPolicy: podIdentityTrust });
      cloud.aws.iam.roles.get(POD_ROLE)!.attached.push(CNI);
      const r = await init(cloud, dir, PODS);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect((await readState(dir)).stages['pod-role'].outputs).toEqual({ enabled: true, roleArn: `arn:aws:iam::123456789012:role/team/${POD_ROLE}`, createdByUs: false, attachedByUs: [ECR], policies: [ECR] });
      expect(cloud.aws.tags(POD_ROLE)).toEqual({});
      const v = await cli(cloud, dir, ['verify']);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      const d = await cli(cloud, dir, ['destroy', '--json', '--yes', '--delete-namespace']);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      expect(cloud.aws.trustPolicy(POD_ROLE)).toEqual(podIdentityTrust);
      expect(cloud.aws.attachedPolicies(POD_ROLE)).toEqual([CNI]);
      expect(cloud.aws.podIdentityAssociations(CLUSTER)).toEqual([]);
    });
  });

  it('a cluster init creates gets the agent add-on, so auto is EKS Pod Identity; the OIDC provider eksctl made is left to eksctl', { timeout: 180_000 }, async () => {
    await withCloud({ eksctlDurationMs: 300 }, async ({ cloud, dir }) => {
      const r = await init(cloud, dir, PODS);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(await readFile(path.join(dir, 'k8s', 'cluster.yaml'), 'utf8')).toMatch(/^addons:\n(?:\s+#.*\n)*\s+- name: eks-pod-identity-agent$/m);
      expect((await readState(dir)).stages['pod-identity'].outputs.mode).toBe('pod-identity');
      expect(cloud.aws.podIdentityAssociations(CLUSTER)).toHaveLength(1);
      // eksctl's withOIDC made the provider; init did not touch it.
      expect(cloud.aws.oidcProviders().map((p) => p.tags['managed-by'])).toEqual([undefined]);
      const d = await cli(cloud, dir, ['destroy', '--json', '--yes', '--delete-namespace', '--delete-cluster']);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      expect(cloud.aws.cluster(CLUSTER)).toBeUndefined();
      expect(cloud.aws.role(POD_ROLE)).toBeUndefined();
      expect(cloud.aws.oidcProviders()).toEqual([]);
    });
  });

  it('turned off: the policies init attached are detached and the DAG constants emptied; destroy removes the rest', { timeout: 150_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      expect((await init(cloud, dir, [...PODS, '--pod-policy-arn', CNI])).code).toBe(0);
      expect(cloud.aws.attachedPolicies(POD_ROLE).sort()).toEqual([CNI, ECR].sort());
      // One policy fewer: only that one goes (least privilege), nothing else changes.
      cloud.resetCalls();
      expect((await init(cloud, dir, PODS)).code).toBe(0);
      expect(mutating(cloud)).toEqual(['iam DetachRolePolicy']);
      expect(cloud.aws.attachedPolicies(POD_ROLE)).toEqual([ECR]);
      // A policy someone else attached is never detached by init.
      cloud.aws.iam.roles.get(POD_ROLE)!.attached.push(CNI);
      const off = await init(cloud, dir);
      expect(off.code, off.stdout + off.stderr).toBe(0);
      expect(cloud.aws.attachedPolicies(POD_ROLE)).toEqual([CNI]);
      const state = await readState(dir);
      expect(state.stages['pod-role']).toMatchObject({ status: 'done', outputs: { enabled: false, createdByUs: true, attachedByUs: [] } });
      expect(state.stages['pod-service-account']).toMatchObject({ status: 'skipped', outputs: { enabled: false, created: true } });
      expect(await readFile(path.join(dir, 'dags', 'remote_kpo.py'), 'utf8')).toMatch(/^POD_SERVICE_ACCOUNT = ""$/m);
      const v = await cli(cloud, dir, ['verify', '--json']);
      expect((JSON.parse(v.stdout) as { checks: Array<{ id: string }> }).checks.filter((c) => c.id.startsWith('pod-'))).toEqual([]);
      const d = await cli(cloud, dir, ['destroy', '--json', '--yes', '--delete-namespace']);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      expectNoPodsLeft(cloud);
    });
  });

  it("the access check runs a pod as the ServiceAccount (dry run, as the user): a missing one fails with the admission's words", { timeout: 120_000 }, async () => {
    await withCloud(existing({ addons: [AGENT] }), async ({ cloud, dir }) => {
      expect((await init(cloud, dir, PODS)).code).toBe(0);
      const dry = cloud.calls.filter((c) => c.operation === 'POST pods' && c.dryRun);
      expect(dry.map((c) => `${c.caller} ${c.status}`)).toEqual(['AstroRemoteKPO 201']);
      // From the CLI the stage is not reached with the ServiceAccount gone (its stage puts it back
      // first): the stage itself, run in-process against the same cluster, as the runner would.
      cloud.kube.delete('ServiceAccount', NS, SA);
      const kube = await createKubeClient({
        server: cloud.kube.url,
        kubeconfig: {
          clusters: [{ name: 'c', cluster: { server: cloud.kube.url, 'certificate-authority-data': cloud.aws.cluster(CLUSTER)!.caData } }],
          users: [{ name: 'u', user: { token: cloud.kube.adminToken } }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        },
        authDescription: 'the test cloud admin token',
      });
      try {
        const ctx = {
          inputs: { clusterName: CLUSTER, region: 'us-east-1', profile: undefined, namespace: NS, k8sRole: 'astro-remote-kpo-role', k8sUser: 'AstroRemoteKPO', allowExtraAccess: undefined, podPolicyArns: [ECR], podServiceAccount: SA },
          flags: { verbose: false },
          answers: {},
          ...ambient(),
          ...outputsOf(),
          kube: () => kube,
          tryKube: () => kube,
          commandLine: () => 'npx astro-remote-kpo init',
        };
        const err = await expectCode(accessCheckStage.run(ctx), 'POD_SERVICE_ACCOUNT_REFUSED');
        expect(err.message).toContain(`pods "astro-remote-kpo-sa-check" is forbidden: error looking up service account ${NS}/${SA}: serviceaccount "${SA}" not found`);
        expect(cloud.kube.list('Pod', NS)).toEqual([]);
      } finally {
        await kube.close();
      }
    });
  });

  it('the dry run without credentials shows the pods role, both trusts and the ServiceAccount', { timeout: 60_000 }, async () => {
    await withCloud({}, async ({ cloud, dir }) => {
      const env = Object.fromEntries(Object.entries(cloud.env).filter(([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)$/.test(k)));
      const r = await runCli([...initArgs(dir, PODS), '--dry-run'], { env, cwd: dir });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const out = r.stdout;
      expect(out).toContain('14·pod-identity');
      expect(out).toContain(`--pod-identity auto: EKS Pod Identity if cluster ${CLUSTER} runs the ${AGENT} add-on`);
      expect(out).toContain(`create IAM role ${POD_ROLE} for the task pods (if it does not exist), trusted only by ServiceAccount ${SA} in namespace ${NS}`);
      expect(out).toContain('"Federated": "arn:aws:iam::<account-id>:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/<the cluster\'s OIDC id>"');
      expect(out).toContain(`"system:serviceaccount:${NS}:${SA}"`);
      expect(out).toContain('"Service": "pods.eks.amazonaws.com"');
      expect(out).toContain(`"aws:RequestTag/kubernetes-service-account": "${SA}"`);
      expect(out).toContain(`attach ${ECR} to ${POD_ROLE}`);
      expect(out).toMatch(new RegExp(`create or update ServiceAccount ${SA} in namespace ${NS}[\\s\\S]*kind: ServiceAccount`));
      expect(cloud.calls.filter((x) => x.status === 200)).toEqual([]);
    });
  });

  it("two projects share the pods' role, ServiceAccount and OIDC provider: the first out keeps them for the other, the last out turns off the lights", { timeout: 180_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir: dirA }) => {
      const dirB = await mkdtemp(path.join(os.tmpdir(), 'kpo-e2e-pods-b-'));
      try {
        const WI_B = 'arn:aws:iam::123456789012:role/astro-dep-bbb222';
        expect((await init(cloud, dirA, PODS)).code).toBe(0);
        const b = await runCli(['init', '--non-interactive', '--workload-identity', WI_B, '--project-dir', dirB, ...PODS], { env: cloud.env, cwd: dirB });
        expect(b.code, b.stdout + b.stderr).toBe(0);
        const [a, bb] = [await readState(dirA), await readState(dirB)];
        // B found A's: recorded as found, marked as used by B too.
        expect(bb.stages['pod-role'].outputs).toMatchObject({ createdByUs: false, attachedByUs: [] });
        expect(bb.stages['pod-identity'].outputs).toMatchObject({ oidcProviderCreatedByUs: false });
        const marks = (tags: Record<string, string> | undefined) => Object.keys(tags ?? {}).filter((k) => k.startsWith('astro-remote-kpo/used-by-')).sort();
        const both = [`astro-remote-kpo/used-by-${a.projectId}`, `astro-remote-kpo/used-by-${bb.projectId}`].sort();
        expect(marks(cloud.aws.tags(POD_ROLE))).toEqual(both);
        expect(marks(cloud.aws.oidcProviders()[0]!.tags)).toEqual(both);
        expect(marks(cloud.kube.serviceAccount(NS, SA)?.metadata?.annotations)).toEqual(both);
        // A leaves first: everything stays for B, whose verify still passes.
        const d = await cli(cloud, dirA, ['destroy', '--json', '--yes', '--delete-namespace']);
        expect(d.code, d.stdout + d.stderr).toBe(0);
        expect(cloud.aws.role(POD_ROLE)).toBeDefined();
        expect(cloud.aws.attachedPolicies(POD_ROLE)).toEqual([ECR]);
        expect(cloud.kube.serviceAccount(NS, SA)).toBeDefined();
        expect(marks(cloud.aws.tags(POD_ROLE))).toEqual([`astro-remote-kpo/used-by-${bb.projectId}`]);
        const v = await cli(cloud, dirB, ['verify', '--json']);
        expect(v.code, v.stdout).toBe(0);
        // B is the last one out: nothing of the pods' remains.
        const last = await cli(cloud, dirB, ['destroy', '--json', '--yes', '--delete-namespace']);
        expect(last.code, last.stdout + last.stderr).toBe(0);
        expectNoPodsLeft(cloud);
        expect(cloud.aws.oidcProviders()).toEqual([]);
      } finally {
        await rm(dirB, { recursive: true, force: true });
      }
    });
  });

  it('bad values exit 2 naming them, before anything is done', { timeout: 60_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      const cases: Array<[string[], string]> = [
        [['--pod-policy-arn', 'AmazonS3ReadOnlyAccess'], '--pod-policy-arn "AmazonS3ReadOnlyAccess" is not valid'],
        [['--pod-policy-arn', 'arn:aws-cn:iam::aws:policy/AmazonS3ReadOnlyAccess'], 'is in partition aws-cn, but region "us-east-1" is in partition aws'],
        [['--pod-policy-arn', 'arn:aws:iam::12345:policy/x'], '--pod-policy-arn "arn:aws:iam::12345:policy/x" is not valid'],
        [[...PODS, '--pod-service-account', 'Pods_SA'], '--pod-service-account "Pods_SA" is not valid'],
        [[...PODS, '--pod-role', 'AstroRemoteKPO'], '--pod-role "AstroRemoteKPO" is also the --iam-role'],
        [[...PODS, '--pod-identity', 'kiam'], '--pod-identity "kiam" is not valid: expected one of auto, pod-identity, irsa.'],
      ];
      for (const [flags, words] of cases) {
        const r = await init(cloud, dir, flags);
        expectFailure(r, 'INPUT_INVALID');
        expect(r.stdout + r.stderr, flags.join(' ')).toContain(words);
      }
      expect(cloud.mutatingCalls()).toEqual([]);
    });
  });

  it('a policy IAM does not have stops the run in preflight (exit 2, nothing made); the dry run says so too', { timeout: 60_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      const typo = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAcess';
      const mine = 'arn:aws:iam::123456789012:policy/astro-tasks-s3';
      const r = await init(cloud, dir, [...PODS, '--pod-policy-arn', typo, '--pod-policy-arn', mine]);
      expectFailure(r, 'POD_POLICY_NOT_FOUND');
      const out = r.stdout + r.stderr;
      // Both named (IAM's NoSuchEntity for each), the good one not; nothing was asked of IAM twice.
      expect(out).toContain(`--pod-policy-arn ${typo}: IAM has no such policy (account 123456789012)`);
      expect(out).toContain(`--pod-policy-arn ${mine}: IAM has no such policy`);
      expect(out).not.toContain(`--pod-policy-arn ${ECR}:`);
      expect(cloud.calls.filter((c) => c.operation === 'GetPolicy').length).toBe(3);
      expect(cloud.mutatingCalls()).toEqual([]);
      expect(cloud.aws.role(POD_ROLE)).toBeUndefined();

      const plan = await init(cloud, dir, [...PODS, '--pod-policy-arn', typo, '--dry-run']);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`--pod-policy-arn ${typo}: IAM has no such policy (account 123456789012)`);
      expect(plan.stdout).toContain('the run would stop here (exit 2, POD_POLICY_NOT_FOUND)');
      expect(cloud.mutatingCalls()).toEqual([]);
    });
  });

  it('verify and destroy never ask whether the recorded policies exist (one deleted since init must not stop them)', { timeout: 90_000 }, async () => {
    await withCloud(existing(), async ({ cloud, dir }) => {
      expect((await init(cloud, dir, PODS)).code).toBe(0);
      cloud.resetCalls();
      const v = await cli(cloud, dir, ['verify']);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      const d = await cli(cloud, dir, ['destroy', '--yes']);
      expect(d.code, d.stdout + d.stderr).toBe(0);
      expect(cloud.calls.filter((c) => c.operation === 'GetPolicy')).toEqual([]);
      expect(cloud.aws.role(POD_ROLE)).toBeUndefined();
    });
  });
});

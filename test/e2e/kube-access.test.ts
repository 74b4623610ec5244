// The access check end to end against the test cloud's RBAC evaluator: the full table all ✔ from
// the built CLI, an unexpected grant as a warning, and a Role missing pods/log failing with the
// exact rule to add. Plus the in-process EKS token as the API server judges it: accepted fresh,
// rejected when expired or made for another cluster.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { generateEksToken } from '../../src/aws/eks-token.js';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import { KubeRequestError } from '../../src/kube/errors.js';
import { accessCheckStage } from '../../src/stages/access-check.js';
import type { TestCloud } from '../support/cloud.js';
import { expectCode, expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs } from './aws-helpers.js';
import { ambient, outputsOf, recordingIo } from '../support/stage-ctx.js';

const NS = 'astro-remote-kpo';
const ROLE = 'astro-remote-kpo-role';

const cloudProject = useCloudProjects('kpo-kube-access-');
let cloud: TestCloud;
let dir: string;
beforeEach(async () => {
  ({ cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } }));
});

async function init(extra: string[] = []) {
  const r = await runCli(initArgs(dir, extra), { env: cloud.env, cwd: dir });
  return { ...r, out: `${r.stdout}\n${r.stderr}` };
}

async function state(): Promise<{ stages: Record<string, { status: string; outputs?: Record<string, unknown>; warnings?: string[] }> }> {
  return JSON.parse(await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8'));
}

/** A client for the cluster's API server with a fixed bearer token (TLS verified with the cloud's CA). */
async function clientWithToken(token: string): Promise<KubeClient> {
  const cluster = cloud.aws.cluster('remote-kpo-demo')!;
  return createKubeClient({
    server: cloud.kube.url,
    kubeconfig: {
      clusters: [{ name: 'c', cluster: { server: cloud.kube.url, 'certificate-authority-data': cluster.caData } }],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    },
    tokenSource: { description: 'test', get: async () => token },
    authDescription: 'a test token',
    attempts: 1,
  });
}

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

describe('access-check (e2e)', () => {
  it('one line when all is as expected; --verbose prints the full table, all ✔, checked with SubjectAccessReview', async () => {
    const quiet = await init();
    expect(quiet.code, quiet.out).toBe(0);
    expect(quiet.out).toMatch(/✔ 10·access-check .*all 11 needed permissions allowed, 10 others denied \(--verbose: table\)/);
    expect(quiet.out.split('\n').filter((l) => /\s(✔|✖)$/.test(l))).toHaveLength(0);
    cloud.resetCalls();
    const r = await init(['--verbose']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('checked with SubjectAccessReview (kubectl auth can-i --as AstroRemoteKPO)');
    const rows = r.out.split('\n').filter((l) => /\s(✔|✖)$/.test(l));
    expect(rows).toHaveLength(21);
    expect(rows.every((l) => l.endsWith('✔'))).toBe(true);
    expect(rows.some((l) => /get\s+pods\/log\s+astro-remote-kpo\s+allowed\s+allowed\s+✔/.test(l))).toBe(true);
    expect(rows.some((l) => /create\s+pods\s+default\s+denied\s+denied\s+✔/.test(l))).toBe(true);
    expect((await state()).stages['access-check']?.outputs).toEqual({ method: 'SubjectAccessReview', allowed: 11, denied: 10, warnings: [] });
    const reviews = cloud.calls.filter((c) => c.operation === 'POST subjectaccessreviews');
    expect(reviews).toHaveLength(21);
    expect(reviews.every((c) => !c.mutating && c.status === 201)).toBe(true);
  });

  it('fails, naming the binding, when the user may do something EksPodOperator does not need; --allow-extra-access makes it a warning', async () => {
    cloud.kube.put({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'secret-reader' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
    });
    cloud.kube.put({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kpo-reads-secrets' },
      subjects: [{ kind: 'User', name: 'AstroRemoteKPO', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { kind: 'ClusterRole', name: 'secret-reader', apiGroup: 'rbac.authorization.k8s.io' },
    });
    const r = await init();
    expectFailure(r, 'RBAC_EXTRA_ACCESS');
    expect(r.out).toMatch(/list\s+secrets\s+astro-remote-kpo\s+denied\s+allowed\s+✖/);
    expect(r.out).toContain('ClusterRoleBinding kpo-reads-secrets binds ClusterRole secret-reader to User AstroRemoteKPO: get, list on secrets (cluster-wide)');
    expect((await state()).stages['access-check']?.status).toBe('failed');

    const accepted = await init(['--allow-extra-access']);
    expect(accepted.code, accepted.out).toBe(0);
    const s = await state();
    const warnings = s.stages['access-check']?.warnings ?? [];
    // One line for the questions (the API server gives one reason, the binding), one for the binding.
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('User AstroRemoteKPO may list secrets in namespace astro-remote-kpo, get secrets in namespace astro-remote-kpo, which EksPodOperator does not need');
    expect(warnings[0]).toContain('ClusterRoleBinding "kpo-reads-secrets"');
    expect(warnings[1]).toContain('ClusterRoleBinding kpo-reads-secrets binds ClusterRole secret-reader');
    expect(s.stages['access-check']?.status).toBe('done');
  });

  it('fails when the Role lacks pods/log, naming the rule to add', async () => {
    expect((await init()).code).toBe(0);
    const role = cloud.kube.role(NS, ROLE)!;
    cloud.kube.put({ ...role, rules: (role.rules as Rule[]).filter((x) => !x.resources.includes('pods/log')) });

    // From the CLI, --only access-check: the Role is a prerequisite, and it is not as it should be.
    const r = await init(['--only', 'access-check']);
    expectFailure(r, 'ONLY_NEEDS_STAGE');
    // Why the Role is not done: what it lacks.
    expect(r.out).toContain('missing verb get on pods/log');

    // The stage itself, run in-process against the same cluster (the drifted Role left in place).
    const adminClient = await createKubeClient({
      server: cloud.kube.url,
      kubeconfig: {
        clusters: [{ name: 'c', cluster: { server: cloud.kube.url, 'certificate-authority-data': cloud.aws.cluster('remote-kpo-demo')!.caData } }],
        users: [{ name: 'u', user: { token: cloud.kube.adminToken } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      },
      authDescription: 'the test cloud admin token',
    });
    // The stage's context as a literal: exactly what access-check declares.
    const io = recordingIo();
    const lines = io.infos;
    const ctx = {
      inputs: { clusterName: 'remote-kpo-demo', region: 'us-east-1', namespace: NS, k8sRole: ROLE, k8sUser: 'AstroRemoteKPO', podPolicyArns: [], podServiceAccount: 'astro-remote-kpo-pods' },
      flags: {},
      answers: {},
      ...ambient(io),
      ...outputsOf(),
      kube: () => adminClient,
      tryKube: () => adminClient,
      commandLine: () => 'npx astro-remote-kpo init',
    };
    const err = await expectCode(accessCheckStage.run(ctx), 'RBAC_PERMISSIONS_MISSING');
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe('User AstroRemoteKPO is missing 1 permission EksPodOperator needs: get pods/log in namespace astro-remote-kpo.');
    expect(err.hint).toContain('Add to the rules of Role astro-remote-kpo-role in namespace astro-remote-kpo:\n- apiGroups: [""]\n  resources: ["pods/log"]\n  verbs: ["get"]');
    expect(lines.some((l) => /get\s+pods\/log\s+astro-remote-kpo\s+allowed\s+denied\s+✖/.test(l))).toBe(true);
  });
});

describe('in-process EKS token at the API server (e2e)', () => {
  it('is accepted when fresh, rejected (401) when expired or made for another cluster', async () => {
    const credentials = cloud.credentials;
    const env = { AWS_ENDPOINT_URL_STS: cloud.env.AWS_ENDPOINT_URL_STS };
    const fresh = await generateEksToken({ clusterName: 'remote-kpo-demo', region: 'us-east-1', credentials, env });
    const ns = await (await clientWithToken(fresh.token)).readNamespace('default');
    expect(ns?.metadata?.name).toBe('default');
    expect(cloud.calls.at(-1)).toMatchObject({ service: 'kube', status: 200, caller: cloud.adminArn });

    const old = await generateEksToken({ clusterName: 'remote-kpo-demo', region: 'us-east-1', credentials, env, now: () => new Date(Date.now() - 16 * 60_000) });
    const expired = await expectCode((await clientWithToken(old.token)).readNamespace('default'), 'KUBE_UNAUTHORIZED');
    expect((expired as KubeRequestError).status).toBe(401);

    const other = await generateEksToken({ clusterName: 'another-cluster', region: 'us-east-1', credentials, env });
    await expectCode((await clientWithToken(other.token)).readNamespace('default'), 'KUBE_UNAUTHORIZED');

    const wrongKey = await generateEksToken({ clusterName: 'remote-kpo-demo', region: 'us-east-1', credentials: { ...credentials, secretAccessKey: 'not-the-secret' }, env });
    await expectCode((await clientWithToken(wrongKey.token)).readNamespace('default'), 'KUBE_UNAUTHORIZED');
  });
});

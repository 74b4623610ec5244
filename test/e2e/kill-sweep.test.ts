// Every recorded intent is undone (issue #19, finding 4): a SIGKILL right after EVERY mutating call
// init makes — the cloud made the change, the CLI never got the answer (the test cloud's `hold`
// fault) — then destroy, straight away (no resume first) and after a resume, leaves no trust
// principal, inline policy, use mark or object behind, and what existed before is as it was; a
// resumed run records what the killed one created as this project's (never "found").
// Scenarios: a fresh setup on an access-entry cluster and on an aws-auth cluster (with and
// without a ConfigMap), a role a person made, another project's setup, a cluster eksctl makes, and
// the task pods' own AWS identity (issue #20) through IRSA and through EKS Pod Identity.
// Points run concurrently, each on its own cloud.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestCloud, type StartTestCloudOptions, type TestCloud } from '../support/cloud.js';
import { runCli, startCli } from '../support/run-cli.js';
import type { StageId } from '../../src/types.js';
import { readState } from './aws-helpers.js';
import { CLUSTER, NS, ROLE, ROLE_ARN, init, leftovers, madeByCloud, marksOf, nodeMappings, verify } from './shared-helpers.js';

const WI_A = 'arn:aws:iam::123456789012:role/astro-dep-aaa111';
const WI = 'arn:aws:iam::123456789012:role/astro-dep-bbb222';
const OTHER = 'arn:aws:iam::123456789012:role/team-admin';
const POD_POLICY = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly';
const OTHER_TRUST = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] };

type ScenarioId = 'access-entry' | 'aws-auth' | 'aws-auth, no ConfigMap' | 'role a person made' | "another project's setup" | 'cluster eksctl makes' | 'pods: IRSA' | 'pods: Pod Identity';

interface Scenario {
  cloud: StartTestCloudOptions;
  /** Every mutating call a clean init makes here, in order (checked below: a new call must join the sweep). */
  calls: string[];
  /** Only these are swept (the others are the same calls as in another scenario); `op#n`: its nth call. */
  sweep?: string[];
  /** More init flags (the same on every run of the scenario). */
  args?: string[];
  prepare?(cloud: TestCloud, dir: string): Promise<void>;
}

const existing = (o: object = {}): StartTestCloudOptions => ({ cluster: { name: CLUSTER, withKubeconfigContext: true, ...o } });
const SCENARIOS: Record<ScenarioId, Scenario> = {
  'access-entry': {
    cloud: existing(),
    calls: ['iam CreateRole', 'iam PutRolePolicy', 'kube POST namespaces', 'eks CreateAccessEntry', 'kube POST roles', 'kube POST rolebindings'],
  },
  'aws-auth': {
    cloud: existing({ authenticationMode: 'CONFIG_MAP' }),
    calls: ['iam CreateRole', 'iam PutRolePolicy', 'kube POST namespaces', 'kube PUT configmaps', 'kube POST roles', 'kube POST rolebindings'],
  },
  'aws-auth, no ConfigMap': {
    cloud: existing({ authenticationMode: 'CONFIG_MAP', nodeGroup: false }),
    calls: ['iam CreateRole', 'iam PutRolePolicy', 'kube POST namespaces', 'kube POST configmaps', 'kube POST roles', 'kube POST rolebindings'],
    sweep: ['kube POST configmaps'],
  },
  'role a person made': {
    cloud: existing(),
    calls: ['iam UpdateAssumeRolePolicy', 'kube POST namespaces', 'kube POST roles', 'kube POST rolebindings', 'iam PutRolePolicy', 'eks CreateAccessEntry'],
    prepare: async (cloud) => void cloud.aws.createRole({ name: ROLE, trustPolicy: OTHER_TRUST }),
  },
  "another project's setup": {
    cloud: existing(),
    calls: ['iam TagRole', 'iam UpdateAssumeRolePolicy', 'kube PUT namespaces', 'kube PUT roles', 'kube PUT rolebindings', 'eks TagResource'],
    prepare: async (cloud, dirA) => {
      const r = await init(cloud, dirA, WI_A);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    },
  },
  'cluster eksctl makes': {
    cloud: { eksctlDurationMs: 1500 },
    // (eksctl's own: its withOIDC provider and the Pod Identity agent add-on of templates/cluster.yaml.)
    calls: ['iam CreateRole', 'iam PutRolePolicy', 'eksctl CreateCluster', 'eksctl ClusterActive', 'eksctl AssociateOIDCProvider', 'eksctl CreateAddon', 'eksctl WriteKubeconfig', 'kube POST namespaces', 'eks CreateAccessEntry', 'kube POST roles', 'kube POST rolebindings'],
    sweep: ['eksctl CreateCluster'],
  },
  // Two CreateRole calls race (Airflow's role and the pods'): the first and the second are swept.
  'pods: IRSA': {
    cloud: existing(),
    args: ['--pod-policy-arn', POD_POLICY],
    calls: ['iam CreateRole', 'iam PutRolePolicy', 'kube POST namespaces', 'eks CreateAccessEntry', 'kube POST roles', 'kube POST rolebindings', 'iam CreateOpenIDConnectProvider', 'iam CreateRole', 'iam AttachRolePolicy', 'kube POST serviceaccounts'],
    sweep: ['iam CreateOpenIDConnectProvider', 'iam CreateRole#1', 'iam CreateRole#2', 'iam AttachRolePolicy', 'kube POST serviceaccounts'],
  },
  'pods: Pod Identity': {
    cloud: existing({ addons: ['eks-pod-identity-agent'] }),
    args: ['--pod-policy-arn', POD_POLICY],
    calls: ['iam CreateRole', 'iam PutRolePolicy', 'kube POST namespaces', 'eks CreateAccessEntry', 'kube POST roles', 'kube POST rolebindings', 'iam CreateRole', 'iam AttachRolePolicy', 'kube POST serviceaccounts', 'eks CreatePodIdentityAssociation'],
    sweep: ['eks CreatePodIdentityAssociation'],
  },
};

const DESTROY = ['destroy', '--json', '--yes', '--delete-namespace', '--delete-cluster'];

/** The record a resumed run must make after each create: ours stays ours (never "found"). */
const CREATED: Record<string, [StageId, 'created' | 'createdByUs' | 'oidcProviderCreatedByUs']> = {
  'kube POST namespaces': ['namespace', 'created'],
  'kube POST roles': ['k8s-role', 'created'],
  'kube POST rolebindings': ['role-binding', 'created'],
  'iam CreateRole': ['iam-role', 'createdByUs'],
  'iam PutRolePolicy': ['iam-role', 'createdByUs'],
  'eks CreateAccessEntry': ['identity-mapping', 'createdByUs'],
  'kube PUT configmaps': ['identity-mapping', 'createdByUs'],
  'kube POST configmaps': ['identity-mapping', 'createdByUs'],
  'eksctl CreateCluster': ['cluster', 'createdByUs'],
  'iam CreateOpenIDConnectProvider': ['pod-identity', 'oidcProviderCreatedByUs'],
  'iam AttachRolePolicy': ['pod-role', 'createdByUs'],
  'kube POST serviceaccounts': ['pod-service-account', 'created'],
};

/** After the resume: state records what the killed run did as this project's (and a found or
 * shared object as found, with what this project added to it). */
async function expectRecorded(id: ScenarioId, call: string, dir: string): Promise<void> {
  const state = await readState(dir);
  const outputs = (stage: StageId) => state.stages[stage].outputs as unknown as Record<string, unknown>;
  if (id === "another project's setup") {
    for (const stage of ['namespace', 'k8s-role', 'role-binding'] as const) expect(outputs(stage).created, stage).toBe(false);
    expect(outputs('iam-role')).toMatchObject({ createdByUs: false, trustPrincipalsAdded: [WI] });
  } else if (id === 'role a person made' && call.startsWith('iam ')) {
    expect(outputs('iam-role')).toMatchObject({ createdByUs: false, trustPrincipalsAdded: [WI], inlinePolicy: `${ROLE}-eks-describe` });
  } else if (call === 'eks CreatePodIdentityAssociation') {
    expect(outputs('pod-service-account').association, 'the association after the resume').toMatchObject({ createdByUs: true });
  } else if (call.startsWith('iam CreateRole#')) {
    // Whichever of the two roles it was: both are this project's.
    expect([outputs('iam-role').createdByUs, outputs('pod-role').createdByUs]).toEqual([true, true]);
  } else if (CREATED[call]) {
    const [stage, field] = CREATED[call]!;
    expect(outputs(stage)[field], `${stage} after the resume`).toBe(true);
  }
}

interface Scene {
  cloud: TestCloud;
  dir: string;
  /** The other project's folder ("another project's setup"). */
  dirA: string;
}

async function withScene(s: Scenario, fn: (scene: Scene) => Promise<void>): Promise<void> {
  const cloud = await startTestCloud(s.cloud);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-sweep-'));
  const dirA = await mkdtemp(path.join(os.tmpdir(), 'kpo-sweep-a-'));
  try {
    await s.prepare?.(cloud, dirA);
    await fn({ cloud, dir, dirA });
  } finally {
    await cloud.stop();
    for (const d of [dir, dirA]) await rm(d, { recursive: true, force: true });
  }
}

/** Nothing of this project's is left, and what was there before is as it was. */
async function expectNothingLeft(id: ScenarioId, scene: Scene, before: { node: unknown; mapRoles: string | undefined }): Promise<void> {
  const { cloud } = scene;
  if (id === 'cluster eksctl makes') {
    expect(cloud.aws.cluster(CLUSTER), 'the cluster init created').toBeUndefined();
    expect(cloud.aws.role(ROLE)).toBeUndefined();
    return;
  }
  expect(nodeMappings(cloud)).toEqual(before.node);
  if (id === 'aws-auth, no ConfigMap') expect(cloud.kube.configMap('kube-system', 'aws-auth'), 'the ConfigMap init created').toBeUndefined();
  else expect(cloud.kube.configMap('kube-system', 'aws-auth')?.data?.mapRoles, 'aws-auth byte for byte').toBe(before.mapRoles);
  if (id === 'role a person made') {
    // The role was there before init: it stays, exactly as it was (the principal list as an array).
    expect(cloud.aws.trustPolicy(ROLE)).toEqual({ ...OTHER_TRUST, Statement: [{ ...OTHER_TRUST.Statement[0], Principal: { AWS: [OTHER] } }] });
    expect(cloud.aws.inlinePolicyNames(ROLE)).toEqual([]);
    expect(cloud.aws.tags(ROLE)).toEqual({});
    expect(leftovers(cloud).filter((l) => !l.startsWith(`IAM role ${ROLE}`))).toEqual([]);
    return;
  }
  if (id === "another project's setup") {
    // Only what this project added went: its principal and its marks; the other project still works.
    expect(JSON.stringify(cloud.aws.trustPolicy(ROLE))).not.toContain(WI);
    const a = await readState(scene.dirA);
    const metas = [cloud.aws.tags(ROLE), cloud.aws.accessEntry(CLUSTER, ROLE_ARN)?.tags, ...[cloud.kube.namespace(NS), cloud.kube.role(NS, 'astro-remote-kpo-role'), cloud.kube.roleBinding(NS, 'astro-remote-kpo-rolebinding')].map((o) => o?.metadata?.annotations)];
    for (const m of metas) expect(marksOf(m)).toEqual([a.projectId]);
    expect(await verify(cloud, scene.dirA)).toEqual({ code: 0, failed: [] });
    return;
  }
  expect(leftovers(cloud)).toEqual([]);
}

describe('the sweep covers every mutating call of a clean init', () => {
  for (const [id, s] of Object.entries(SCENARIOS) as Array<[ScenarioId, Scenario]>) {
    it(id, async () => {
      await withScene(s, async ({ cloud, dir }) => {
        cloud.resetCalls();
        const r = await init(cloud, dir, WI, s.args);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(cloud.mutatingCalls().map((c) => `${c.service} ${c.operation}`).sort()).toEqual([...s.calls].sort());
      });
    });
  }
});

describe.concurrent('kill -9 right after each mutating call of init, then destroy', () => {
  for (const [id, s] of Object.entries(SCENARIOS) as Array<[ScenarioId, Scenario]>) {
    for (const call of s.sweep ?? s.calls) {
      for (const resume of [false, true]) {
        it(`${id}: ${call}; destroy ${resume ? 'after a resume' : 'without resuming first'}`, { timeout: 240_000 }, async () => {
          await withScene(s, async (scene) => {
            const { cloud, dir } = scene;
            const before = { node: nodeMappings(cloud), mapRoles: cloud.kube.configMap('kube-system', 'aws-auth')?.data?.mapRoles };
            const [service, rest] = [call.slice(0, call.indexOf(' ')), call.slice(call.indexOf(' ') + 1)];
            const [operation, nth] = rest.includes('#') ? [rest.slice(0, rest.indexOf('#')), Number(rest.slice(rest.indexOf('#') + 1))] : [rest, 1];
            const args = ['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir, ...(s.args ?? [])];
            // The cloud makes the change and holds the answer: the CLI dies not knowing it succeeded.
            cloud.faults.slowMs = 60_000;
            if (service !== 'eksctl') cloud.faults.failNth(operation, nth, 'hold');
            cloud.resetCalls();
            const run = startCli(args, { env: cloud.env, cwd: dir });
            await madeByCloud(cloud, service, operation, 90_000, nth);
            run.interrupt('SIGKILL');
            expect((await run.result).signal).toBe('SIGKILL');
            cloud.faults.clear();
            cloud.faults.slowMs = 1500;
            if (resume) {
              const r = await runCli(args, { env: cloud.env, cwd: dir });
              expect(r.code, r.stdout + r.stderr).toBe(0);
              await expectRecorded(id, call, dir);
            }
            const d = await runCli([...DESTROY, '--project-dir', dir], { env: cloud.env, cwd: dir });
            expect(d.code, d.stdout + d.stderr).toBe(0);
            await expectNothingLeft(id, scene, before);
          });
        });
      }
    }
  }
});

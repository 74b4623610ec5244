// Write-ahead intent: a run killed (kill -9) right after each create call — the cloud made the
// change, the CLI never got the answer — resumes knowing the object is its own, and destroy then
// leaves nothing behind. Ctrl-C while eksctl creates the cluster: state still knows it is ours.
import { describe, expect, it } from 'vitest';
import { sleep } from '../support/calls.js';
import type { StartTestCloudOptions, TestCloud } from '../support/cloud.js';
import { runCli, startCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { WI, initArgs, readState } from './aws-helpers.js';

const NS = 'astro-remote-kpo';
const ROLE = 'AstroRemoteKPO';
const ROLE_ARN = `arn:aws:iam::123456789012:role/${ROLE}`;
const setup = useCloudProjects('kpo-kill-');

/** Resolves once the cloud has logged `operation` answered 2xx (the change is made). */
async function madeByCloud(cloud: TestCloud, service: string, operation: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cloud.calls.some((c) => c.service === service && c.operation === operation && c.status >= 200 && c.status < 300)) {
    if (Date.now() > until) throw new Error(`${operation} never reached the cloud`);
    await sleep(10);
  }
}

interface Point {
  service: 'kube' | 'iam' | 'eks' | 'eksctl';
  operation: string;
  /** The stage whose record must say "created" after the resume, and the output that says it. */
  stage: 'namespace' | 'k8s-role' | 'role-binding' | 'iam-role' | 'identity-mapping' | 'cluster';
  cloud: StartTestCloudOptions;
  /** The IAM role exists before init (trusting OTHER only): what init ADDS to it must go again. */
  foundRole?: boolean;
}

const OTHER = 'arn:aws:iam::123456789012:role/team-admin';
const OTHER_TRUST = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] };

const EXISTING: StartTestCloudOptions = { cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } };
const POINTS: Point[] = [
  { service: 'kube', operation: 'POST namespaces', stage: 'namespace', cloud: EXISTING },
  { service: 'kube', operation: 'POST roles', stage: 'k8s-role', cloud: EXISTING },
  { service: 'kube', operation: 'POST rolebindings', stage: 'role-binding', cloud: EXISTING },
  { service: 'iam', operation: 'CreateRole', stage: 'iam-role', cloud: EXISTING },
  { service: 'iam', operation: 'PutRolePolicy', stage: 'iam-role', cloud: EXISTING },
  { service: 'eks', operation: 'CreateAccessEntry', stage: 'identity-mapping', cloud: EXISTING },
  { service: 'kube', operation: 'PUT configmaps', stage: 'identity-mapping', cloud: { cluster: { name: 'remote-kpo-demo', authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true } } },
  { service: 'eksctl', operation: 'CreateCluster', stage: 'cluster', cloud: { eksctlDurationMs: 1500 } },
  // Added to a role init found: the trust principal and the inline policy.
  { service: 'iam', operation: 'UpdateAssumeRolePolicy', stage: 'iam-role', cloud: EXISTING, foundRole: true },
  { service: 'iam', operation: 'PutRolePolicy', stage: 'iam-role', cloud: EXISTING, foundRole: true },
];

function createdIn(outputs: Record<string, unknown> | undefined): boolean | undefined {
  return (outputs?.created ?? outputs?.createdByUs) as boolean | undefined;
}

describe('kill -9 right after each create call, then resume, then destroy', () => {
  for (const p of POINTS) {
    it(`${p.operation}${p.foundRole ? ' on a found role' : ''}: the resumed run records it as ours; destroy leaves nothing behind`, async () => {
      const { cloud, dir } = await setup(p.cloud);
      if (p.foundRole) cloud.aws.createRole({ name: ROLE, trustPolicy: OTHER_TRUST });
      const awsAuthBefore = cloud.kube.configMap('kube-system', 'aws-auth')?.data?.mapRoles;
      // The cloud makes the change and holds the answer: the CLI dies not knowing it succeeded.
      cloud.faults.slowMs = 30_000;
      if (p.service !== 'eksctl') cloud.faults.failNth(p.operation, 1, 'hold');
      const run = startCli(initArgs(dir), { env: cloud.env, cwd: dir });
      await madeByCloud(cloud, p.service, p.operation);
      run.interrupt('SIGKILL');
      expect((await run.result).signal).toBe('SIGKILL');
      cloud.faults.clear();
      cloud.faults.slowMs = 1500;

      const resumed = await runCli(initArgs(dir), { env: cloud.env, cwd: dir });
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      const state = await readState(dir);
      if (p.foundRole) {
        expect(state.stages['iam-role'].outputs).toMatchObject({ createdByUs: false, trustPrincipalsAdded: [WI], inlinePolicy: `${ROLE}-eks-describe` });
      } else {
        expect(createdIn(state.stages[p.stage].outputs as unknown as Record<string, unknown>), `${p.stage} after resume`).toBe(true);
      }

      const d = await runCli(['destroy', '--yes', '--delete-namespace', '--delete-cluster', '--project-dir', dir], { env: cloud.env, cwd: dir });
      expect(d.code, d.stdout + d.stderr).toBe(0);
      if (p.foundRole) {
        // The role was there before init: it stays, exactly as it was.
        // (destroy writes the principal list as an array; the trust is the same)
        expect(cloud.aws.trustPolicy(ROLE)).toEqual({ ...OTHER_TRUST, Statement: [{ ...OTHER_TRUST.Statement[0], Principal: { AWS: [OTHER] } }] });
        expect(cloud.aws.inlinePolicyNames(ROLE)).toEqual([]);
      } else expect(cloud.aws.role(ROLE)).toBeUndefined();
      if (p.service === 'eksctl') {
        expect(cloud.aws.cluster('remote-kpo-demo')).toBeUndefined();
        return;
      }
      expect(cloud.kube.namespace(NS)).toBeUndefined();
      expect(cloud.kube.list('Role', NS)).toEqual([]);
      expect(cloud.kube.list('RoleBinding', NS)).toEqual([]);
      expect(cloud.aws.accessEntry('remote-kpo-demo', ROLE_ARN)).toBeUndefined();
      expect(cloud.kube.configMap('kube-system', 'aws-auth')?.data?.mapRoles).toBe(awsAuthBefore);
      // The cluster existed before init: it stays.
      expect(cloud.aws.cluster('remote-kpo-demo')).toBeDefined();
    });
  }
});

describe('Ctrl-C while eksctl creates the cluster', () => {
  it('state still knows the cluster is ours: destroy would delete it, a resumed run records it as created', async () => {
    const { cloud, dir } = await setup({ eksctlDurationMs: 3000 });
    const run = startCli(initArgs(dir), { env: cloud.env, cwd: dir });
    await madeByCloud(cloud, 'eksctl', 'CreateCluster');
    run.interrupt('SIGINT');
    expect((await run.result).code).toBe(130);
    const state = await readState(dir);
    expect(state.stages.cluster.status).toBe('interrupted');
    expect(state.intents?.cluster?.map((i) => i.target)).toEqual(['EKS cluster remote-kpo-demo in us-east-1']);

    // Without resuming first, destroy already counts the cluster as ours.
    const dry = await runCli(['destroy', '--json', '--dry-run', '--delete-cluster', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    const cluster = (JSON.parse(dry.stdout) as { items: Array<{ kind: string; decision: string; why: string }> }).items.find((i) => i.kind === 'cluster');
    expect(cluster).toMatchObject({ decision: 'delete', why: expect.stringContaining('about to create') });

    const resumed = await runCli(initArgs(dir), { env: cloud.env, cwd: dir });
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect((await readState(dir)).stages.cluster.outputs.createdByUs).toBe(true);
    const d = await runCli(['destroy', '--yes', '--delete-namespace', '--delete-cluster', '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(cloud.aws.cluster('remote-kpo-demo')).toBeUndefined();
    expect(cloud.aws.role(ROLE)).toBeUndefined();
  });
});

// E2E: can the Deployment reach the cluster's API server? init reads resourcesVpcConfig from the
// DescribeCluster it makes anyway and says so when the endpoint is private, limited to some CIDRs
// or not reported (an emulator's answer); verify has a row for it. A public endpoint, and the
// cluster init creates from the template, get no advice. The tool never changes endpoint settings.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VpcOverrides } from '../support/cloud.js';
import type { TestCloud } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, readState, requireBuild } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-reach-');
beforeAll(requireBuild);

const NAME = 'remote-kpo-demo';
const VPC = 'vpc-0a1b2c3d4e5f60004';
const PRIVATE_DOC = 'https://www.astronomer.io/docs/astro/connect-aws#private-networking-connections';
const IPS_DOC = 'https://www.astronomer.io/docs/astro/connect-aws-public';
const WHERE_IPS = 'the Deployment → Details → External IPs';

interface Row { id: string; status: string; detail: string; fix?: string; data?: { endpointAccess?: unknown } }
interface InitDoc { ok: boolean; stages: Array<{ id: string; warnings?: string[]; outputs?: { endpointAccess?: unknown } }>; nextSteps: string[] }

async function setup(vpc: VpcOverrides | undefined) {
  return cloudProject({ cluster: { name: NAME, withKubeconfigContext: true, ...(vpc ? { resourcesVpcConfig: vpc } : {}) } });
}

async function init(c: TestCloud, dir: string, extra: string[] = []) {
  const r = await runCli(initArgs(dir, extra), { env: c.env, cwd: dir });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r;
}

async function verifyRow(c: TestCloud, dir: string): Promise<{ code: number; row: Row; all: Row[] }> {
  const r = await runCli(['verify', '--json', '--project-dir', dir], { env: c.env, cwd: dir });
  const doc = JSON.parse(r.stdout) as { checks: Row[] };
  return { code: r.code, row: doc.checks.find((x) => x.id === 'endpoint-access')!, all: doc.checks };
}

/** The tool read the endpoint settings and never wrote them. */
function untouched(c: TestCloud) {
  expect(c.calls.filter((x) => x.operation === 'UpdateClusterConfig')).toEqual([]);
}

describe('API endpoint reachability', () => {
  it('a private endpoint: init says so plainly with the way out, verify warns (exit 0), nothing changed', async () => {
    const { cloud: c, dir } = await setup({ endpointPublicAccess: false, endpointPrivateAccess: true });
    const r = await init(c, dir);
    const out = r.stdout;
    expect(out).toContain(`The cluster's API endpoint is private (endpointPublicAccess false): Astro Hosted reaches it only through a network connection to the cluster's VPC ${VPC}`);
    expect(out).toContain(PRIVATE_DOC);
    expect(out).toContain(`aws eks update-cluster-config --name ${NAME} --region us-east-1 --resources-vpc-config endpointPublicAccess=true,endpointPrivateAccess=true,publicAccessCidrs=<EXTERNAL_IP_1>/32,<EXTERNAL_IP_2>/32`);
    expect(out).toContain(WHERE_IPS);
    // In the checklist too (under the cluster stage), and as step 1 of what comes next.
    expect(out).toMatch(/! The cluster's API endpoint is private .* What to do: at the end, and in `verify`\./);
    expect(out).toMatch(/ {2}1\. The cluster's API endpoint is private/);
    const state = await readState(dir);
    expect(state.stages.cluster.outputs.endpointAccess).toEqual({ reach: 'private', publicAccess: false, privateAccess: true, publicAccessCidrs: ['0.0.0.0/0'], vpcId: VPC });
    untouched(c);

    const v = await verifyRow(c, dir);
    expect(v.code).toBe(0);
    expect(v.row).toMatchObject({ status: 'warn', data: { endpointAccess: { reach: 'private' } } });
    expect(v.row.detail).toContain('endpoint is private');
    expect(v.row.fix).toContain(PRIVATE_DOC);
    expect(v.all.filter((x) => x.status !== 'pass').map((x) => x.id)).toEqual(['endpoint-access']);

    const human = await runCli(['verify', '--no-color', '--project-dir', dir], { env: c.env, cwd: dir });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^! API endpoint open to Astro +The cluster's API endpoint is private/m);
    expect(human.stdout).toContain('    what to do: Either connect Astro to that VPC');
    expect(human.stdout).toContain('12 of 13 checks passed and none failed, with 1 warning (!)');
    untouched(c);

    // A state.json written before the tool read the endpoint settings: still read, then refreshed.
    const file = path.join(dir, '.astro-remote-kpo', 'state.json');
    const old = JSON.parse(await readFile(file, 'utf8')) as { stages: { cluster: { outputs: Record<string, unknown> } } };
    delete old.stages.cluster.outputs.endpointAccess;
    await writeFile(file, JSON.stringify(old));
    const again = await init(c, dir);
    expect(again.stdout).toMatch(/ {2}1\. The cluster's API endpoint is private/);
    expect((await readState(dir)).stages.cluster.outputs.endpointAccess).toMatchObject({ reach: 'private' });
  });

  it('a public endpoint limited to some CIDRs: init and verify list them, say where Astro shows the external IPs and the command that keeps them', async () => {
    const cidrs = ['203.0.113.0/24', '198.51.100.7/32'];
    const { cloud: c, dir } = await setup({ publicAccessCidrs: cidrs });
    const r = await init(c, dir, ['--json']);
    const doc = JSON.parse(r.stdout) as InitDoc;
    const next = doc.nextSteps.join('\n');
    expect(next).toContain("The cluster's public API endpoint accepts only 203.0.113.0/24, 198.51.100.7/32 (publicAccessCidrs)");
    expect(next).toContain(WHERE_IPS);
    expect(next).toContain(IPS_DOC);
    // The list is replaced by the command: the current entries come first.
    expect(next).toContain(`--resources-vpc-config endpointPublicAccess=true,endpointPrivateAccess=false,publicAccessCidrs=203.0.113.0/24,198.51.100.7/32,<EXTERNAL_IP_1>/32,<EXTERNAL_IP_2>/32`);
    expect(next).toContain('publicAccessCidrs replaces the whole list: keep the current entries (203.0.113.0/24, 198.51.100.7/32) in it (with private access off, the nodes too');
    const cluster = doc.stages.find((s) => s.id === 'cluster')!;
    expect(cluster.outputs?.endpointAccess).toEqual({ reach: 'limited', publicAccess: true, privateAccess: false, publicAccessCidrs: cidrs, vpcId: VPC });
    expect(cluster.warnings?.join('\n')).toContain('accepts only 203.0.113.0/24, 198.51.100.7/32');

    const v = await verifyRow(c, dir);
    expect(v.code).toBe(0);
    expect(v.row.status).toBe('warn');
    expect(v.row.detail).toContain('203.0.113.0/24, 198.51.100.7/32');
    expect(v.row.fix).toContain(WHERE_IPS);
    expect(v.row.fix).toContain('publicAccessCidrs=203.0.113.0/24,198.51.100.7/32,<EXTERNAL_IP_1>/32');
    untouched(c);
  });

  it('a public endpoint (open to 0.0.0.0/0): no advice from init, a passing verify row; the plan shows it with the cluster', async () => {
    const { cloud: c, dir } = await setup(undefined);
    const plan = await runCli([...initArgs(dir), '--dry-run'], { env: c.env, cwd: dir });
    expect(plan.stdout).toContain(`exists: cluster ${NAME} (ACTIVE, authentication mode API_AND_CONFIG_MAP, API endpoint public) (skip)`);
    const r = await init(c, dir);
    expect(r.stdout).not.toMatch(/endpointPublicAccess|publicAccessCidrs|update-cluster-config|External IPs/);
    expect(r.stdout).toMatch(/ {2}1\. Create connection aws_eks on the Deployment/);
    expect((await readState(dir)).stages.cluster.outputs.endpointAccess).toMatchObject({ reach: 'public' });
    const v = await verifyRow(c, dir);
    expect(v.code).toBe(0);
    expect(v.row).toMatchObject({ status: 'pass', detail: expect.stringContaining('public endpoint open to every address (0.0.0.0/0)') });
  });

  it('an answer without the access fields (as moto gives): "not reported", never "public"', async () => {
    const { cloud: c, dir } = await setup({ endpointPublicAccess: undefined, endpointPrivateAccess: undefined, publicAccessCidrs: undefined, vpcId: undefined });
    const plan = await runCli([...initArgs(dir), '--dry-run'], { env: c.env, cwd: dir });
    expect(plan.stdout).toContain('API endpoint access not reported by EKS) (skip)');
    const doc = JSON.parse((await init(c, dir, ['--json'])).stdout) as InitDoc;
    expect(doc.stages.find((s) => s.id === 'cluster')!.outputs?.endpointAccess).toEqual({ reach: 'unknown' });
    expect(doc.nextSteps.join('\n')).toContain("EKS did not say whether the cluster's API endpoint is public");
    expect(doc.nextSteps.join('\n')).toContain(`aws eks describe-cluster --name ${NAME} --region us-east-1 --query cluster.resourcesVpcConfig`);
    const v = await verifyRow(c, dir);
    expect(v.code).toBe(0);
    expect(v.row).toMatchObject({ status: 'warn', data: { endpointAccess: { reach: 'unknown' } } });
  });

  it('the cluster init creates from the template is public (eksctl\'s default): nothing said', async () => {
    const { cloud: c, dir } = await cloudProject();
    const r = await init(c, dir);
    expect(c.eksctl.invocations.filter((a) => a[0] === 'create')).toHaveLength(1);
    expect(r.stdout).not.toMatch(/endpointPublicAccess|publicAccessCidrs|update-cluster-config|not reported/);
    expect((await readState(dir)).stages.cluster.outputs.endpointAccess).toMatchObject({ reach: 'public' });
  });

  it('a private endpoint shows in the dry-run plan with the advice, before anything is made', async () => {
    const { cloud: c, dir } = await setup({ endpointPublicAccess: false, endpointPrivateAccess: true });
    const plan = await runCli([...initArgs(dir), '--dry-run'], { env: c.env, cwd: dir });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`authentication mode API_AND_CONFIG_MAP, API endpoint private only (VPC ${VPC})) (skip)`);
    expect(plan.stdout).toContain(PRIVATE_DOC);
    expect(c.mutatingCalls()).toEqual([]);
  });
});

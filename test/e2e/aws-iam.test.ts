// E2E: the IAM role (trust, scoped/seed permissions, reconcile, propagation and throttling retries)
// and role-arn, against the loopback test cloud.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestCloud } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { WI, requireBuild, initArgs, readState } from './aws-helpers.js';

const ROLE = 'AstroRemoteKPO';
const INLINE = 'AstroRemoteKPO-eks-describe';
const CLUSTER_ARN = 'arn:aws:eks:us-east-1:123456789012:cluster/remote-kpo-demo';
const SEED = [
  'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
  'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
  'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
];
const OTHER = 'arn:aws:iam::123456789012:role/other-deployment';

const cloudProject = useCloudProjects('kpo-e2e-iam-');
let cloud: TestCloud;
let dir: string;

beforeAll(requireBuild);

async function setup() {
  ({ cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } }));
  return cloud;
}

const statuses = (c: TestCloud, op: string) => c.calls.filter((x) => x.operation === op).map((x) => x.status);

describe('iam-role stage', () => {
  it('creates the role with exactly the trust policy and the scoped inline policy, tagged; a second run changes nothing', async () => {
    const c = await setup();
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);

    expect(c.aws.trustPolicy(ROLE)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: [WI] }, Action: 'sts:AssumeRole' }],
    });
    expect(c.aws.inlinePolicyNames(ROLE)).toEqual([INLINE]);
    expect(c.aws.inlinePolicy(ROLE, INLINE)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: CLUSTER_ARN }],
    });
    expect(c.aws.attachedPolicies(ROLE)).toEqual([]);
    const id = (await readState(dir)).projectId;
    // The creation marker, and the creator's own use mark (the day, and its identities' fingerprint).
    expect(c.aws.tags(ROLE)).toEqual({ 'managed-by': 'astro-remote-kpo', 'astro-remote-kpo/project-id': id, [`astro-remote-kpo/used-by-${id}`]: expect.stringMatching(/^\d{4}-\d\d-\d\d wi:[0-9a-f]{12}$/) });

    const state = await readState(dir);
    const arn = `arn:aws:iam::123456789012:role/${ROLE}`;
    // The principals it was made with are recorded: if others come to use the role, destroy takes out only these.
    expect(state.stages['iam-role'].outputs).toEqual({ roleArn: arn, createdByUs: true, inlinePolicy: INLINE, attachedPolicies: [], trustPrincipalsAdded: [WI] });
    expect(state.stages['role-arn'].outputs).toEqual({ roleArn: arn, mappingArn: arn });

    c.resetCalls();
    const again = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(c.mutatingCalls()).toEqual([]);
    const s2 = await readState(dir);
    expect(s2.stages['iam-role'].status).toBe('skipped');
    expect(s2.stages['iam-role'].outputs.createdByUs).toBe(true);
  });

  it('--permissions seed attaches the three managed policies; switching back to scoped detaches only those', async () => {
    const c = await setup();
    const r = await runCli(initArgs(dir, ['--permissions', 'seed']), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect([...c.aws.attachedPolicies(ROLE)].sort()).toEqual([...SEED].sort());
    expect(c.aws.inlinePolicyNames(ROLE)).toEqual([]);
    expect((await readState(dir)).stages['iam-role'].outputs.attachedPolicies.sort()).toEqual([...SEED].sort());

    const back = await runCli(initArgs(dir, ['--permissions', 'scoped']), { env: c.env, cwd: dir });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(c.aws.attachedPolicies(ROLE)).toEqual([]);
    expect(c.aws.inlinePolicyNames(ROLE)).toEqual([INLINE]);
  });

  it('reconciles a pre-existing role: keeps the other principal and every policy it did not create', async () => {
    const c = await setup();
    c.aws.createRole({
      name: ROLE,
      trustPolicy: { Version: '2012-10-17', Statement: [{ Sid: 'Other', Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] },
    });
    c.aws.iam.roles.get(ROLE)!.inline.set('TeamPolicy', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }));
    c.aws.iam.roles.get(ROLE)!.attached.push('arn:aws:iam::aws:policy/ReadOnlyAccess');

    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(c.aws.trustPolicy(ROLE)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Other', Effect: 'Allow', Principal: { AWS: [OTHER, WI] }, Action: 'sts:AssumeRole' }],
    });
    expect(c.aws.inlinePolicyNames(ROLE).sort()).toEqual([INLINE, 'TeamPolicy']);
    expect(c.aws.attachedPolicies(ROLE)).toEqual(['arn:aws:iam::aws:policy/ReadOnlyAccess']);
    expect(c.aws.tags(ROLE)).toEqual({});
    expect(statuses(c, 'CreateRole')).toEqual([]);
    expect(statuses(c, 'UpdateAssumeRolePolicy')).toEqual([200]);
    expect((await readState(dir)).stages['iam-role'].outputs.createdByUs).toBe(false);
  });

  it('retries a transient "Invalid principal in policy" until IAM has caught up', async () => {
    const c = await setup();
    c.aws.invalidPrincipal(WI, 2);
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(statuses(c, 'CreateRole')).toEqual([400, 400, 200]);
    expect(c.aws.trustPolicy(ROLE)?.Statement).toEqual([{ Effect: 'Allow', Principal: { AWS: [WI] }, Action: 'sts:AssumeRole' }]);
  });

  it('rides out throttling (the SDK retries it)', async () => {
    const c = await setup();
    c.faults.failNth('PutRolePolicy', 1, 'throttle');
    c.faults.failNth('PutRolePolicy', 2, 'throttle');
    c.faults.failNth('GetRole', 1, 'throttle');
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const puts = c.calls.filter((x) => x.operation === 'PutRolePolicy');
    expect(puts.map((x) => x.fault ? 'fault' : x.status)).toEqual(['fault', 'fault', 200]);
    expect(c.aws.inlinePolicyNames(ROLE)).toEqual([INLINE]);
  });

  it('maps a role that has an IAM path by its ARN without the path', async () => {
    const c = await setup();
    c.aws.createRole({ name: ROLE, path: '/team/astro/', trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [WI] }, Action: 'sts:AssumeRole' }] } });
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = (await readState(dir)).stages['role-arn'].outputs;
    expect(out).toEqual({ roleArn: `arn:aws:iam::123456789012:role/team/astro/${ROLE}`, mappingArn: `arn:aws:iam::123456789012:role/${ROLE}` });
    expect(c.aws.accessEntry('remote-kpo-demo', `arn:aws:iam::123456789012:role/${ROLE}`)?.username).toBe('AstroRemoteKPO');
  });
});

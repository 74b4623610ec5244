// E2E: the cluster and preflight stages against the loopback test cloud and the stand-in eksctl.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StartTestCloudOptions, TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { requireBuild, initArgs, readState } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-aws-');
let cloud: TestCloud;
let dir: string;

beforeAll(requireBuild);

async function setup(opts: StartTestCloudOptions = {}) {
  ({ cloud, dir } = await cloudProject(opts));
  return cloud;
}

describe('cluster stage', () => {
  it('creates a missing cluster with eksctl from the rendered k8s/cluster.yaml and records it', async () => {
    const c = await setup();
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);

    const creates = c.eksctl.invocations.filter((a) => a[0] === 'create');
    expect(creates).toHaveLength(1);
    const file = path.join(dir, 'k8s', 'cluster.yaml');
    expect(creates[0]).toEqual(['create', 'cluster', '-f', file, '--set-kubeconfig-context=false']);
    expect(parse(await readFile(file, 'utf8'))).toMatchObject({ kind: 'ClusterConfig', metadata: { name: 'remote-kpo-demo', region: 'us-east-1' }, iam: { withOIDC: true } });
    expect(c.aws.cluster('remote-kpo-demo')?.authenticationMode).toBe('API_AND_CONFIG_MAP');

    const log = await readFile(path.join(dir, '.astro-remote-kpo', 'logs', 'eksctl-create-cluster.log'), 'utf8');
    expect(log).toMatch(/EKS cluster "remote-kpo-demo" in "us-east-1" region is ready/);

    const state = await readState(dir);
    expect(state.stages.cluster.status).toBe('done');
    expect(state.stages.cluster.outputs).toMatchObject({ createdByUs: true, authenticationMode: 'API_AND_CONFIG_MAP', endpoint: c.kube.url });
    expect(state.stages.preflight.outputs).toMatchObject({ accountId: '123456789012', callerArn: c.adminArn, partition: 'aws', eksctlVersion: '0.210.0' });
    expect(r.stdout).toContain(c.adminArn);
  });

  it('skips an existing ACTIVE cluster without eksctl, even when eksctl is not installed', async () => {
    const c = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    const env = { ...c.env, PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter) };
    const r = await runCli(initArgs(dir), { env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(c.eksctl.invocations).toEqual([]);
    const state = await readState(dir);
    expect(state.stages.cluster.status).toBe('skipped');
    expect(state.stages.cluster.reason).toBe('cluster remote-kpo-demo exists (ACTIVE)');
    expect(state.stages.cluster.outputs.createdByUs).toBe(false);
    expect(state.stages.preflight.outputs.eksctlVersion).toBeUndefined();
    // preflight's DescribeCluster is handed to the cluster stage's check(), not asked again.
    expect(c.calls.filter((x) => x.operation === 'DescribeCluster').length).toBe(1);
  });

  it('exits 3 naming eksctl when the cluster must be created and eksctl is missing', async () => {
    const c = await setup();
    const env = { ...c.env, PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter) };
    const r = await runCli(initArgs(dir), { env, cwd: dir });
    expectFailure(r, 'EKSCTL_MISSING');
    // Which cluster needed it.
    expect(r.stdout + r.stderr).toContain('cluster remote-kpo-demo');
    expect(c.mutatingCalls()).toEqual([]);
  });

  it('surfaces an eksctl failure with its exit code, log tail and log path; a re-run resumes at the cluster stage', async () => {
    const c = await setup();
    c.eksctl.failWith(1, 'AlreadyExistsException: Stack [eksctl-remote-kpo-demo-cluster] already exists', 1);
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expectFailure(r, 'EKSCTL_FAILED');
    const out = r.stdout + r.stderr;
    const logPath = path.join(dir, '.astro-remote-kpo', 'logs', 'eksctl-create-cluster.log');
    // eksctl's exit code, its last lines and where the whole log is.
    expect(out).toContain('exited with code 1');
    expect(out).toContain('AlreadyExistsException: Stack [eksctl-remote-kpo-demo-cluster] already exists');
    expect(out).toContain(logPath);
    expect(await readFile(logPath, 'utf8')).toContain('failed to create cluster "remote-kpo-demo"');
    let state = await readState(dir);
    expect(state.stages.cluster.status).toBe('failed');
    expect(state.stages.cluster.error?.code).toBe('EKSCTL_FAILED');
    // The IAM branch does not wait for eksctl and finished meanwhile.
    expect(state.stages['iam-role'].status).toBe('done');

    c.resetCalls();
    const again = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(c.eksctl.invocations.filter((a) => a[0] === 'create')).toHaveLength(2);
    state = await readState(dir);
    expect(state.stages.cluster.status).toBe('done');
    expect(state.stages['iam-role'].status).toBe('skipped');
    expect(c.mutatingCalls('iam')).toEqual([]);
  });

  it('waits for a cluster that is still CREATING', async () => {
    const c = await setup();
    await c.addCluster({ name: 'remote-kpo-demo', status: 'CREATING', withKubeconfigContext: true });
    // Turn it ACTIVE only after the CLI has seen it CREATING (preflight, check, the waiter's first poll).
    const run = runCli(initArgs(dir), { env: c.env, cwd: dir });
    let done = false;
    void run.finally(() => (done = true));
    while (!done && c.calls.filter((x) => x.operation === 'DescribeCluster').length < 3) await new Promise((res) => setTimeout(res, 20));
    const cl = c.aws.cluster('remote-kpo-demo');
    if (cl) cl.status = 'ACTIVE';
    const r = await run;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(c.eksctl.invocations).toEqual([]);
    const state = await readState(dir);
    expect(state.stages.cluster.reason).toMatch(/ACTIVE after waiting; it was CREATING/);
  });

  it('refuses a FAILED cluster with exit 1 and does not call eksctl', async () => {
    const c = await setup();
    await c.addCluster({ name: 'remote-kpo-demo', status: 'FAILED' });
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expectFailure(r, 'CLUSTER_NOT_ACTIVE');
    // The state it is in, which decides the fix.
    expect(r.stdout + r.stderr).toContain('is FAILED');
    expect(c.eksctl.invocations).toEqual([]);
  });

  it('rejects a --cluster-config for another cluster with exit 2 before anything runs', async () => {
    const c = await setup();
    const file = path.join(dir, 'other.yaml');
    await (await import('node:fs/promises')).writeFile(file, 'apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: other\n  region: us-east-1\n');
    const r = await runCli([...initArgs(dir), '--cluster-config', file], { env: c.env, cwd: dir });
    expectFailure(r, 'CLUSTER_CONFIG_MISMATCH');
    expect(r.stdout + r.stderr).toMatch(/--cluster-config .*other\.yaml.*"other"/);
    expect(c.calls).toEqual([]);
    expect(existsSync(path.join(dir, '.astro-remote-kpo', 'state.json'))).toBe(false);
  });
});

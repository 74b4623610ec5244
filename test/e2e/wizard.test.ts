// E2E: the wizard a person reads — the confirmation after preflight, colour only on a terminal,
// help and usage errors, the audit trail in debug.log, a cluster without its node group, and the
// resume command and `status` carrying every input.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StartTestCloudOptions, TestCloud } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, readState, requireBuild, WI } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-wizard-');
let cloud: TestCloud;
let dir: string;

beforeAll(requireBuild);

async function setup(opts: StartTestCloudOptions = {}) {
  ({ cloud, dir } = await cloudProject(opts));
  return cloud;
}

const ANSI = /\u001b\[/;

describe('confirmation', () => {
  it('after preflight: account, caller, cluster creation with eksctl, IAM role create, mapping and files', async () => {
    const c = await setup();
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = r.stdout;
    const at = out.indexOf('About to set up');
    expect(at).toBeGreaterThan(out.indexOf('0·preflight'));
    expect(at).toBeLessThan(out.indexOf('1·cluster'));
    const block = out.slice(at, out.indexOf('\n', out.indexOf('Every change is logged')));
    expect(block).toContain(`as ${c.adminArn} in AWS account 123456789012 (region us-east-1)`);
    expect(block).toMatch(/create EKS cluster remote-kpo-demo with eksctl from k8s\/cluster\.yaml \(managed node group kpo-workers: 2 × t3\.medium; usually 15–20 min; billed/);
    expect(block).toContain(`create IAM role AstroRemoteKPO, trusted by ${WI}`);
    expect(block).toContain('with an EKS access entry');
    expect(block).toMatch(/write in .*airflow_settings\.yaml \(connection aws_eks\), k8s\/cluster\.yaml.*dags\/test_eks_connectivity\.py/);
    expect(block).toContain('--dry-run');
    // The dry-run hint is a command that works: it carries the inputs.
    expect(block).toContain(`--workload-identity ${WI} --region us-east-1`);
  });

  it('a live lookup, not state: an existing role is "update", an existing cluster is "use"', async () => {
    const c = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    c.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [] } });
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.stdout).toMatch(/update IAM role AstroRemoteKPO \(exists, NOT made by this tool\)/);
    expect(r.stdout).toMatch(/use EKS cluster remote-kpo-demo \(exists, ACTIVE/);
    expect(r.stdout).not.toContain('create EKS cluster');
  });
});

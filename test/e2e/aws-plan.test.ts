// E2E: --dry-run of the AWS stages: read-only lookups only, the policies and mapping shown, and no
// throw without credentials.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderClusterConfig } from '../../src/aws/cluster-config.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { WI, requireBuild, initArgs } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-plan-');

beforeAll(requireBuild);

const ROLE_ARN = 'arn:aws:iam::123456789012:role/AstroRemoteKPO';

describe('--dry-run of the AWS stages', () => {
  it('shows the trust and permissions policies and the aws-auth entry, and changes nothing', async () => {
    const { cloud: c, dir } = await cloudProject({ authenticationMode: 'CONFIG_MAP', cluster: { name: 'remote-kpo-demo', authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true } });
    const mapRoles = c.kube.configMap('kube-system', 'aws-auth')!.data!.mapRoles;
    const r = await runCli([...initArgs(dir), '--dry-run'], { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`AWS identity ${c.adminArn} (account 123456789012, region us-east-1)`);
    expect(out).toContain('exists: cluster remote-kpo-demo (ACTIVE, authentication mode CONFIG_MAP, API endpoint public) (skip)');
    expect(out).toContain('create IAM role AstroRemoteKPO');
    expect(out).toContain(`"${WI}"`);
    expect(out).toContain('"Action": "eks:DescribeCluster"');
    expect(out).toContain('"Resource": "arn:aws:eks:us-east-1:123456789012:cluster/remote-kpo-demo"');
    expect(out).toContain(`append { rolearn: ${ROLE_ARN}, username: AstroRemoteKPO } to kube-system/aws-auth`);
    expect(c.mutatingCalls()).toEqual([]);
    expect(c.aws.role('AstroRemoteKPO')).toBeUndefined();
    expect(c.kube.configMap('kube-system', 'aws-auth')!.data!.mapRoles).toBe(mapRoles);
    expect(existsSync(path.join(dir, '.astro-remote-kpo', 'state.json'))).toBe(false);
  });

  it('a mapping the run would refuse shows up in the plan', async () => {
    const { cloud: c, dir } = await cloudProject({ authenticationMode: 'CONFIG_MAP', cluster: { name: 'remote-kpo-demo', authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true } });
    c.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [] } });
    c.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { mapRoles: `- rolearn: ${ROLE_ARN}\n  username: legacy\n` } });
    const r = await runCli([...initArgs(dir), '--dry-run'], { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/aws-auth already maps arn:aws:iam::123456789012:role\/AstroRemoteKPO to username "legacy"/);
    expect(r.stdout).toContain(`add ${WI} to the trust policy of AstroRemoteKPO (other principals kept)`);
    expect(c.mutatingCalls()).toEqual([]);
  });

  it('a cluster to create is planned from your k8s/cluster.yaml when you have one, as the run would use it', async () => {
    const { cloud: c, dir } = await cloudProject();
    const mine = renderClusterConfig({ clusterName: 'remote-kpo-demo', region: 'us-east-1' }).replace('instanceType: t3.medium', 'instanceType: m5.large');
    await mkdir(path.join(dir, 'k8s'), { recursive: true });
    await writeFile(path.join(dir, 'k8s', 'cluster.yaml'), mine);
    const r = await runCli([...initArgs(dir), '--dry-run'], { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const clusterBlock = r.stdout.slice(r.stdout.indexOf('1·cluster'), r.stdout.indexOf('2·context'));
    expect(clusterBlock).toContain('instanceType: m5.large');
    expect(clusterBlock).not.toContain('instanceType: t3.medium');
  });

  it('without credentials: exit 0, the identity marked unknown, no AWS call succeeds and nothing is written', async () => {
    const { cloud: c, dir } = await cloudProject();
    const env = { ...c.env };
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const r = await runCli([...initArgs(dir), '--dry-run'], { env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/could not look up the AWS identity: No AWS credentials found/);
    expect(r.stdout).toContain('create EKS cluster remote-kpo-demo in us-east-1');
    expect(r.stdout).toContain('"Resource": "arn:aws:eks:us-east-1:<account-id>:cluster/remote-kpo-demo"');
    expect(c.calls.filter((x) => x.status === 200)).toEqual([]);
    expect(existsSync(path.join(dir, '.astro-remote-kpo'))).toBe(false);

    const real = await runCli(initArgs(dir), { env, cwd: dir });
    expectFailure(real, 'CREDENTIALS_MISSING');
  });

  it('an SSO profile without a valid session exits 3 with the aws sso login command for that profile', async () => {
    const { cloud: c, dir } = await cloudProject();
    await mkdir(path.join(c.home, '.aws'), { recursive: true });
    await writeFile(
      path.join(c.home, '.aws', 'config'),
      '[profile astro-sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n',
    );
    const env = { ...c.env };
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const r = await runCli(initArgs(dir, ['--profile', 'astro-sso']), { env, cwd: dir });
    expectFailure(r, 'CREDENTIALS_SSO_EXPIRED');
    // The command that fixes it, for that profile.
    expect(r.stdout + r.stderr).toContain('aws sso login --profile astro-sso');
    expect(c.mutatingCalls()).toEqual([]);
  });

  it('with invalid keys the real run exits 3 naming the rejected credentials', async () => {
    const { cloud: c, dir } = await cloudProject();
    const env = { ...c.env, AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
    const r = await runCli(initArgs(dir), { env, cwd: dir });
    expectFailure(r, 'CREDENTIALS_REJECTED');
    expect(r.stdout + r.stderr).toContain('InvalidClientTokenId');
    expect(c.mutatingCalls()).toEqual([]);
  });
});

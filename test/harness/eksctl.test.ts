// The stand-in eksctl on the test cloud's PATH: version, create cluster from a ClusterConfig
// (progress, CREATING then ACTIVE in EKS, kubeconfig context like eksctl's), scripted failure,
// strict config parsing; and runCli's isolation.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { DescribeClusterCommand, type DescribeClusterCommandOutput } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { startCli } from '../support/run-cli.js';
import { clients } from './helpers.js';

const run = promisify(execFile);
let cloud: TestCloud;

async function eksctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('eksctl', args, { env: cloud.env, cwd: cloud.dir });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

async function config(name: string, extra = ''): Promise<string> {
  const file = path.join(cloud.dir, `${name}.yaml`);
  await writeFile(
    file,
    `apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: ${name}\n  region: us-east-1\n${extra}managedNodeGroups:\n  - name: ng-1\n    instanceType: m5.large\n    desiredCapacity: 1\n`,
  );
  return file;
}

beforeAll(async () => {
  cloud = await startTestCloud({ eksctlDurationMs: 300 });
});
afterAll(() => cloud.stop());

describe('stand-in eksctl', () => {
  it('is first on PATH and prints a version', async () => {
    const r = await run('sh', ['-c', 'command -v eksctl && eksctl version'], { env: cloud.env });
    expect(r.stdout).toContain(path.join('test', 'support', 'bin', 'eksctl'));
    expect(r.stdout.trim().split('\n')[1]).toBe('0.210.0');
  });

  it('create cluster -f: progress lines, CREATING then ACTIVE, kubeconfig context like eksctl', async () => {
    const file = await config('remote-kpo-demo', 'accessConfig:\n  authenticationMode: CONFIG_MAP\n');
    const { eks } = clients(cloud);
    const p = eksctl(['create', 'cluster', '-f', file]);
    // While "CloudFormation" works the cluster is CREATING, with no endpoint yet, as in EKS.
    let creating: DescribeClusterCommandOutput | undefined;
    for (let i = 0; i < 50 && !creating; i++) {
      creating = await eks.send(new DescribeClusterCommand({ name: 'remote-kpo-demo' })).catch(() => undefined);
      if (!creating) await new Promise((r) => setTimeout(r, 20));
    }
    expect(creating?.cluster?.status).toBe('CREATING');
    expect(creating?.cluster?.endpoint).toBeUndefined();
    const r = await p;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[ℹ\] {2}eksctl version 0\.210\.0/);
    expect(r.stdout).toContain('creating EKS cluster "remote-kpo-demo" in "us-east-1" region');
    expect(r.stdout).toContain('[✔]  EKS cluster "remote-kpo-demo" in "us-east-1" region is ready');
    const active = await eks.send(new DescribeClusterCommand({ name: 'remote-kpo-demo' }));
    expect(active.cluster).toMatchObject({ status: 'ACTIVE', endpoint: cloud.kube.url, accessConfig: { authenticationMode: 'CONFIG_MAP' } });
    expect(Buffer.from(active.cluster!.certificateAuthority!.data!, 'base64').toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const kc = parse(await readFile(cloud.kubeconfigPath, 'utf8')) as Record<string, unknown> & { users: Array<{ name: string; user: { exec: { command: string; args: string[] } } }> };
    expect(kc['current-context']).toBe('test-admin@remote-kpo-demo.us-east-1.eksctl.io');
    expect(kc.users[0]!.user.exec).toMatchObject({ command: 'aws', args: ['eks', 'get-token', '--output', 'json', '--cluster-name', 'remote-kpo-demo', '--region', 'us-east-1'] });
    // eksctl with a node group on a CONFIG_MAP cluster: aws-auth maps the node role.
    expect(cloud.kube.awsAuth()[0]).toMatchObject({ groups: ['system:bootstrappers', 'system:nodes'], username: 'system:node:{{EC2PrivateDNSName}}' });
    const ops = cloud.calls.filter((c) => c.service === 'eksctl').map((c) => c.operation);
    expect(ops).toEqual(['CreateCluster', 'ClusterActive', 'WriteKubeconfig']);
    expect(cloud.eksctl.invocations.at(-1)).toEqual(['create', 'cluster', '-f', file]);
  });

  it('an existing cluster is an error, as in eksctl', async () => {
    const r = await eksctl(['create', 'cluster', '-f', await config('remote-kpo-demo')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Error: creating CloudFormation stack "eksctl-remote-kpo-demo-cluster".*already exists/);
  });

  it('fails as told, registering nothing; then succeeds', async () => {
    cloud.eksctl.failWith(3, 'AWS::EKS::Cluster/ControlPlane: CREATE_FAILED – "Resource handler returned message: \\"quota exceeded\\""', 1);
    const file = await config('other');
    const r = await eksctl(['create', 'cluster', '-f', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('quota exceeded');
    expect(r.stderr).toContain('Error: failed to create cluster "other"');
    expect(cloud.aws.cluster('other')).toBeUndefined();
    expect((await eksctl(['create', 'cluster', '-f', file])).code).toBe(0);
    // The default auth mode applies when the config has no accessConfig; the creator gets an admin access entry.
    expect(cloud.aws.cluster('other')?.authenticationMode).toBe('API_AND_CONFIG_MAP');
    expect(cloud.aws.accessEntries('other').map((e) => e.type).sort()).toEqual(['EC2_LINUX', 'STANDARD']);
  });

  it('delete cluster removes it from EKS and its API server forgets its objects', async () => {
    cloud.kubeOf('other').put({ kind: 'Namespace', metadata: { name: 'leftover' } });
    const r = await eksctl(['delete', 'cluster', '--name', 'other', '--region', 'us-east-1']);
    expect(r.code, r.stderr).toBe(0);
    expect(cloud.aws.cluster('other')).toBeUndefined();
    expect(cloud.kubeOf('other').namespace('leftover')).toBeUndefined();
    expect(cloud.kubeOf('other').namespace('kube-system')).toBeDefined();
    expect((await eksctl(['delete', 'cluster', '--name', 'other'])).code).toBe(1);
  });

  it('rejects unknown fields and a missing name like eksctl', async () => {
    const bad = path.join(cloud.dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: x\nbogus: 1\n');
    const r = await eksctl(['create', 'cluster', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown field "bogus"');
    await writeFile(bad, 'apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  region: us-east-1\n');
    expect((await eksctl(['create', 'cluster', '-f', bad])).stderr).toContain('metadata.name must be set');
  });
});

describe('stand-in eksctl: iam.withOIDC and addons', () => {
  const withOidc = 'iam:\n  withOIDC: true\naddons:\n  - name: eks-pod-identity-agent\n';

  it('registers the cluster\'s issuer as an IAM OIDC provider (eksctl\'s tags, sts.amazonaws.com) and installs the add-ons', async () => {
    cloud.resetCalls();
    const r = await eksctl(['create', 'cluster', '-f', await config('oidc-demo', withOidc)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('[✔]  created IAM Open ID Connect provider for cluster "oidc-demo" in "us-east-1"');
    const issuer = cloud.aws.cluster('oidc-demo')!.oidcIssuer!;
    const hostPath = issuer.slice('https://'.length);
    const [provider] = cloud.aws.oidcProviders();
    expect(provider).toMatchObject({ arn: `arn:aws:iam::123456789012:oidc-provider/${hostPath}`, url: hostPath, clientIds: ['sts.amazonaws.com'], tags: { 'alpha.eksctl.io/cluster-name': 'oidc-demo', 'alpha.eksctl.io/eksctl-version': '0.210.0' } });
    expect(provider!.thumbprints).toEqual([expect.stringMatching(/^[0-9a-f]{40}$/)]);
    const { eks } = clients(cloud);
    const { DescribeAddonCommand } = await import('@aws-sdk/client-eks');
    expect((await eks.send(new DescribeAddonCommand({ clusterName: 'oidc-demo', addonName: 'eks-pod-identity-agent' }))).addon?.status).toBe('ACTIVE');
    expect(cloud.calls.filter((c) => c.service === 'eksctl').map((c) => [c.operation, c.mutating])).toEqual([
      ['CreateCluster', true],
      ['ClusterActive', true],
      ['AssociateOIDCProvider', true],
      ['CreateAddon', true],
      ['WriteKubeconfig', true],
    ]);
  });

  it('delete cluster removes the provider for the cluster\'s issuer, as eksctl does', async () => {
    cloud.resetCalls();
    const r = await eksctl(['delete', 'cluster', '--name', 'oidc-demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(cloud.aws.oidcProviders()).toEqual([]);
    expect(cloud.calls.filter((c) => c.service === 'eksctl').map((c) => c.operation)).toEqual(['DeleteOIDCProvider', 'DeleteCluster']);
  });

  it('fails like eksctl when the provider already exists (it creates without looking first)', async () => {
    const p = eksctl(['create', 'cluster', '-f', await config('raced', withOidc)]);
    // Someone registers the issuer while CloudFormation works on the control plane.
    while (!cloud.aws.cluster('raced')) await new Promise((res) => setTimeout(res, 10));
    cloud.aws.createOidcProvider({ url: cloud.aws.cluster('raced')!.oidcIssuer! });
    const r = await p;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/creating OIDC provider: operation error IAM: CreateOpenIDConnectProvider, https response error StatusCode: 409, EntityAlreadyExists: Provider with url https:\/\/oidc\.eks\.us-east-1\.amazonaws\.com:443\/id\/[0-9A-F]{32} already exists\./);
    expect(r.stderr).toContain('Error: failed to create cluster "raced"');
    expect(cloud.aws.oidcProviders()).toHaveLength(1);
  });
});

describe('runCli / startCli', () => {
  it('passes exactly the given env, cwd and stdin, and reports the exit code', async () => {
    const dir = await mkdtemp(path.join(cloud.dir, 'cli-'));
    const script = path.join(dir, 'probe.mjs');
    await writeFile(
      script,
      "let input='';process.stdin.on('data',d=>input+=d).on('end',()=>{console.log(JSON.stringify({keys:Object.keys(process.env).sort(),cwd:process.cwd(),input}));console.error('to stderr');process.exit(7);});\n",
    );
    // Point the helper at the probe instead of the CLI: same spawning code path.
    const p = startCli([], { env: { ...cloud.env, ONLY: '1' }, cwd: dir, input: 'hello', nodeArgs: [script, '--'] });
    const r = await p.result;
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('to stderr');
    const out = JSON.parse(r.stdout) as { keys: string[]; cwd: string; input: string };
    expect(out.input).toBe('hello');
    expect(out.cwd).toBe(dir);
    expect(out.keys).toEqual(Object.keys({ ...cloud.env, ONLY: '1' }).sort());
    expect(out.keys).not.toContain('AWS_PROFILE');
  });

  it('kills a hung child after the timeout and lets a test interrupt it', async () => {
    const script = path.join(cloud.dir, 'hang.mjs');
    await writeFile(script, "process.on('SIGINT',()=>{console.log('bye');process.exit(130)});console.log('ready');setInterval(()=>{},1000);\n");
    const p = startCli([], { env: cloud.env, cwd: cloud.dir, nodeArgs: [script, '--'] });
    await p.waitForOutput('ready');
    p.interrupt();
    expect(await p.result).toMatchObject({ code: 130, stdout: 'ready\nbye\n' });
    await writeFile(path.join(cloud.dir, 'never.mjs'), 'setInterval(()=>{},1000);\n');
    const killed = await startCli([], { env: cloud.env, cwd: cloud.dir, nodeArgs: [path.join(cloud.dir, 'never.mjs'), '--'], timeoutMs: 300 }).result;
    expect(killed).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
  });
});

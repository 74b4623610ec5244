// The context stage end to end: the real built CLI against the loopback test cloud. Which
// kubeconfig context is used and why, --kube-context, no context at all (in-process EKS token),
// --switch-context, an unreachable API server, and the user's kubeconfig left byte-identical.
import { existsSync } from 'node:fs';
import net from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const DEMO_CTX = 'test-admin@remote-kpo-demo.us-east-1.eksctl.io';

let cloud: TestCloud | undefined;
let dir: string | undefined;
afterEach(async () => {
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  cloud = undefined;
  dir = undefined;
});

async function setup(opts: Parameters<typeof startTestCloud>[0]) {
  cloud = await startTestCloud(opts);
  dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-kube-e2e-'));
  return { cloud, dir };
}

async function init(c: TestCloud, d: string, extra: string[] = [], env: Record<string, string> = {}) {
  const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', d, ...extra], { env: { ...c.env, ...env }, cwd: d });
  return { ...r, out: `${r.stdout}\n${r.stderr}` };
}

async function contextOutputs(d: string): Promise<Record<string, unknown>> {
  const state = JSON.parse(await readFile(path.join(d, '.astro-remote-kpo', 'state.json'), 'utf8')) as {
    stages: Record<string, { outputs?: Record<string, unknown> }>;
  };
  return state.stages.context?.outputs ?? {};
}

function kubeCallers(c: TestCloud): string[] {
  return [...new Set(c.calls.filter((x) => x.service === 'kube').map((x) => x.caller ?? '?'))];
}

describe('context stage (e2e)', () => {
  it('picks the context whose server is the cluster endpoint, not the current one, and leaves the kubeconfig byte-identical', async () => {
    const { cloud: c, dir: d } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    // Another cluster's context is current: the endpoint match must still pick remote-kpo-demo's.
    await c.addCluster({ name: 'other-cluster', withKubeconfigContext: true, setCurrentContext: true });
    const before = await readFile(c.kubeconfigPath);
    expect(before.toString()).toContain('current-context: test-admin@other-cluster.us-east-1.eksctl.io');

    const r = await init(c, d);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`using kubeconfig context "${DEMO_CTX}" (its server is cluster remote-kpo-demo's endpoint)`);
    expect(await contextOutputs(d)).toEqual({
      source: 'kubeconfig',
      contextName: DEMO_CTX,
      server: c.kube.url,
      tokenSource: 'in-process EKS token (replaces aws eks get-token)',
    });
    // No aws CLI on PATH: every Kubernetes call authenticated with our own EKS token.
    expect(kubeCallers(c)).toEqual([c.adminArn]);
    expect(c.kubeOf('other-cluster').namespace('astro-remote-kpo')).toBeUndefined();
    expect(c.kube.namespace('astro-remote-kpo')).toBeDefined();
    expect((await readFile(c.kubeconfigPath)).equals(before)).toBe(true);
  });

  it('--kube-context uses that context as given; an unknown one is exit 2 listing the contexts', async () => {
    const { cloud: c, dir: d } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    await c.writeAdminContext('remote-kpo-demo', { contextName: 'admin-ctx', setCurrent: false });
    const before = await readFile(c.kubeconfigPath);

    const bad = await init(c, d, ['--kube-context', 'nope']);
    expectFailure(bad, 'KUBE_CONTEXT_NOT_FOUND');
    // The value given and the contexts there are.
    expect(bad.out).toContain('--kube-context "nope"');
    expect(bad.out).toContain(`${DEMO_CTX}, admin-ctx`);
    expect(c.mutatingCalls()).toEqual([]);

    const r = await init(c, d, ['--kube-context', 'admin-ctx']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('using kubeconfig context "admin-ctx" (chosen with --kube-context)');
    expect(await contextOutputs(d)).toMatchObject({ source: 'kubeconfig', contextName: 'admin-ctx', tokenSource: expect.stringContaining('bearer token') });
    // The static admin token of that context, not an EKS token.
    expect(kubeCallers(c)).toEqual(['kubernetes-admin']);
    expect((await readFile(c.kubeconfigPath)).equals(before)).toBe(true);
  });

  it('with no kubeconfig context at all, connects in memory with an in-process EKS token and writes no kubeconfig', async () => {
    const { cloud: c, dir: d } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: false } });
    expect(existsSync(c.kubeconfigPath)).toBe(false);

    const r = await init(c, d);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('an in-memory connection to');
    expect(await contextOutputs(d)).toEqual({ source: 'in-memory', server: c.kube.url, tokenSource: 'in-process EKS token' });
    const kube = c.calls.filter((x) => x.service === 'kube');
    expect(kube.length).toBeGreaterThan(5);
    expect(kube.every((x) => x.status < 400 || x.status === 404)).toBe(true);
    expect(kubeCallers(c)).toEqual([c.adminArn]);
    expect(c.kube.roleBinding('astro-remote-kpo', 'astro-remote-kpo-rolebinding')).toBeDefined();
    expect(existsSync(c.kubeconfigPath)).toBe(false);
  });

  it('--switch-context changes only current-context', async () => {
    const { cloud: c, dir: d } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    await c.addCluster({ name: 'other-cluster', withKubeconfigContext: true, setCurrentContext: true });
    const before = await readFile(c.kubeconfigPath, 'utf8');

    const r = await init(c, d, ['--switch-context']);
    expect(r.code, r.out).toBe(0);
    const after = await readFile(c.kubeconfigPath, 'utf8');
    expect(after).toContain(`current-context: ${DEMO_CTX}`);
    expect(after.replace(`current-context: ${DEMO_CTX}`, 'current-context: test-admin@other-cluster.us-east-1.eksctl.io')).toBe(before);
  });

  it('says the API server cannot be reached, and what to check, when the endpoint does not answer', async () => {
    const { cloud: c, dir: d } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    // A second kubeconfig file (KUBECONFIG lists both, merged as kubectl does) with a context
    // pointing at a port nothing listens on, as a private endpoint off the VPN would.
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const dead = `https://127.0.0.1:${port}`;
    const second = path.join(d, 'dead-kubeconfig.yaml');
    await writeFile(
      second,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: dead',
        `  cluster: {server: "${dead}"}`,
        'contexts:',
        '- name: dead',
        '  context: {cluster: dead, user: dead}',
        'users:',
        '- name: dead',
        '  user: {token: x}',
        '',
      ].join('\n'),
    );
    const r = await init(c, d, ['--kube-context', 'dead'], { KUBECONFIG: `${c.kubeconfigPath}${path.delimiter}${second}` });
    expectFailure(r, 'KUBE_UNREACHABLE');
    // Which server, and why it could not be reached.
    expect(r.out).toContain(dead);
    expect(r.out).toContain('ECONNREFUSED');
    expect(c.mutatingCalls('kube')).toEqual([]);
  });
});

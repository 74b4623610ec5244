// The @kubernetes/client-node path from the bundled CLI: a kubeconfig whose user runs a non-AWS
// exec credential plugin is served by client-node (node:https cannot run the plugin), which lives
// in its own chunk of dist/. The whole run must work through it, with the plugin's token.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeContext } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, requireBuild } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-client-node-');

describe('client-node transport from the bundle (e2e)', () => {
  it('runs init through a kubeconfig exec plugin, sending the token the plugin prints', async () => {
    requireBuild();
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo' } });
    const cluster = cloud.aws.cluster('remote-kpo-demo')!;
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: cloud.kube.adminToken } });
    await mergeContext(cloud.kubeconfigPath, {
      contextName: 'plugin@remote-kpo-demo',
      clusterEntry: 'remote-kpo-demo',
      userEntry: 'plugin-user',
      server: cloud.kube.url,
      caData: cluster.caData,
      user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`], interactiveMode: 'Never' } },
      setCurrent: true,
    });

    const r = await runCli(initArgs(dir), { env: cloud.env, cwd: dir });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.code, out).toBe(0);
    expect(out).toContain('using kubeconfig context "plugin@remote-kpo-demo"');
    const debug = await readFile(path.join(dir, '.astro-remote-kpo', 'logs', 'debug.log'), 'utf8');
    expect(debug).toContain('kube: using client-node (the user runs an exec credential plugin)');
    // Every Kubernetes call carried the plugin's token (the cloud's static admin token).
    const kubeCalls = cloud.calls.filter((c) => c.service === 'kube');
    expect(kubeCalls.length).toBeGreaterThan(0);
    expect([...new Set(kubeCalls.map((c) => c.caller))]).toEqual(['kubernetes-admin']);
    expect(cloud.kube.role('astro-remote-kpo', 'astro-remote-kpo-role')).toBeDefined();
    // One connection pool for the run: every Kubernetes call of the whole init (the access check's
    // concurrent reviews included) over one connection, where client-node alone opens one per call.
    expect(kubeCalls.length).toBeGreaterThan(20);
    expect(cloud.kubeConnections('remote-kpo-demo').opened).toBe(1);
  });
});

// Write-ahead intent: Ctrl-C while eksctl creates the cluster: state still knows it is ours. (A run
// killed right after each create call, then resumed or not, then destroyed: kill-sweep.test.ts.)
import { describe, expect, it } from 'vitest';
import { expectFailure } from '../support/failure.js';
import { runCli, startCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { WI, initArgs, readState } from './aws-helpers.js';
import { madeByCloud } from './shared-helpers.js';

const ROLE = 'AstroRemoteKPO';
const setup = useCloudProjects('kpo-kill-');

describe('Ctrl-C while eksctl creates the cluster', () => {
  it('state still knows the cluster is ours: destroy would delete it, a resumed run records it as created', async () => {
    const { cloud, dir } = await setup({ eksctlDurationMs: 3000 });
    const run = startCli(initArgs(dir), { env: cloud.env, cwd: dir });
    await madeByCloud(cloud, 'eksctl', 'CreateCluster');
    run.interrupt('SIGINT');
    expectFailure(await run.result, 'INTERRUPTED');
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

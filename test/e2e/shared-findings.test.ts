// Issue #19's findings 1, 2, 4 and 9, each as it was found: concurrent inits of two projects,
// destroys without state of roles other projects made, inits stopped or failed on a found role,
// and the six aws-auth shapes destroy did not give back byte for byte.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestCloud, type StartTestCloudOptions, type TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { startCli } from '../support/run-cli.js';
import { readState } from './aws-helpers.js';
import { CLUSTER, NS, ROLE, byKind, destroy, init, leftovers, madeByCloud, nodeMappings, verify } from './shared-helpers.js';

const WI_A = 'arn:aws:iam::123456789012:role/astro-dep-aaa111';
const WI_B = 'arn:aws:iam::123456789012:role/astro-dep-bbb222';
const OTHER = 'arn:aws:iam::123456789012:role/team-admin';
const trust = (...principals: string[]) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: principals }, Action: 'sts:AssumeRole' }] });

/** A cloud and project folders for one test (tests here run concurrently, each on its own cloud). */
async function withCloud(opts: StartTestCloudOptions, fn: (cloud: TestCloud, dir: () => Promise<string>) => Promise<void>): Promise<void> {
  const cloud = await startTestCloud(opts);
  const dirs: string[] = [];
  try {
    await fn(cloud, async () => {
      const d = await mkdtemp(path.join(os.tmpdir(), 'kpo-finding-'));
      dirs.push(d);
      return d;
    });
  } finally {
    await cloud.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

const existing = (o: object = {}): StartTestCloudOptions => ({ cluster: { name: CLUSTER, withKubeconfigContext: true, ...o } });

describe.concurrent('finding 1: two projects that run init at the same moment', () => {
  for (const round of [1, 2, 3]) {
    it(`round ${round}: whichever creates, B's destroy leaves A working, A's destroy leaves nothing`, { timeout: 180_000 }, async () => {
      await withCloud(existing(), async (cloud, project) => {
        const [a, b] = [await project(), await project()];
        const node = nodeMappings(cloud);
        const [ra, rb] = await Promise.all([init(cloud, a, WI_A), init(cloud, b, WI_B)]);
        expect(ra.code, ra.stdout + ra.stderr).toBe(0);
        expect(rb.code, rb.stdout + rb.stderr).toBe(0);
        await destroy(cloud, b);
        expect(await verify(cloud, a)).toEqual({ code: 0, failed: [] });
        await destroy(cloud, a);
        expect(leftovers(cloud)).toEqual([]);
        expect(nodeMappings(cloud)).toEqual(node);
      });
    });
  }
});

describe.concurrent('finding 2: a destroy without state never deletes what another project made', () => {
  it('a role tagged by another project (made before use marks: no marks) is its creator\'s: kept, and named', async () => {
    await withCloud(existing(), async (cloud, project) => {
      cloud.aws.createRole({ name: ROLE, trustPolicy: trust(WI_A), tags: [{ Key: 'managed-by', Value: 'astro-remote-kpo' }, { Key: 'astro-remote-kpo/project-id', Value: 'p-other' }] });
      const items = await destroy(cloud, await project(), ['--workload-identity', WI_A]);
      expect(byKind(items, 'iam-role')).toMatchObject({ decision: 'keep', why: expect.stringContaining('still used by astro-remote-kpo project p-other (its creator)') });
      expect(cloud.aws.role(ROLE)).toBeDefined();
    });
  });

  it('a tagged role with no project id is an orphan: it goes when it trusts only the given identities, and stays (naming them) when it trusts others', async () => {
    await withCloud(existing(), async (cloud, project) => {
      const dir = await project();
      const tags = [{ Key: 'managed-by', Value: 'astro-remote-kpo' }];
      cloud.aws.createRole({ name: ROLE, trustPolicy: trust(WI_A, OTHER), tags });
      const kept = await destroy(cloud, dir, ['--workload-identity', WI_A]);
      expect(byKind(kept, 'iam-role')).toMatchObject({ decision: 'keep', why: expect.stringContaining(`principal ${OTHER}`) });
      // Without state nothing proves the given identity was added by a project: the trust is untouched.
      expect(cloud.aws.trustPolicy(ROLE)).toEqual(trust(WI_A, OTHER));
      cloud.aws.role(ROLE)!.trustPolicyRaw = JSON.stringify(trust(WI_A));
      const gone = await destroy(cloud, dir, ['--workload-identity', WI_A]);
      expect(byKind(gone, 'iam-role')).toMatchObject({ decision: 'delete', result: 'deleted' });
    });
  });

  it('project B found A\'s setup and lost its state: its destroy takes out only B\'s principal and marks; A still works', async () => {
    await withCloud(existing(), async (cloud, project) => {
      const [a, b] = [await project(), await project()];
      expect((await init(cloud, a, WI_A)).code).toBe(0);
      expect((await init(cloud, b, WI_B)).code).toBe(0);
      await rm(path.join(b, '.astro-remote-kpo'), { recursive: true, force: true });
      const items = await destroy(cloud, b, ['--workload-identity', WI_B]);
      expect(items.filter((i) => i.result === 'deleted').map((i) => i.kind).sort()).toEqual(['trust-principal', 'use-mark', 'use-mark', 'use-mark', 'use-mark', 'use-mark']);
      expect(await verify(cloud, a)).toEqual({ code: 0, failed: [] });
    });
  });
});

describe.concurrent('finding 4: every recorded intent is undone, whatever became of its stage', () => {
  it('a failed PutRolePolicy (AccessDenied) on a found role: destroy takes the principal init added out again', async () => {
    await withCloud(existing(), async (cloud, project) => {
      const dir = await project();
      cloud.aws.createRole({ name: ROLE, trustPolicy: trust(OTHER) });
      cloud.faults.failNext('PutRolePolicy', 5, { code: 'AccessDenied', status: 403, message: 'User: arn:aws:iam::123456789012:user/test-admin is not authorized to perform: iam:PutRolePolicy' });
      const r = await init(cloud, dir, WI_A);
      expectFailure(r, 'AWS_ACCESS_DENIED');
      const state = await readState(dir);
      expect(state.stages['iam-role'].status).toBe('failed');
      expect(JSON.stringify(cloud.aws.trustPolicy(ROLE))).toContain(WI_A);
      cloud.faults.clear();
      const items = await destroy(cloud, dir);
      expect(byKind(items, 'trust-principal')).toMatchObject({ result: 'deleted' });
      expect(cloud.aws.trustPolicy(ROLE)).toEqual(trust(OTHER));
      expect(cloud.aws.inlinePolicyNames(ROLE)).toEqual([]);
    });
  });

  for (const operation of ['UpdateAssumeRolePolicy', 'PutRolePolicy', 'POST namespaces', 'POST rolebindings']) {
    it(`Ctrl-C while ${operation} runs on a found role's setup: destroy leaves no principal, inline policy or object`, { timeout: 120_000 }, async () => {
      await withCloud(existing(), async (cloud, project) => {
        const dir = await project();
        cloud.aws.createRole({ name: ROLE, trustPolicy: trust(OTHER) });
        cloud.faults.slowMs = 30_000;
        cloud.faults.failNth(operation, 1, 'hold');
        const run = startCli(['init', '--non-interactive', '--workload-identity', WI_A, '--project-dir', dir], { env: cloud.env, cwd: dir });
        await madeByCloud(cloud, operation.startsWith('POST ') ? 'kube' : 'iam', operation);
        run.interrupt('SIGINT');
        expectFailure(await run.result, 'INTERRUPTED');
        cloud.faults.clear();
        cloud.faults.slowMs = 1500;
        const interrupted = Object.entries((await readState(dir)).stages).filter(([, r]) => r.status === 'interrupted').map(([id]) => id);
        expect(interrupted.length, 'a stage was stopped mid-way').toBeGreaterThan(0);
        await destroy(cloud, dir);
        expect(cloud.aws.trustPolicy(ROLE)).toEqual(trust(OTHER));
        expect(cloud.aws.inlinePolicyNames(ROLE)).toEqual([]);
        expect(leftovers(cloud).filter((l) => !l.startsWith(`IAM role ${ROLE}`))).toEqual([]);
        expect(cloud.kube.namespace(NS)).toBeUndefined();
      });
    });
  }
});

const NODE = ['- groups:', '  - system:bootstrappers', '  - system:nodes', '  rolearn: arn:aws:iam::123456789012:role/eksctl-remote-kpo-demo-NodeInstanceRole-1A2B3C', '  username: system:node:{{EC2PrivateDNSName}}'];
const SHAPES: Record<string, { mapRoles?: string; noConfigMap?: true }> = {
  'no final newline': { mapRoles: NODE.join('\n') },
  'a flow-style list init reformatted': { mapRoles: '[{"rolearn": "arn:aws:iam::123456789012:role/eksctl-remote-kpo-demo-NodeInstanceRole-1A2B3C", "username": "system:node:{{EC2PrivateDNSName}}", "groups": ["system:nodes"]}]\n' },
  '[]': { mapRoles: '[]' },
  '~': { mapRoles: '~\n' },
  'no mapRoles key': {},
  'no ConfigMap at all': { noConfigMap: true },
};

describe.concurrent('finding 9: aws-auth given back byte for byte', () => {
  for (const [shape, s] of Object.entries(SHAPES)) {
    it(`${shape}: destroy gives back what init found`, async () => {
      await withCloud(existing({ authenticationMode: 'CONFIG_MAP', nodeGroup: false }), async (cloud, project) => {
        const dir = await project();
        if (!s.noConfigMap) {
          cloud.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { ...(s.mapRoles !== undefined ? { mapRoles: s.mapRoles } : {}), mapUsers: '[]\n' } });
        }
        const before = cloud.kube.configMap('kube-system', 'aws-auth')?.data;
        expect((await init(cloud, dir, WI_A)).code).toBe(0);
        expect(cloud.kube.configMap('kube-system', 'aws-auth')?.data).not.toEqual(before);
        const items = await destroy(cloud, dir);
        expect(byKind(items, 'aws-auth-entry')).toMatchObject({ result: 'deleted', note: expect.stringContaining(s.noConfigMap ? 'deleted the ConfigMap init created' : 'gave back mapRoles as init found it') });
        expect(cloud.kube.configMap('kube-system', 'aws-auth')?.data).toEqual(before);
      });
    });
  }

  it('changed since init (an entry appended after ours): our entry is cut out of the text, the other entry stays, no byte of it lost', async () => {
    await withCloud(existing({ authenticationMode: 'CONFIG_MAP', nodeGroup: false }), async (cloud, project) => {
      const dir = await project();
      cloud.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { mapRoles: '~\n' } });
      expect((await init(cloud, dir, WI_A)).code).toBe(0);
      const cm = cloud.kube.configMap('kube-system', 'aws-auth')!;
      const theirs = '- rolearn: arn:aws:iam::123456789012:role/PlatformAdmin\n  username: platform-admin\n';
      cloud.kube.put({ ...cm, data: { mapRoles: `${cm.data!.mapRoles}${theirs}` } });
      const items = await destroy(cloud, dir);
      expect(byKind(items, 'aws-auth-entry')).toMatchObject({ result: 'deleted', note: expect.stringContaining('cut out our entry') });
      expect(cloud.kube.configMap('kube-system', 'aws-auth')?.data).toEqual({ mapRoles: theirs });
    });
  });

  it('a ConfigMap init created that others added to is kept, with only our entry cut out', async () => {
    await withCloud(existing({ authenticationMode: 'CONFIG_MAP', nodeGroup: false }), async (cloud, project) => {
      const dir = await project();
      expect((await init(cloud, dir, WI_A)).code).toBe(0);
      const cm = cloud.kube.configMap('kube-system', 'aws-auth')!;
      const theirs = '- rolearn: arn:aws:iam::123456789012:role/PlatformAdmin\n  username: platform-admin\n';
      cloud.kube.put({ ...cm, data: { mapRoles: `${cm.data!.mapRoles}${theirs}` } });
      await destroy(cloud, dir);
      expect(cloud.kube.configMap('kube-system', 'aws-auth')?.data).toEqual({ mapRoles: theirs });
    });
  });
});

// The last one out turns off the lights (issue #19, findings 1 and 2): two projects on one cluster
// and role. One creates the setup, the other finds it; either destroys first; with state, or with
// each project's state lost before its destroy (a fresh CI runner: it gives its
// --workload-identity). After the first destroy the remaining project's `verify` passes; after
// both, nothing either created remains and the node role's own mapping is untouched. Both mapping
// kinds: an EKS access entry (API_AND_CONFIG_MAP) and kube-system/aws-auth (CONFIG_MAP).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestCloud, type StartTestCloudOptions, type TestCloud } from '../support/cloud.js';
import { CLUSTER, destroy, init, leftovers, nodeMappings, verify } from './shared-helpers.js';

const WI = { A: 'arn:aws:iam::123456789012:role/astro-dep-aaa111', B: 'arn:aws:iam::123456789012:role/astro-dep-bbb222' } as const;
type P = keyof typeof WI;

/** A cloud and two project folders for one test, all gone after it (tests here run concurrently). */
export async function withTwoProjects(opts: StartTestCloudOptions, fn: (cloud: TestCloud, dirs: Record<P, string>) => Promise<void>): Promise<void> {
  const cloud = await startTestCloud(opts);
  const dirs = { A: await mkdtemp(path.join(os.tmpdir(), 'kpo-matrix-a-')), B: await mkdtemp(path.join(os.tmpdir(), 'kpo-matrix-b-')) };
  try {
    await fn(cloud, dirs);
  } finally {
    await cloud.stop();
    for (const d of Object.values(dirs)) await rm(d, { recursive: true, force: true });
  }
}

const KINDS = {
  'access entry': { cluster: { name: CLUSTER, withKubeconfigContext: true } },
  'aws-auth': { cluster: { name: CLUSTER, authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true } },
} satisfies Record<string, StartTestCloudOptions>;

const other = (p: P): P => (p === 'A' ? 'B' : 'A');

interface Combo {
  kind: keyof typeof KINDS;
  creator: P;
  first: P;
  stateless: boolean;
}

const COMBOS: Combo[] = [];
for (const kind of Object.keys(KINDS) as Array<keyof typeof KINDS>)
  for (const creator of ['B', 'A'] as const)
    for (const stateless of [false, true])
      for (const first of ['B', 'A'] as const) COMBOS.push({ kind, creator, first, stateless });

/** destroy as the project would: with its state, or after losing it (then it names its identity). */
async function destroyAs(cloud: TestCloud, dir: string, p: P, stateless: boolean) {
  if (!stateless) return destroy(cloud, dir);
  await rm(path.join(dir, '.astro-remote-kpo'), { recursive: true, force: true });
  return destroy(cloud, dir, ['--workload-identity', WI[p]]);
}

describe.concurrent('two projects on one cluster and role: the last one out turns off the lights', () => {
  for (const c of COMBOS) {
    const name = `${c.kind}: ${c.creator} creates, ${other(c.creator)} finds; ${c.stateless ? 'without state' : 'with state'}; ${c.first}'s destroy first`;
    it(name, async () => {
      await withTwoProjects(KINDS[c.kind], async (cloud, dirs) => {
        const node = nodeMappings(cloud);
        for (const p of [c.creator, other(c.creator)]) {
          const r = await init(cloud, dirs[p], WI[p]);
          expect(r.code, `init of ${p}: ${r.stdout}${r.stderr}`).toBe(0);
        }
        expect(await verify(cloud, dirs.A)).toEqual({ code: 0, failed: [] });
        expect(await verify(cloud, dirs.B)).toEqual({ code: 0, failed: [] });

        const second = other(c.first);
        await destroyAs(cloud, dirs[c.first], c.first, c.stateless);
        expect(await verify(cloud, dirs[second]), `${second}'s verify after ${c.first}'s destroy`).toEqual({ code: 0, failed: [] });
        // What the first project added is gone from what stays.
        expect(JSON.stringify(cloud.aws.trustPolicy('AstroRemoteKPO'))).not.toContain(WI[c.first]);

        await destroyAs(cloud, dirs[second], second, c.stateless);
        expect(leftovers(cloud)).toEqual([]);
        expect(nodeMappings(cloud)).toEqual(node);
      });
    });
  }
});

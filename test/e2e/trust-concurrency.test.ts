// IAM has no conditional writes: two projects adding their own workload identity to one existing
// role at the same moment must both end up in its trust policy (each run re-reads after writing and
// re-applies what it lost). Repeated, with the write slowed so both runs read before either writes.
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects, useTempProjects } from '../support/temp-projects.js';
import { readState } from './aws-helpers.js';

const ROLE = 'AstroRemoteKPO';
const OTHER = 'arn:aws:iam::123456789012:role/team-admin';
const WI_A = 'arn:aws:iam::123456789012:role/astro-dep-aaa111';
const WI_B = 'arn:aws:iam::123456789012:role/astro-dep-bbb222';
const TRIALS = 8;

const setup = useCloudProjects('kpo-trust-');
const extraDir = useTempProjects('kpo-trust-b-');

function principals(doc: { Statement: Array<Record<string, unknown>> } | undefined): string[] {
  return (doc?.Statement ?? []).flatMap((s) => {
    const aws = (s.Principal as { AWS?: string | string[] } | undefined)?.AWS;
    return aws === undefined ? [] : Array.isArray(aws) ? aws : [aws];
  });
}

describe('trust policy under concurrent writers', () => {
  it(`two projects adding different workload identities at once: both are trusted (${TRIALS} trials)`, { timeout: 300_000 }, async () => {
    const { cloud, dir: dirA } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    const dirB = await extraDir();
    const role = cloud.aws.createRole({ name: ROLE, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] } });
    const original = role.trustPolicyRaw;
    // Each write takes a moment to land (as IAM's do): both runs read the old policy first.
    cloud.faults.latency(300, 'UpdateAssumeRolePolicy');
    const outcomes: string[] = [];
    let rewrites = 0;
    for (let trial = 1; trial <= TRIALS; trial++) {
      role.trustPolicyRaw = original;
      const before = cloud.faults.count('UpdateAssumeRolePolicy');
      const [a, b] = await Promise.all([
        runCli(['init', '--non-interactive', '--workload-identity', WI_A, '--project-dir', dirA], { env: cloud.env, cwd: dirA }),
        runCli(['init', '--non-interactive', '--workload-identity', WI_B, '--project-dir', dirB], { env: cloud.env, cwd: dirB }),
      ]);
      expect(a.code, `trial ${trial} A: ${a.stdout}${a.stderr}`).toBe(0);
      expect(b.code, `trial ${trial} B: ${b.stdout}${b.stderr}`).toBe(0);
      const got = principals(cloud.aws.trustPolicy(ROLE));
      outcomes.push(`trial ${trial}: ${got.length} principals, ${cloud.faults.count('UpdateAssumeRolePolicy') - before} writes`);
      expect(got.sort(), `trial ${trial}`).toEqual([OTHER, WI_A, WI_B].sort());
      rewrites += cloud.faults.count('UpdateAssumeRolePolicy') - before - 2;
      // Each project records exactly its own principal as the one it added (destroy takes out only that).
      expect((await readState(dirA)).stages['iam-role'].outputs.trustPrincipalsAdded).toEqual([WI_A]);
      expect((await readState(dirB)).stages['iam-role'].outputs.trustPrincipalsAdded).toEqual([WI_B]);
    }
    // The race did happen (a run re-applied a principal the other overwrote) in at least one trial;
    // otherwise this test proved nothing about it.
    expect(rewrites, outcomes.join('\n')).toBeGreaterThan(0);
  });

  it('two projects creating the same role at once: exactly one records it as created, the other as found (3 trials)', { timeout: 300_000 }, async () => {
    for (let trial = 1; trial <= 3; trial++) {
      const { cloud, dir: dirA } = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
      const dirB = await extraDir();
      // CreateRole is slow to answer: both runs see no role and both try to create it (wide
      // enough that two processes started together both get there on a loaded machine).
      cloud.faults.latency(1500, 'CreateRole');
      const [a, b] = await Promise.all([
        runCli(['init', '--non-interactive', '--workload-identity', WI_A, '--project-dir', dirA], { env: cloud.env, cwd: dirA }),
        runCli(['init', '--non-interactive', '--workload-identity', WI_B, '--project-dir', dirB], { env: cloud.env, cwd: dirB }),
      ]);
      expect(a.code, a.stdout + a.stderr).toBe(0);
      expect(b.code, b.stdout + b.stderr).toBe(0);
      const owners = [await readState(dirA), await readState(dirB)].map((s) => s.stages['iam-role'].outputs.createdByUs);
      expect(owners.filter(Boolean), `trial ${trial}`).toHaveLength(1);
      expect(cloud.faults.count('CreateRole'), `trial ${trial}: both tried`).toBe(2);
      expect(principals(cloud.aws.trustPolicy(ROLE)).sort()).toEqual([WI_A, WI_B].sort());
      // The finder's destroy keeps the role (and the creator's principal); only its own principal goes.
      const finder = owners[0] ? dirB : dirA;
      const d = await runCli(['destroy', '--yes', '--delete-namespace', '--project-dir', finder], { env: cloud.env, cwd: finder });
      expect(d.code, d.stdout + d.stderr).toBe(0);
      expect(principals(cloud.aws.trustPolicy(ROLE))).toEqual([owners[0] ? WI_A : WI_B]);
    }
  });
});

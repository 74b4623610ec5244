// No read twice (issue #21): what a run read once reaches whatever needs it again (check() to
// run(), one stage to the next, init's confirmation to the stages), so an idempotent re-run, a
// resume and a first run read each thing once, and read again only what they changed in between
// (the read-back after a create). Asserted on the test cloud's call log by operation and target;
// how long anything takes is the benchmark's to measure (BENCHMARKS.md), never a test's.
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-no-read-twice-');

/** "iam GetRole", "kube GET roles astro-remote-kpo/astro-remote-kpo-role": what a call asked about. */
const target = (c: CallRecord) => `${c.service} ${c.operation}${c.name ? ` ${c.namespace ?? ''}/${c.name}` : ''}`;

function count(calls: readonly CallRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) if (c.service !== 'eksctl') out[target(c)] = (out[target(c)] ?? 0) + 1;
  return out;
}

/** Reads asked twice in one run (the access reviews are 21 different questions, not one read). */
const twice = (calls: readonly CallRecord[]) =>
  Object.entries(count(calls.filter((c) => !c.mutating && !c.operation.endsWith('subjectaccessreviews')))).filter(([, n]) => n > 1);

const AWS_READS_OF_A_RERUN = {
  'sts GetCallerIdentity': 1,
  // preflight's, handed to the cluster stage (and read by init's confirmation without asking).
  'eks DescribeCluster': 1,
  // The cluster's node group, by name (no list first).
  'eks DescribeNodegroup': 1,
  // iam-role's look (with its inline policy, together), handed to role-arn.
  'iam GetRole': 1,
  'iam GetRolePolicy': 1,
  // identity-mapping's look (with the entry's policies, together), handed to verify-mapping.
  'eks DescribeAccessEntry': 1,
  'eks ListAssociatedAccessPolicies': 1,
};

describe('no read twice', () => {
  it('an idempotent re-run reads each thing once, with --json and with init\'s confirmation alike', async () => {
    const { cloud, dir } = await cloudProject();
    const first = await runCli(initArgs(dir, ['--json']), { env: cloud.env, cwd: dir });
    expect(first.code, first.stderr).toBe(0);

    cloud.resetCalls();
    const again = await runCli(initArgs(dir, ['--json']), { env: cloud.env, cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(cloud.mutatingCalls()).toEqual([]);
    expect(twice(cloud.calls)).toEqual([]);
    const calls = count(cloud.calls);
    expect(Object.fromEntries(Object.entries(calls).filter(([k]) => !k.startsWith('kube ')))).toEqual(AWS_READS_OF_A_RERUN);
    // The Role once: k8s-role's check hands it to the access check, which lists the bindings.
    expect(calls['kube GET roles astro-remote-kpo/astro-remote-kpo-role']).toBe(1);
    expect(calls['kube GET rolebindings']).toBe(1);

    // Without --json, init's confirmation runs after preflight: it reads the cluster's node groups,
    // the role and the project files, and hands them to the stages, which do not ask again.
    cloud.resetCalls();
    const confirmed = await runCli(initArgs(dir), { env: cloud.env, cwd: dir });
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toContain('About to set up');
    expect(cloud.mutatingCalls()).toEqual([]);
    expect(twice(cloud.calls)).toEqual([]);
    expect(count(cloud.calls)).toEqual(calls);
  });

  it('a first run asks about each missing thing once; only what it created is read again (the read-back)', async () => {
    const { cloud, dir } = await cloudProject();
    const r = await runCli(initArgs(dir, ['--json']), { env: cloud.env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const ops = cloud.calls.filter((c) => c.service === 'iam' || c.service === 'eks').map((c) => c.operation);
    // The role: looked at once (not found) and created from that look; role-arn reads it once,
    // after the create, until IAM shows it.
    expect(ops.filter((o) => o === 'GetRole')).toHaveLength(2);
    expect(ops.indexOf('CreateRole')).toBeGreaterThan(ops.indexOf('GetRole'));
    expect(ops.lastIndexOf('GetRole')).toBeGreaterThan(ops.indexOf('CreateRole'));
    // The access entry: looked at once before the create (run() creates from check()'s look), and
    // read back once by verify-mapping after it.
    expect(ops.filter((o) => o === 'DescribeAccessEntry')).toHaveLength(2);
    expect(ops.indexOf('DescribeAccessEntry')).toBeLessThan(ops.indexOf('CreateAccessEntry'));
    expect(ops.lastIndexOf('DescribeAccessEntry')).toBeGreaterThan(ops.indexOf('CreateAccessEntry'));
    // Kubernetes: each object read once, before its create; the Role once more by the access
    // check, after k8s-role created it (nothing unchanged to hand on).
    const kube = cloud.calls.filter((c) => c.service === 'kube').map((c) => c.operation);
    expect(twice(cloud.calls.filter((c) => c.service === 'kube' && c.name && c.operation !== 'GET roles'))).toEqual([]);
    expect(kube.filter((o) => o === 'GET roles')).toHaveLength(2);
    expect(kube.lastIndexOf('GET roles')).toBeGreaterThan(kube.indexOf('POST roles'));
  });

  it('a resume reads the access entry once before the create it failed at, and once after it (the read-back)', async () => {
    const { cloud, dir } = await cloudProject();
    cloud.faults.failNth('CreateAccessEntry', 1, { code: 'AccessDeniedException', status: 403, message: 'not authorized to perform: eks:CreateAccessEntry' });
    const failed = await runCli(initArgs(dir, ['--json']), { env: cloud.env, cwd: dir });
    expect(failed.code).toBe(1);

    cloud.resetCalls();
    const resumed = await runCli(initArgs(dir, ['--json']), { env: cloud.env, cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const entry = cloud.calls.filter((c) => /AccessEntry|AssociatedAccessPolicies/.test(c.operation)).map((c) => c.operation);
    expect(entry.slice(0, 2).sort()).toEqual(['DescribeAccessEntry', 'ListAssociatedAccessPolicies']);
    expect(entry[2]).toBe('CreateAccessEntry');
    expect(entry.slice(3).sort()).toEqual(['DescribeAccessEntry', 'ListAssociatedAccessPolicies']);
    expect(count(cloud.calls)['iam GetRole']).toBe(1);
  });
});

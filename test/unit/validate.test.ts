import { describe, expect, it } from 'vitest';
import { expectCode } from '../support/failure.js';
import { partitionOf } from '../../src/desired.js';
import { parseChoice, parseStageRef, partitionProblem, validateValue, workloadIdentityValues } from '../../src/validate.js';

describe('input validation', () => {
  const cases: Array<[Parameters<typeof validateValue>[0], string[], string[]]> = [
    ['clusterName', ['remote-kpo-demo', 'a', 'A_1-b', 'x'.repeat(100)], ['', '-lead', '_lead', 'has space', 'dot.name', 'x'.repeat(101)]],
    ['iamRole', ['AstroRemoteKPO', 'a+b=c,d.e@f-g_h', 'x'.repeat(64)], ['', 'x'.repeat(65), 'slash/role', 'star*']],
    ['namespace', ['astro-remote-kpo', 'a', 'a1', 'default', 'kube-systems'], ['', 'Upper', '-a', 'a-', 'a.b', 'x'.repeat(64), 'kube-system', 'kube-public', 'kube-node-lease']],
    ['k8sRole', ['astro-remote-kpo-role', 'a.b-c'], ['', 'Upper', 'a_b', '-a']],
    [
      'k8sUser',
      ['AstroRemoteKPO', 'user@example.com', 'my-eks:user', 'kubernetes-admins'],
      ['', 'system:masters', 'has space', 'eks:admin', 'aws:x', 'amazon:x', 'iam:x', 'kubernetes-admin', 'System:x', 'EKS:x'],
    ],
    [
      'region',
      ['us-east-1', 'eu-central-1', 'ap-southeast-2', 'us-gov-west-1', 'cn-north-1', 'cn-northwest-1', 'us-isob-east-1', 'il-central-1', 'mx-central-1', 'ap-southeast-7'],
      ['', 'us-east', 'US-EAST-1', 'useast1', 'us-east-1a', 'xx-fake-99', 'us-fake-1', 'eu-middle-1'],
    ],
    [
      'workloadIdentity',
      ['arn:aws:iam::123456789012:role/astro-dep-abc123', 'arn:aws:iam::123456789012:role/path/to/role', 'arn:aws-cn:iam::123456789012:role/r', 'arn:aws-iso-b:iam::123456789012:role/r'],
      ['*', 'arn:aws:iam::123456789012:role/*', 'arn:aws:iam::12345678901:role/r', 'arn:aws:iam::123456789012:user/u', 'arn:aws:sts::123456789012:assumed-role/r/s', 'astro-dep-abc123', 'arn:aws:iam::123456789012:role/a b', ' arn:aws:iam::123456789012:role/a', 'arn:aws:iam::123456789012:role/a\n'],
    ],
    ['connId', ['aws_eks', 'my.conn-1'], ['', 'has space', 'semi;colon']],
    ['astroDeploymentId', ['clx1abc2d000008l4ezw5ofno'], ['UPPER', 'short', 'has-dash!']],
  ];

  for (const [rule, good, bad] of cases) {
    it(`${rule}: accepts ${good.length} good and rejects ${bad.length} bad values`, () => {
      for (const v of good) expect(validateValue(rule, '--flag', v), v).toBeUndefined();
      for (const v of bad) {
        const msg = validateValue(rule, '--flag', v);
        expect(msg, v).toBeDefined();
        // names the flag, the value and what is allowed
        expect(msg).toContain('--flag');
        expect(msg).toContain(JSON.stringify(v));
        expect(msg).toMatch(/expected .+/);
      }
    });
  }

  it('a value with whitespace is quoted whole and the whitespace named', () => {
    expect(validateValue('workloadIdentity', '--workload-identity', 'arn:aws:iam::123456789012:role/a b')).toBe(
      '--workload-identity "arn:aws:iam::123456789012:role/a b" is not valid (it contains whitespace): expected an IAM role ARN like arn:aws:iam::123456789012:role/my-deployment-identity (no spaces or wildcards).',
    );
    expect(validateValue('clusterName', '--cluster-name', 'a\tb')).toMatch(/^--cluster-name "a\\tb" is not valid \(it contains whitespace\): expected /);
    expect(validateValue('clusterName', '--cluster-name', '-a')).not.toContain('whitespace');
  });

  it('workload identities: each flag value whole; only ASTRO_WORKLOAD_IDENTITY is a space-separated list', () => {
    const A = 'arn:aws:iam::123456789012:role/a';
    const B = 'arn:aws:iam::123456789012:role/b,c';
    const run = (given: string[] | undefined, listed?: string) => {
      const problems: string[] = [];
      return { values: workloadIdentityValues(given, listed, problems), problems };
    };
    expect(run([A, B, A])).toEqual({ values: [A, B], problems: [] });
    expect(run([`${A} b`]).problems).toEqual([expect.stringContaining(`--workload-identity "${A} b" is not valid (it contains whitespace)`)]);
    expect(run([`${A} ${B}`]).problems).toHaveLength(1);
    // The variable (commander hands it over as the flag's one value, or it is read directly).
    for (const given of [undefined, [`${A}  ${B}\n`]]) expect(run(given, `${A}  ${B}\n`)).toEqual({ values: [A, B], problems: [] });
    expect(run(undefined, `${A} b`).problems).toEqual([`ASTRO_WORKLOAD_IDENTITY "${A} b" is not valid: "b" is not an IAM role ARN; expected an IAM role ARN like arn:aws:iam::123456789012:role/my-deployment-identity (no spaces or wildcards), several separated by spaces.`]);
    // A flag given besides the variable is the flag's value, whole.
    expect(run([`${A} b`], B).problems[0]).toMatch(/^--workload-identity /);
  });

  it('stage references by id or seed step number', async () => {
    expect(parseStageRef('--from', 'identity-mapping')).toBe('identity-mapping');
    expect(parseStageRef('--from', '7')).toBe('identity-mapping');
    expect(parseStageRef('--only', '0')).toBe('preflight');
    expect(parseStageRef('--only', '10')).toBe('access-check');
    await expectCode(() => parseStageRef('--only', '99'), 'INPUT_INVALID');
    const e = await expectCode(() => parseStageRef('--only', 'nope'), 'INPUT_INVALID');
    // The message names the value and what is allowed.
    expect(e.message).toMatch(/--only "nope" is not a stage: expected a stage id or its number \(0=preflight/);
  });

  it('partitions: by region name, and one ARN at a time against the region', () => {
    const cases: Array<[string, string]> = [
      ['us-east-1', 'aws'], ['eu-west-3', 'aws'], ['cn-north-1', 'aws-cn'], ['us-gov-east-1', 'aws-us-gov'],
      ['us-iso-east-1', 'aws-iso'], ['us-isob-east-1', 'aws-iso-b'], ['eu-isoe-west-1', 'aws-iso-e'], ['us-isof-south-1', 'aws-iso-f'],
    ];
    for (const [region, partition] of cases) {
      expect(partitionOf(region), region).toBe(partition);
      expect(partitionProblem('--workload-identity', `arn:${partition}:iam::123456789012:role/r`, region)).toBeUndefined();
    }
    expect(partitionProblem('--workload-identity', 'arn:aws-cn:iam::123456789012:role/dep', 'us-east-1')).toBe(
      '--workload-identity "arn:aws-cn:iam::123456789012:role/dep" is in partition aws-cn, but region "us-east-1" is in partition aws: expected an ARN starting arn:aws: (or a region of partition aws-cn).',
    );
    expect(partitionProblem('--workload-identity', 'arn:aws:iam::123456789012:role/dep', 'us-gov-west-1')).toMatch(/partition aws, but region "us-gov-west-1" is in partition aws-us-gov/);
  });

  it('choices', async () => {
    expect(parseChoice('--auth-mode', 'aws-auth', ['auto', 'access-entry', 'aws-auth'])).toBe('aws-auth');
    const e = await expectCode(() => parseChoice('--permissions', 'admin', ['scoped', 'seed']), 'INPUT_INVALID');
    expect(e.message).toBe('--permissions "admin" is not valid: expected one of scoped, seed.');
  });
});

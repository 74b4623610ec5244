// The fallback evaluator verify uses when iam:SimulatePrincipalPolicy is not allowed.
import { describe, expect, it } from 'vitest';
import type { Json, LoosePolicy } from '../../src/aws/trust-policy.js';
import { evaluatePolicies, wildcardMatch } from '../../src/verify/policy-eval.js';

const CLUSTER = 'arn:aws:eks:us-east-1:123456789012:cluster/remote-kpo-demo';
const allow = (Action: Json, Resource: Json, extra: Record<string, Json> = {}): LoosePolicy => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action, Resource, ...extra }] });

describe('evaluatePolicies', () => {
  it('allows by an exact inline statement and names the policy', () => {
    const e = evaluatePolicies([{ name: 'inline p', doc: allow('eks:DescribeCluster', CLUSTER) }], 'eks:DescribeCluster', CLUSTER);
    expect(e).toEqual({ decision: 'allowed', matchedBy: ['inline p'], conditional: [] });
  });

  it('matches actions case-insensitively with wildcards, resources case-sensitively', () => {
    expect(evaluatePolicies([{ name: 'a', doc: allow(['EKS:Describe*'], '*') }], 'eks:DescribeCluster', CLUSTER).decision).toBe('allowed');
    expect(evaluatePolicies([{ name: 'a', doc: allow('eks:DescribeCluster', CLUSTER.toUpperCase()) }], 'eks:DescribeCluster', CLUSTER).decision).toBe('implicitDeny');
    expect(evaluatePolicies([{ name: 'a', doc: allow('eks:DescribeCluster', 'arn:aws:eks:us-east-1:123456789012:cluster/other') }], 'eks:DescribeCluster', CLUSTER).decision).toBe('implicitDeny');
  });

  it('lets an explicit Deny win over any Allow', () => {
    const e = evaluatePolicies(
      [
        { name: 'allow-all', doc: allow('*', '*') },
        { name: 'deny', doc: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'eks:*', Resource: '*' }] } },
      ],
      'eks:DescribeCluster',
      CLUSTER,
    );
    expect(e).toMatchObject({ decision: 'explicitDeny', matchedBy: ['deny'] });
  });

  it('handles NotAction/NotResource and a single (non-array) Statement', () => {
    const notAction = { Version: '2012-10-17', Statement: { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' } };
    expect(evaluatePolicies([{ name: 'n', doc: notAction }], 'eks:DescribeCluster', CLUSTER).decision).toBe('allowed');
    const notResource = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', NotResource: CLUSTER }] };
    expect(evaluatePolicies([{ name: 'n', doc: notResource }], 'eks:DescribeCluster', CLUSTER).decision).toBe('implicitDeny');
  });

  it('does not count conditional statements, but reports them', () => {
    const e = evaluatePolicies([{ name: 'cond', doc: allow('eks:DescribeCluster', '*', { Condition: { Bool: { 'aws:SecureTransport': 'true' } } }) }], 'eks:DescribeCluster', CLUSTER);
    expect(e).toEqual({ decision: 'implicitDeny', matchedBy: [], conditional: ['cond'] });
  });

  it('wildcardMatch: ? is one character, regex metacharacters are literal', () => {
    expect(wildcardMatch('eks:Describe?luster', 'eks:DescribeCluster', true)).toBe(true);
    expect(wildcardMatch('arn:aws:eks:*:cluster/a.b', 'arn:aws:eks:x:cluster/aXb', false)).toBe(false);
  });
});

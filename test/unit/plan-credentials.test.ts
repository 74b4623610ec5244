// The dry-run plan says "no credentials" once: the first item keeps the message and the fix,
// later items refer back to it; other unknowns are left as they are.
import { describe, expect, it } from 'vitest';
import { sayCredentialProblemOnce, type StagePlan } from '../../src/engine/plan.js';

const M = 'No AWS credentials found for the default credential chain (Could not load credentials from any providers).';
const plans: StagePlan[] = [
  { id: 'preflight', title: 'AWS identity', items: [{ action: 'look up the AWS identity', unknown: `could not look up the AWS identity: ${M}` }] },
  { id: 'cluster', title: 'EKS cluster', items: [{ action: 'create EKS cluster x', unknown: `could not look up cluster x: ${M}` }] },
  { id: 'context', title: 'context', items: [{ action: 'pick the context', unknown: 'the cluster is not known yet' }] },
  { id: 'role-arn', title: 'role ARN', items: [{ action: 'read the ARN', unknown: M }, { action: 'known' }] },
];

describe('sayCredentialProblemOnce', () => {
  it('keeps the first message with its fix and points the others at it', () => {
    const out = sayCredentialProblemOnce(plans, { message: M, hint: 'Pass --profile <name>.' });
    const unknowns = out.flatMap((p) => p.items.map((i) => i.unknown));
    expect(unknowns.filter((u) => u?.includes(M))).toEqual([`could not look up the AWS identity: ${M} Pass --profile <name>.`]);
    expect(unknowns).toEqual([
      `could not look up the AWS identity: ${M} Pass --profile <name>.`,
      'could not look up cluster x: no AWS credentials (see the preflight stage).',
      'the cluster is not known yet',
      'no AWS credentials (see the preflight stage).',
      undefined,
    ]);
  });

  it('changes nothing when the credentials are fine', () => {
    expect(sayCredentialProblemOnce(plans, undefined)).toBe(plans);
  });
});

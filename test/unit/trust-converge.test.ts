// ensureTrustPrincipals against a scripted IAM: a concurrent writer that overwrites our principal
// is answered by re-applying it on top of what is there now, every other principal kept; a policy
// that keeps losing it is reported after the bound, not fought forever.
import { describe, expect, it } from 'vitest';
import { expectCode } from '../support/failure.js';
import { ensureTrustPrincipals, type TrustAccess } from '../../src/aws/trust-converge.js';
import { trustIncludes, type LoosePolicy } from '../../src/aws/trust-policy.js';

const doc = (...aws: string[]): LoosePolicy => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: aws }, Action: 'sts:AssumeRole' }] });
const A = 'arn:aws:iam::123456789012:role/a';
const B = 'arn:aws:iam::123456789012:role/b';
const X = 'arn:aws:iam::123456789012:role/x';

function iam(initial: LoosePolicy, afterOurWrite: (n: number, ours: LoosePolicy) => LoosePolicy) {
  let current = initial;
  let writes = 0;
  const sleeps: number[] = [];
  const access: TrustAccess = {
    read: async () => structuredClone(current),
    write: async (d) => {
      writes++;
      current = afterOurWrite(writes, d);
    },
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
  };
  return { access, sleeps, get current() { return current; }, get writes() { return writes; } };
}

describe('ensureTrustPrincipals', () => {
  it('re-applies a principal a concurrent writer dropped, keeping the writer\'s', async () => {
    // Our first write is immediately overwritten by another run that read the policy before it.
    const s = iam(doc(X), (n, ours) => (n === 1 ? doc(X, B) : ours));
    const r = await ensureTrustPrincipals('R', [A], s.access);
    expect(r).toEqual({ added: [A], writes: 2 });
    expect(trustIncludes(s.current, A) && trustIncludes(s.current, B) && trustIncludes(s.current, X)).toBe(true);
    // Each check came after a jittered wait inside the settle window.
    expect(s.sleeps.every((ms) => ms >= 400 && ms < 1000)).toBe(true);
  });

  it('writes nothing when every wanted principal is there', async () => {
    const s = iam(doc(X, A), (_, ours) => ours);
    expect(await ensureTrustPrincipals('R', [A], s.access)).toEqual({ added: [], writes: 0 });
    expect(s.writes).toBe(0);
  });

  it('gives up after the bound with a message naming the principal that keeps disappearing', async () => {
    const s = iam(doc(X), () => doc(X, B));
    const e = await expectCode(ensureTrustPrincipals('R', [A], s.access, undefined, { maxWrites: 3, settleMs: [0, 0] }), 'KEEPS_CHANGING');
    expect(e.message).toContain('lost arn:aws:iam::123456789012:role/a again after 3 writes');
    expect(s.writes).toBe(3);
  });
});

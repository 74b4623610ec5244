import { describe, expect, it } from 'vitest';
import { backoffDelay, isIamPropagationError, retryIamPropagation, retryWithBackoff, type RetryDeps } from '../../src/aws/retry.js';

/** Virtual clock: sleeping advances it, nothing really waits. */
function virtualDeps(random: () => number = () => 0.999): RetryDeps & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    random,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
}

const err = (name: string, message = '') => Object.assign(new Error(message), { name });

describe('backoffDelay', () => {
  it('is full jitter under an exponentially growing, capped ceiling', () => {
    const o = { baseMs: 200, capMs: 5000 };
    expect(backoffDelay(0, o, () => 0.5)).toBe(100);
    expect(backoffDelay(3, o, () => 0.5)).toBe(800);
    expect(backoffDelay(10, o, () => 0.5)).toBe(2500);
    expect(backoffDelay(1000, o, () => 0.5)).toBe(2500);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(i % 12, o, Math.random);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(5000, 200 * 2 ** (i % 12)));
    }
    expect(backoffDelay(5, o, () => 0)).toBe(0);
  });
});

describe('isIamPropagationError', () => {
  it('retries invalid principals always, NoSuchEntity/AccessDenied only right after a create', () => {
    const invalid = err('MalformedPolicyDocumentException', 'Invalid principal in policy: "AWS":"arn:aws:iam::1:role/x"');
    expect(isIamPropagationError(invalid, { afterCreate: false })).toBe(true);
    expect(isIamPropagationError(err('MalformedPolicyDocumentException', 'Syntax errors in policy'), { afterCreate: true })).toBe(false);
    expect(isIamPropagationError(err('NoSuchEntityException'), { afterCreate: false })).toBe(false);
    expect(isIamPropagationError(err('NoSuchEntityException'), { afterCreate: true })).toBe(true);
    expect(isIamPropagationError(err('AccessDenied'), { afterCreate: true })).toBe(true);
    expect(isIamPropagationError(err('AccessDenied'), { afterCreate: false })).toBe(false);
    // A role read a moment ago (role-arn): NoSuchEntity is lag, AccessDenied never is.
    expect(isIamPropagationError(err('NoSuchEntityException'), { afterCreate: false, notFoundIsPropagation: true })).toBe(true);
    expect(isIamPropagationError(err('AccessDenied'), { afterCreate: false, notFoundIsPropagation: true })).toBe(false);
    expect(isIamPropagationError(err('Throttling'), { afterCreate: true })).toBe(false);
    // EKS: a role it cannot see yet, versus an ARN that is simply malformed
    expect(isIamPropagationError(err('InvalidParameterException', 'The specified principalArn is invalid: arn:aws:iam::1:role/x does not exist.'), { afterCreate: false })).toBe(true);
    expect(isIamPropagationError(err('InvalidParameterException', 'The specified principalArn is invalid: invalid arn'), { afterCreate: false })).toBe(false);
  });
});

describe('retryWithBackoff', () => {
  it('retries a retryable error until it succeeds, telling onRetry each time', async () => {
    const deps = virtualDeps();
    let calls = 0;
    const seen: number[] = [];
    const r = await retryWithBackoff(
      async () => {
        calls++;
        if (calls < 4) throw err('MalformedPolicyDocumentException', 'Invalid principal in policy');
        return 'ok';
      },
      { deps, isRetryable: () => true, onRetry: (a) => seen.push(a) },
    );
    expect(r).toBe('ok');
    expect(calls).toBe(4);
    expect(seen).toEqual([1, 2, 3]);
    expect(deps.slept).toEqual([199, 399, 799]);
  });

  it('rethrows a non-retryable error at once', async () => {
    const deps = virtualDeps();
    const boom = err('ValidationError', 'bad');
    await expect(retryWithBackoff(async () => Promise.reject(boom), { deps, isRetryable: () => false })).rejects.toBe(boom);
    expect(deps.slept).toEqual([]);
  });

  it('is bounded in total time and rethrows the last error', async () => {
    const deps = virtualDeps();
    let calls = 0;
    const last = err('NoSuchEntityException', 'still missing');
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw last;
        },
        { deps, isRetryable: () => true, backoff: { baseMs: 200, capMs: 5000, maxTotalMs: 60_000 } },
      ),
    ).rejects.toBe(last);
    const total = deps.slept.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(60_000);
    expect(Math.max(...deps.slept)).toBeLessThanOrEqual(5000);
    expect(calls).toBe(deps.slept.length + 1);
    expect(calls).toBeGreaterThan(5);
  });

  it('stops waiting when the signal is aborted', async () => {
    const deps = virtualDeps();
    const ac = new AbortController();
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          if (calls === 2) ac.abort();
          throw err('NoSuchEntityException');
        },
        { deps, isRetryable: () => true, signal: ac.signal },
      ),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect(calls).toBe(2);
  });
});

describe('retryIamPropagation', () => {
  it('shows "waiting for IAM propagation" with the attempt number', async () => {
    const deps = virtualDeps(() => 0.5);
    const progress: string[] = [];
    let calls = 0;
    await retryIamPropagation(
      async () => {
        if (++calls < 3) throw err('NoSuchEntityException', 'role not found');
      },
      { afterCreate: true, progress: (t) => progress.push(t), deps },
    );
    expect(progress).toEqual(['waiting for IAM propagation (attempt 1)…', 'waiting for IAM propagation (attempt 2)…']);
  });
});

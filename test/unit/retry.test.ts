// The one retry loop (src/retry.ts) that IAM propagation (aws/retry.ts) and the Kubernetes client
// (kube/client.ts) share: full jitter under a capped exponential ceiling, bounded, abort-aware.
// A virtual clock: nothing really waits, and no assertion is on time.
import { describe, expect, it } from 'vitest';
import { IAM_PROPAGATION_BACKOFF } from '../../src/aws/retry.js';
import { backoffDelay, realRetryDeps, retryWithBackoff } from '../../src/retry.js';
import { err, virtualDeps } from './virtual-clock.js';

const backoff = IAM_PROPAGATION_BACKOFF;

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
      { backoff, deps, isRetryable: () => true, onRetry: (a) => seen.push(a) },
    );
    expect(r).toBe('ok');
    expect(calls).toBe(4);
    expect(seen).toEqual([1, 2, 3]);
    expect(deps.slept).toEqual([199, 399, 799]);
  });

  it('rethrows a non-retryable error at once', async () => {
    const deps = virtualDeps();
    const boom = err('ValidationError', 'bad');
    await expect(retryWithBackoff(async () => Promise.reject(boom), { backoff, deps, isRetryable: () => false })).rejects.toBe(boom);
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
        { backoff, deps, isRetryable: () => true, signal: ac.signal },
      ),
    ).rejects.toThrow();
    expect(calls).toBe(2);
  });
});


describe('retryWithBackoff bounds and server delays', () => {
  it('is bounded by attempts when asked (the Kubernetes client: 4 in all)', async () => {
    const deps = virtualDeps();
    let calls = 0;
    const last = err('ECONNRESET');
    await expect(
      retryWithBackoff(
        async (attempt) => {
          calls++;
          expect(attempt).toBe(calls);
          throw last;
        },
        { backoff: { baseMs: 200, capMs: 5000, maxAttempts: 4 }, deps, isRetryable: () => true },
      ),
    ).rejects.toBe(last);
    expect(calls).toBe(4);
    expect(deps.slept).toEqual([199, 399, 799]);
  });

  it('waits what the server asked (Retry-After) instead of the backoff, never past the cap', async () => {
    const deps = virtualDeps();
    let calls = 0;
    await retryWithBackoff(
      async () => {
        if (++calls < 3) throw err('TooManyRequests');
        return 'ok';
      },
      { backoff: { baseMs: 200, capMs: 5000, maxAttempts: 4 }, deps, isRetryable: () => ({ afterMs: calls === 1 ? 1000 : 30_000 }) },
    );
    expect(deps.slept).toEqual([1000, 5000]);
  });

  it('a backoff in progress ends when the signal aborts (real timers: the wait is an hour)', async () => {
    const ac = new AbortController();
    const r = retryWithBackoff(
      async () => {
        throw err('NoSuchEntityException');
      },
      { backoff: { baseMs: 3_600_000, capMs: 3_600_000 }, deps: { ...realRetryDeps, random: () => 0.999 }, isRetryable: () => true, signal: ac.signal, onRetry: () => ac.abort() },
    );
    await expect(r).rejects.toMatchObject({ name: 'AbortError' });
  });
});

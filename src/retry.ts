// The one retry loop: capped exponential backoff with full jitter, bounded by attempts and/or total
// time, and stopped at once by the abort signal (Ctrl-C never waits out a backoff). What is worth
// retrying is the caller's business: IAM's eventual consistency (aws/retry.ts), Kubernetes
// throttling, 5xx and dropped connections (kube/client.ts). The AWS SDK's own retry for throttling
// and 5xx (maxAttempts in aws/clients.ts) is the SDK's and stays there.
import { setTimeout as delay } from 'node:timers/promises';

export interface BackoffOptions {
  /** First delay ceiling; doubles each attempt. */
  baseMs: number;
  /** No single delay exceeds this. */
  capMs: number;
  /** Give up when the next delay would end after this much time since the first attempt. */
  maxTotalMs?: number;
  /** Give up after this many attempts in all (the first one included). */
  maxAttempts?: number;
}

export interface RetryDeps {
  /** Waits `ms`; rejects when `signal` aborts meanwhile. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  now: () => number;
}

export const realRetryDeps: RetryDeps = {
  sleep: async (ms, signal) => {
    await delay(ms, undefined, signal ? { signal } : {});
  },
  random: Math.random,
  now: Date.now,
};

/** "Full jitter": uniformly random in [0, min(cap, base * 2^attempt)). attempt is 0-based. */
export function backoffDelay(attempt: number, o: Pick<BackoffOptions, 'baseMs' | 'capMs'>, random: () => number): number {
  const ceiling = Math.min(o.capMs, o.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** What to do about a failed attempt: give up (false), retry after the backoff (true), or retry
 * after a delay the server asked for (Retry-After), still within the cap. */
export type RetryVerdict = boolean | { afterMs: number };

export interface RetryOptions {
  backoff: BackoffOptions;
  deps?: RetryDeps;
  isRetryable: (err: unknown) => RetryVerdict;
  /** Told before each wait; attempt counts from 1 (the failed attempt). */
  onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
  signal?: AbortSignal;
}

/** Calls fn until it succeeds, a non-retryable error occurs, the signal aborts, or the attempts or
 * the time budget are spent; the last error is then rethrown as is. */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const { backoff } = o;
  const deps = o.deps ?? realRetryDeps;
  const start = deps.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt + 1);
    } catch (err) {
      const verdict = o.signal?.aborted ? false : o.isRetryable(err);
      if (verdict === false) throw err;
      if (backoff.maxAttempts !== undefined && attempt + 1 >= backoff.maxAttempts) throw err;
      const ms = typeof verdict === 'object' ? Math.min(Math.max(0, verdict.afterMs), backoff.capMs) : backoffDelay(attempt, backoff, deps.random);
      if (backoff.maxTotalMs !== undefined && deps.now() - start + ms > backoff.maxTotalMs) throw err;
      o.onRetry?.(attempt + 1, ms, err);
      await deps.sleep(ms, o.signal);
    }
  }
}

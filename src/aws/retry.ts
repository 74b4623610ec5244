// IAM is eventually consistent: a role or principal created seconds ago can be rejected by the
// next call ("Invalid principal in policy", NoSuchEntity, AccessDenied). Those specific errors are
// retried here with capped exponential backoff and full jitter, bounded in total time. Throttling
// and 5xx are NOT handled here: the SDK's standard retry (maxAttempts in clients.ts) does that
// for every call.
import { setTimeout as delay } from 'node:timers/promises';
import { awsErrorCode, ONLY_IN_TEXT } from './errors.js';

export interface BackoffOptions {
  /** First delay ceiling; doubles each attempt. */
  baseMs: number;
  /** No single delay exceeds this. */
  capMs: number;
  /** Give up when the next delay would end after this much time since the first attempt. */
  maxTotalMs: number;
}

export const IAM_PROPAGATION_BACKOFF: BackoffOptions = { baseMs: 200, capMs: 5_000, maxTotalMs: 60_000 };

export interface RetryDeps {
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

export interface PropagationContext {
  /** True only right after THIS run created the role: NoSuchEntity/AccessDenied then mean "not
   * visible yet". On a role that existed before, AccessDenied is a real missing permission and
   * fails at once (awsFailure names the operation and the resource). */
  afterCreate: boolean;
  /** NoSuchEntity means "not visible yet" although this run did not create the role (it was read
   * a moment ago); AccessDenied still fails at once. */
  notFoundIsPropagation?: boolean;
}

/** The errors that mean "IAM has not caught up yet", not "this is wrong". */
export function isIamPropagationError(err: unknown, c: PropagationContext): boolean {
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : '';
  // Only the message tells these from a real mistake (ONLY_IN_TEXT says why).
  if (code === 'MalformedPolicyDocument' && ONLY_IN_TEXT.invalidPrincipal.test(message)) return true;
  // EKS rejects an access entry for a role it cannot see yet.
  // (A malformed ARN is not retried; ours always comes from GetRole.)
  if (code === 'InvalidParameter' && ONLY_IN_TEXT.principalNotVisible(message)) return true;
  if (code === 'NoSuchEntity' && (c.afterCreate || c.notFoundIsPropagation)) return true;
  return c.afterCreate && code === 'AccessDenied';
}

export interface RetryOptions {
  backoff?: BackoffOptions;
  deps?: RetryDeps;
  isRetryable: (err: unknown) => boolean;
  /** Told before each wait; attempt counts from 1 (the failed attempt). */
  onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
  signal?: AbortSignal;
}

/** Calls fn until it succeeds, a non-retryable error occurs, or the time budget is spent (the last
 * error is then rethrown as is). */
export async function retryWithBackoff<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const backoff = o.backoff ?? IAM_PROPAGATION_BACKOFF;
  const deps = o.deps ?? realRetryDeps;
  const start = deps.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!o.isRetryable(err) || o.signal?.aborted) throw err;
      const delay = backoff.capMs > 0 ? backoffDelay(attempt, backoff, deps.random) : 0;
      if (deps.now() - start + delay > backoff.maxTotalMs) throw err;
      o.onRetry?.(attempt + 1, delay, err);
      await deps.sleep(delay, o.signal);
    }
  }
}

/** The IAM-propagation retry with the user-facing progress line. */
export function retryIamPropagation<T>(
  fn: () => Promise<T>,
  c: PropagationContext & {
    progress: (text: string) => void;
    debug?: (text: string) => void;
    signal?: AbortSignal;
    deps?: RetryDeps;
  },
): Promise<T> {
  return retryWithBackoff(fn, {
    isRetryable: (err) => isIamPropagationError(err, c),
    onRetry: (attempt, delayMs, err) => {
      c.progress(`waiting for IAM propagation (attempt ${attempt})…`);
      c.debug?.(`IAM propagation retry ${attempt} in ${delayMs} ms after ${awsErrorCode(err) ?? 'error'}: ${err instanceof Error ? err.message : String(err)}`);
    },
    ...(c.signal ? { signal: c.signal } : {}),
    ...(c.deps ? { deps: c.deps } : {}),
  });
}

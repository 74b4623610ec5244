// IAM is eventually consistent: a role or principal created seconds ago can be rejected by the
// next call ("Invalid principal in policy", NoSuchEntity, AccessDenied). Those specific errors are
// retried through the one retry loop (src/retry.ts: capped exponential backoff with full jitter),
// bounded in total time. Throttling and 5xx are NOT handled here: the SDK's standard retry
// (maxAttempts in clients.ts) does that for every call.
import { awsErrorCode, ONLY_IN_TEXT } from './errors.js';
import { retryWithBackoff, type BackoffOptions, type RetryDeps } from '../retry.js';

export { realRetryDeps, type RetryDeps } from '../retry.js';

export const IAM_PROPAGATION_BACKOFF: BackoffOptions = { baseMs: 200, capMs: 5_000, maxTotalMs: 60_000 };

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
  // EKS rejects a Pod Identity association naming a role it cannot see yet.
  if (code === 'InvalidParameter' && ONLY_IN_TEXT.roleNotVisible(message)) return true;
  if (code === 'NoSuchEntity' && (c.afterCreate || c.notFoundIsPropagation)) return true;
  return c.afterCreate && code === 'AccessDenied';
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
  return retryWithBackoff(() => fn(), {
    backoff: IAM_PROPAGATION_BACKOFF,
    isRetryable: (err) => isIamPropagationError(err, c),
    onRetry: (attempt, delayMs, err) => {
      c.progress(`waiting for IAM propagation (attempt ${attempt})…`);
      c.debug?.(`IAM propagation retry ${attempt} in ${delayMs} ms after ${awsErrorCode(err) ?? 'error'}: ${err instanceof Error ? err.message : String(err)}`);
    },
    ...(c.signal ? { signal: c.signal } : {}),
    ...(c.deps ? { deps: c.deps } : {}),
  });
}

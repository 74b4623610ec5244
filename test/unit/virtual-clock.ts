// Retry dependencies on a virtual clock, for the retry tests: sleeping advances it, nothing really
// waits, and `slept` says how long each wait would have been.
import type { RetryDeps } from '../../src/retry.js';

export function virtualDeps(random: () => number = () => 0.999): RetryDeps & { slept: number[] } {
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

/** An error as the AWS SDK names it. */
export const err = (name: string, message = '') => Object.assign(new Error(message), { name });

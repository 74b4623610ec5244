// Lookups made once and used twice, instead of asking the cloud again a few milliseconds later:
// each saves a round trip on the critical path. A kept value is taken once; whoever needs it
// again reads afresh, and a caller that finds nothing kept looks up itself.
import type { Services, StageContext } from './stage.js';

type Taken<T> = { found: true; value: T } | { found: false };

function onceStore<Owner extends object>() {
  const kept = new WeakMap<Owner, Map<string, unknown>>();
  return {
    keep(owner: Owner, key: string, value: unknown): void {
      let m = kept.get(owner);
      if (!m) kept.set(owner, (m = new Map()));
      m.set(key, value);
    },
    take<T>(owner: Owner, key: string): Taken<T> {
      const m = kept.get(owner);
      if (!m?.has(key)) return { found: false };
      const value = m.get(key) as T;
      m.delete(key);
      return { found: true, value };
    },
  };
}

// check() and run() of one stage execution get the same StageContext: what check() looked up
// ("not there", or the object as it is) is run()'s first lookup. A run without check() (--from,
// --only) finds nothing kept.
const perExecution = onceStore<StageContext>();
export const keepForRun = perExecution.keep;
export const takeFromCheck = perExecution.take;

// Stages of one run share Services: a lookup one stage made on the way that a later stage's
// check() would repeat (preflight's DescribeCluster, for the cluster stage).
const perRun = onceStore<Services>();
export const shareInRun = perRun.keep;
export const takeShared = perRun.take;

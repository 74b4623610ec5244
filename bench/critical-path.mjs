// The critical path of one CLI run, from what the remote side saw: every API call (arrival →
// answer, as the test cloud's servers stamped them) and the eksctl process (spawn → exit).
//
// A chain is a sequence of these intervals in which each one starts after the previous one
// ended, i.e. work that could not have overlapped in this run. The critical path is the chain
// with the largest summed duration: the wall time a CLI with zero local cost (no start-up, no
// CPU, no file writes, no sleeps) would need for the same remote work in the same order.
// Whatever the measured wall time adds on top of it is the CLI's own overhead.

/**
 * @typedef {{ label: string, start: number, end: number }} Interval  times in ms (any one clock)
 * @typedef {{ totalMs: number, chain: Interval[] }} CriticalPath
 */

/**
 * Longest duration-weighted chain of non-overlapping intervals (weighted interval scheduling
 * on a DAG: O(n²), n is a few dozen calls).
 * @param {Interval[]} intervals
 * @returns {CriticalPath}
 */
export function criticalPath(intervals) {
  const xs = [...intervals].filter((i) => i.end >= i.start).sort((a, b) => a.end - b.end || a.start - b.start);
  /** best[i]: longest chain ending with xs[i]; prev[i]: the element before it. */
  const best = new Array(xs.length).fill(0);
  const prev = new Array(xs.length).fill(-1);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    best[i] = x.end - x.start;
    for (let j = 0; j < i; j++) {
      // Strictly "started after the other one answered": overlapping calls were concurrent.
      if (xs[j].end <= x.start && best[j] + (x.end - x.start) > best[i]) {
        best[i] = best[j] + (x.end - x.start);
        prev[i] = j;
      }
    }
  }
  let top = -1;
  for (let i = 0; i < xs.length; i++) if (top < 0 || best[i] > best[top]) top = i;
  const chain = [];
  for (let i = top; i >= 0; i = prev[i]) chain.unshift(xs[i]);
  return { totalMs: top < 0 ? 0 : best[top], chain };
}

/**
 * Where the time between the critical-path intervals went, biggest first: the CLI's own work
 * (start-up before the first call, local work between answers and the next call, exit).
 * @param {CriticalPath} cp
 * @param {number} runStart when the CLI process was spawned (same clock as the intervals)
 * @param {number} runEnd when it exited
 */
export function gaps(cp, runStart, runEnd) {
  const out = [];
  let t = runStart;
  let after = '(process start)';
  for (const x of cp.chain) {
    out.push({ after, before: x.label, ms: x.start - t });
    t = x.end;
    after = x.label;
  }
  out.push({ after, before: '(process exit)', ms: runEnd - t });
  return out.sort((a, b) => b.ms - a.ms);
}

// Analysis of one whole `init` run: its critical path (see critical-path.mjs), where the rest of
// the wall time went, the API calls by operation, and each stage's place on the timeline.
import { callTimes } from './call-clock.mjs';
import { criticalPath, gaps } from './critical-path.mjs';

/**
 * @param {{
 *   run: { ms: number, start: number, end: number },
 *   calls: Array<{ service: string, operation: string, mutating: boolean, status: number }>,
 *   eksctl: Array<{ label: string, start: number, end: number }>,
 *   json: { ran?: string[], stages?: Array<{ id: string, status: string, durationMs?: number }> },
 *   state?: { stages?: Record<string, { startedAt?: string, finishedAt?: string, status?: string }> },
 * }} o
 */
export function analyseWholeRun(o) {
  const api = o.calls.filter((c) => c.service !== 'eksctl');
  const intervals = [];
  let untimed = 0;
  for (const c of api) {
    const t = callTimes(c);
    if (!t) {
      untimed++;
      continue;
    }
    intervals.push({ label: `${c.service} ${c.operation}`, start: t.start, end: t.end });
  }
  intervals.push(...o.eksctl);
  const cp = criticalPath(intervals);
  const ops = new Map();
  for (const c of o.calls) {
    const k = `${c.service} ${c.operation}`;
    const e = ops.get(k) ?? { count: 0, mutating: c.mutating, errors: 0 };
    e.count++;
    if (c.status >= 400 || c.status === 0) e.errors++;
    ops.set(k, e);
  }
  const create = o.eksctl.filter((s) => s.label.startsWith('eksctl create'));
  const eksctlMs = create.reduce((a, s) => a + (s.end - s.start), 0);
  // How soon the long pole starts: everything before it is on the critical path.
  const eksctlStartAt = create.length ? Math.min(...create.map((s) => s.start)) - o.run.start : undefined;
  const eksctlEnd = create.length ? Math.max(...create.map((s) => s.end)) : o.run.start;
  const afterEksctl = cp.chain.filter((x) => x.start >= eksctlEnd);
  const beforeEksctl = cp.chain.filter((x) => x.end <= (create[0]?.start ?? o.run.start));
  const stages = Object.entries(o.state?.stages ?? {})
    .filter(([, r]) => r.startedAt && r.finishedAt)
    .map(([id, r]) => ({ id, status: r.status, from: Date.parse(r.startedAt) - o.run.start, to: Date.parse(r.finishedAt) - o.run.start }))
    .sort((a, b) => a.from - b.from);
  return {
    ms: o.run.ms,
    cp,
    // API calls on the critical path: the round trips a run makes one after the other.
    roundTrips: cp.chain.filter((x) => !x.label.startsWith('eksctl')).length,
    ratio: o.run.ms / cp.totalMs,
    overheadMs: o.run.ms - cp.totalMs,
    gaps: gaps(cp, o.run.start, o.run.end),
    apiCalls: api.length,
    mutatingCalls: api.filter((c) => c.mutating).length,
    untimed,
    ops,
    eksctlMs,
    eksctlStartAt,
    beforeEksctl,
    afterEksctl,
    stages,
    ran: o.json.ran ?? [],
  };
}

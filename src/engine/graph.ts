// Pure graph helpers over the stage list: ordering, ancestors, descendants, selection modes.
import { KpoError } from '../errors.js';
import type { StageId } from '../types.js';
import type { AnyStage } from './stage.js';

/** How the runner treats a stage in this run. */
export type Mode =
  /** check(); run() only when not already done. */
  | 'normal'
  /** run() even if check() says done (--from/--only targets). */
  | 'force'
  /** needed by an --only target: check() must say done (or the stage is read-only and runs). */
  | 'dependency';

export function byId(stages: readonly AnyStage[]): Map<StageId, AnyStage> {
  return new Map(stages.map((s) => [s.id, s]));
}

/** Throws on unknown needs or cycles; returns ids in a dependency-respecting order. */
export function topoOrder(stages: readonly AnyStage[]): StageId[] {
  const map = byId(stages);
  const order: StageId[] = [];
  const state = new Map<StageId, 'visiting' | 'done'>();
  const visit = (id: StageId, trail: StageId[]) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new Error(`stage dependency cycle: ${[...trail, id].join(' -> ')}`);
    const stage = map.get(id);
    if (!stage) throw new Error(`unknown stage ${id} needed by ${trail.at(-1) ?? '?'}`);
    state.set(id, 'visiting');
    for (const need of stage.needs) visit(need, [...trail, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const s of stages) visit(s.id, []);
  return order;
}

export function ancestors(stages: readonly AnyStage[], id: StageId): Set<StageId> {
  const map = byId(stages);
  const out = new Set<StageId>();
  const walk = (x: StageId) => {
    for (const n of map.get(x)?.needs ?? []) {
      if (!out.has(n)) {
        out.add(n);
        walk(n);
      }
    }
  };
  walk(id);
  return out;
}

export function descendants(stages: readonly AnyStage[], id: StageId): Set<StageId> {
  const out = new Set<StageId>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of stages) {
      if (out.has(s.id)) continue;
      if (s.needs.some((n) => n === id || out.has(n))) {
        out.add(s.id);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * Which stages run and how. `--from X`: X and every stage numbered after it are forced, earlier
 * ones are verified as usual. `--only X`: X is forced, its ancestors must already be done.
 */
export function selectModes(
  stages: readonly AnyStage[],
  opts: { from?: StageId; only?: StageId },
): Map<StageId, Mode> {
  if (opts.from && opts.only) throw new KpoError('INPUT_INVALID', '--from and --only cannot be used together: pick one.');
  const modes = new Map<StageId, Mode>();
  if (opts.only) {
    for (const a of ancestors(stages, opts.only)) modes.set(a, 'dependency');
    modes.set(opts.only, 'force');
    return modes;
  }
  const index = opts.from ? stages.findIndex((s) => s.id === opts.from) : -1;
  stages.forEach((s, i) => modes.set(s.id, index >= 0 && i >= index ? 'force' : 'normal'));
  return modes;
}

/** Every stage's `checkAfter` names stages it comes after (a need, or a need's need): its early
 * check then never starts later than its check would without it. */
export function assertCheckAfter(stages: readonly AnyStage[]): void {
  for (const s of stages) {
    const before = ancestors(stages, s.id);
    const wrong = (s.checkAfter ?? []).filter((id) => !before.has(id));
    if (wrong.length) throw new Error(`internal: stage ${s.id} checks after ${wrong.join(', ')}, which it does not come after`);
  }
}

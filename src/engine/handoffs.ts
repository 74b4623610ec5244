// The run's handoffs (StageHandoffs in ./stage.ts): reads a stage, or init's confirmation at the
// runner's gate, made on its way and hands to the later stage that would make them again. Kept in
// memory by receiver for this run only, never saved; a stage takes its own once (ctx.handoff).
import type { StageId } from '../types.js';
import type { AnyStage, StageHandoffs } from './stage.js';

export function handoffStore(stages: readonly AnyStage[]) {
  const needs = new Map(stages.map((s) => [s.id, s.needs]));
  const handoffs: Partial<StageHandoffs> = {};
  return {
    handoffs,
    /** Keeps `given` for the stages it is addressed to (merged with what another maker handed the
     * same stage); a stage hands only to one that needs it, so that one runs after it. */
    handOn(from: StageId | 'gate', given: Partial<StageHandoffs> | undefined): void {
      for (const [to, value] of Object.entries(given ?? {}) as Array<[keyof StageHandoffs, object | undefined]>) {
        if (from !== 'gate' && !needs.get(to)?.includes(from)) throw new Error(`internal: stage ${from} handed something to ${to}, which does not need it`);
        if (value !== undefined) (handoffs as Record<string, unknown>)[to] = { ...(handoffs[to] ?? {}), ...value };
      }
    },
  };
}

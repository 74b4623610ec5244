// --dry-run: every stage's plan() in dependency order. Plans do read-only lookups (and the API
// server's own dryRun=All) only, and pass best-effort outputs forward in memory; nothing is saved.
import { errorMessage } from '../errors.js';
import type { PlanItem, StageId, StageOutputs } from '../types.js';
import { selectModes, topoOrder } from './graph.js';
import { makeStageContext, type RunnerOptions } from './runner.js';
import type { Stage } from './stage.js';

export interface StagePlan {
  id: StageId;
  title: string;
  items: PlanItem[];
}

export async function planStages(
  o: Pick<RunnerOptions, 'stages' | 'inputs' | 'flags' | 'services' | 'projectDir' | 'stateDir' | 'env' | 'signal' | 'debug' | 'state'>,
): Promise<StagePlan[]> {
  const stageMap = new Map(o.stages.map((s) => [s.id, s]));
  const modes = selectModes(o.stages, { from: o.flags.from, only: o.flags.only });
  const outputs: Partial<StageOutputs> = {};
  // Outputs recorded by earlier real runs are good hints (account id, role ARN) for the plan.
  for (const [id, rec] of Object.entries(o.state.stages)) {
    if ((rec?.status === 'done' || rec?.status === 'skipped') && rec.outputs) (outputs as Record<string, unknown>)[id] = rec.outputs;
  }
  const plans: StagePlan[] = [];
  for (const id of topoOrder(o.stages)) {
    const stage = stageMap.get(id)! as Stage<StageId>;
    // The plan shows the marker with this project's id; a new project gets its id on the real run.
    const owner = { projectId: o.state.projectId ?? '<new id, recorded in .astro-remote-kpo/state.json>', intend: () => Promise.reject(new Error('internal: a dry run creates nothing')), intended: () => false };
    const ctx = makeStageContext(o, outputs, (t) => o.debug(`${id}: ${t}`), owner);
    if (!modes.has(id)) continue;
    try {
      const p = await stage.plan(ctx);
      if (p.outputs !== undefined) (outputs as Record<string, unknown>)[id] = p.outputs;
      plans.push({ id, title: stage.title, items: p.items });
    } catch (err) {
      // A plan must never abort the dry run: say what could not be worked out and go on.
      o.debug(`plan ${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      plans.push({ id, title: stage.title, items: [{ action: `(could not plan ${id})`, unknown: errorMessage(err) }] });
    }
  }
  return plans;
}

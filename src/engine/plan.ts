// --dry-run: every stage's plan() in dependency order. Plans do read-only lookups (and the API
// server's own dryRun=All) only, and pass best-effort outputs forward in memory; nothing is saved.
import { credentialError } from '../aws/errors.js';
import { errorMessage } from '../errors.js';
import type { KubeApi } from '../kube/api.js';
import type { PlanItem, StageId, StageOutputs } from '../types.js';
import { makeStageContext } from './context.js';
import { selectModes, topoOrder } from './graph.js';
import { readOnlyOwner, type RunnerOptions } from './runner.js';

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
  // The plan shows the marker with this project's id; a new project gets its id on the real run.
  const owner = readOnlyOwner(o.state, o.state.projectId ?? '<new id, recorded in .astro-remote-kpo/state.json>');
  // The context stage's plan connects (read-only) so later plans may ask the API server; the
  // connection ends with the plan.
  let kube: KubeApi | undefined;
  try {
    for (const id of topoOrder(o.stages)) {
      const stage = stageMap.get(id)!;
      if (!modes.has(id)) continue;
      const ctx = makeStageContext(stage, o, { outputs, owner, progress: (t) => o.debug(`${id}: ${t}`), kube: () => kube });
      try {
        const p = await stage.plan(ctx);
        if (p.kube) kube = p.kube;
        if (p.outputs !== undefined) (outputs as Record<string, unknown>)[id] = p.outputs;
        plans.push({ id, title: stage.title, items: p.items });
      } catch (err) {
        // A plan must never abort the dry run: say what could not be worked out and go on.
        o.debug(`plan ${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        plans.push({ id, title: stage.title, items: [{ action: `(could not plan ${id})`, unknown: errorMessage(err) }] });
      }
    }
  } finally {
    await kube?.close();
  }
  // Only a plan with something unknown can owe it to missing credentials: ask only then.
  if (!plans.some((p) => p.items.some((i) => i.unknown))) return plans;
  return sayCredentialProblemOnce(plans, await credentialProblem(o.services));
}

/** Why the AWS credentials cannot be resolved (no credentials, an expired SSO session), if so. */
async function credentialProblem(services: RunnerOptions['services']): Promise<{ message: string; hint?: string } | undefined> {
  let profile: string | undefined;
  try {
    profile = services.aws.profile;
    await services.aws.credentials();
    return undefined;
  } catch (err) {
    // Anything but a credentials problem (say, a test double without AWS) changes nothing here.
    const e = credentialError(err, profile);
    return e ? { message: e.message, ...(e.hint ? { hint: e.hint } : {}) } : undefined;
  }
}

/**
 * Without credentials every stage that looks something up in AWS fails the same way. The first
 * item that says so keeps the full message and gains what to do about it; later items refer
 * back to it, so the plan says it once instead of once per stage. Which error it is was decided by
 * its code (credentialError); the sentence is looked for in the items' text only to say it once,
 * because a plan item is words (`unknown`) and carries no error.
 */
export function sayCredentialProblemOnce(plans: StagePlan[], problem: { message: string; hint?: string } | undefined): StagePlan[] {
  if (!problem) return plans;
  let first: StageId | undefined;
  return plans.map((p) => ({
    ...p,
    items: p.items.map((item) => {
      if (!item.unknown?.includes(problem.message)) return item;
      if (first === undefined) {
        first = p.id;
        return problem.hint ? { ...item, unknown: `${item.unknown} ${problem.hint}` } : item;
      }
      return { ...item, unknown: item.unknown.replace(problem.message, `no AWS credentials (see the ${first} stage).`) };
    }),
  }));
}

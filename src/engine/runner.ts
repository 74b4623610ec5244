// Walks the stage graph: a stage starts as soon as every stage it needs has finished, so
// independent branches (IAM while eksctl builds the cluster) overlap and the run takes about as
// long as its critical path. Every status change is saved, so any failure is resumable.
import { asKpoError, errorRecord, interrupted, isKpoError, KpoError } from '../errors.js';
import type { KubeApi } from '../kube/api.js';
import type { Answers, CheckResult, InputKey, Inputs, RunFlags, StageId, StageOutputs } from '../types.js';
import { makeStageContext, NO_OWNER } from './context.js';
import { assertCheckAfter, topoOrder, selectModes, type Mode } from './graph.js';
import { handoffStore } from './handoffs.js';
import type { AnyStage, Env, Owner, Services, StageHandoffs } from './stage.js';
import { changedInputs, ensureProjectId, hashInputs, recordFresh, recordIntent, type State, type StageRecord } from './state.js';

export interface Reporter {
  stageStart(stage: AnyStage): void;
  stageProgress(id: StageId, text: string): void;
  stageEnd(stage: AnyStage, record: StageRecord): void;
}

export interface RunnerOptions {
  stages: readonly AnyStage[];
  state: State;
  inputs: Inputs;
  flags: RunFlags;
  services: Services;
  projectDir: string;
  stateDir: string;
  env: Env;
  /** Answers known before the run (none: every question has its non-interactive default). */
  answers?: Answers;
  reporter: Reporter;
  /** Persists `state` (atomic); called after every status change. */
  save: () => Promise<void>;
  debug: (line: string) => void;
  signal: AbortSignal;
  now?: () => Date;
  /** Hold every other stage until `after` has finished, then ask (init's confirmation and every
   * question a stage would otherwise ask, which need preflight's identity and live lookups): the
   * answers go to the stages that declare them, and what the confirmation read to the stages that
   * would read it again (`handoffs`, by receiver, as a stage hands them); false: stop, nothing
   * else runs. It sees what was handed on so far without taking it. */
  gate?: { after: StageId; ask: (outputs: Partial<StageOutputs>, handoffs: Readonly<Partial<StageHandoffs>>) => Promise<GateAnswer | false> };
}

/** What the gate's question phase gives the rest of the run. */
export interface GateAnswer {
  answers: Answers;
  handoffs?: Partial<StageHandoffs>;
}

export interface RunOutcome {
  ok: boolean;
  /** Stages whose run() executed in this run. */
  ran: StageId[];
  failed: StageId[];
  /** Exit code for the first failure (its code's: 1 for most stage failures, 2/3 for some). */
  exitCode: number;
  /** The first failure (its code, message and hint), for the --json document. */
  error?: KpoError;
  /** The gate's question was answered no: only the gate stage ran. */
  declined?: boolean;
}

const INTERRUPTED_RECORD = { code: 'INTERRUPTED', message: 'interrupted (Ctrl-C)' } as const;

/** For what only looks (init's confirmation, the dry-run plan): this project's id and the intents
 * earlier runs recorded, so it judges ownership as the stages will; it records nothing. */
export function readOnlyOwner(state: State, projectId = state.projectId): Owner {
  const targets = new Set(Object.values(state.intents ?? {}).flatMap((list) => (list ?? []).map((i) => i.target)));
  return { ...NO_OWNER, projectId, intended: (target) => targets.has(target) };
}

/** What a record keeps through every status change (reset by changed inputs, running, failed,
 * interrupted, blocked): its outputs, the ownership history destroy and the next run read. */
const keptOutputs = (rec: StageRecord | undefined): Pick<StageRecord, 'outputs'> => (rec?.outputs !== undefined ? { outputs: rec.outputs } : {});

/**
 * One write at a time, in order, and none wasted: a change made while a write is under way goes
 * out with the next write, which every change made before it starts shares (the state is
 * serialised when the write starts). A caller's promise settles once a write that started after its
 * change has finished, so an awaited save (a write-ahead intent) is on disk as before; concurrent
 * stages no longer wait for one write per status change of the others.
 */
export function coalesced(write: () => Promise<void>): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  let next: Promise<void> | undefined;
  return () => {
    if (next) return next;
    const begin = () => {
      next = undefined;
      return write();
    };
    next = last.then(begin, begin);
    last = next;
    return next;
  };
}

export async function runStages(o: RunnerOptions): Promise<RunOutcome> {
  // The context stage's connection, for every later stage that declares the kube service; its
  // connections end with the run.
  const held: { kube?: KubeApi } = {};
  try {
    return await walk(o, held);
  } finally {
    await held.kube?.close();
  }
}

async function walk(o: RunnerOptions, held: { kube?: KubeApi }): Promise<RunOutcome> {
  const now = o.now ?? (() => new Date());
  const order = topoOrder(o.stages);
  const stageMap = new Map(o.stages.map((s) => [s.id, s]));
  const modes = selectModes(o.stages, { from: o.flags.from, only: o.flags.only });
  assertCheckAfter(o.stages);
  const outputs: Partial<StageOutputs> = {};
  // What a stage (or the gate's confirmation) handed on for a later stage: this run only, never saved.
  const { handoffs, handOn } = handoffStore(o.stages);
  const records = o.state.stages as Partial<Record<StageId, StageRecord>>;
  // Every recorded output, stale or not: ownership history a re-run must carry forward.
  const previous: Partial<StageOutputs> = {};
  for (const [id, rec] of Object.entries(records)) if (rec?.outputs !== undefined) (previous as Record<string, unknown>)[id] = rec.outputs;

  // Recorded successes whose inputs changed are stale: pending again, their outputs kept out of
  // `outputs` so nothing downstream trusts them. Fresh ones seed the outputs for --only dependencies.
  // Exactly the stages that read a changed input go stale: one that only comes after them is
  // checked again like every stage on every run, and its check() reads their new outputs.
  const hashes = new Map<StageId, string>();
  const invalidated = new Map<StageId, InputKey[]>();
  const last = o.state.inputs;
  for (const id of order) {
    const stage = stageMap.get(id)!;
    hashes.set(id, await hashInputs(o.inputs, stage.inputs));
    const rec = records[id];
    if (!rec || (rec.status !== 'done' && rec.status !== 'skipped')) continue;
    if (await recordFresh(id, stage.inputs, rec.inputsHash, o.inputs, last)) {
      if (rec.outputs !== undefined) (outputs as Record<string, unknown>)[id] = rec.outputs;
      continue;
    }
    const changed = last ? changedInputs(stage.inputs, last, o.inputs) : [];
    invalidated.set(id, changed);
    // The outputs stay on the record (not in `outputs`): destroy and the next run still see what was made.
    records[id] = { status: 'pending', reason: `inputs changed since it last ran${changed.length ? ` (${changed.join(', ')})` : ''}`, ...keptOutputs(rec) };
  }
  o.state.inputs = o.inputs;
  let answers: Answers = o.answers ?? {};
  const projectId = ensureProjectId(o.state);

  const save = coalesced(o.save);

  const ran: StageId[] = [];
  const failed: StageId[] = [];
  let firstError: KpoError | undefined;
  const running = new Map<StageId, Promise<void>>();
  const finished = new Set<StageId>();

  const record = async (stage: AnyStage, rec: StageRecord) => {
    records[stage.id] = rec;
    await save();
  };

  /** The context of one execution of `stage` (`reach`: its declaration, or its check's narrower one). */
  const contextOf = (stage: AnyStage, mode: Mode, reach: AnyStage = stage) => {
    // Only intents left by an EARLIER run count: within this run the create's own answer says
    // whether it created the object (a 409 or "already exists" means someone else did).
    const earlier = new Set((o.state.intents?.[stage.id] ?? []).map((i) => i.target));
    const owner: Owner = {
      projectId,
      intend: async (target) => {
        recordIntent(o.state, stage.id, target, now());
        await save();
      },
      intended: (target) => earlier.has(target),
    };
    return makeStageContext(reach, { ...o, answers }, {
      outputs,
      previous,
      // A forced stage (--from, --only) was asked to do its part again: it reads afresh.
      handoffs: mode === 'force' ? {} : handoffs,
      owner,
      progress: (text) => o.reporter.stageProgress(stage.id, text),
      kube: () => held.kube,
    });
  };

  // Checks started before their stage (checkAfter): the stage's execution takes the answer.
  const early = new Map<StageId, Promise<CheckResult<StageOutputs[StageId], unknown, unknown>>>();
  const startEarly = (stage: AnyStage, mode: Mode) => {
    if (early.has(stage.id) || !stage.check || !stage.checkAfter || mode === 'force') return;
    const after = stage.checkAfter.filter((id) => modes.has(id));
    if (!after.every((id) => finished.has(id) && !failed.includes(id))) return;
    // Its context reaches only the outputs that are there: those of the needs it waits for.
    const reach = { ...stage, needs: stage.needs.filter((n) => after.includes(n)) } as AnyStage;
    const p = stage.check(contextOf(stage, mode, reach) as never) as Promise<CheckResult<StageOutputs[StageId], unknown, unknown>>;
    // A stage that ends up blocked never looks at it: no unhandled rejection.
    p.catch(() => undefined);
    early.set(stage.id, p);
  };

  const execute = async (stage: AnyStage, mode: Mode) => {
    const started = now();
    const prev = records[stage.id];
    const madeBy = prev?.status === 'done' && prev.summary ? { summary: prev.summary, ...(prev.finishedAt ? { at: prev.finishedAt } : {}) } : prev?.madeBy;
    const ctx = contextOf(stage, mode);
    // Until the stage finishes, its record keeps the outputs it had (a crash loses no history).
    const kept = keptOutputs(prev);
    const base: StageRecord = { status: 'running', startedAt: started.toISOString(), ...kept };
    records[stage.id] = base;
    o.reporter.stageStart(stage);
    await save();
    const s = stage;
    const because = invalidated.get(stage.id);
    const finish = async (rec: Omit<StageRecord, 'startedAt' | 'finishedAt' | 'durationMs'>) => {
      const end = now();
      const full: StageRecord = {
        ...rec,
        ...(because ? { invalidatedBy: because } : {}),
        startedAt: base.startedAt,
        finishedAt: end.toISOString(),
        durationMs: end.getTime() - started.getTime(),
      };
      await record(stage, full);
      o.reporter.stageEnd(stage, full);
    };
    // What check() read, for run(): none when run() is forced without a check.
    let seen: unknown;
    try {
      if (mode !== 'force' && s.check) {
        const c = await (early.get(stage.id) ?? s.check(ctx as never));
        if (c.done) {
          (outputs as Record<string, unknown>)[stage.id] = c.outputs;
          handOn(stage.id, c.handoff as Partial<StageHandoffs> | undefined);
          await finish({ status: 'skipped', reason: c.reason, outputs: c.outputs, inputsHash: hashes.get(stage.id), warnings: c.warnings, ...(madeBy ? { madeBy } : {}) });
          return;
        }
        if (mode === 'dependency') {
          throw new KpoError(
            'ONLY_NEEDS_STAGE',
            `--only needs stage "${stage.id}" to be done first, and it is not${c.reason ? ` (${c.reason})` : ''}.`,
            `Run \`astro-remote-kpo init\` (or --from ${stage.id}) first.`,
          );
        }
        seen = c.seen;
      }
      ran.push(stage.id);
      const r = await s.run(ctx, seen);
      if (r.kube) held.kube = r.kube;
      (outputs as Record<string, unknown>)[stage.id] = r.outputs;
      handOn(stage.id, r.handoff as Partial<StageHandoffs> | undefined);
      await finish({ status: 'done', outputs: r.outputs, summary: r.summary, warnings: r.warnings, inputsHash: hashes.get(stage.id) });
    } catch (err) {
      if (o.signal.aborted) {
        await finish({ status: 'interrupted', error: INTERRUPTED_RECORD, ...kept });
        throw interrupted();
      }
      // Not ours (a bug, or something no wrapper turned into a KpoError): UNEXPECTED, exit 1.
      const k = asKpoError(err);
      o.debug(`stage ${stage.id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      failed.push(stage.id);
      firstError ??= k;
      await finish({ status: 'failed', error: errorRecord(k), ...kept });
    }
  };

  const abort = new Promise<never>((_, reject) => {
    const onAbort = () => reject(interrupted());
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort, { once: true });
  });
  abort.catch(() => undefined);

  const selected = order.filter((id) => modes.has(id));
  const blocked = new Set<StageId>();
  let gateOpen = !o.gate || !modes.has(o.gate.after);
  let declined = false;
  try {
    for (;;) {
      if (o.signal.aborted) throw interrupted();
      for (const id of selected) {
        if (!gateOpen && id !== o.gate!.after) continue;
        if (finished.has(id) || running.has(id) || blocked.has(id)) continue;
        const stage = stageMap.get(id)!;
        const inRun = stage.needs.filter((n) => modes.has(n));
        if (inRun.some((n) => failed.includes(n) || blocked.has(n))) {
          blocked.add(id);
          continue;
        }
        if (!inRun.every((n) => finished.has(n))) {
          startEarly(stage, modes.get(id)!);
          continue;
        }
        const p = execute(stage, modes.get(id)!).finally(() => {
          running.delete(id);
          finished.add(id);
        });
        running.set(id, p);
      }
      if (running.size === 0 && !gateOpen) {
        gateOpen = true;
        // A failed gate stage blocks the rest the usual way; a finished one asks first.
        if (finished.has(o.gate!.after) && !failed.includes(o.gate!.after)) {
          const given = await o.gate!.ask(outputs, handoffs);
          if (given === false) {
            declined = true;
            break;
          }
          answers = { ...answers, ...given.answers };
          handOn('gate', given.handoffs);
        }
        continue;
      }
      if (running.size === 0) break;
      await Promise.race([abort, ...running.values()]);
    }
  } catch (err) {
    if (isKpoError(err, 'INTERRUPTED')) {
      for (const id of running.keys()) {
        records[id] = { ...records[id], status: 'interrupted', error: INTERRUPTED_RECORD, finishedAt: now().toISOString() };
      }
      await save();
    }
    throw err;
  }
  if (declined) return { ok: true, ran, failed, exitCode: 0, declined: true };
  for (const id of blocked) {
    const missing = stageMap.get(id)!.needs.filter((n) => failed.includes(n) || blocked.has(n));
    const because = invalidated.get(id);
    records[id] = { status: 'pending', reason: `waiting for ${missing.join(', ')}`, ...keptOutputs(records[id]), ...(because ? { invalidatedBy: because } : {}) };
  }
  await save();
  return { ok: failed.length === 0, ran, failed, exitCode: firstError?.exitCode ?? 0, ...(firstError ? { error: firstError } : {}) };
}

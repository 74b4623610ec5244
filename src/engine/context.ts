// Builds a stage's context from its declaration: a real pick, so what a stage did not declare is
// not there at run time either (an undeclared input reads undefined, an undeclared service is no
// member, output() of a stage it does not need throws). Shared by the runner, the dry-run planner,
// init's confirmation, verify and destroy; only the last three get the full context.
import type { KubeApi } from '../kube/api.js';
import { initCommandLine } from '../resume-command.js';
import type { Answers, InputKey, Inputs, RunFlags, StageId, StageOutputs } from '../types.js';
import type { ContextOf, Env, FullContext, Owner, ServiceKey, ServiceMembers, Services, StageHandoffs, StageReach } from './stage.js';

/** What the run holds, from which every context is picked. */
export interface ContextBase {
  inputs: Inputs;
  flags: RunFlags;
  /** The question phase's answers (init); none elsewhere. */
  answers?: Answers;
  services: Services;
  projectDir: string;
  stateDir: string;
  env: Env;
  signal: AbortSignal;
  debug: (line: string) => void;
}

/** The per-execution parts of a context. */
export interface ContextParts {
  /** Outputs of stages done in this run or recorded fresh (read live: a later stage's need). */
  outputs?: Partial<StageOutputs>;
  /** Every recorded output, stale or not: ownership history (previousOutput). Default `outputs`. */
  previous?: Partial<StageOutputs>;
  /** What earlier stages and init's confirmation handed on in this run, by receiver (taken once). */
  handoffs?: Partial<StageHandoffs>;
  owner?: Owner;
  progress?: (text: string) => void;
  /** The Kubernetes API once the context stage connected. */
  kube?: () => KubeApi | undefined;
}

/** Outside init's runner nothing is created, so there is nothing to intend. */
export const NO_OWNER: Owner = {
  projectId: undefined,
  intend: (target) => Promise.reject(new Error(`internal: no state to record the intent to create ${target}`)),
  intended: () => false,
};

type All = 'all';

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[] | All): Pick<T, K> {
  if (keys === 'all') return obj;
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (k in obj) out[k] = obj[k];
  return Object.freeze(out) as Pick<T, K>;
}

const SERVICES: { [K in ServiceKey]: (b: ContextBase, p: ContextParts) => ServiceMembers[K] } = {
  aws: (b) => ({ aws: b.services.aws }),
  exec: (b) => ({ exec: b.services.exec }),
  env: (b) => ({ env: b.env }),
  kube: (_b, p) => ({
    kube() {
      const kube = p.kube?.();
      if (!kube) throw new Error('internal: the Kubernetes API is not ready (the context stage has not run)');
      return kube;
    },
    tryKube: () => p.kube?.(),
  }),
  owner: (_b, p) => ({ owner: p.owner ?? NO_OWNER }),
  projectDir: (b) => ({ projectDir: b.projectDir }),
  stateDir: (b) => ({ stateDir: b.stateDir }),
  commandLine: (b) => ({ commandLine: (change = {}) => initCommandLine({ ...b.inputs, ...change }) }),
};
const ALL_SERVICES = Object.keys(SERVICES) as ServiceKey[];

interface Reachable {
  /** The stage whose handoff `handoff()` takes (none for the full context). */
  self?: StageId;
  own: readonly StageId[] | All;
  needs: readonly StageId[] | All;
  inputs: readonly InputKey[] | All;
  services: readonly ServiceKey[];
  flags: readonly (keyof RunFlags)[] | All;
  answers: readonly (keyof Answers)[] | All;
}

function build(r: Reachable, base: ContextBase, p: ContextParts): FullContext {
  const outputs = p.outputs ?? {};
  const previous = p.previous ?? outputs;
  const handoffs = p.handoffs ?? {};
  const needed = (id: StageId) => r.needs === 'all' || r.needs.includes(id);
  const own = (id: StageId) => r.own === 'all' || r.own.includes(id);
  const io = base.services.io;
  const ctx = {
    inputs: pick(base.inputs, r.inputs),
    flags: pick(base.flags, r.flags),
    answers: pick(base.answers ?? {}, r.answers),
    // Lines only: a stage never asks (see StageIo).
    io: { info: (line: string) => io.info(line), warn: (line: string) => io.warn(line) },
    signal: base.signal,
    progress: p.progress ?? (() => undefined),
    debug: base.debug,
    output<K extends StageId>(id: K): StageOutputs[K] {
      const v = needed(id) ? outputs[id] : undefined;
      if (v === undefined) throw new Error(`internal: outputs of stage ${id} are not available`);
      return v;
    },
    tryOutput: <K extends StageId>(id: K) => (needed(id) || own(id) ? outputs[id] : undefined),
    previousOutput: <K extends StageId>(id: K) => (own(id) ? (outputs[id] ?? previous[id]) : undefined),
    // Only the stage's own: a hint names another stage's record, never its handoff.
    handoff<K extends keyof StageHandoffs>(to: K) {
      if (to !== r.self) return undefined;
      const v = handoffs[to];
      delete handoffs[to];
      return v;
    },
  };
  for (const s of r.services) Object.assign(ctx, SERVICES[s](base, p));
  return ctx as FullContext;
}

/** The context of `stage`: what its declaration names, nothing more. */
export function makeStageContext<St extends StageReach>(stage: St, base: ContextBase, parts: ContextParts = {}): ContextOf<St> {
  const reach: Reachable = {
    self: stage.id,
    own: [stage.id, ...(stage.hints ?? [])],
    needs: stage.needs,
    inputs: stage.inputs,
    services: stage.services,
    flags: stage.flags ?? [],
    answers: stage.answers ?? [],
  };
  return build(reach, base, parts) as unknown as ContextOf<St>;
}

/** Everything at once, for the code around the stages that looks at the whole chain: init's
 * confirmation and question phase, verify, destroy. Never handed to a stage. */
export function makeFullContext(base: ContextBase, parts: ContextParts = {}): FullContext {
  return build({ own: 'all', needs: 'all', inputs: 'all', services: ALL_SERVICES, flags: 'all', answers: 'all' }, base, parts);
}

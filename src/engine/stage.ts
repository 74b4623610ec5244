// What a stage is and what it may touch. A stage declares, in one literal, the inputs, services,
// run flags and answers it reads and the stages whose outputs it reads (its needs); the types give
// it a context with exactly those members (create-astro's `Pick<Context, …>` per step), and the
// runner builds that context from the same declaration (makeStageContext in ./context.ts), so an
// undeclared read is a compile error and undefined at run time. The declared inputs are also what
// makes the stage's record stale when one of them changes (engine/state.ts).
import type { Cluster } from '@aws-sdk/client-eks';
import type { Role } from '@aws-sdk/client-iam';
import type { AwsClients } from '../aws/clients.js';
import type { RoleRead } from '../aws/iam-role.js';
import type { MappingRead } from '../aws/mapping.js';
import type { Capacity } from '../stages/cluster-capacity.js';
import type { Survey } from '../stages/project-files.js';
import type { Exec } from '../exec.js';
import type { Io } from '../io.js';
import type { KubeApi, KubeObject } from '../kube/api.js';
import type {
  AnswerKey,
  Answers,
  CheckResult,
  FlagKey,
  InputKey,
  Inputs,
  PlanResult,
  RunFlags,
  StageId,
  StageOutputs,
  StageResult,
} from '../types.js';

/**
 * Reads made on the way that a later stage would make again a moment later, handed on in memory
 * (never saved), each addressed to the stage that would repeat it: each saves a round trip on the
 * critical path. The stage takes its own with `ctx.handoff()`, once; whoever needs the thing again
 * reads afresh, and a stage that finds none (another run, --only, a forced run) looks up itself.
 * Every write a handed read leads to is safe on a stale read, as on check()'s `seen`: a Kubernetes
 * write is guarded by resourceVersion, a create fails on what exists, and the IAM trust policy is
 * read again right before it is written (src/aws/iam-role.ts).
 */
export interface StageHandoffs {
  /** preflight's DescribeCluster (undefined: not found); with the node groups init's confirmation
   * looked at (the cluster stage's capacity check) when it did. */
  cluster: { cluster: Cluster | undefined; capacity?: Capacity };
  /** init's confirmation: the role as it read it (GetRole with the policies the stage looks at). */
  'iam-role': { role: RoleRead };
  /** iam-role: the role as it read it (check) or found and changed it (run), ARN included; never
   * after it created the role (role-arn then waits until IAM shows it). */
  'role-arn': { role: Role };
  /** identity-mapping's check, when it found the mapping as wanted: that read is the read-back. */
  'verify-mapping': { mapping: MappingRead };
  /** k8s-role's check, when it found the Role as wanted: the Role the user's RoleBinding binds,
   * which the access check would read again to judge the bindings. */
  'access-check': { role: KubeObject };
  /** init's confirmation, when nobody was asked anything: its survey of the project files (after a
   * question the files are surveyed again, since the user may have edited one while reading). */
  'project-files': { survey: Survey };
}
/** Which stage hands what to whom (the receiver needs the maker, so it runs after it); init's
 * confirmation may address any stage after preflight (the runner's gate). */
export interface HandoffRoutes {
  preflight: 'cluster';
  'iam-role': 'role-arn';
  'identity-mapping': 'verify-mapping';
  'k8s-role': 'access-check';
}
/** What stage `Id` may hand on, by receiver (never, for a stage that hands nothing). */
export type HandoffsBy<Id extends StageId> = Id extends keyof HandoffRoutes ? Partial<Pick<StageHandoffs, HandoffRoutes[Id]>> : never;
/** The stages something can be handed to. */
export type HandoffTo = keyof StageHandoffs;

export type Env = Readonly<Record<string, string | undefined>>;

/** The clients built once per run (src/context.ts). Stages never get this bag: each reaches the
 * ones it declares, as members of its context. */
export interface Services {
  aws: AwsClients;
  exec: Exec;
  io: Io;
}

/** What a stage may say while it runs: lines, never a question. Every question is asked before the
 * first change (init's question phase); a stage that would ask reads the answer from `answers`. */
export type StageIo = Pick<Io, 'info' | 'warn'>;

/** Ownership for one stage execution: the project's id (the marker's value) and write-ahead intents. */
export interface Owner {
  /** state.json's projectId; undefined outside init (verify, destroy, the dry run). */
  readonly projectId: string | undefined;
  /** Records "about to create `target`" in state and saves it; call right before the create. */
  intend(target: string): Promise<void>;
  /** Whether an earlier (perhaps killed) run of this stage recorded that intent (not this run). */
  intended(target: string): boolean;
}

/** The members each declarable service adds to a stage's context. */
export interface ServiceMembers {
  /** The AWS SDK clients (built with the run's region and profile: a stage that declares it reads those inputs too). */
  aws: { readonly aws: AwsClients };
  /** Spawning eksctl or astro (src/exec.ts). */
  exec: { readonly exec: Exec };
  /** The environment as the CLI saw it (read-only copy), for KUBECONFIG and HOME. */
  env: { readonly env: Env };
  /** The Kubernetes API the context stage connected: `kube()` throws before that, `tryKube()` is
   * undefined (the dry run without a connection). */
  kube: { kube(): KubeApi; tryKube(): KubeApi | undefined };
  /** This project's id and write-ahead intents (stages that create or judge ownership). */
  owner: { readonly owner: Owner };
  /** The absolute project directory. */
  projectDir: { readonly projectDir: string };
  /** `<project>/.astro-remote-kpo`. */
  stateDir: { readonly stateDir: string };
  /** The init command line of this run with some inputs changed, for a message's fix (it prints
   * every input, so it is text for people, never a value to decide on). */
  commandLine: { commandLine(change?: Partial<Inputs>): string };
}
export type ServiceKey = keyof ServiceMembers;

/** Everything a context can reach, by kind; a stage's context is built from its own subsets. */
export interface Reach {
  inputs: InputKey;
  services: ServiceKey;
  flags: FlagKey;
  answers: AnswerKey;
  /** Stages whose outputs it reads (`output`, `tryOutput`): its needs. */
  needs: StageId;
  /** Records it may read besides its needs' outputs (`tryOutput`, `previousOutput`): its own,
   * and the records of later stages it declares as hints. */
  own: StageId;
}
type Of<R, K extends keyof Reach> = R extends { [P in K]: infer X } ? X & Reach[K] : never;
type Intersect<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/**
 * A context that reaches exactly `R`: `StageContext<{ inputs: 'clusterName'; services: 'aws' }>`
 * has `inputs.clusterName` and `aws`, and nothing else but the members every stage has (io that
 * cannot ask, signal, progress, debug). Helpers take the slice they use the same way.
 */
export type StageContext<R extends Partial<Reach> = Reach> = {
  readonly inputs: Readonly<Pick<Inputs, Of<R, 'inputs'>>>;
  readonly flags: Readonly<Pick<RunFlags, Of<R, 'flags'>>>;
  readonly answers: Readonly<Pick<Answers, Of<R, 'answers'>>>;
  readonly io: StageIo;
  readonly signal: AbortSignal;
  /** Live status text under the stage's spinner (e.g. eksctl's latest line). */
  progress(text: string): void;
  /** A line for the debug log file only. */
  debug(text: string): void;
  /** Outputs of a needed stage that completed in this run or a previous one; throws if none. */
  output<K extends Of<R, 'needs'>>(id: K): StageOutputs[K];
  /** A needed stage's outputs, or the stage's own record while its inputs are unchanged. */
  tryOutput<K extends Of<R, 'needs'> | Of<R, 'own'>>(id: K): StageOutputs[K] | undefined;
  /** What the stage last recorded even when its inputs changed since (so tryOutput has none): for
   * ownership history only (e.g. the principals init added to a role), never as a result. */
  previousOutput<K extends Of<R, 'own'>>(id: K): StageOutputs[K] | undefined;
  /** Takes what an earlier stage (or init's confirmation) handed to this stage (`to`: its own id)
   * in this run (see StageHandoffs); undefined when nothing was, it was taken already, or the run
   * is forced. */
  handoff<K extends Of<R, 'own'> & HandoffTo>(to: K): StageHandoffs[K] | undefined;
} & Intersect<ServiceMembers[Of<R, 'services'>]>;

/** A context that reaches everything: verify, destroy and init's confirmation, never a stage. */
export type FullContext = StageContext;

/** What run() hands back: StageResult, plus the Kubernetes API the context stage connected (the
 * runner gives it to every later stage that declares the kube service). */
export type RunResult<Id extends StageId> = StageResult<StageOutputs[Id], HandoffsBy<Id>> & { kube?: KubeApi };
/** What plan() hands back; `kube` as for run(): later plans may ask the API server (dryRun=All). */
export type PlanOf<Id extends StageId> = PlanResult<StageOutputs[Id]> & { kube?: KubeApi };

/** The declaration part of a stage: what the runner picks its context from. */
export interface StageReach<
  Id extends StageId = StageId,
  N extends StageId = StageId,
  I extends InputKey = InputKey,
  S extends ServiceKey = ServiceKey,
  F extends FlagKey = FlagKey,
  A extends AnswerKey = AnswerKey,
  H extends StageId = StageId,
> {
  readonly id: Id;
  /** Stages whose outputs this one reads; the runner starts it when all of them finished. */
  readonly needs: readonly N[];
  /** The inputs it reads: all it can reach in ctx.inputs, and those whose change makes its record stale. */
  readonly inputs: readonly I[];
  readonly services: readonly S[];
  readonly flags?: readonly F[];
  readonly answers?: readonly A[];
  /** Later stages whose recorded outputs it reads as a guess only, to start work early (never to
   * decide anything): preflight reads the cluster's record to guess whether eksctl is needed. */
  readonly hints?: readonly H[];
}

type ContextFor<Id extends StageId, N extends StageId, I extends InputKey, S extends ServiceKey, F extends FlagKey, A extends AnswerKey, H extends StageId> = StageContext<{
  inputs: I;
  services: S;
  flags: F;
  answers: A;
  needs: N;
  own: Id | H;
}>;

/** `Seen` is what check() read and hands, through the runner, to run() (CheckResult's `seen`).
 * `C`: the stages check() waits for (`checkAfter`); its context reaches the outputs of those of
 * them it needs (all its needs when it declares no checkAfter). */
export interface StageDef<Id extends StageId, N extends StageId, I extends InputKey, S extends ServiceKey, F extends FlagKey, A extends AnswerKey, H extends StageId, Seen, C extends StageId = N>
  extends StageReach<Id, N, I, S, F, A, H> {
  readonly title: string;
  /**
   * Stages check() reads from (the outputs of those it needs, or the connection the context stage
   * makes), when that is fewer than `needs`: its read-only check then starts as soon as these have
   * finished, together with the stages it waits for, instead of after them (the Role's and the
   * RoleBinding's reads go out with the Namespace's). run() still waits for every need, and a stage
   * whose need fails is blocked as before, its early check's answer unused. Each must be a stage
   * this one comes after (a need, or a need's need).
   */
  readonly checkAfter?: readonly C[];
  /** A read-only lookup: its check() answer IS the result, shown as ✔ rather than as a skip. */
  readonly lookup?: boolean;
  /** How long a run() usually takes when it does the work, for the spinner (e.g. eksctl). */
  readonly expected?: string;
  /** Runs before any stage does anything: reject bad user files here (a KpoError whose code exits 2). */
  validate?(ctx: ContextFor<Id, N, I, S, F, A, H>): Promise<void>;
  /** Cheap, read-only "already done?". Stages without it always run (they are read-only). */
  check?(ctx: ContextFor<Id, N & C, I, S, F, A, H>): Promise<CheckResult<StageOutputs[Id], Seen, HandoffsBy<Id>>>;
  /** `seen`: what this execution's check() read when it answered "not done"; undefined when no
   * check ran (--from, --only force run()), and then run() looks up itself. */
  run(ctx: ContextFor<Id, N, I, S, F, A, H>, seen?: Seen): Promise<RunResult<Id>>;
  /** Dry run: what run() would do, with read-only lookups (and the API server's own dryRun=All)
   * only. Must not throw for missing credentials: mark the item `unknown` instead. */
  plan(ctx: ContextFor<Id, N, I, S, F, A, H>): Promise<PlanOf<Id>>;
}

/** The context type of a stage, for code that runs one stage itself (verify, destroy, tests). */
export type ContextOf<St> = St extends StageReach<infer Id, infer N, infer I, infer S, infer F, infer A, infer H> ? ContextFor<Id, N, I, S, F, A, H> : never;

/**
 * Declares a stage: every type parameter is inferred from the literal (`needs`, `inputs`,
 * `services`, `flags`, `answers`, `hints`, `checkAfter` arrays; `Seen` from check()'s return), so the declaration and
 * what the stage's methods can reach are one thing.
 */
export function defineStage<
  const Id extends StageId,
  const N extends StageId = never,
  const I extends InputKey = never,
  const S extends ServiceKey = never,
  const F extends FlagKey = never,
  const A extends AnswerKey = never,
  const H extends StageId = never,
  Seen = never,
  const C extends StageId = N,
>(stage: StageDef<Id, N, I, S, F, A, H, Seen, C>): StageDef<Id, N, I, S, F, A, H, Seen, C> {
  return stage;
}

/** Any stage, its reach erased, so stages of different ids and declarations fit one array. */
export type AnyStage = { [K in StageId]: StageDef<K, StageId, InputKey, ServiceKey, FlagKey, AnswerKey, StageId, unknown, StageId> }[StageId];

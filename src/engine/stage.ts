// What a stage is and what it may touch. Stages get everything through StageContext and never
// reach for process, prompts or child processes themselves (create-astro's single context).
import type { Cluster } from '@aws-sdk/client-eks';
import type { AwsClients } from '../aws/clients.js';
import type { Exec } from '../exec.js';
import type { Io } from '../io.js';
import type { KubeApi } from '../kube/api.js';
import type {
  CheckResult,
  InputKey,
  Inputs,
  PlanResult,
  RunFlags,
  StageId,
  StageOutputs,
  StageResult,
} from '../types.js';

/**
 * Lookups a stage made on its way that a later stage would make again a moment later, handed on
 * in memory (never saved): each saves a round trip on the critical path. A handoff is taken once
 * (`StageContext.handoff`); whoever needs the thing again reads afresh, and one who finds no
 * handoff (another run, --only) looks up itself.
 */
export interface StageHandoffs {
  /** preflight's DescribeCluster (undefined: not found), which the cluster stage's check() reuses. */
  preflight: { cluster: Cluster | undefined };
}
export type HandoffId = keyof StageHandoffs;
type HandoffOf<Id extends StageId> = Id extends HandoffId ? StageHandoffs[Id] : never;

/** Services built once per run and shared by every stage. */
export interface Services {
  aws: AwsClients;
  exec: Exec;
  io: Io;
  /** Set by the `context` stage; later stages read it through `StageContext.kube()`. */
  kube?: KubeApi;
}

/** Ownership for one stage execution: the project's id (the marker's value) and write-ahead intents. */
export interface Owner {
  /** state.json's projectId; undefined outside init (verify, destroy, the dry run). */
  readonly projectId: string | undefined;
  /** Records "about to create `target`" in state and saves it; call right before the create. */
  intend(target: string): Promise<void>;
  /** Whether an earlier (perhaps killed) run of this stage recorded that intent (not this run). */
  intended(target: string): boolean;
}

export interface StageContext {
  readonly inputs: Readonly<Inputs>;
  readonly flags: Readonly<RunFlags>;
  /** Absolute project directory and `<project>/.astro-remote-kpo`. */
  readonly projectDir: string;
  readonly stateDir: string;
  readonly services: Services;
  readonly io: Io;
  readonly aws: AwsClients;
  readonly exec: Exec;
  /** Environment as the CLI saw it (read-only copy), for PATH, KUBECONFIG, HOME. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly owner: Owner;
  /** The Kubernetes API chosen by the context stage; throws if that stage has not run. */
  kube(): KubeApi;
  /** Outputs of a stage that completed in this run or a previous one; throws if none. */
  output<K extends StageId>(id: K): StageOutputs[K];
  tryOutput<K extends StageId>(id: K): StageOutputs[K] | undefined;
  /** What a stage last recorded even when its inputs changed since (so tryOutput has none): for
   * ownership history only (e.g. the principals init added to a role), never as a result. */
  previousOutput<K extends StageId>(id: K): StageOutputs[K] | undefined;
  /** Takes what stage `id` handed on in this run (see StageHandoffs); undefined when it handed
   * nothing or it was taken already. */
  handoff<K extends HandoffId>(id: K): StageHandoffs[K] | undefined;
  /** Live status text under the stage's spinner (e.g. eksctl's latest line). */
  progress(text: string): void;
  /** A line for the debug log file only. */
  debug(text: string): void;
}

/** `Seen` is what check() read and hands, through the runner, to run() (CheckResult's `seen`). */
export interface Stage<Id extends StageId = StageId, Seen = unknown> {
  readonly id: Id;
  readonly title: string;
  /** Stages whose outputs this one reads; the runner starts it when all of them finished. */
  readonly needs: readonly StageId[];
  /** Inputs whose change makes a recorded success stale. */
  readonly inputs: readonly InputKey[];
  /** A read-only lookup: its check() answer IS the result, shown as ✔ rather than as a skip. */
  readonly lookup?: boolean;
  /** How long a run() usually takes when it does the work, for the spinner (e.g. eksctl). */
  readonly expected?: string;
  /** Runs before any stage does anything: reject bad user files here (a KpoError whose code exits 2). */
  validate?(ctx: StageContext): Promise<void>;
  /** Cheap, read-only "already done?". Stages without it always run (they are read-only). */
  check?(ctx: StageContext): Promise<CheckResult<StageOutputs[Id], Seen>>;
  /** `seen`: what this execution's check() read when it answered "not done"; undefined when no
   * check ran (--from, --only force run()), and then run() looks up itself. */
  run(ctx: StageContext, seen?: Seen): Promise<StageResult<StageOutputs[Id], HandoffOf<Id>>>;
  /** Dry run: what run() would do, with read-only lookups (and the API server's own dryRun=All)
   * only. Must not throw for missing credentials: mark the item `unknown` instead. */
  plan(ctx: StageContext): Promise<PlanResult<StageOutputs[Id]>>;
}

/** Erases the id parameter so stages of different ids fit one array. */
export type AnyStage = { [K in StageId]: Stage<K> }[StageId];

// state.json: inputs and per-stage status/outputs/timings. Written atomically (temp file +
// rename) so a crash mid-write leaves the previous state intact. Never holds a secret.
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KpoError, type ErrorRecord } from '../errors.js';
import { DEFAULTS } from '../options.js';
import { writeFileAtomic } from '../write-files.js';
import { STAGE_IDS, type InputKey, type Inputs, type StageId, type StageOutputs, type StageStatus } from '../types.js';

export const SCHEMA_VERSION = 1;
export const STATE_DIR = '.astro-remote-kpo';

export interface StageRecord<Id extends StageId = StageId> {
  status: StageStatus;
  /** Hash of the inputs the stage read when it last succeeded. */
  inputsHash?: string;
  outputs?: StageOutputs[Id];
  summary?: string;
  reason?: string;
  warnings?: string[];
  /** Its code is what a script matches on (docs/errors.md); state from before codes has none. */
  error?: ErrorRecord;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** What an earlier run did here (its summary), kept when later runs find it done and skip:
   * `status` shows "created …", not "skipped: exists", for what init made. */
  madeBy?: { summary: string; at?: string };
  /** Set by a run that took the stage up again because inputs it reads changed since its last
   * success: those inputs (empty when only what the stage reads changed, with a new version). The
   * stage was checked again under the new inputs, and run when the check said not done. */
  invalidatedBy?: InputKey[];
}

/** "About to create X", written (and saved) before the create call: a run killed between the
 * call and its answer still knows X is its own when it resumes. */
export interface Intent {
  /** What the stage is about to create, e.g. `namespace astro-remote-kpo`. */
  target: string;
  at: string;
}

export interface State {
  schemaVersion: number;
  tool: 'astro-remote-kpo';
  createdAt: string;
  updatedAt: string;
  /** This project's identity: tagged/annotated on everything init creates, so another project
   * (or this one after losing a record) tells its own objects from others'. */
  projectId?: string;
  inputs?: Inputs;
  stages: { [K in StageId]?: StageRecord<K> };
  /** Write-ahead intents per stage; cleared by destroy once the stage's resources are gone. */
  intents?: { [K in StageId]?: Intent[] };
}

export function stateDirOf(projectDir: string): string {
  return path.join(path.resolve(projectDir), STATE_DIR);
}

export function stateFileOf(projectDir: string): string {
  return path.join(stateDirOf(projectDir), 'state.json');
}

export function emptyState(now = new Date()): State {
  return { schemaVersion: SCHEMA_VERSION, tool: 'astro-remote-kpo', createdAt: now.toISOString(), updatedAt: now.toISOString(), stages: {} };
}

/** The project's id, made on the first real run (and for state from before project ids); saved
 * with the next write, before anything is created. */
export function ensureProjectId(state: State): string {
  state.projectId ??= randomUUID();
  return state.projectId;
}

export function recordIntent(state: State, stage: StageId, target: string, now = new Date()): void {
  const intents = (state.intents ??= {});
  const list = intents[stage] ?? [];
  if (!list.some((i) => i.target === target)) intents[stage] = [...list, { target, at: now.toISOString() }];
}

function corrupt(file: string, why: string): KpoError {
  return new KpoError(
    'STATE_UNUSABLE',
    `The state file ${file} is not usable: ${why}.`,
    `Move it aside to start over (mv "${file}" "${file}.bad"), or fix it by hand. Nothing was changed.`,
  );
}

/** Reads state; undefined when there is none. A corrupt file is an error, never silently discarded. */
export async function loadState(projectDir: string): Promise<State | undefined> {
  const file = stateFileOf(projectDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw corrupt(file, (err as Error).message);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, `it is not valid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw corrupt(file, 'it is not a JSON object');
  const s = parsed as Partial<State>;
  if (s.schemaVersion !== SCHEMA_VERSION) {
    throw corrupt(file, `schemaVersion is ${JSON.stringify(s.schemaVersion)}, this version of the tool reads ${SCHEMA_VERSION}`);
  }
  if (!s.stages || typeof s.stages !== 'object' || Array.isArray(s.stages)) throw corrupt(file, '"stages" is missing or not an object');
  for (const key of Object.keys(s.stages)) {
    if (!(STAGE_IDS as readonly string[]).includes(key)) throw corrupt(file, `unknown stage ${JSON.stringify(key)}`);
    const rec = (s.stages as Record<string, StageRecord>)[key];
    if (!rec || typeof rec !== 'object' || typeof rec.status !== 'string') throw corrupt(file, `stage ${key} has no status`);
  }
  if (s.inputs) s.inputs = migrateInputs(s.inputs);
  migrateOutputs(s.stages);
  return s as State;
}

/** State written before the cncf.kubernetes provider got its own line recorded one object, for
 * the Amazon provider only, as project-files' providerFloor: read it as a one-entry list. */
export function migrateOutputs(stages: State['stages']): void {
  const outputs = stages['project-files']?.outputs as { providerFloor?: unknown } | undefined;
  const old = outputs?.providerFloor;
  if (outputs && old && typeof old === 'object' && !Array.isArray(old)) {
    outputs.providerFloor = [{ provider: 'apache-airflow-providers-amazon', ...(old as Record<string, unknown>) }];
  }
}

/** State written before several Deployments were supported had one `workloadIdentity` and one
 * optional `astroDeploymentId`: read them as one-element lists. */
export function migrateInputs(recorded: Inputs): Inputs {
  const old = recorded as Inputs & { workloadIdentity?: unknown; astroDeploymentId?: unknown };
  const { workloadIdentity, astroDeploymentId, ...rest } = old;
  return {
    ...rest,
    workloadIdentities: Array.isArray(rest.workloadIdentities) ? rest.workloadIdentities : typeof workloadIdentity === 'string' ? [workloadIdentity] : [],
    astroDeploymentIds: Array.isArray(rest.astroDeploymentIds) ? rest.astroDeploymentIds : typeof astroDeploymentId === 'string' ? [astroDeploymentId] : [],
    localDev: rest.localDev === true,
    // Before the task pods could have an AWS identity (issue #20): the feature off, the defaults.
    podPolicyArns: Array.isArray(rest.podPolicyArns) ? rest.podPolicyArns : [],
    podIdentity: rest.podIdentity ?? DEFAULTS.podIdentity,
    podRole: rest.podRole ?? DEFAULTS.podRole,
    podServiceAccount: rest.podServiceAccount ?? DEFAULTS.podServiceAccount,
  };
}

/** Inputs added after stages already recorded hashes, with the value that means "as before": a
 * stage that starts to read one keeps its hash while the value is that one (issue #20's pods). */
const ADDED_LATER: Partial<Record<keyof Inputs, (value: unknown) => boolean>> = {
  podPolicyArns: (v) => Array.isArray(v) && v.length === 0,
  podIdentity: (v) => v === DEFAULTS.podIdentity,
  podRole: (v) => v === DEFAULTS.podRole,
  podServiceAccount: (v) => v === DEFAULTS.podServiceAccount,
};

export async function saveState(projectDir: string, state: State): Promise<void> {
  state.updatedAt = new Date().toISOString();
  // Private: 0600 in a 0700 folder (inputs name the account's roles and clusters).
  await writeFileAtomic(stateFileOf(projectDir), `${JSON.stringify(state, null, 2)}\n`, { private: true });
}

/** The hash entry of one input, spelled as the previous version did for the same meaning (one
 * workloadIdentity, an optional astroDeploymentId, no localDev, no pods' identity: ADDED_LATER at
 * its "as before" value), so upgrading leaves stages done. */
function legacyHashEntry(key: keyof Inputs, value: Inputs[keyof Inputs] | undefined): Array<[string, unknown]> {
  if (key === 'localDev' || key === 'allowExtraAccess') return value ? [[key, value]] : [];
  if (ADDED_LATER[key]?.(value)) return [];
  if ((key === 'workloadIdentities' || key === 'astroDeploymentIds') && Array.isArray(value) && value.length <= 1) {
    return [[key === 'workloadIdentities' ? 'workloadIdentity' : 'astroDeploymentId', value[0] ?? null]];
  }
  return [[key, value ?? null]];
}

/** Stable hash of the named inputs: a stage's record is stale when this changes. */
export async function hashInputs(inputs: Inputs, keys: readonly (keyof Inputs)[]): Promise<string> {
  const picked = keys.flatMap((k) => legacyHashEntry(k, inputs[k])).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(picked)).digest('hex').slice(0, 16);
}

/** The keys among `keys` whose value differs between two sets of inputs (as the hash sees them). */
export function changedInputs(keys: readonly InputKey[], before: Inputs, after: Inputs): InputKey[] {
  const seen = (inputs: Inputs, k: InputKey) => JSON.stringify(legacyHashEntry(k, inputs[k]));
  return keys.filter((k) => seen(before, k) !== seen(after, k));
}

/**
 * What each stage declared before stages said everything they read (issue #21), where that
 * differs from now; records written then carry the hash of these. Most stages gained only inputs
 * that locate what they act on: the account (profile), the region and the cluster name. Every
 * earlier version's preflight read exactly those three, and every stage came after it, so a
 * change of any of them made every record stale: a record such a version left done was made with
 * the values state.inputs holds. Such a record stays fresh; a stage that gained another input
 * (cluster: clusterConfig; context: namespace; iam-role: permissions; project-files: iamRole) is
 * checked again once.
 */
const DECLARED_BEFORE: Partial<Record<StageId, readonly InputKey[]>> = {
  cluster: ['clusterName', 'region'],
  context: ['clusterName', 'region', 'profile', 'kubeContext'],
  namespace: ['clusterName', 'namespace', 'workloadIdentities'],
  'k8s-role': ['clusterName', 'namespace', 'k8sRole', 'workloadIdentities'],
  'iam-role': ['iamRole', 'workloadIdentities', 'localDev', 'clusterName', 'region'],
  'role-arn': ['iamRole'],
  'identity-mapping': ['authMode', 'k8sUser', 'iamRole', 'clusterName', 'region', 'workloadIdentities'],
  'verify-mapping': ['authMode', 'k8sUser', 'iamRole', 'clusterName', 'region'],
  'role-binding': ['clusterName', 'namespace', 'k8sRole', 'k8sUser', 'workloadIdentities'],
  'access-check': ['clusterName', 'namespace', 'k8sRole', 'k8sUser', 'allowExtraAccess'],
  'project-files': ['clusterName', 'region', 'namespace', 'k8sRole', 'k8sUser', 'workloadIdentities', 'permissions', 'connId', 'clusterConfig', 'localDev', 'profile'],
};
const LOCATING: readonly InputKey[] = ['profile', 'region', 'clusterName'];

/**
 * Whether a done record still stands for `inputs`: its hash is that of the inputs the stage reads
 * now; or it was written by a version that declared less (DECLARED_BEFORE), with the same values of
 * what it declared then, and what it gained are only locating inputs unchanged since the last run.
 */
export async function recordFresh(id: StageId, keys: readonly InputKey[], recorded: string | undefined, inputs: Inputs, last: Inputs | undefined): Promise<boolean> {
  if (recorded === (await hashInputs(inputs, keys))) return true;
  const before = DECLARED_BEFORE[id];
  if (!before || !last || recorded !== (await hashInputs(inputs, before))) return false;
  const gained = keys.filter((k) => !before.includes(k));
  // An input added later (ADDED_LATER) at the value that means "as before" changes nothing either.
  return gained.every((k) => LOCATING.includes(k) || ADDED_LATER[k]?.(inputs[k])) && changedInputs(gained, last, inputs).length === 0;
}

// What destroy found and decided, one item per resource, and the ownership rule every item
// follows: the state's record of what init created wins (found stays found); without a record, the
// write-ahead intent of an interrupted run, then our creation marker decides — unless the marker
// names another project; anything else is kept, and the item says why.
import { PROJECT_KEY } from '../desired.js';
import type { State } from '../engine/state.js';
import type { StageId } from '../types.js';

export type Decision = 'delete' | 'keep' | 'gone';

export interface DestroyItem {
  /** The stage that set it up: its state record is marked once its items are gone. */
  stage: StageId;
  kind:
    | 'role-binding'
    | 'role'
    | 'namespace'
    | 'access-entry'
    | 'aws-auth-entry'
    | 'inline-policy'
    | 'attached-policy'
    | 'trust-principal'
    | 'iam-role'
    | 'cluster';
  /** e.g. "RoleBinding astro-remote-kpo-rolebinding in namespace astro-remote-kpo". */
  name: string;
  decision: Decision;
  why: string;
  /** Performs the deletion; may return a note (e.g. the backup file). Only for 'delete'. */
  apply?: () => Promise<string | undefined>;
  /** After the run: what happened. */
  result?: 'deleted' | 'failed';
  note?: string;
}

export type Ownership = { ours: true; why: string } | { ours: false; why: string };

/** What an object's creation marker says: carries it (and for which project), or not. */
export interface Marker {
  /** e.g. "the label app.kubernetes.io/managed-by=astro-remote-kpo"; undefined: no marker. */
  text?: string;
  /** The project id recorded next to the marker, if any. */
  projectId?: string;
}

/** Reads our marker from labels + annotations (Kubernetes) or tags (AWS: pass the tags twice). */
export function readMarker(marks: Record<string, string> | undefined, ids: Record<string, string> | undefined, key: string, value: string, kind: 'label' | 'tag'): Marker {
  if (marks?.[key] !== value) return {};
  const projectId = ids?.[PROJECT_KEY];
  return { text: `the ${kind} ${key}=${value}`, ...(projectId ? { projectId } : {}) };
}

/**
 * `recorded`: what state says (true: init created it; false: init found it already there;
 * undefined: no record). `marker`: our creation marker on it. `intended`: state holds the
 * write-ahead intent to create it (only for things that carry no marker: aws-auth entries and
 * the cluster).
 */
export function ownership(recorded: boolean | undefined, marker: Marker, what: string, state: State | undefined, intended = false): Ownership {
  if (recorded === true) return { ours: true, why: 'recorded in state as created by init' };
  if (recorded === false) return { ours: false, why: 'existed before init (state records that init found it)' };
  if (intended) return { ours: true, why: 'state records that init was about to create it (an interrupted run)' };
  if (marker.text && marker.projectId && state?.projectId && marker.projectId !== state.projectId) {
    return { ours: false, why: `created by another astro-remote-kpo project (${PROJECT_KEY}=${marker.projectId}, this project is ${state.projectId})` };
  }
  if (marker.text) return { ours: true, why: `carries ${marker.text}` };
  return { ours: false, why: `not created by this tool: ${what} and not recorded in state` };
}

/** Whether state holds init's write-ahead intent to create exactly `target` (desired.ts intentName):
 * an intent for another cluster name or principal says nothing about this one. */
export function intendedIn(state: State | undefined, stage: StageId, target: string): boolean {
  return state?.intents?.[stage]?.some((i) => i.target === target) ?? false;
}

export function gone(stage: StageId, kind: DestroyItem['kind'], name: string, why = 'does not exist'): DestroyItem {
  return { stage, kind, name, decision: 'gone', why };
}

/** Stages whose records no longer describe anything once `stage`'s resources are gone. */
export const ALSO_STALE: Partial<Record<StageId, StageId[]>> = {
  'role-binding': ['access-check'],
  'identity-mapping': ['verify-mapping', 'access-check'],
  'iam-role': ['role-arn', 'identity-mapping', 'verify-mapping'],
  namespace: ['k8s-role', 'role-binding', 'access-check'],
  cluster: ['context', 'namespace', 'k8s-role', 'role-binding', 'identity-mapping', 'verify-mapping', 'access-check'],
};

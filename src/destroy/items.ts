// What destroy found and decided, one item per resource, and the two rules items follow. Shared
// objects (role, access entry, namespace, Role, RoleBinding): the last one out turns off the
// lights (`sharedDecision`, src/use-marks.ts). Things without marks (the cluster, an aws-auth
// entry): the state's record of what init created wins (found stays found); without a record, the
// write-ahead intent of an interrupted run, then our creation marker decides — unless the marker
// names another project (`ownership`). Anything kept says why.
import { PROJECT_KEY } from '../desired.js';
import type { State } from '../engine/state.js';
import type { StageId } from '../types.js';
import { lastOneOut, leave, projectByIdentities, type UseMarks, type Uses } from '../use-marks.js';

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
    | 'cluster'
    | 'use-mark'
    | 'service-account'
    | 'pod-association'
    | 'oidc-provider';
  /** e.g. "RoleBinding astro-remote-kpo-rolebinding in namespace astro-remote-kpo". */
  name: string;
  decision: Decision;
  why: string;
  /** Performs the deletion; may return a note (e.g. the backup file), or `{ kept }` when a look
   * right before deleting found it must stay after all (someone started using it). Only for 'delete'. */
  apply?: () => Promise<string | undefined | Kept>;
  /** After the run: what happened. */
  result?: 'deleted' | 'failed' | 'kept';
  note?: string;
}

/** What an apply() says when it did not delete after all, and why. */
export interface Kept {
  kept: string;
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

export interface SharedDecision {
  /** Delete it: a project of this tool made it and no one else uses it. */
  last: boolean;
  /** Some project of this tool made it (its marker, or state records this project did). */
  ofTool: boolean;
  why: string;
  /** Who else uses it, in words (empty when `last`). */
  others: string[];
}

/**
 * The last one out turns off the lights, in words. `marker`: how the creation marker reads (e.g.
 * "the tag managed-by=astro-remote-kpo"); `recorded`: state's record (true: init created it,
 * false: found); `alsoUsedBy`: users without a mark (principals of the role, the role kept for others).
 */
export function sharedDecision(o: { marker: string; uses: Uses; recorded: boolean | undefined; me: string | undefined; alsoUsedBy?: readonly string[] }): SharedDecision {
  const me = o.me;
  const v = lastOneOut({ uses: o.uses, me, recordedCreated: o.recorded, alsoUsedBy: o.alsoUsedBy ?? [] });
  const ofTool = o.uses.created || o.recorded === true;
  if (!ofTool) {
    const why = o.recorded === false ? 'existed before init (state records that init found it)' : `not created by this tool: no ${o.marker.replace(/^the /, '')} and not recorded in state`;
    return { last: false, ofTool, why, others: v.others };
  }
  const creator = o.uses.creator;
  const made = o.recorded === true ? 'recorded in state as created by init' : `carries ${o.marker}${creator ? ` (${PROJECT_KEY}=${creator}${creator === me ? ', this project' : ''})` : ''}`;
  if (v.last) return { last: true, ofTool, why: `${made}; no other project uses it`, others: [] };
  return { last: false, ofTool, why: `${made}; kept: still used by ${v.others.join(', ')}`, others: v.others };
}

/** This project's use mark on an object that stays for others: it goes, the object stays. */
export function useMarkItem(stage: StageId, marks: UseMarks, uses: Uses, me: string): DestroyItem {
  return {
    stage,
    kind: 'use-mark',
    name: `this project's use mark on ${marks.label}`,
    decision: 'delete',
    why: `${marks.label} stays (see below); this project no longer uses it`,
    apply: async () => void (await leave(marks, uses, me)),
  };
}

/**
 * Whom this destroy acts for on one object: with state, its project; without, the project whose use
 * mark carries the fingerprint of the --workload-identity values given (exactly those of that
 * project, in any order), if exactly one does. undefined: nobody's marks are this destroy's.
 */
export function whoAmI(state: State | undefined, uses: Uses, workloadIdentities: readonly string[]): string | undefined {
  return state ? state.projectId : projectByIdentities(uses, workloadIdentities);
}

/** Without state: how to free an object whose marks name projects that may be gone (destroy could
 * not tell that one of them is the project at hand). Empty when it does not apply. */
export function withoutStateHint(d: SharedDecision, uses: Uses, marks: UseMarks, me: string | undefined): string {
  if (me !== undefined || d.last || !d.ofTool || uses.users.length === 0) return '';
  return `. Without state, destroy knows a project's marks only by the --workload-identity values: give exactly that project's, or if a project named there is gone for good, mark it as left (${marks.byHand(uses.users)}) and run destroy again`;
}

/** This project's mark is on the object (as a user, not one that left). */
export const marked = (uses: Uses, me: string | undefined): me is string => me !== undefined && uses.users.includes(me) && uses.marks[me] !== undefined;

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
  cluster: ['context', 'namespace', 'k8s-role', 'role-binding', 'identity-mapping', 'verify-mapping', 'access-check', 'pod-service-account'],
  'pod-service-account': ['access-check'],
};

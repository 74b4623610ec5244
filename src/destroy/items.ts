// What destroy found and decided, one item per resource, and the ownership rule every item
// follows: the state's record of what init created wins; without a record, our tag/label decides;
// anything else is kept, and the item says why.
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

/**
 * `recorded`: what state says (true: init created it; false: init found it already there;
 * undefined: no record). `marked`: whether it carries our tag/label, and which.
 */
export function ownership(recorded: boolean | undefined, marked: string | undefined, what: string): Ownership {
  if (recorded === true) return { ours: true, why: 'recorded in state as created by init' };
  if (recorded === false) return { ours: false, why: `existed before init (state records that init found it${marked ? ` and only added ${marked}` : ''})` };
  if (marked) return { ours: true, why: `carries ${marked}` };
  return { ours: false, why: `not created by this tool: ${what} and not recorded in state` };
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

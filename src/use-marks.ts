// Who uses a shared object: one rule for every kind (IAM role, access entry, namespace, Role,
// RoleBinding, and whatever kinds come later: a ServiceAccount, an OIDC provider, ...). Several projects
// (Deployments, teams) often share one cluster, role and namespace; the last one out turns off the
// lights. Besides the creation marker (only on what init created), every object some project of
// this tool created carries one *use mark* per project that uses it: a Kubernetes annotation or an
// AWS tag `astro-remote-kpo/used-by-<projectId>`, one key per project, so concurrent projects never
// overwrite each other's. An object a person made carries no marks and is never deleted.
//
// Per kind, only three things differ (how to read the metadata, add marks, take marks out): see
// `UseMarks`; what the marks mean is decided here, once.
import { PROJECT_KEY, USE_PREFIX, identityFingerprint, useKey, useValue } from './desired.js';

/** A project that stopped using an object that stays (kept for a reason other than users: a
 * namespace destroy was not asked to delete, a principal a person added) leaves a mark with this
 * value instead of none, so the object never looks like one made before use marks existed. */
export const LEFT = 'left';
const isLeft = (v: string) => v === LEFT || v.startsWith(`${LEFT} `);

/** The mark a project that leaves last puts in place of its own. */
export function leftValue(now = new Date()): string {
  return `${LEFT} ${now.toISOString().slice(0, 10)}`;
}

const fingerprintOf = (value: string | undefined) => /\bwi:([0-9a-f]+)/.exec(value ?? '')?.[1];

/** What an object's metadata says (Kubernetes: labels + annotations; AWS: its tags). */
export interface Uses {
  /** It carries the creation marker: some project of this tool created it. */
  created: boolean;
  /** The project id next to the creation marker, if any. */
  creator?: string;
  /** Projects that use it: its use marks; for a legacy object (marker, no use marks, made before
   * use marks existed), its creator. Empty: an orphan. */
  users: string[];
  /** The use marks on the object (project id → value), of users and of those who left. */
  marks: Record<string, string>;
}

/** `marked`: whether the creation marker (label or tag) is there; `meta`: where the project id and
 * the use marks live (annotations, or the tags again). */
export function readUses(marked: boolean, meta: Readonly<Record<string, string>> | undefined): Uses {
  const marks: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta ?? {})) if (k.startsWith(USE_PREFIX) && k.length > USE_PREFIX.length) marks[k.slice(USE_PREFIX.length)] = v;
  const creator = meta?.[PROJECT_KEY] || undefined;
  const ids = Object.keys(marks);
  const users = ids.length > 0 ? ids.filter((id) => !isLeft(marks[id]!)) : creator ? [creator] : [];
  return { created: marked, ...(creator ? { creator } : {}), users, marks };
}

/**
 * The marks `me` must set to use an object: none on an object no project created (a person's:
 * never marked) or when mine is there for these workload identities. A mark with another
 * fingerprint (the identities changed) is set again, keeping its date. On a legacy object its
 * creator's mark comes too (without a fingerprint: unknown), so the creator still counts.
 */
export function marksToAdd(uses: Uses, me: string | undefined, workloadIdentities: readonly string[]): Record<string, string> {
  if (!uses.created || !me) return {};
  const mine = uses.users.includes(me) ? uses.marks[me] : undefined;
  if (mine !== undefined && fingerprintOf(mine) === identityFingerprint(workloadIdentities)) return {};
  const today = new Date().toISOString().slice(0, 10);
  const legacy = Object.keys(uses.marks).length === 0 && uses.creator && uses.creator !== me ? { [useKey(uses.creator)]: today } : {};
  return { ...legacy, [useKey(me)]: useValue(workloadIdentities, mine?.slice(0, 10) || today) };
}

/** Without state: the project whose use mark carries the fingerprint of these workload identities
 * (the --workload-identity values destroy was given). Undefined when none or several do. */
export function projectByIdentities(uses: Uses, workloadIdentities: readonly string[]): string | undefined {
  if (workloadIdentities.length === 0) return undefined;
  const fp = identityFingerprint(workloadIdentities);
  const ids = uses.users.filter((id) => fingerprintOf(uses.marks[id]) === fp);
  return ids.length === 1 ? ids[0] : undefined;
}

export interface Verdict {
  /** Delete it: some project of this tool made it, and nobody else uses it. */
  last: boolean;
  /** Everyone else who still uses it, in words ("astro-remote-kpo project 1f0c… (since 2026-05-01)"). */
  others: string[];
}

export interface VerdictInput {
  uses: Uses;
  /** This project's id; undefined without state (then every use mark is someone else's). */
  me: string | undefined;
  /** State records that this project created it (a record stands even if the marker was removed). */
  recordedCreated?: boolean;
  /** Others that use it without a mark: principals a role trusts that this project did not add,
   * or what keeps a mapping (the role it maps is kept for others). */
  alsoUsedBy?: readonly string[];
}

/** "astro-remote-kpo project 1f0c… (since 2026-05-01)"; a legacy creator: "(its creator)". */
export function describeUser(id: string, uses: Uses): string {
  const since = uses.marks[id]?.slice(0, 10);
  return `astro-remote-kpo project ${id}${since ? ` (since ${since})` : uses.creator === id ? ' (its creator)' : ''}`;
}

/** The last one out turns off the lights: delete only what a project of this tool made, once no
 * one else (another project's use mark, a principal, a person) uses it. */
export function lastOneOut(v: VerdictInput): Verdict {
  const projects = v.uses.users.filter((id) => id !== v.me).map((id) => describeUser(id, v.uses));
  const others = [...new Set([...projects, ...(v.alsoUsedBy ?? [])])];
  const made = v.uses.created || v.recordedCreated === true;
  return made && others.length === 0 ? { last: true, others: [] } : { last: false, others };
}

/** How one kind of object stores marks: set (add, or overwrite the value) and take out, keeping
 * every other key. */
export interface UseMarks {
  /** e.g. "IAM role AstroRemoteKPO", for messages. */
  readonly label: string;
  add(marks: Readonly<Record<string, string>>): Promise<void>;
  remove(projectIds: readonly string[]): Promise<void>;
  /** The command that marks these projects as gone by hand ("left": not users any more). */
  byHand(projectIds: readonly string[]): string;
}

/** destroy, when the object stays: `me` stops using it. The last user leaves a "left" mark instead
 * of none (see LEFT); anyone else just takes its mark out. */
export async function leave(marks: UseMarks, uses: Uses, me: string, now = new Date()): Promise<void> {
  // Only real users' marks count: another project's "left" mark does not make us not the last.
  const othersMarked = uses.users.some((id) => id !== me && uses.marks[id] !== undefined);
  if (othersMarked) await marks.remove([me]);
  else await marks.add({ [useKey(me)]: leftValue(now) });
}

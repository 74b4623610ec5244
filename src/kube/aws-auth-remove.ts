// Removing our entry from kube-system/aws-auth (destroy). When mapRoles is still exactly what
// this project's init wrote (its sha256 in state), the bytes init found are given back from the
// backup (a ConfigMap init created goes). Otherwise it is the mirror of aws-auth.ts's append: only
// the lines of entries that map exactly our role ARN to exactly our username are cut out of the
// mapRoles TEXT, so every other entry, comment and key stays byte-for-byte; the result is re-parsed
// and must equal the old list minus those entries, or nothing is written. A backup is written
// first; every write carries the resourceVersion read, and a conflict means read again.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, parseDocument } from 'yaml';
import { MARKER_LABEL } from '../desired.js';
import { isKpoError, KpoError } from '../errors.js';
import type { ConfigMapObject, KubeApi } from './api.js';
import { AWS_AUTH, parseMapRoles, writeBackup, type EnsureOptions, type RoleMapping } from './aws-auth.js';

/** What state records about the mapRoles text init found and wrote (sha256 hex). */
export function mapRolesDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function refuse(why: string): KpoError {
  return new KpoError(
    'AWS_AUTH_UNEDITABLE',
    `kube-system/aws-auth: our entry cannot be removed safely: ${why}. Nothing was changed.`,
    'Remove the entry by hand (kubectl -n kube-system edit configmap aws-auth), then run destroy again.',
  );
}

/** Exactly what renderEntry writes: rolearn and username, nothing else (an entry with groups or
 * other keys was written or changed by someone else, so it is theirs). */
const isOurs = (e: unknown, m: RoleMapping) => {
  if (!e || typeof e !== 'object') return false;
  const r = e as { rolearn?: unknown; username?: unknown };
  const onlyOurKeys = Object.keys(e).every((k) => k === 'rolearn' || k === 'username');
  return onlyOurKeys && typeof r.rolearn === 'string' && r.rolearn.toLowerCase() === m.rolearn.toLowerCase() && r.username === m.username;
};

/** Start of the line holding the `-` that introduces the item whose content starts at `at`. */
function dashLineStart(text: string, at: number): number {
  let i = at - 1;
  while (i >= 0 && /\s/.test(text[i]!)) i--;
  if (text[i] !== '-') throw refuse('an entry is not introduced by "-" as expected');
  return text.lastIndexOf('\n', i) + 1;
}

const sameRole = (e: Record<string, unknown>, m: RoleMapping) => typeof e.rolearn === 'string' && e.rolearn.toLowerCase() === m.rolearn.toLowerCase();

/** What mapRoles holds for our role: exact copies of our entry, and entries for the role that
 * someone changed (groups added, another username, other keys): those are theirs now. */
export function findOurEntries(oldText: string | undefined, m: RoleMapping): { exact: number; changed: Record<string, unknown>[] } {
  const entries = parseMapRoles(oldText);
  return { exact: entries.filter((e) => isOurs(e, m)).length, changed: entries.filter((e) => sameRole(e, m) && !isOurs(e, m)) };
}

/** "groups system:masters", "username x", "key foo": how a changed entry differs from ours. */
export function describeChange(e: Record<string, unknown>, m: RoleMapping): string {
  const parts: string[] = [];
  if (e.username !== m.username) parts.push(`username ${JSON.stringify(e.username ?? '(none)')}`);
  if (e.groups !== undefined) parts.push(`groups ${Array.isArray(e.groups) ? e.groups.join(', ') || '[]' : JSON.stringify(e.groups)}`);
  for (const k of Object.keys(e)) if (!['rolearn', 'username', 'groups'].includes(k)) parts.push(`key ${k}`);
  return parts.join(', ');
}

/**
 * The mapRoles text without ONE copy of our entry (the last: init appends), and how many went
 * (0 or 1). An identical duplicate stays: someone else wrote it, and it may be what they rely on.
 * Throws unless the result is proven.
 */
export function removeMapRole(oldText: string | undefined, m: RoleMapping): { text: string; removed: number } {
  const text = oldText ?? '';
  const before = parseMapRoles(text);
  let target = -1;
  before.forEach((e, i) => {
    if (isOurs(e, m)) target = i;
  });
  if (target < 0) return { text, removed: 0 };
  const keep = before.filter((_, i) => i !== target);
  const doc = parseDocument(text, { keepSourceTokens: true });
  const seq = doc.contents;
  if (!isSeq(seq)) throw refuse('mapRoles is not a YAML list');
  let next: string;
  if (seq.flow) {
    // Rare "[...]" form: edit the list node (the other entries keep their values).
    seq.items = seq.items.filter((_, i) => i !== target);
    next = doc.toString();
  } else {
    next = text;
    const cuts = seq.items
      .filter((item, i) => i === target && isMap(item))
      .map((item) => {
        const range = (item as { range?: [number, number, number] }).range;
        // End at the last VALUE: a comment after it (kept) may count as part of the map node.
        const end = Math.max(...(isMap(item) ? item.items : []).map((p) => (p.value as { range?: number[] } | null)?.range?.[1] ?? (p.key as { range?: number[] }).range?.[1] ?? -1));
        if (!range || end < 0) throw refuse('an entry has no source position');
        const nl = text.indexOf('\n', end);
        return [dashLineStart(text, range[0]), nl < 0 ? text.length : nl + 1] as const;
      })
      .sort((a, b) => b[0] - a[0]);
    for (const [from, to] of cuts) next = next.slice(0, from) + next.slice(to);
  }
  const after = parseMapRoles(next);
  if (JSON.stringify(after) !== JSON.stringify(keep)) throw refuse('the edit would change other entries');
  return { text: next, removed: 1 };
}

export interface RemoveResult {
  changed: boolean;
  backupFile?: string;
  /** restored: the bytes init found are back; cut: our entry was cut out of the text; deleted: the
   * ConfigMap init created went (nothing else was in it). */
  how?: 'restored' | 'cut' | 'deleted';
}

/** init's own edit, from state: see StageOutputs['identity-mapping'].awsAuthEdit. */
export interface InitEdit {
  before: string | null;
  written: string;
  createdConfigMap: boolean;
  backupFile?: string;
}

/** mapRoles as init found it, from its backup, if the backup is there and still says what state
 * recorded (null: there was no mapRoles key); undefined: cannot be given back. */
async function foundBytes(edit: InitEdit): Promise<string | null | undefined> {
  if (!edit.backupFile) return undefined;
  try {
    const backup = JSON.parse(await readFile(edit.backupFile, 'utf8')) as ConfigMapObject;
    const text = backup.data?.mapRoles;
    if (text === undefined) return edit.before === null ? null : undefined;
    return edit.before !== null && mapRolesDigest(text) === edit.before ? text : undefined;
  } catch {
    return undefined;
  }
}

const blank = (data: Record<string, string>) => Object.values(data).every((v) => v.trim() === '');

/**
 * What to write: the ConfigMap with the bytes init found (when mapRoles is still what init wrote),
 * else with our entry cut out; 'delete' when it is a ConfigMap init created and nothing is left in
 * it; undefined when there is nothing of ours.
 */
async function nextAwsAuth(cm: ConfigMapObject, m: RoleMapping, edit: InitEdit | undefined): Promise<{ body: ConfigMapObject | 'delete'; how: 'restored' | 'cut' } | undefined> {
  const now = cm.data?.mapRoles;
  const data = { ...(cm.data ?? {}) };
  const untouched = edit !== undefined && now !== undefined && mapRolesDigest(now) === edit.written;
  const found = untouched && !edit.createdConfigMap ? await foundBytes(edit) : undefined;
  let how: 'restored' | 'cut' = 'restored';
  if (untouched && edit.createdConfigMap) delete data.mapRoles;
  else if (found === null) delete data.mapRoles;
  else if (found !== undefined) data.mapRoles = found;
  else {
    const { text, removed } = removeMapRole(now, m);
    if (removed === 0) return undefined;
    data.mapRoles = text;
    how = 'cut';
  }
  // A ConfigMap init created (our label) with nothing left in it goes, as it came.
  const ours = cm.metadata?.labels?.[MARKER_LABEL[0]] === MARKER_LABEL[1];
  if ((ours || (untouched && edit.createdConfigMap)) && blank(data)) return { body: 'delete', how };
  const body: ConfigMapObject = structuredClone(cm);
  body.data = data;
  return { body, how };
}

/** Removes `m` from aws-auth if present; a missing ConfigMap or entry is "already gone". `edit`:
 * what this project's init wrote, so the bytes it found can be given back. */
export async function removeAwsAuthMapping(kube: KubeApi, m: RoleMapping, o: EnsureOptions & { edit?: InitEdit }): Promise<RemoveResult> {
  const attempts = o.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const cm = await kube.readConfigMap(AWS_AUTH.namespace, AWS_AUTH.name);
    if (!cm) return { changed: false };
    const next = await nextAwsAuth(cm, m, o.edit);
    if (!next) return { changed: false };
    const backupFile = await writeBackup(o.backupDir, cm, (o.now ?? (() => new Date()))());
    try {
      if (next.body === 'delete') {
        await kube.deleteConfigMap(AWS_AUTH.namespace, AWS_AUTH.name, { resourceVersion: cm.metadata?.resourceVersion });
        return { changed: true, backupFile, how: 'deleted' };
      }
      await kube.replaceConfigMap(AWS_AUTH.namespace, AWS_AUTH.name, next.body);
      return { changed: true, backupFile, how: next.how };
    } catch (err) {
      if (!isKpoError(err, 'KUBE_CONFLICT') || attempt >= attempts) throw err;
      o.debug?.(`aws-auth changed while we removed our entry (attempt ${attempt}); reading it again`);
    }
  }
}

// Removing our entry from kube-system/aws-auth (destroy). The mirror of aws-auth.ts's append:
// only the lines of entries that map exactly our role ARN to exactly our username are cut out of
// the mapRoles TEXT, so every other entry, comment and key stays byte-for-byte; the result is
// re-parsed and must equal the old list minus those entries, or nothing is written; a backup is
// written first; the update carries the resourceVersion read, and a conflict means read again.
import { isMap, isSeq, parseDocument } from 'yaml';
import { KubeConflictError, type ConfigMapObject, type KubeApi } from './api.js';
import { AWS_AUTH, AwsAuthError, parseMapRoles, writeBackup, type EnsureOptions, type RoleMapping } from './aws-auth.js';

function refuse(why: string): AwsAuthError {
  return new AwsAuthError(
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
}

/** Removes `m` from aws-auth if present; a missing ConfigMap or entry is "already gone". */
export async function removeAwsAuthMapping(kube: KubeApi, m: RoleMapping, o: EnsureOptions): Promise<RemoveResult> {
  const attempts = o.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const cm = await kube.readConfigMap(AWS_AUTH.namespace, AWS_AUTH.name);
    if (!cm) return { changed: false };
    const { text, removed } = removeMapRole(cm.data?.mapRoles, m);
    if (removed === 0) return { changed: false };
    const body: ConfigMapObject = structuredClone(cm);
    body.data = { ...(cm.data ?? {}), mapRoles: text };
    const backupFile = await writeBackup(o.backupDir, cm, (o.now ?? (() => new Date()))());
    try {
      await kube.replaceConfigMap(AWS_AUTH.namespace, AWS_AUTH.name, body);
      return { changed: true, backupFile };
    } catch (err) {
      if (!(err instanceof KubeConflictError) || attempt >= attempts) throw err;
      o.debug?.(`aws-auth changed while we removed our entry (attempt ${attempt}); reading it again`);
    }
  }
}

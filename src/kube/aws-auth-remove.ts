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

/** The mapRoles text without our entries, and how many went. Throws unless the result is proven. */
export function removeMapRole(oldText: string | undefined, m: RoleMapping): { text: string; removed: number } {
  const text = oldText ?? '';
  const before = parseMapRoles(text);
  const keep = before.filter((e) => !isOurs(e, m));
  if (keep.length === before.length) return { text, removed: 0 };
  const doc = parseDocument(text, { keepSourceTokens: true });
  const seq = doc.contents;
  if (!isSeq(seq)) throw refuse('mapRoles is not a YAML list');
  let next: string;
  if (seq.flow) {
    // Rare "[...]" form: edit the list node (the other entries keep their values).
    seq.items = seq.items.filter((item) => !isOurs(isMap(item) ? item.toJSON() : undefined, m));
    next = doc.toString();
  } else {
    next = text;
    const cuts = seq.items
      .filter((item) => isMap(item) && isOurs(item.toJSON(), m))
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
  return { text: next, removed: before.length - keep.length };
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

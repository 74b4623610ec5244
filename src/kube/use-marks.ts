// Use marks (src/use-marks.ts) on Kubernetes objects are annotations, one key per project. Adding
// or removing ours reads the object, changes only our keys, and writes it back with the
// resourceVersion it read: a project writing its own mark at the same moment makes the write fail
// with 409, and we read again, so no one's mark is ever lost.
import { MARKER_LABEL, USE_PREFIX } from '../desired.js';
import { isKpoError, KpoError } from '../errors.js';
import type { PlanItem } from '../types.js';
import { LEFT, marksToAdd, readUses, type UseMarks, type Uses } from '../use-marks.js';
import type { KubeObject, WriteOptions } from './api.js';

/** What it takes to mark one object: read it, and replace it (PUT carrying its resourceVersion). */
export interface KubeObjectAccess {
  label: string;
  /** How kubectl names it, e.g. `role astro-remote-kpo-role -n astro-remote-kpo`. */
  kubectl: string;
  read(): Promise<KubeObject | undefined>;
  replace(body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
}

export function kubeUses(o: KubeObject | undefined): Uses {
  return readUses(o?.metadata?.labels?.[MARKER_LABEL[0]] === MARKER_LABEL[1], o?.metadata?.annotations);
}

const ATTEMPTS = 5;

/** `change` edits the annotations in place and says whether anything changed. */
async function editAnnotations(o: KubeObjectAccess, change: (a: Record<string, string>) => boolean, first?: KubeObject): Promise<void> {
  let current = first;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    current ??= await o.read();
    if (!current) return; // gone: nothing to mark
    const annotations = { ...(current.metadata?.annotations ?? {}) };
    if (!change(annotations)) return;
    try {
      await o.replace({ ...current, metadata: { ...current.metadata, annotations } });
      return;
    } catch (err) {
      if (!isKpoError(err, 'KUBE_CONFLICT')) throw err;
      current = undefined; // someone wrote in between: read again and redo only our keys
    }
  }
  throw new KpoError('KEEPS_CHANGING', `${o.label} kept changing while we updated its use marks (${ATTEMPTS} conflicting writes in a row).`, 'Run the command again.');
}

export function kubeUseMarks(o: KubeObjectAccess, first?: KubeObject): UseMarks {
  return {
    label: o.label,
    add: (marks) =>
      editAnnotations(o, (a) => {
        const differ = Object.entries(marks).filter(([k, v]) => a[k] !== v);
        for (const [k, v] of differ) a[k] = v;
        return differ.length > 0;
      }, first),
    remove: (ids) =>
      editAnnotations(o, (a) => {
        const present = ids.map((id) => `${USE_PREFIX}${id}`).filter((k) => a[k] !== undefined);
        for (const k of present) delete a[k];
        return present.length > 0;
      }, first),
    byHand: (ids) => `kubectl annotate --overwrite ${o.kubectl} ${ids.map((id) => `${USE_PREFIX}${id}=${LEFT}`).join(' ')}`,
  };
}

/** init: the marks this project still has to put on the object it found (none on a person's). */
export function kubeMarksToAdd(current: KubeObject | undefined, projectId: string | undefined, workloadIdentities: readonly string[]): Record<string, string> {
  return current ? marksToAdd(kubeUses(current), projectId, workloadIdentities) : {};
}

/** check(): why a found object is not done yet for this project: it lacks our use mark. */
export function unmarkedReason(label: string, current: KubeObject | undefined, projectId: string | undefined, workloadIdentities: readonly string[]): string | undefined {
  return Object.keys(kubeMarksToAdd(current, projectId, workloadIdentities)).length > 0 ? `${label} does not carry this project's use mark (for its workload identities) yet` : undefined;
}

/** run(): puts our use mark on an object another project created, if missing (`seen`: as read
 * before; a stale read only costs one conflict). Returns the note for the summary, if it marked. */
export async function markUsed(o: Omit<KubeObjectAccess, 'kubectl'>, seen: KubeObject | undefined, projectId: string | undefined, workloadIdentities: readonly string[]): Promise<string | undefined> {
  const add = kubeMarksToAdd(seen, projectId, workloadIdentities);
  if (Object.keys(add).length === 0) return undefined;
  await kubeUseMarks({ ...o, kubectl: o.label }, seen).add(add);
  return 'marked as used by this project';
}

/** plan() (read-only): the use mark init would add to an object another project made, if any. */
export async function planMark(o: Pick<KubeObjectAccess, 'label' | 'read'>, exists: boolean, projectId: string | undefined, workloadIdentities: readonly string[]): Promise<PlanItem[]> {
  if (!exists) return [];
  try {
    const add = kubeMarksToAdd(await o.read(), projectId, workloadIdentities);
    return Object.keys(add).length ? [{ action: `mark ${o.label} as used by this project (annotation ${Object.keys(add).join(', ')})` }] : [];
  } catch {
    return []; // planOwned already said why the object could not be read
  }
}

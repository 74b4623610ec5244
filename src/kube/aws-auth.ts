// Editing kube-system/aws-auth, the step that locks people out of clusters in the wild. The rules:
// every existing entry (and every other key of the ConfigMap) is kept exactly; our entry is
// appended as TEXT to the existing mapRoles string so comments and formatting survive; the result
// is re-parsed and compared before anything is written; an entry for the same role with another
// username is never overridden; a backup is written first; the update carries the resourceVersion
// that was read, and a conflict means read again.
import path from 'node:path';
import { isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { grantsMoreError } from '../aws/mapping.js';
import { MANAGED_LABELS, PROJECT_KEY } from '../desired.js';
import { isKpoError, KpoError } from '../errors.js';
import { isReservedK8sUser } from '../validate.js';
import { writeFileAtomic } from '../write-files.js';
import type { ConfigMapObject, KubeApi } from './api.js';

export const AWS_AUTH = { namespace: 'kube-system', name: 'aws-auth' } as const;

export interface RoleMapping {
  rolearn: string;
  username: string;
}

/** A mapRoles string this tool will not edit (it cannot prove the edit is safe). */
function malformed(why: string): KpoError {
  return new KpoError(
    'AWS_AUTH_UNEDITABLE',
    `kube-system/aws-auth has a mapRoles value this tool cannot edit safely: ${why}. Nothing was changed.`,
    'Fix mapRoles by hand (kubectl -n kube-system edit configmap aws-auth), or use --auth-mode access-entry on a cluster that supports access entries.',
  );
}

function parse(text: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) throw malformed(`it is not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  return doc;
}

/** `~`, `null` (any case) or nothing: YAML's null, which the authenticator reads as no entries. */
function isNullNode(contents: Document['contents']): boolean {
  return contents === null || (isScalar(contents) && contents.value === null);
}

/** The mapRoles entries as plain objects. Missing/empty/comment-only/null (`~`) text is an empty list. */
export function parseMapRoles(text: string | undefined): Record<string, unknown>[] {
  if (text === undefined || text.trim() === '') return [];
  const doc = parse(text);
  const contents = doc.contents;
  if (isNullNode(contents)) return [];
  if (!isSeq(contents)) throw malformed('it is not a YAML list');
  const js = doc.toJS() as unknown[];
  return js.map((item, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw malformed(`entry ${i + 1} is not a mapping`);
    const rec = item as Record<string, unknown>;
    if (typeof rec.rolearn !== 'string') throw malformed(`entry ${i + 1} has no rolearn`);
    return rec;
  });
}

/** IAM ARNs are matched case-insensitively by the authenticator; compare the same way. */
function sameArn(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** One mapRoles entry for our role as the authenticator reads it: its username and groups. */
export interface RoleEntry {
  username: string | undefined;
  groups: string[];
}

/** 'present': mapped to our username; `groups` are the Kubernetes groups the entries for the
 * role add on top (empty when the mapping grants exactly the user). 'shadowed': an entry maps the
 * role to another username; `entries` are ALL the role's entries, so a refusal names everything. */
export type MappingStatus =
  | { state: 'present'; groups: string[] }
  | { state: 'absent' }
  | { state: 'shadowed'; existingUsername: string | undefined; entries: RoleEntry[] };

/** An entry's `groups` as the authenticator reads it (a list of strings; a lone string is one group). */
export function groupsOf(e: Record<string, unknown>): string[] {
  const g = e.groups;
  if (typeof g === 'string') return g ? [g] : [];
  return Array.isArray(g) ? g.filter((x) => x !== null && x !== undefined && x !== '').map(String) : [];
}

export function findMapping(entries: readonly Record<string, unknown>[], want: RoleMapping): MappingStatus {
  const same = entries.filter((e) => typeof e.rolearn === 'string' && sameArn(e.rolearn, want.rolearn));
  if (same.length === 0) return { state: 'absent' };
  const other = same.find((e) => e.username !== want.username);
  const usernameOf = (e: Record<string, unknown>) => (typeof e.username === 'string' ? e.username : undefined);
  if (other) return { state: 'shadowed', existingUsername: usernameOf(other), entries: same.map((e) => ({ username: usernameOf(e), groups: groupsOf(e) })) };
  // Duplicates all map to our user; whichever the authenticator picks, its groups apply: all count.
  return { state: 'present', groups: [...new Set(same.flatMap(groupsOf))] };
}

export function awsAuthGrantsMore(m: RoleMapping, groups: readonly string[]): KpoError {
  return grantsMoreError(
    'kube-system/aws-auth',
    m.rolearn,
    m.username,
    `Kubernetes group${groups.length > 1 ? 's' : ''} ${groups.join(', ')}`,
    `Remove the groups: of the entry for ${m.rolearn} (kubectl -n kube-system edit configmap aws-auth)`,
  );
}

/**
 * The refusal when aws-auth maps our role to another username, saying everything at once: every
 * entry for the role with its username and groups, and the one change that makes it right. Only
 * when a single entry differs by username alone does --k8s-user fix it; with groups (or several
 * entries) it would still be refused, so the fix is the edit that leaves exactly our entry.
 */
export function awsAuthShadowed(m: RoleMapping, entries: readonly RoleEntry[]): KpoError {
  const describe = (e: RoleEntry) => `username ${JSON.stringify(e.username ?? '(none)')}${e.groups.length ? ` with group${e.groups.length > 1 ? 's' : ''} ${e.groups.join(', ')}` : ''}`;
  const what =
    entries.length === 1
      ? `already maps ${m.rolearn} to ${describe(entries[0]!)}`
      : `has ${entries.length} entries for ${m.rolearn} (the authenticator uses one of them): ${entries.map(describe).join('; ')}`;
  const only = entries.length === 1 && entries[0]!.groups.length === 0 ? entries[0]!.username : undefined;
  const keep = only && !isReservedK8sUser(only) ? `Use --k8s-user ${only} to keep the existing mapping, or change` : 'Change';
  const drops = [...new Set(entries.flatMap((e) => [...(e.username !== m.username ? [`username ${e.username ?? '(none)'}`] : []), ...e.groups.map((g) => `group ${g}`)]))];
  return new KpoError(
    'MAPPING_OTHER_USER',
    `kube-system/aws-auth ${what}; not one entry mapping it to user ${JSON.stringify(m.username)} alone. Nothing was changed.`,
    `${keep} the entries for ${m.rolearn} yourself if nothing else relies on them (kubectl -n kube-system edit configmap aws-auth) so that exactly this one is left:\n` +
      `${renderEntry(m).trimEnd()}\n(whoever uses that role loses ${drops.join(', ')}); or pick another --iam-role, so this tool makes a mapping of its own.`,
  );
}

const YAML_KEYWORDS = /^(y|n|yes|no|true|false|on|off|null|~)$/i;
function scalar(v: string): string {
  return /^[A-Za-z][A-Za-z0-9_.:/@=+-]*$/.test(v) && !v.endsWith(':') && !YAML_KEYWORDS.test(v) ? v : JSON.stringify(v);
}

export function renderEntry(m: RoleMapping, indent = 0, eol = '\n'): string {
  const pad = ' '.repeat(indent);
  return `${pad}- rolearn: ${scalar(m.rolearn)}${eol}${pad}  username: ${scalar(m.username)}${eol}`;
}

/** Proves the edit: every old entry still there, unchanged and in order, plus exactly our entry. */
export function verifyAppend(oldText: string | undefined, newText: string, m: RoleMapping): void {
  const before = parseMapRoles(oldText);
  const after = parseMapRoles(newText);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (after.length !== before.length + 1) throw malformed(`the edit would leave ${after.length} entries instead of ${before.length + 1}`);
  before.forEach((e, i) => {
    if (!same(e, after[i])) throw malformed(`the edit would change entry ${i + 1}`);
  });
  if (!same(after[before.length], { rolearn: m.rolearn, username: m.username })) throw malformed('the appended entry does not read back as written');
}

/**
 * The new mapRoles text with `m` appended. A block list (the normal case) gets the entry appended
 * as text at the list's own indentation, so the old text stays byte-for-byte; an empty value gets
 * just our entry; only a non-empty flow list ("[...]") needs the YAML document API. Throws
 * (nothing to write) unless verifyAppend proves the result.
 */
/** Where text may be appended: before a `...` document-end marker (what follows it can only be
 * comments), else the end. Appending after `...` would start a second document. */
function appendPoint(text: string): number {
  const end = /^\.\.\.[ \t]*(?:#.*)?\r?$/m.exec(text);
  return end ? end.index : text.length;
}

/** `text` with `entry` inserted at the append point, on a line of its own; every old byte kept. */
function insertEntry(text: string, entry: string, eol: string): string {
  const at = appendPoint(text);
  const head = text.slice(0, at);
  return `${head}${head === '' || head.endsWith('\n') ? '' : eol}${entry}${text.slice(at)}`;
}

export function appendMapRole(oldText: string | undefined, m: RoleMapping): string {
  const text = oldText ?? '';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let next: string;
  if (text.trim() === '') {
    next = renderEntry(m, 0, eol);
  } else {
    const doc = parse(text);
    const contents = doc.contents;
    if (contents === null) {
      // Only comments (and maybe markers): keep them, then our entry.
      next = insertEntry(text, renderEntry(m, 0, eol), eol);
    } else if (isNullNode(contents)) {
      // `~` / `null`: the one token that must go (a list cannot follow it); everything else stays.
      const [from, to] = contents.range ?? [0, 0];
      const rest = text.slice(to).replace(/^[ \t]*(\r?\n)?/, '');
      next = `${text.slice(0, from)}${renderEntry(m, 0, eol)}${rest}`;
    } else if (isSeq(contents) && !contents.flow) {
      const indent = (contents.srcToken as { indent?: number } | undefined)?.indent ?? 0;
      next = insertEntry(text, renderEntry(m, indent, eol), eol);
    } else if (isSeq(contents) && contents.items.length === 0) {
      next = renderEntry(m, 0, eol);
    } else if (isSeq(contents)) {
      contents.add(doc.createNode({ rolearn: m.rolearn, username: m.username }));
      next = doc.toString();
    } else {
      throw malformed('it is not a YAML list');
    }
  }
  verifyAppend(oldText, next, m);
  return next;
}

export type AwsAuthChange =
  | { kind: 'present' }
  | { kind: 'create'; body: ConfigMapObject }
  | { kind: 'update'; body: ConfigMapObject; before: ConfigMapObject };

/** What to do with the ConfigMap as read. Refuses (throws) to shadow or to edit what it cannot parse. */
export function planAwsAuthChange(cm: ConfigMapObject | undefined, m: RoleMapping): AwsAuthChange {
  if (!cm) {
    return {
      kind: 'create',
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: AWS_AUTH.name, namespace: AWS_AUTH.namespace }, data: { mapRoles: renderEntry(m) } },
    };
  }
  const old = cm.data?.mapRoles;
  const status = findMapping(parseMapRoles(old), m);
  if (status.state === 'present') {
    if (status.groups.length) throw awsAuthGrantsMore(m, status.groups);
    return { kind: 'present' };
  }
  if (status.state === 'shadowed') throw awsAuthShadowed(m, status.entries);
  const body = structuredClone(cm);
  body.data = { ...(cm.data ?? {}), mapRoles: appendMapRole(old, m) };
  return { kind: 'update', body, before: cm };
}

export interface EnsureOptions {
  backupDir: string;
  now?: () => Date;
  /** Attempts when the ConfigMap changes under us (409). */
  maxAttempts?: number;
  debug?: (text: string) => void;
  /** Awaited right before the write that adds our entry: the write-ahead intent. */
  beforeWrite?: () => Promise<void>;
  /** A ConfigMap init creates carries the creation marker with this id (destroy deletes it once empty). */
  projectId?: string;
  /** aws-auth as the stage's check() just read it (undefined inside: there is none): the first
   * attempt starts from it; a write it makes stale fails with 409 and the next attempt reads again. */
  first?: { configMap: ConfigMapObject | undefined };
}

export interface EnsureResult {
  changed: boolean;
  createdConfigMap: boolean;
  backupFile?: string;
  /** When it wrote: mapRoles as it found it (null: no such key) and as it wrote it, so destroy can
   * give back the very bytes it found if nobody changed aws-auth since. */
  mapRolesBefore?: string | null;
  mapRolesWritten?: string;
}

export async function writeBackup(dir: string, cm: ConfigMapObject, now: Date): Promise<string> {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  for (let n = 0; ; n++) {
    const file = path.join(dir, `aws-auth-${stamp}${n ? `-${n}` : ''}.json`);
    try {
      // Private (0600 in a 0700 folder), atomic, and never over an older backup.
      await writeFileAtomic(file, `${JSON.stringify(cm, null, 2)}\n`, { private: true, exclusive: true });
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw err;
    }
  }
}

/** Makes sure aws-auth maps m.rolearn to m.username, appending only when absent. */
export async function ensureAwsAuthMapping(kube: KubeApi, m: RoleMapping, o: EnsureOptions): Promise<EnsureResult> {
  const attempts = o.maxAttempts ?? 5;
  let backupFile: string | undefined;
  let first = o.first;
  for (let attempt = 1; ; attempt++) {
    const cm = first ? first.configMap : await kube.readConfigMap(AWS_AUTH.namespace, AWS_AUTH.name);
    first = undefined;
    const change = planAwsAuthChange(cm, m);
    if (change.kind === 'present') return { changed: false, createdConfigMap: false, ...(backupFile ? { backupFile } : {}) };
    try {
      const written = change.body.data?.mapRoles ?? '';
      if (change.kind === 'create') {
        await o.beforeWrite?.();
        const marker = { labels: { ...MANAGED_LABELS }, ...(o.projectId ? { annotations: { [PROJECT_KEY]: o.projectId } } : {}) };
        await kube.createConfigMap(AWS_AUTH.namespace, { ...change.body, metadata: { ...change.body.metadata, ...marker } });
        return { changed: true, createdConfigMap: true, mapRolesBefore: null, mapRolesWritten: written };
      }
      backupFile = await writeBackup(o.backupDir, change.before, (o.now ?? (() => new Date()))());
      await o.beforeWrite?.();
      await kube.replaceConfigMap(AWS_AUTH.namespace, AWS_AUTH.name, change.body);
      return { changed: true, createdConfigMap: false, backupFile, mapRolesBefore: change.before.data?.mapRoles ?? null, mapRolesWritten: written };
    } catch (err) {
      // 409: someone changed (or created) aws-auth since we read it. Read again and redo the edit.
      const conflict = isKpoError(err, 'KUBE_CONFLICT', 'KUBE_ALREADY_EXISTS');
      if (!conflict || attempt >= attempts) throw err;
      o.debug?.(`aws-auth changed while we edited it (attempt ${attempt}): ${err instanceof Error ? err.message : String(err)}; reading it again`);
    }
  }
}

/** Does aws-auth (as read: undefined, there is none) map the role to this username? */
export function awsAuthMappingOf(cm: ConfigMapObject | undefined, m: RoleMapping): MappingStatus & { configMapExists: boolean } {
  if (!cm) return { state: 'absent', configMapExists: false };
  return { ...findMapping(parseMapRoles(cm.data?.mapRoles), m), configMapExists: true };
}

/** Read-only: does aws-auth map the role to this username? */
export async function readAwsAuthMapping(kube: KubeApi, m: RoleMapping): Promise<MappingStatus & { configMapExists: boolean }> {
  return awsAuthMappingOf(await kube.readConfigMap(AWS_AUTH.namespace, AWS_AUTH.name), m);
}


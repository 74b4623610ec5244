// The aws_eks connection in the Astro project's airflow_settings.yaml (read by `astro dev` only):
// parsing, checking the shape, finding and comparing the entry. The edit itself is textual
// (settings-splice.ts): every byte outside our entry is kept, and a file that cannot be edited that
// way is refused, never re-serialised.
import { Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { KpoError } from '../errors.js';

export const SETTINGS_FILE = 'airflow_settings.yaml';

export interface AwsConnection {
  connId: string;
  region: string;
  roleArn: string;
}

/** `conn_extra` as Airflow reads it for an aws connection: assume role_arn in region_name. */
export function connExtra(c: AwsConnection): { region_name: string; role_arn: string } {
  return { region_name: c.region, role_arn: c.roleArn };
}

/** Every `conn_*` key of the Astro CLI's template (astro-cli airflow/include/settingsyml.yml). */
const EMPTY_FIELDS = ['conn_host', 'conn_schema', 'conn_login', 'conn_password', 'conn_port'] as const;

/** The header and pool/variable placeholders of the file `astro dev init` writes. */
export const ASTRO_HEADER = `# This file allows you to configure Airflow Connections, Pools, and Variables in a single place for local development only.
# NOTE: json dicts can be added to the conn_extra field as yaml key value pairs. See the example below.

# For more information, refer to our docs: https://docs.astronomer.io/develop-project#configure-airflow_settingsyaml-local-development-only
# For questions, reach out to: https://support.astronomer.io
# For issues create an issue ticket here: https://github.com/astronomer/astro-cli/issues

`;
export const ASTRO_PLACEHOLDERS = `  pools:
    - pool_name:
      pool_slot:
      pool_description:
  variables:
    - variable_name:
      variable_value:
`;

// Empty values render as nothing after the colon, as in the Astro template (`conn_host:`).
export const STRINGIFY = { nullStr: '', lineWidth: 0 } as const;

export interface ParsedSettings {
  doc: Document.Parsed;
  /** airflow.connections when it is a list (undefined when absent or empty). */
  connections?: YAMLSeq;
  /** The file's name and line positions, for messages that point into it. */
  file: string;
  lines: LineCounter;
}

function where(file: string, lc: LineCounter, offset: number): string {
  const { line, col } = lc.linePos(offset);
  return `${file} line ${line}, column ${col}`;
}

function kindOf(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return `the value ${JSON.stringify(node.value)}`;
  return 'something else';
}

/** Parses and checks the shape; every problem is a SETTINGS_INVALID error naming the file and line. */
export function parseSettings(text: string, file: string): ParsedSettings {
  const lineCounter = new LineCounter();
  // merge: `<<: *base` means what it means to the astro CLI (a merged key), so a conn_id that
  // arrives through a merge is seen.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const err = doc.errors[0];
  const base = { doc, file, lines: lineCounter };
  if (err) {
    const at = where(file, lineCounter, err.pos[0]);
    throw new KpoError('SETTINGS_INVALID', `${at}: not valid YAML: ${err.message.split('\n')[0]}`, `Fix ${file} (nothing was changed), then run again.`);
  }
  const fix = `airflow_settings.yaml needs \`airflow:\` → \`connections:\` → a list of entries (see \`astro dev init\`). Nothing was changed.`;
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return base;
  if (!isMap(root)) throw new KpoError('SETTINGS_INVALID', `${where(file, lineCounter, root.range[0])}: the file must be a mapping with an "airflow" key, found ${kindOf(root)}.`, fix);
  const airflow = root.get('airflow', true);
  if (airflow === undefined || (isScalar(airflow) && airflow.value === null)) return base;
  if (!isMap(airflow)) throw new KpoError('SETTINGS_INVALID', `${where(file, lineCounter, (airflow as Node).range?.[0] ?? 0)}: "airflow" must be a mapping, found ${kindOf(airflow)}.`, fix);
  const conns = airflow.get('connections', true);
  if (conns === undefined || (isScalar(conns) && conns.value === null)) return base;
  if (!isSeq(conns)) {
    throw new KpoError('SETTINGS_INVALID', `${where(file, lineCounter, (conns as Node).range?.[0] ?? 0)}: "airflow.connections" must be a list, found ${kindOf(conns)}.`, fix);
  }
  return { ...base, connections: conns };
}

function connIdOf(item: unknown): string | undefined {
  if (!isMap(item)) return undefined;
  const v = item.get('conn_id');
  return v === null || v === undefined ? undefined : String(v);
}

const isEmpty = (v: unknown) => v === null || v === undefined || v === '';

/** The extra as a plain object, whether written as a mapping or as JSON text (both work in astro). */
export function extraOf(entry: YAMLMap): Record<string, unknown> | undefined {
  const raw: unknown = entry.get('conn_extra');
  const v = isMap(raw) ? raw.toJSON() : raw;
  if (typeof v === 'string' && v.trim()) {
    try {
      const parsed: unknown = JSON.parse(v);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Which fields of an existing entry differ from what the connection needs (empty = matches). */
export function entryDifferences(entry: YAMLMap, c: AwsConnection): string[] {
  const diffs: string[] = [];
  if (entry.get('conn_type') !== 'aws') diffs.push('conn_type');
  for (const f of [...EMPTY_FIELDS, 'conn_uri']) if (!isEmpty(entry.get(f))) diffs.push(f);
  const extra = extraOf(entry);
  if (!extra || extra.region_name !== c.region || extra.role_arn !== c.roleArn) diffs.push('conn_extra');
  return diffs;
}

/** conn_ids as the astro CLI sees them (aliases and merge keys resolved), one per list item. */
export function resolvedConnIds(p: ParsedSettings): string[] {
  const js = p.doc.toJS() as { airflow?: { connections?: unknown } } | null;
  const list = js?.airflow?.connections;
  return Array.isArray(list) ? list.map((e) => String((e as { conn_id?: unknown } | null)?.conn_id ?? '')) : [];
}

/**
 * Two entries with one conn_id: `astro dev` (astro-cli settings.AddConnections) adds each entry in
 * turn, deleting the connection first only if it existed before it started, so the first entry
 * wins while Airflow has no such connection and the last one once it has. Which one is meant is
 * the user's call: exit 2 naming where each one is, nothing changed.
 */
function duplicateEntries(p: ParsedSettings, connId: string, items: Node[]): KpoError {
  const at = items.map((n) => p.lines.linePos(n.range?.[0] ?? 0));
  const sameLine = new Set(at.map((a) => a.line)).size < at.length;
  const where = at.map((a) => `line ${a.line}${sameLine ? ` column ${a.col}` : ''}`);
  const listed = `${where.slice(0, -1).join(', ')} and ${where.at(-1)}`;
  return new KpoError(
    'SETTINGS_DUPLICATE_CONNECTION',
    `${p.file} has ${items.length} connections with conn_id ${connId} (${listed}): astro dev would load the first of them while Airflow has no ${connId} connection and the last once it has one, so astro-remote-kpo will not pick one. Nothing was changed.`,
    `Delete all but one of them (astro-remote-kpo then brings that one up to date), or pass --conn-id <another id> for a connection of its own; then run again.`,
  );
}

/** Our entry, if the list has one; a conn_id given to more than one entry is refused (exit 2). */
export function findEntry(p: ParsedSettings, connId: string): YAMLMap | undefined {
  const ids = resolvedConnIds(p);
  // An alias item repeating another item (`- *mine`) is that same entry, not a second one.
  const sources = new Set<unknown>();
  const same: Node[] = [];
  (p.connections?.items ?? []).forEach((item, i) => {
    const source = isAlias(item) ? item.resolve(p.doc) : item;
    if ((connIdOf(item) !== connId && ids[i] !== connId) || sources.has(source)) return;
    sources.add(source);
    same.push(item as Node);
  });
  if (same.length > 1) throw duplicateEntries(p, connId, same);
  return same.find((i): i is YAMLMap => connIdOf(i) === connId);
}

export function newEntry(doc: Document, c: AwsConnection): YAMLMap {
  const entry = doc.createNode({ conn_id: c.connId, conn_type: 'aws', ...Object.fromEntries(EMPTY_FIELDS.map((f) => [f, null])), conn_extra: connExtra(c) });
  return entry as YAMLMap;
}

/** Brings an existing entry in line, keeping its other keys, extra keys and comments. */
export function updateEntry(doc: Document, entry: YAMLMap, c: AwsConnection): void {
  if (entry.get('conn_type') !== 'aws') entry.set('conn_type', 'aws');
  // Host/login/password would override the workload identity (login = access key id for aws).
  for (const f of [...EMPTY_FIELDS, 'conn_uri']) if (!isEmpty(entry.get(f))) entry.set(f, null);
  const raw: unknown = entry.get('conn_extra', true);
  if (isMap(raw)) {
    if (raw.get('region_name') !== c.region) raw.set('region_name', c.region);
    if (raw.get('role_arn') !== c.roleArn) raw.set('role_arn', c.roleArn);
  } else {
    entry.set('conn_extra', doc.createNode({ ...(extraOf(entry) ?? {}), ...connExtra(c) }));
  }
}

/** The entry as a one-item YAML list ("- conn_id: aws_eks\n  conn_type: aws\n..."). */
export function entryText(c: AwsConnection): string {
  const doc = new Document([]);
  (doc.contents as YAMLSeq).items.push(newEntry(doc, c));
  return doc.toString(STRINGIFY);
}

/** The file `astro dev init` writes, with our connection as its one connection. */
export function defaultSettingsText(c: AwsConnection): string {
  const entry = entryText(c).replace(/^(?=.)/gm, '    ');
  return `${ASTRO_HEADER}airflow:\n  connections:\n${entry}${ASTRO_PLACEHOLDERS}`;
}

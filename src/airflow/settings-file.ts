// The aws_eks connection in the Astro project's airflow_settings.yaml (read by `astro dev` only).
// The user's file is edited surgically: the yaml Document API finds the connection entry, and only
// that entry's text is replaced (or a new entry is inserted after the last one), so every comment,
// blank line, quote style and other entry stays byte-for-byte as it was. Shapes the splice cannot
// handle safely fall back to editing the Document in place, which still keeps comments and order.
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { UsageError } from '../errors.js';

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
const ASTRO_HEADER = `# This file allows you to configure Airflow Connections, Pools, and Variables in a single place for local development only.
# NOTE: json dicts can be added to the conn_extra field as yaml key value pairs. See the example below.

# For more information, refer to our docs: https://docs.astronomer.io/develop-project#configure-airflow_settingsyaml-local-development-only
# For questions, reach out to: https://support.astronomer.io
# For issues create an issue ticket here: https://github.com/astronomer/astro-cli/issues

`;
const ASTRO_PLACEHOLDERS = `  pools:
    - pool_name:
      pool_slot:
      pool_description:
  variables:
    - variable_name:
      variable_value:
`;

// Empty values render as nothing after the colon, as in the Astro template (`conn_host:`).
const STRINGIFY = { nullStr: '', lineWidth: 0 } as const;

export interface ParsedSettings {
  doc: Document.Parsed;
  /** airflow.connections when it is a list (undefined when absent or empty). */
  connections?: YAMLSeq;
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

/** Parses and checks the shape; every problem is a UsageError naming the file and line. */
export function parseSettings(text: string, file: string): ParsedSettings {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const at = where(file, lineCounter, err.pos[0]);
    throw new UsageError(`${at}: not valid YAML: ${err.message.split('\n')[0]}`, `Fix ${file} (nothing was changed), then run again.`);
  }
  const fix = `airflow_settings.yaml needs \`airflow:\` → \`connections:\` → a list of entries (see \`astro dev init\`). Nothing was changed.`;
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { doc };
  if (!isMap(root)) throw new UsageError(`${where(file, lineCounter, root.range[0])}: the file must be a mapping with an "airflow" key, found ${kindOf(root)}.`, fix);
  const airflow = root.get('airflow', true);
  if (airflow === undefined || (isScalar(airflow) && airflow.value === null)) return { doc };
  if (!isMap(airflow)) throw new UsageError(`${where(file, lineCounter, (airflow as Node).range?.[0] ?? 0)}: "airflow" must be a mapping, found ${kindOf(airflow)}.`, fix);
  const conns = airflow.get('connections', true);
  if (conns === undefined || (isScalar(conns) && conns.value === null)) return { doc };
  if (!isSeq(conns)) {
    throw new UsageError(`${where(file, lineCounter, (conns as Node).range?.[0] ?? 0)}: "airflow.connections" must be a list, found ${kindOf(conns)}.`, fix);
  }
  return { doc, connections: conns };
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

export function findEntry(p: ParsedSettings, connId: string): YAMLMap | undefined {
  return p.connections?.items.find((i): i is YAMLMap => connIdOf(i) === connId);
}

function newEntry(doc: Document, c: AwsConnection): YAMLMap {
  const entry = doc.createNode({ conn_id: c.connId, conn_type: 'aws', ...Object.fromEntries(EMPTY_FIELDS.map((f) => [f, null])), conn_extra: connExtra(c) });
  return entry as YAMLMap;
}

/** Brings an existing entry in line, keeping its other keys, extra keys and comments. */
function updateEntry(doc: Document, entry: YAMLMap, c: AwsConnection): void {
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

export type UpsertAction = 'create-file' | 'add' | 'update' | 'none';

export interface UpsertResult {
  action: UpsertAction;
  text: string;
  /** Fields that changed in an existing entry. */
  fields: string[];
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

/** The file's own line ending (a Windows-edited file stays CRLF). */
const eolOf = (text: string) => (text.includes('\r\n') ? '\r\n' : '\n');

/** Text of a block map to splice in at column `col` (its first line is not indented). Comments
 * before and after the map lie outside the replaced range, so they are left out here. */
function renderMapAt(map: YAMLMap, col: number, eol: string): string {
  const { commentBefore, comment, spaceBefore } = map;
  map.commentBefore = map.comment = undefined;
  map.spaceBefore = undefined;
  try {
    return new Document(map).toString(STRINGIFY).replace(/\n(?=.)/g, `\n${' '.repeat(col)}`).replace(/\n/g, eol);
  } finally {
    Object.assign(map, { commentBefore, comment, spaceBefore });
  }
}

/** Upserts the connection into `text` (undefined: no file). Throws UsageError on a bad file. */
export function upsertConnection(text: string | undefined, c: AwsConnection, file: string): UpsertResult {
  if (text === undefined || !text.trim()) return { action: 'create-file', text: defaultSettingsText(c), fields: [] };
  const parsed = parseSettings(text, file);
  const { doc } = parsed;
  const existing = findEntry(parsed, c.connId);
  const fields = existing ? entryDifferences(existing, c) : [];
  if (existing && !fields.length) return { action: 'none', text, fields };

  let spliced: string | undefined;
  if (existing) {
    updateEntry(doc, existing, c);
    // Replace just the entry's text: from its first key to the end of its last value.
    if (!existing.flow && existing.range) {
      const [start, end] = existing.range;
      const col = start - (text.lastIndexOf('\n', start - 1) + 1);
      spliced = text.slice(0, start) + renderMapAt(existing, col, eolOf(text)) + text.slice(end);
    }
  } else {
    const entry = newEntry(doc, c);
    spliced = appendToBlockSeq(text, parsed, entry);
    insertEntry(doc, parsed, entry);
  }
  // The splice is checked: it must mean exactly what the edited Document means.
  const fallback = () => doc.toString(STRINGIFY);
  let out = spliced ?? fallback();
  if (spliced !== undefined) {
    const reparsed = parseDocument(spliced);
    if (reparsed.errors.length || !isDeepStrictEqual(reparsed.toJS(), doc.toJS())) out = fallback();
  }
  return { action: existing ? 'update' : 'add', text: out, fields };
}

/** A new entry after the last one of a non-empty block list, in the list's own indentation. */
function appendToBlockSeq(text: string, p: ParsedSettings, entry: YAMLMap): string | undefined {
  const seq = p.connections;
  const last = seq?.items.at(-1) as Node | undefined;
  if (!seq || seq.flow || !last?.range || (isMap(last) && last.flow)) return undefined;
  const keyStart = last.range[0];
  const lineStart = text.lastIndexOf('\n', keyStart - 1) + 1;
  const m = /^( *)-( +)$/.exec(text.slice(lineStart, keyStart));
  if (!m) return undefined;
  const dashCol = m[1]!.length;
  const keyCol = keyStart - lineStart;
  // After the last entry and any comment lines that belong to it, at the start of a line.
  let at = last.range[2];
  const lineOfAt = text.lastIndexOf('\n', at - 1) + 1;
  if (/^ *$/.test(text.slice(lineOfAt, at))) at = lineOfAt;
  const eol = eolOf(text);
  const lead = at > 0 && text[at - 1] !== '\n' ? eol : '';
  const item = `${' '.repeat(dashCol)}-${' '.repeat(keyCol - dashCol - 1)}${renderMapAt(entry, keyCol, eol)}`;
  return text.slice(0, at) + lead + item + text.slice(at);
}

/** The same insertion on the Document (the reference the splice is checked against, and the
 * fallback for shapes the splice does not handle: no airflow key, null or flow connections). */
function insertEntry(doc: Document.Parsed, p: ParsedSettings, entry: YAMLMap): void {
  if (p.connections) {
    p.connections.items.push(entry);
    return;
  }
  const d = doc as unknown as Document;
  const seq = new YAMLSeq();
  seq.items.push(entry);
  // parseSettings allowed only these shapes here: no root, or airflow absent/null/a mapping.
  if (!isMap(d.contents)) d.contents = new YAMLMap();
  const root = d.contents as YAMLMap;
  const airflow: unknown = root.get('airflow', true);
  if (isMap(airflow)) airflow.set('connections', seq);
  else root.set('airflow', d.createNode({ connections: seq }));
}

// The edit of airflow_settings.yaml, done on the TEXT: only our entry's bytes (or the bytes of a
// new entry, and of a `null` it replaces) change; every other byte stays: comments, quoting, CRLF
// line endings, a UTF-8 BOM, flow-style lists and maps. Every edit is checked by parsing the
// result: it must mean exactly the Document with our entry upserted. A file that cannot be edited
// this way is refused with the entry to add by hand; the user's file is never re-serialised.
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, parseDocument, visit, YAMLMap, YAMLSeq, type Node, type Pair } from 'yaml';
import { KpoError } from '../errors.js';
import {
  defaultSettingsText,
  entryDifferences,
  entryText,
  findEntry,
  newEntry,
  parseSettings,
  resolvedConnIds,
  STRINGIFY,
  updateEntry,
  type AwsConnection,
  type ParsedSettings,
} from './settings-file.js';

export type UpsertAction = 'create-file' | 'add' | 'update' | 'none';

export interface UpsertResult {
  action: UpsertAction;
  text: string;
  /** Fields that changed in an existing entry. */
  fields: string[];
}

/** Why the file cannot be edited textually (undefined: it can). */
type Edit = string | { why: string };

/** Exit 2: what we would not do, and the entry to add by hand. */
export function cannotEdit(file: string, c: AwsConnection, why: string): KpoError {
  const entry = entryText(c).trimEnd().split('\n').map((l) => `      ${l}`).join('\n');
  const account = c.roleArn.includes('<account-id>') ? `\n  (<account-id>: your AWS account's 12-digit id: aws sts get-caller-identity --query Account)` : '';
  return new KpoError(
    'SETTINGS_UNEDITABLE',
    `${file}: cannot set connection ${c.connId} without rewriting the file: ${why}. astro-remote-kpo never re-serialises your file; nothing was changed.`,
    `Add (or correct) this entry under airflow: → connections: by hand, then run again:\n${entry}${account}`,
  );
}

const eolOf = (text: string) => (text.includes('\r\n') ? '\r\n' : '\n');
const lineStart = (text: string, pos: number) => text.lastIndexOf('\n', pos - 1) + 1;
const afterLine = (text: string, pos: number) => {
  const nl = text.indexOf('\n', pos);
  return nl < 0 ? text.length : nl + 1;
};
const spaces = (n: number) => ' '.repeat(n);

/** Inserts whole lines at `at` (a line start, or the end of a file without a final newline; a
 * file that is only a UTF-8 BOM is at its first line's start). */
function insertLines(text: string, at: number, block: string, eol: string): string {
  const lead = at > 0 && text[at - 1] !== '\n' && text.slice(0, at) !== '\uFEFF' ? eol : '';
  return text.slice(0, at) + lead + block + text.slice(at);
}

/** Text of a block map to splice in at column `col` (its first line is not indented). Comments
 * before and after the map lie outside the replaced range, so they are left out here. */
function renderMapAt(map: YAMLMap, col: number, eol: string): string {
  const { commentBefore, comment, spaceBefore } = map;
  map.commentBefore = map.comment = undefined;
  map.spaceBefore = undefined;
  try {
    return new Document(map).toString(STRINGIFY).replace(/\n(?=.)/g, `\n${spaces(col)}`).replace(/\n/g, eol);
  } finally {
    Object.assign(map, { commentBefore, comment, spaceBefore });
  }
}

/** The map as one flow-style line (`{ conn_id: aws_eks, ... }`), for a flow list or entry. */
function renderFlow(map: YAMLMap): string {
  visit(map, {
    Map: (_, n) => void (n.flow = true),
    Seq: (_, n) => void (n.flow = true),
  });
  map.flow = true;
  return new Document(map).toString({ ...STRINGIFY, nullStr: 'null' }).trimEnd();
}

const blockItem = (entry: YAMLMap, col: number, eol: string) => `${spaces(col)}- ${renderMapAt(entry, col + 2, eol)}`;

/** An anchor, alias or merge key in our entry: editing it would change (or depend on) other
 * entries, so it is the user's to edit. */
function sharedProblem(entry: YAMLMap): string | undefined {
  let problem: string | undefined;
  if (entry.anchor) problem = `the entry carries the anchor &${entry.anchor}, which other entries may reuse`;
  visit(entry, {
    Alias: () => {
      problem = 'the entry uses an alias (*name) or a merge key (<<: *name)';
      return visit.BREAK;
    },
    Node: (_, n) => {
      if (n !== entry && 'anchor' in n && n.anchor) {
        problem = `the entry holds the anchor &${n.anchor}, which other entries may reuse`;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return problem;
}

function replaceEntry(text: string, p: ParsedSettings, entry: YAMLMap, c: AwsConnection, eol: string): Edit {
  const shared = sharedProblem(entry);
  if (shared) return { why: shared };
  if (!entry.range) return { why: 'the entry has no position in the file' };
  updateEntry(p.doc, entry, c);
  const [start, end] = entry.range;
  if (entry.flow) return text.slice(0, start) + renderFlow(entry) + text.slice(end);
  const rendered = renderMapAt(entry, start - lineStart(text, start), eol);
  // The rendering ends with a line break; the entry's old text did not when it was the file's last
  // line without one: keep the file's end as it was.
  const closed = text.slice(start, end).endsWith('\n') ? rendered : rendered.slice(0, rendered.length - eol.length);
  return text.slice(0, start) + closed + text.slice(end);
}

/** A new item after the last one of a block list, in the list's own indentation. */
function appendToBlockSeq(text: string, seq: YAMLSeq, entry: YAMLMap, eol: string): Edit {
  const last = seq.items.at(-1) as Node | undefined;
  if (!last?.range) return { why: 'its last connection has no position' };
  const keyStart = last.range[0];
  const ls = lineStart(text, keyStart);
  const m = /^( *)-( +)$/.exec(text.slice(ls, keyStart));
  if (!m) return { why: 'the last connection does not start on its own "- " line' };
  const dashCol = m[1]!.length;
  const keyCol = keyStart - ls;
  // After the last entry and any comment lines that belong to it, at the start of a line.
  let at = last.range[2];
  if (/^ *$/.test(text.slice(lineStart(text, at), at))) at = lineStart(text, at);
  const item = `${spaces(dashCol)}-${spaces(keyCol - dashCol - 1)}${renderMapAt(entry, keyCol, eol)}`;
  return insertLines(text, at, item, eol);
}

/** `connections: [a, b]` → `connections: [a, b, { conn_id: aws_eks, ... }]`. */
function appendToFlowSeq(text: string, seq: YAMLSeq, entry: YAMLMap): Edit {
  const flow = renderFlow(entry);
  const last = seq.items.at(-1) as Node | undefined;
  if (last) return last.range ? `${text.slice(0, last.range[1])}, ${flow}${text.slice(last.range[1])}` : { why: 'its last connection has no position' };
  const open = seq.range ? text.indexOf('[', seq.range[0]) : -1;
  if (open < 0) return { why: 'the empty flow list has no position' };
  return text.slice(0, open + 1) + flow + text.slice(open + 1);
}

/** `key:` or `key: null` / `~` → the key with `block` as its value on the lines below. */
function fillNullValue(text: string, pair: Pair, block: string, eol: string): Edit {
  const key = pair.key as Node;
  const value = pair.value as Node | null;
  if (!key.range) return { why: 'a key has no position' };
  let t = text;
  if (value?.range && value.range[1] > value.range[0]) {
    if (lineStart(text, value.range[0]) !== lineStart(text, key.range[0])) return { why: 'a null value is on its own line' };
    t = text.slice(0, value.range[0]) + text.slice(value.range[1]);
  }
  return insertLines(t, afterLine(t, key.range[0]), block, eol);
}

const isNull = (n: unknown) => n === null || n === undefined || (isScalar(n) && n.value === null);
const pairOf = (map: YAMLMap, key: string) => map.items.find((i) => isScalar(i.key) && i.key.value === key);
const colOf = (text: string, n: Node | null) => (n?.range ? n.range[0] - lineStart(text, n.range[0]) : -1);

function addEntry(text: string, p: ParsedSettings, entry: YAMLMap, eol: string): Edit {
  const seq = p.connections;
  if (seq) return seq.flow ? appendToFlowSeq(text, seq, entry) : appendToBlockSeq(text, seq, entry, eol);
  const fresh = () => `airflow:${eol}  connections:${eol}${blockItem(entry, 4, eol)}`;
  const root = p.doc.contents;
  if (isNull(root)) return insertLines(text, text.length, fresh(), eol);
  if (!isMap(root) || root.flow) return { why: 'the file is a flow-style mapping' };
  const airflowPair = pairOf(root, 'airflow');
  if (!airflowPair) return colOf(text, root) === 0 ? insertLines(text, text.length, fresh(), eol) : { why: 'the top-level mapping is indented' };
  const keyCol = colOf(text, airflowPair.key as Node);
  if (isNull(airflowPair.value)) return fillNullValue(text, airflowPair, `${spaces(keyCol + 2)}connections:${eol}${blockItem(entry, keyCol + 4, eol)}`, eol);
  const airflow = airflowPair.value;
  if (!isMap(airflow) || airflow.flow) return { why: '"airflow" is a flow-style mapping' };
  const connsPair = pairOf(airflow, 'connections');
  if (connsPair) return fillNullValue(text, connsPair, blockItem(entry, colOf(text, connsPair.key as Node) + 2, eol), eol);
  // A new `connections:` key after airflow's last one, at its keys' column.
  const col = colOf(text, airflow.items[0]?.key as Node);
  if (col < 0 || !airflow.range) return { why: '"airflow" has no position' };
  let at = airflow.range[2];
  if (/^ *$/.test(text.slice(lineStart(text, at), at))) at = lineStart(text, at);
  return insertLines(text, at, `${spaces(col)}connections:${eol}${blockItem(entry, col + 2, eol)}`, eol);
}

/** The same insertion on the Document: the meaning the textual edit is checked against. */
function insertEntry(p: ParsedSettings, entry: YAMLMap): void {
  if (p.connections) {
    p.connections.items.push(entry);
    return;
  }
  const d = p.doc as unknown as Document;
  const seq = new YAMLSeq();
  seq.items.push(entry);
  if (!isMap(d.contents)) d.contents = new YAMLMap();
  const root = d.contents as YAMLMap;
  const airflow: unknown = root.get('airflow', true);
  if (isMap(airflow)) airflow.set('connections', seq);
  else root.set('airflow', d.createNode({ connections: seq }));
}

/** Upserts the connection into `text` (undefined: no file). Throws SETTINGS_UNEDITABLE (exit 2) on a bad
 * file, on one with two entries for the connection, or on one that cannot be edited without
 * rewriting other bytes. */
export function upsertConnection(text: string | undefined, c: AwsConnection, file: string): UpsertResult {
  // No file: the one `astro dev init` writes. A file that is there, even empty or all comments, is
  // the user's: it gets our entry and keeps every byte it had (no template pools or variables).
  if (text === undefined) return { action: 'create-file', text: defaultSettingsText(c), fields: [] };
  const parsed = parseSettings(text, file);
  const existing = findEntry(parsed, c.connId);
  const fields = existing ? entryDifferences(existing, c) : [];
  if (existing && !fields.length) return { action: 'none', text, fields };
  if (!existing && resolvedConnIds(parsed).includes(c.connId)) throw cannotEdit(file, c, `its ${c.connId} entry is written through an alias or merge key`);
  const eol = eolOf(text);
  let edit: Edit;
  if (existing) {
    edit = replaceEntry(text, parsed, existing, c, eol);
  } else {
    const entry = newEntry(parsed.doc, c);
    edit = addEntry(text, parsed, entry, eol);
    insertEntry(parsed, entry);
  }
  if (typeof edit !== 'string') throw cannotEdit(file, c, edit.why);
  const reparsed = parseDocument(edit, { merge: true });
  if (reparsed.errors.length || !isDeepStrictEqual(reparsed.toJS(), parsed.doc.toJS())) {
    throw cannotEdit(file, c, 'a textual edit of this layout would not mean exactly the new entry');
  }
  return { action: existing ? 'update' : 'add', text: edit, fields };
}

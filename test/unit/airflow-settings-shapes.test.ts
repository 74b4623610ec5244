// airflow_settings.yaml in every valid shape: the edit is textual, and every byte outside our entry
// (or the `null` a new list replaces) is the user's byte, unchanged. Shapes a textual edit cannot
// reach, and aliases or merge keys in our entry, are refused (exit 2) with the entry to add by hand.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KpoError, type ErrorCode } from '../../src/errors.js';
import { upsertConnection } from '../../src/airflow/settings-splice.js';
import type { AwsConnection } from '../../src/airflow/settings-file.js';

const FILE = '/proj/airflow_settings.yaml';
const CONN: AwsConnection = { connId: 'aws_eks', region: 'eu-west-1', roleArn: 'arn:aws:iam::123456789012:role/AstroRemoteKPO' };

/** What changed: the bytes of `before` that were replaced, and the bytes that replaced them
 * (the longest common prefix and suffix are, by definition, kept). */
function diff(before: string, after: string): { removed: string; added: string; prefix: string } {
  let p = 0;
  while (p < before.length && p < after.length && before[p] === after[p]) p++;
  let s = 0;
  while (s < before.length - p && s < after.length - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
  return { removed: before.slice(p, before.length - s), added: after.slice(p, after.length - s), prefix: before.slice(0, p) };
}

function connections(text: string): Array<Record<string, unknown>> {
  return (parse(text.replace(/^\uFEFF/, '')) as { airflow: { connections: Array<Record<string, unknown>> } }).airflow.connections;
}

function ours(text: string, c = CONN): Record<string, unknown> {
  const e = connections(text).find((x) => x.conn_id === c.connId);
  expect(e, text).toBeDefined();
  expect(e!.conn_type).toBe('aws');
  expect(e!.conn_extra).toEqual(expect.objectContaining({ region_name: c.region, role_arn: c.roleArn }));
  for (const f of ['conn_host', 'conn_login', 'conn_password']) expect(e![f] ?? '').toBe('');
  return e!;
}

/** Adds our entry; asserts nothing of `text` was removed (except `mayRemove`), the result is ours,
 * other entries mean what they meant, and a second run changes nothing. */
function addsKeepingEveryByte(text: string, mayRemove = ''): string {
  const r = upsertConnection(text, CONN, FILE);
  expect(r.action).toBe('add');
  // Only insertions, once the replaced null token is taken out of the original.
  const kept = mayRemove ? text.replace(mayRemove, '') : text;
  expect(diff(kept, r.text).removed).toBe('');
  if (mayRemove) expect(r.text).not.toContain(mayRemove);
  ours(r.text);
  const others = (t: string) => connections(t).filter((x) => x.conn_id !== CONN.connId);
  if (text.includes('connections:') && !/connections:\s*(null|~)?\s*(#.*)?\r?\n/i.test(text)) expect(others(r.text)).toEqual(others(text));
  expect(upsertConnection(r.text, CONN, FILE).action).toBe('none');
  return r.text;
}

const BASE = `# header comment
airflow:
  connections: ## required keys
    - conn_id: pg    # trailing comment
      conn_type: postgres
      conn_password: 's3cr3t'
      conn_extra: {"sslmode":   "require"}
  pools:
    - pool_name: p
      pool_slot: 2
  variables:
    - variable_name: v
      variable_value: "x"
`;

describe('airflow_settings.yaml shapes: every byte outside our entry is kept', () => {
  it('CRLF line endings: add and update keep every CRLF and every other byte', () => {
    const crlf = BASE.replace(/\n/g, '\r\n');
    const added = addsKeepingEveryByte(crlf);
    expect(added.replace(/\r\n/g, '')).not.toContain('\n');
    const moved = { ...CONN, region: 'us-west-2' };
    const updated = upsertConnection(added, moved, FILE);
    expect(updated.action).toBe('update');
    expect(updated.text.replace(/\r\n/g, '')).not.toContain('\n');
    const d = diff(added, updated.text);
    expect([d.removed, d.added]).toEqual(['eu-west-1', 'us-west-2']);
    ours(updated.text, moved);
  });

  it('a UTF-8 BOM stays the first bytes of the file', () => {
    const bom = `\uFEFF${BASE}`;
    const out = addsKeepingEveryByte(bom);
    expect(out.startsWith('\uFEFF# header comment\n')).toBe(true);
    expect(Buffer.from(out, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    // and with CRLF as well
    expect(addsKeepingEveryByte(`\uFEFF${BASE.replace(/\n/g, '\r\n')}`).startsWith('\uFEFF# header')).toBe(true);
  });

  it('connections: null / ~ / empty: only the null token is replaced by the new list', () => {
    for (const [value, removed] of [['null', 'null'], ['~', '~'], ['', ''], ['null   # none yet', 'null'], ['NULL', 'NULL']] as const) {
      const text = `airflow:\n  connections: ${value}\n  pools:\n    - pool_name: p\n`;
      const out = addsKeepingEveryByte(text, removed);
      expect(out).toContain('\n  pools:\n    - pool_name: p\n');
      expect(connections(out)).toHaveLength(1);
      if (value.includes('#')) expect(out).toContain('# none yet\n    - conn_id: aws_eks\n');
    }
    // airflow: null, no airflow key, and a comments-only file get the whole block appended
    addsKeepingEveryByte('airflow: null\n', 'null');
    addsKeepingEveryByte('# only comments\n# here\n');
    addsKeepingEveryByte('other: {a: 1}\nairflow:\n  pools: []\n');
    addsKeepingEveryByte('other: 1');
  });

  it('flow-style lists: the entry is added inside the brackets', () => {
    for (const text of [
      'airflow:\n  connections: [{conn_id: x, conn_type: http}]\n  pools: []\n',
      'airflow:\n  connections: []\n',
      'airflow:\n  connections: [\n    {conn_id: x, conn_type: http},   # keep me\n  ]\n',
      'airflow:\r\n  connections: [{conn_id: x, conn_type: http}]\r\n',
    ]) {
      const out = addsKeepingEveryByte(text);
      expect(diff(text, out).added.replace(/^, |, $/g, '')).toMatch(/^\{ conn_id: aws_eks, conn_type: aws, .*role_arn: arn:aws:iam::123456789012:role\/AstroRemoteKPO \} \}$/);
    }
  });

  it('flow-style maps as list items: a block entry is appended after them', () => {
    const text = 'airflow:\n  connections:\n    - {conn_id: x, conn_type: http}\n    - {conn_id: y, conn_type: http, conn_extra: {a: 1}}\n';
    const out = addsKeepingEveryByte(text);
    expect(out.startsWith(text)).toBe(true);
    expect(out.slice(text.length)).toMatch(/^ {4}- conn_id: aws_eks\n {6}conn_type: aws\n/);
  });

  it('an existing flow-style aws_eks entry is rewritten in flow style, in place', () => {
    const text = 'airflow:\n  connections:\n    - {conn_id: pg, conn_type: postgres}  # pg\n    - {conn_id: aws_eks, conn_type: http, conn_login: AKIAOLD, conn_extra: {endpoint_url: "http://x"}}   # ours\n  pools: []\n';
    const r = upsertConnection(text, CONN, FILE);
    expect(r.action).toBe('update');
    const d = diff(text, r.text);
    const entryStart = text.indexOf('{conn_id: aws_eks');
    const entryEnd = text.indexOf('   # ours');
    // Only bytes inside the old entry's braces changed.
    expect(d.prefix.length).toBeGreaterThanOrEqual(entryStart);
    expect(text.length - (d.prefix.length + d.removed.length)).toBeGreaterThanOrEqual(text.length - entryEnd);
    expect(r.text).toContain('   # ours\n  pools: []\n');
    const e = ours(r.text);
    expect(e.conn_extra).toEqual({ endpoint_url: 'http://x', region_name: CONN.region, role_arn: CONN.roleArn });
    expect(upsertConnection(r.text, CONN, FILE).action).toBe('none');
    // and inside a flow list
    const inFlow = 'airflow:\n  connections: [{conn_id: aws_eks, conn_type: http}, {conn_id: z}]\n';
    const f = upsertConnection(inFlow, CONN, FILE);
    expect(f.text.endsWith(', {conn_id: z}]\n')).toBe(true);
    ours(f.text);
  });

  it('our entry as the last line of a file without a final newline: the update adds none', () => {
    const added = addsKeepingEveryByte(BASE).replace(/\n$/, '');
    expect(added.endsWith('\n')).toBe(false);
    const moved = { ...CONN, region: 'us-west-2' };
    const updated = upsertConnection(added, moved, FILE);
    expect(updated.action).toBe('update');
    expect([diff(added, updated.text).removed, diff(added, updated.text).added]).toEqual(['eu-west-1', 'us-west-2']);
    ours(updated.text, moved);
  });

  it('aliases elsewhere in the file are kept byte for byte', () => {
    const text = 'base: &b {conn_type: http}\nairflow:\n  connections:\n    - conn_id: other\n      <<: *b\n';
    addsKeepingEveryByte(text);
  });
});

/** The exit-2 error upserting into `text` throws, with `code` (the test fails if it throws none). */
function usageErrorOf(text: string, code: ErrorCode, c: AwsConnection = CONN): KpoError {
  let err: unknown;
  try {
    upsertConnection(text, c, FILE);
  } catch (e) {
    err = e;
  }
  expect(err, text).toBeInstanceOf(KpoError);
  expect((err as KpoError).code, text).toBe(code);
  expect((err as KpoError).exitCode).toBe(2);
  return err as KpoError;
}

describe('airflow_settings.yaml: what is refused (exit 2, the entry to add by hand)', () => {
  const refused = (text: string, why: RegExp) => {
    const u = usageErrorOf(text, 'SETTINGS_UNEDITABLE');
    // Why it cannot be edited: the code says that it cannot, the message says why.
    expect(u.message).toMatch(why);
    expect(u.message).toContain('nothing was changed');
    // The hint is the exact entry, ready to paste.
    expect(u.hint).toContain('- conn_id: aws_eks\n');
    expect(u.hint).toContain('role_arn: arn:aws:iam::123456789012:role/AstroRemoteKPO');
  };

  it('a merge key or an alias inside our entry', () => {
    refused('x: &base {conn_type: aws}\nairflow:\n  connections:\n    - conn_id: aws_eks\n      <<: *base\n      conn_host: h\n', /alias|merge key/);
    refused('r: &r eu-west-1\nairflow:\n  connections:\n    - conn_id: aws_eks\n      conn_type: aws\n      conn_extra:\n        region_name: *r\n        role_arn: arn:aws:iam::123456789012:role/Old\n', /alias/);
    refused('airflow:\n  connections:\n    - &mine\n      conn_id: aws_eks\n      conn_type: http\n    - *mine\n', /anchor|alias/);
  });

  it('our entry written wholly through an alias or a merge key', () => {
    refused('e: &e {conn_id: aws_eks, conn_type: http}\nairflow:\n  connections:\n    - *e\n', /alias or merge key/);
    refused('e: &e {conn_id: aws_eks, conn_type: http}\nairflow:\n  connections:\n    - <<: *e\n', /alias or merge key/);
  });

  it('a flow-style airflow mapping without a connections list', () => {
    refused('{airflow: {pools: []}}\n', /flow-style/);
    refused('airflow: {pools: []}\n', /flow-style/);
  });
});

describe('airflow_settings.yaml: two entries for our conn_id (exit 2, both named, nothing chosen)', () => {
  const twice = (text: string, c: AwsConnection = CONN): KpoError => {
    const u = usageErrorOf(text, 'SETTINGS_DUPLICATE_CONNECTION', c);
    expect(u.message).toContain('Nothing was changed.');
    expect(u.hint).toMatch(/Delete all but one of them .*or pass --conn-id <another id>/);
    return u;
  };

  it('two block entries: both lines named, whichever of them already matches', () => {
    const e = twice(`${BASE.replace('  pools:', '    - conn_id: aws_eks\n      conn_type: aws\n    - conn_id: aws_eks\n      conn_type: http\n  pools:')}`);
    expect(e.message).toContain(`${FILE} has 2 connections with conn_id aws_eks (line 8 and line 10)`);
    expect(e.message).toMatch(/astro dev would load the first of them while Airflow has no aws_eks connection and the last once it has one/);
    // The first one already being right changes nothing: the second would still be loaded.
    const right = upsertConnection('', CONN, FILE).text;
    twice(`${right}    - conn_id: aws_eks\n      conn_type: http\n`);
  });

  it('the chosen --conn-id twice; other conn_ids twice are not ours to judge', () => {
    const prod = { ...CONN, connId: 'aws_eks_prod' };
    const text = 'airflow:\n  connections:\n    - conn_id: aws_eks_prod\n    - conn_id: x\n    - conn_id: x\n    - conn_id: aws_eks_prod\n      conn_type: aws\n    - conn_id: aws_eks_prod\n';
    expect(twice(text, prod).message).toContain('has 3 connections with conn_id aws_eks_prod (line 3, line 6 and line 8)');
    expect(upsertConnection(text, CONN, FILE).action).toBe('add');
  });

  it('on one line (flow style) the columns say which; through an alias or merge key it still counts', () => {
    expect(twice('airflow:\n  connections: [{conn_id: aws_eks}, {conn_id: aws_eks, conn_type: aws}]\n').message).toContain('(line 2 column 17 and line 2 column 37)');
    expect(twice('e: &e {conn_id: aws_eks, conn_type: http}\nairflow:\n  connections:\n    - *e\n    - conn_id: aws_eks\n').message).toContain('(line 4 and line 5)');
    expect(twice('e: &e {conn_id: aws_eks, conn_type: http}\nairflow:\n  connections:\n    - <<: *e\n    - conn_id: aws_eks\n').message).toContain('(line 4 and line 5)');
  });
});

// airflow_settings.yaml: the aws_eks entry is upserted and nothing else in the file moves.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KpoError } from '../../src/errors.js';
import { defaultSettingsText, entryText, parseSettings, type AwsConnection } from '../../src/airflow/settings-file.js';
import { upsertConnection } from '../../src/airflow/settings-splice.js';

const FILE = '/proj/airflow_settings.yaml';
const CONN: AwsConnection = { connId: 'aws_eks', region: 'eu-west-1', roleArn: 'arn:aws:iam::123456789012:role/AstroRemoteKPO' };

// A realistic file: the Astro header, comments everywhere, two other connections (one with a
// JSON-text extra and odd spacing that a re-serialiser would normalise), pools and variables.
const REALISTIC = `# This file allows you to configure Airflow Connections, Pools, and Variables in a single place for local development only.
# NOTE: json dicts can be added to the conn_extra field as yaml key value pairs. See the example below.

airflow:
  connections: ## conn_id and conn_type are required
    # Local Postgres
    - conn_id: my_postgres   # the warehouse
      conn_type: postgres
      conn_host: 'db.example.com'
      conn_schema: "airflow"
      conn_login: user
      conn_password: pw
      conn_port: 5432
      conn_extra:
        sslmode: require

    - conn_id: http_default
      conn_type: http
      conn_host: https://api.example.com/a/very/long/path/that/goes/on/and/on/and/on/for/more/than/eighty/characters
      conn_extra: {"timeout": 30,   "verify": false}
      # trailing note about http_default
  pools: ## pool_name and pool_slot are required
    - pool_name: small_pool
      pool_slot: 2
      pool_description:
  variables: ## variable_name and variable_value are required
    - variable_name: env
      variable_value: dev
    - variable_name: flag
      variable_value: yes
`;

function connectionsOf(text: string): Array<Record<string, unknown>> {
  return (parse(text) as { airflow: { connections: Array<Record<string, unknown>> } }).airflow.connections;
}

function expectOurEntry(text: string, c = CONN) {
  const entry = connectionsOf(text).find((e) => e.conn_id === c.connId);
  expect(entry).toBeDefined();
  expect(entry!.conn_type).toBe('aws');
  expect(entry!.conn_extra).toEqual({ region_name: c.region, role_arn: c.roleArn });
  for (const f of ['conn_host', 'conn_schema', 'conn_login', 'conn_password', 'conn_port']) {
    expect(f in entry!).toBe(true);
    expect(entry![f] ?? '').toBe('');
  }
  return entry!;
}

describe('upsertConnection', () => {
  it('adds the entry to a realistic file: only new lines appear, every other byte is kept', () => {
    const r = upsertConnection(REALISTIC, CONN, FILE);
    expect(r.action).toBe('add');
    expectOurEntry(r.text);
    // The new entry is inserted as one block after the last connection (and its comment).
    const anchor = '      # trailing note about http_default\n';
    const cut = REALISTIC.indexOf(anchor) + anchor.length;
    expect(r.text.startsWith(REALISTIC.slice(0, cut))).toBe(true);
    expect(r.text.endsWith(REALISTIC.slice(cut))).toBe(true);
    const inserted = r.text.slice(cut, r.text.length - (REALISTIC.length - cut));
    expect(inserted).toBe(
      [
        '    - conn_id: aws_eks',
        '      conn_type: aws',
        '      conn_host:',
        '      conn_schema:',
        '      conn_login:',
        '      conn_password:',
        '      conn_port:',
        '      conn_extra:',
        '        region_name: eu-west-1',
        '        role_arn: arn:aws:iam::123456789012:role/AstroRemoteKPO',
        '',
      ].join('\n'),
    );
    // Other connections, pools and variables parse to exactly what they were.
    const before = parse(REALISTIC) as { airflow: Record<string, unknown[]> };
    const after = parse(r.text) as { airflow: Record<string, unknown[]> };
    expect(after.airflow.connections!.slice(0, 2)).toEqual(before.airflow.connections);
    expect(after.airflow.pools).toEqual(before.airflow.pools);
    expect(after.airflow.variables).toEqual(before.airflow.variables);
  });

  it('is idempotent: a second upsert changes nothing', () => {
    const once = upsertConnection(REALISTIC, CONN, FILE).text;
    const twice = upsertConnection(once, CONN, FILE);
    expect(twice.action).toBe('none');
    expect(twice.text).toBe(once);
  });

  it('updates an existing aws_eks entry in place, keeping its comments and position', () => {
    const withOld = REALISTIC.replace(
      '  pools:',
      [
        '    # the remote cluster',
        '    - conn_id: aws_eks   # managed by astro-remote-kpo',
        '      conn_type: aws',
        '      conn_login: AKIAOLDKEY',
        '      conn_extra:',
        '        region_name: us-east-1',
        '        role_arn: arn:aws:iam::123456789012:role/OldRole',
        '        endpoint_url: http://localhost:4566',
        '      # after the entry',
        '  pools:',
      ].join('\n'),
    );
    const r = upsertConnection(withOld, CONN, FILE);
    expect(r.action).toBe('update');
    expect(r.fields.sort()).toEqual(['conn_extra', 'conn_login']);
    const entry = connectionsOf(r.text)[2]!;
    expect(entry.conn_id).toBe('aws_eks');
    expect(entry.conn_login ?? '').toBe('');
    expect(entry.conn_extra).toEqual({ region_name: 'eu-west-1', role_arn: CONN.roleArn, endpoint_url: 'http://localhost:4566' });
    expect(r.text).toContain('    # the remote cluster\n    - conn_id: aws_eks # managed by astro-remote-kpo\n');
    expect(r.text.split('# the remote cluster')).toHaveLength(2);
    expect(r.text.split('# after the entry')).toHaveLength(2);
    // Everything before and after the entry is byte-identical.
    const start = withOld.indexOf('    # the remote cluster');
    const end = withOld.indexOf('  pools:');
    expect(r.text.startsWith(withOld.slice(0, start))).toBe(true);
    expect(r.text.endsWith(withOld.slice(end))).toBe(true);
    expect(upsertConnection(r.text, CONN, FILE).action).toBe('none');
  });

  it('replaces a JSON-text conn_extra with a mapping that keeps its other keys', () => {
    const text = 'airflow:\n  connections:\n    - conn_id: aws_eks\n      conn_type: aws\n      conn_extra: \'{"region_name": "x", "verify": false}\'\n';
    const r = upsertConnection(text, CONN, FILE);
    expect(r.action).toBe('update');
    expect(connectionsOf(r.text)[0]!.conn_extra).toEqual({ region_name: 'eu-west-1', role_arn: CONN.roleArn, verify: false });
  });

  it('creates the file in the Astro CLI default shape when it is missing', () => {
    const r = upsertConnection(undefined, CONN, FILE);
    expect(r.action).toBe('create-file');
    expect(r.text).toBe(defaultSettingsText(CONN));
    expect(r.text.startsWith('# This file allows you to configure Airflow Connections, Pools, and Variables')).toBe(true);
    const parsed = parse(r.text) as { airflow: Record<string, unknown> };
    expect(Object.keys(parsed.airflow)).toEqual(['connections', 'pools', 'variables']);
    expect(connectionsOf(r.text)).toHaveLength(1);
    expectOurEntry(r.text);
    expect(r.text).toContain('\n  connections:\n    - conn_id: aws_eks\n      conn_type: aws\n      conn_host:\n');
  });

  it('an empty file gets only our entry: no template header, pools or variables', () => {
    const r = upsertConnection('', CONN, FILE);
    expect(r.action).toBe('add');
    expect(r.text).toBe(`airflow:\n  connections:\n${entryText(CONN).replace(/^(?=.)/gm, '    ')}`);
    expect(Object.keys((parse(r.text) as { airflow: Record<string, unknown> }).airflow)).toEqual(['connections']);
    expect(r.text).not.toContain('pool_name');
    expect(r.text).not.toContain('variable_name');
    expectOurEntry(r.text);
    expect(upsertConnection(r.text, CONN, FILE).action).toBe('none');
  });

  it('a whitespace-only, comment-only or BOM-only file keeps every byte and gets only our entry after them', () => {
    const ours = `airflow:\n  connections:\n${entryText(CONN).replace(/^(?=.)/gm, '    ')}`;
    const cases: Array<[string, string]> = [
      ['\n  \n', `\n  \n${ours}`],
      ['  ', `  \n${ours}`],
      ['\t\n', `\t\n${ours}`],
      ['# local settings go here\n', `# local settings go here\n${ours}`],
      ['# no final newline', `# no final newline\n${ours}`],
      ['---\n# a document marker and a comment\n', `---\n# a document marker and a comment\n${ours}`],
      ['\uFEFF', `\uFEFF${ours}`],
      ['\r\n# windows\r\n', `\r\n# windows\r\n${ours.replace(/\n/g, '\r\n')}`],
    ];
    for (const [input, want] of cases) {
      const r = upsertConnection(input, CONN, FILE);
      expect(r.action, JSON.stringify(input)).toBe('add');
      expect(r.text, JSON.stringify(input)).toBe(want);
      expectOurEntry(r.text);
    }
  });

  it('handles the shapes the splice cannot (no airflow key, null connections, empty list, comments only)', () => {
    const cases = [
      '# only a comment\n',
      'other: 1\n',
      'airflow:\n',
      'airflow:\n  connections:\n  pools: []\n',
      'airflow:\n  connections: []\n  variables:\n    - variable_name: a\n      variable_value: b\n',
      'airflow:\n  connections: [{conn_id: x, conn_type: http}]\n',
    ];
    for (const text of cases) {
      const r = upsertConnection(text, CONN, FILE);
      expect(r.action).toBe('add');
      expectOurEntry(r.text);
      expect(upsertConnection(r.text, CONN, FILE).action).toBe('none');
    }
    expect(upsertConnection(cases[0], CONN, FILE).text).toContain('# only a comment');
    expect((parse(upsertConnection(cases[1]!, CONN, FILE).text) as { other: number }).other).toBe(1);
    expect(connectionsOf(upsertConnection(cases[5]!, CONN, FILE).text)[0]).toEqual({ conn_id: 'x', conn_type: 'http' });
  });

  it('appends after a last entry at end of file without a trailing newline, and in other indentations', () => {
    const noNl = 'airflow:\n  connections:\n  - conn_id: a\n    conn_type: http';
    const r = upsertConnection(noNl, CONN, FILE);
    expect(r.text.startsWith(noNl + '\n  - conn_id: aws_eks\n    conn_type: aws\n')).toBe(true);
    expectOurEntry(r.text);
    const wide = 'airflow:\n    connections:\n        -   conn_id: a\n            conn_type: http\n';
    const w = upsertConnection(wide, CONN, FILE);
    expect(w.text.startsWith(wide + '        -   conn_id: aws_eks\n            conn_type: aws\n')).toBe(true);
    expectOurEntry(w.text);
  });

  it('keeps CRLF line endings of a Windows-edited file', () => {
    const crlf = REALISTIC.replace(/\n/g, '\r\n');
    const added = upsertConnection(crlf, CONN, FILE);
    expect(added.text.replace(/\r\n/g, '')).not.toContain('\n');
    expectOurEntry(added.text);
    const moved = { ...CONN, region: 'us-west-2' };
    const updated = upsertConnection(added.text, moved, FILE);
    expect(updated.action).toBe('update');
    expect(updated.text.replace(/\r\n/g, '')).not.toContain('\n');
    expectOurEntry(updated.text, moved);
  });

  it('a different conn id gets its own entry and leaves aws_eks alone', () => {
    const first = upsertConnection(undefined, CONN, FILE).text;
    const other = { ...CONN, connId: 'aws_eks_prod' };
    const r = upsertConnection(first, other, FILE);
    expect(r.action).toBe('add');
    expectOurEntry(r.text, CONN);
    expectOurEntry(r.text, other);
  });
});

describe('parseSettings errors', () => {
  const failsWith = (text: string, pattern: RegExp) => {
    let err: unknown;
    try {
      parseSettings(text, FILE);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'SETTINGS_INVALID', exitCode: 2 });
    // Where the problem is: file, line and column.
    expect((err as KpoError).message).toMatch(pattern);
    // upsert refuses the same way (it never produces text for a bad file)
    expect(() => upsertConnection(text, CONN, FILE)).toThrow(expect.objectContaining({ code: 'SETTINGS_INVALID' }));
  };

  it('names the file, line and column of a YAML syntax error', () => {
    failsWith('airflow:\n  connections:\n    - conn_id: a\n      conn_extra: {"a": 1\n  pools: []\n', /\/proj\/airflow_settings\.yaml line \d+, column \d+: not valid YAML/);
  });

  it('rejects connections that is not a list, naming its line', () => {
    failsWith('# header\nairflow:\n  connections: {}\n', /airflow_settings\.yaml line 3, column 16: "airflow\.connections" must be a list, found a mapping/);
    failsWith('airflow:\n  pools: []\n  connections: aws_eks\n', /line 3, column 16: "airflow\.connections" must be a list, found the value "aws_eks"/);
  });

  it('rejects a file whose root or airflow key is not a mapping', () => {
    failsWith('- a\n- b\n', /line 1, column 1: the file must be a mapping/);
    failsWith('airflow: [1]\n', /line 1, column 10: "airflow" must be a mapping, found a list/);
  });
});

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigMapObject, KubeApi } from '../../src/kube/api.js';
import { KubeRequestError, kubeConflict } from '../../src/kube/errors.js';
import { expectCode } from '../support/failure.js';
import {
  appendMapRole,
  ensureAwsAuthMapping,
  findMapping,
  parseMapRoles,
  planAwsAuthChange,
  readAwsAuthMapping,
} from '../../src/kube/aws-auth.js';
import { EXISTING, OURS } from '../fixtures/aws-auth.js';

describe('appendMapRole', () => {
  it('keeps three existing entries and their comments byte-for-byte and appends exactly one entry', () => {
    const next = appendMapRole(EXISTING, OURS);
    expect(next.startsWith(EXISTING)).toBe(true);
    expect(next.slice(EXISTING.length)).toBe(`- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n`);
    const entries = parseMapRoles(next);
    expect(entries).toHaveLength(3);
    expect(entries.slice(0, 2)).toEqual(parseMapRoles(EXISTING));
    expect(entries[2]).toEqual(OURS);
  });

  it('appends at the indentation the existing list uses', () => {
    const indented = '    - rolearn: arn:aws:iam::123456789012:role/Node\n      username: node\n';
    const next = appendMapRole(indented, OURS);
    expect(next).toBe(`${indented}    - rolearn: ${OURS.rolearn}\n      username: ${OURS.username}\n`);
    expect(parseMapRoles(next)).toHaveLength(2);
  });

  it('adds the missing newline before appending', () => {
    const noEol = '- rolearn: arn:aws:iam::123456789012:role/Node\n  username: node';
    const next = appendMapRole(noEol, OURS);
    expect(next.startsWith(`${noEol}\n`)).toBe(true);
    expect(parseMapRoles(next).map((e) => e.username)).toEqual(['node', OURS.username]);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['whitespace', '  \n'],
    ['empty flow list', '[]\n'],
  ])('handles %s mapRoles with just our entry', (_label, text) => {
    const next = appendMapRole(text, OURS);
    expect(parseMapRoles(next)).toEqual([OURS]);
  });

  it('keeps a comment-only mapRoles text and appends after it', () => {
    const text = '# nothing here yet\n';
    const next = appendMapRole(text, OURS);
    expect(next.startsWith(text)).toBe(true);
    expect(parseMapRoles(next)).toEqual([OURS]);
  });

  it('appends to a non-empty flow list while keeping its entries', () => {
    const text = '[{rolearn: "arn:aws:iam::123456789012:role/Node", username: node}]';
    const next = appendMapRole(text, OURS);
    expect(parseMapRoles(next)).toEqual([{ rolearn: 'arn:aws:iam::123456789012:role/Node', username: 'node' }, OURS]);
  });

  it('quotes a username YAML would otherwise read as something else', () => {
    const next = appendMapRole('', { rolearn: OURS.rolearn, username: 'true' });
    expect(parseMapRoles(next)).toEqual([{ rolearn: OURS.rolearn, username: 'true' }]);
  });

  it.each([
    ['invalid YAML', '- rolearn: [unclosed\n  username: x\n'],
    ['a mapping instead of a list', 'rolearn: arn:aws:iam::123456789012:role/X\nusername: x\n'],
    ['an entry without rolearn', '- username: x\n'],
  ])('refuses %s', async (_label, text) => {
    await expectCode(() => appendMapRole(text, OURS), 'AWS_AUTH_UNEDITABLE');
  });
});

describe('findMapping', () => {
  const entries = parseMapRoles(EXISTING);
  it('absent when no entry has the ARN', () => expect(findMapping(entries, OURS)).toEqual({ state: 'absent' }));
  it('present with the same ARN (any case) and username', () => {
    expect(findMapping([...entries, { rolearn: OURS.rolearn.toLowerCase(), username: OURS.username }], OURS)).toEqual({ state: 'present', groups: [] });
  });
  it('shadowed when the ARN maps to another username', () => {
    expect(findMapping([...entries, { rolearn: OURS.rolearn, username: 'someone-else' }], OURS)).toEqual({
      state: 'shadowed',
      existingUsername: 'someone-else',
      entries: [{ username: 'someone-else', groups: [] }],
    });
  });
  it('shadowed lists every entry for the role with its groups, ours included', () => {
    const all = [...entries, { rolearn: OURS.rolearn, username: OURS.username }, { rolearn: OURS.rolearn, username: 'admin', groups: ['system:masters', 'ops'] }];
    expect(findMapping(all, OURS)).toMatchObject({
      entries: [
        { username: OURS.username, groups: [] },
        { username: 'admin', groups: ['system:masters', 'ops'] },
      ],
    });
  });
});

describe('planAwsAuthChange', () => {
  const cm = (mapRoles: string | undefined, extra: Record<string, string> = {}): ConfigMapObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'aws-auth', namespace: 'kube-system', resourceVersion: '42' },
    data: { ...(mapRoles === undefined ? {} : { mapRoles }), ...extra },
  });

  it('creates the ConfigMap with only our entry when it is missing', () => {
    const c = planAwsAuthChange(undefined, OURS);
    expect(c.kind).toBe('create');
    if (c.kind !== 'create') return;
    expect(parseMapRoles(c.body.data?.mapRoles)).toEqual([OURS]);
  });

  it('keeps mapUsers, mapAccounts and the resourceVersion untouched', () => {
    const before = cm(EXISTING, { mapUsers: '- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n', mapAccounts: '- "111122223333"\n' });
    const c = planAwsAuthChange(before, OURS);
    expect(c.kind).toBe('update');
    if (c.kind !== 'update') return;
    expect(c.body.metadata?.resourceVersion).toBe('42');
    expect(c.body.data?.mapUsers).toBe(before.data?.mapUsers);
    expect(c.body.data?.mapAccounts).toBe(before.data?.mapAccounts);
    expect(c.body.data?.mapRoles?.startsWith(EXISTING)).toBe(true);
    // the object that was read is not modified (it is what gets backed up)
    expect(before.data?.mapRoles).toBe(EXISTING);
  });

  it('does nothing when the entry is already there (no duplicate)', () => {
    const present = appendMapRole(EXISTING, OURS);
    expect(planAwsAuthChange(cm(present), OURS)).toEqual({ kind: 'present' });
  });

  it('refuses to shadow an entry with another username', async () => {
    const shadow = `${EXISTING}- rolearn: ${OURS.rolearn}\n  username: other-user\n`;
    const e = await expectCode(() => planAwsAuthChange(cm(shadow), OURS), 'MAPPING_OTHER_USER');
    expect(e.message).toContain('other-user');
  });

  it('a refusal names the username and every group at once; --k8s-user is offered only when it would fix it', async () => {
    const withGroups = `${EXISTING}- rolearn: ${OURS.rolearn}\n  username: admin\n  groups:\n  - system:masters\n  - ops\n`;
    const e = await expectCode(() => planAwsAuthChange(cm(withGroups), OURS), 'MAPPING_OTHER_USER');
    expect(e.message).toContain('username "admin" with groups system:masters, ops');
    expect(e.hint).not.toContain('--k8s-user');
    expect(e.hint).toContain(`- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}`);
    expect(e.hint).toContain('username admin, group system:masters, group ops');
    const plain = `${EXISTING}- rolearn: ${OURS.rolearn}\n  username: other-user\n`;
    expect(() => planAwsAuthChange(cm(plain), OURS)).toThrow(expect.objectContaining({ hint: expect.stringContaining('Use --k8s-user other-user') }));
    // A username --k8s-user may not take (reserved) is never offered.
    const reserved = `${EXISTING}- rolearn: ${OURS.rolearn}\n  username: system:node:{{EC2PrivateDNSName}}\n`;
    expect(() => planAwsAuthChange(cm(reserved), OURS)).toThrow(expect.objectContaining({ hint: expect.not.stringContaining('--k8s-user') }));
  });

  it('adds mapRoles when the ConfigMap has none', () => {
    const c = planAwsAuthChange(cm(undefined, { mapUsers: '[]' }), OURS);
    expect(c.kind === 'update' && c.body.data).toEqual({ mapUsers: '[]', mapRoles: `- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n` });
  });
});

/** A small in-memory ConfigMap store with resourceVersion checks, like the API server's. */
function memoryKube(initial?: ConfigMapObject, opts: { conflicts?: number; concurrentEdit?: string } = {}) {
  let current = initial ? structuredClone(initial) : undefined;
  let rv = 100;
  let conflicts = opts.conflicts ?? 0;
  const writes: ConfigMapObject[] = [];
  const api: Pick<KubeApi, 'readConfigMap' | 'createConfigMap' | 'replaceConfigMap'> = {
    async readConfigMap() {
      return current ? structuredClone(current) : undefined;
    },
    async createConfigMap(_ns, body) {
      // As the API server answers (and KubeClient throws) a create of an existing object.
      if (current) throw new KubeRequestError('create configmaps kube-system/aws-auth failed: HTTP 409 AlreadyExists: configmaps "aws-auth" already exists', 409, 'AlreadyExists');
      current = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      writes.push(structuredClone(body));
      return structuredClone(current);
    },
    async replaceConfigMap(_ns, _name, body) {
      if (conflicts > 0) {
        conflicts--;
        // another writer got there first
        if (current && opts.concurrentEdit !== undefined) current.data = { ...current.data, mapRoles: `${current.data?.mapRoles ?? ''}${opts.concurrentEdit}` };
        if (current) current.metadata = { ...current.metadata, resourceVersion: String(++rv) };
      }
      if (body.metadata?.resourceVersion !== current?.metadata?.resourceVersion) throw kubeConflict('the object has been modified');
      writes.push(structuredClone(body));
      current = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      return structuredClone(current);
    },
  };
  return { api: api as KubeApi, writes, get current() { return current; } };
}

describe('ensureAwsAuthMapping', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kpo-aws-auth-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const base: ConfigMapObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'aws-auth', namespace: 'kube-system', resourceVersion: '7' },
    data: { mapRoles: EXISTING, mapUsers: '- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n' },
  };

  it('backs up the ConfigMap as read before the update, then appends', async () => {
    const k = memoryKube(base);
    const r = await ensureAwsAuthMapping(k.api, OURS, { backupDir: dir, now: () => new Date('2030-01-02T03:04:05.678Z') });
    expect(r).toMatchObject({ changed: true, createdConfigMap: false });
    expect(r.backupFile).toBe(path.join(dir, 'aws-auth-2030-01-02T03-04-05-678Z.json'));
    expect(JSON.parse(await readFile(r.backupFile!, 'utf8'))).toEqual(base);
    expect(k.writes).toHaveLength(1);
    expect(k.current?.data?.mapRoles?.startsWith(EXISTING)).toBe(true);
    expect(parseMapRoles(k.current?.data?.mapRoles)).toHaveLength(3);
    expect(k.current?.data?.mapUsers).toBe(base.data?.mapUsers);
  });

  it('is a no-op the second time', async () => {
    const k = memoryKube(base);
    await ensureAwsAuthMapping(k.api, OURS, { backupDir: dir });
    const again = await ensureAwsAuthMapping(k.api, OURS, { backupDir: dir });
    expect(again.changed).toBe(false);
    expect(k.writes).toHaveLength(1);
    expect(parseMapRoles(k.current?.data?.mapRoles).filter((e) => e.rolearn === OURS.rolearn)).toHaveLength(1);
  });

  it('re-reads after a conflict and keeps the other writer’s entry', async () => {
    const otherEntry = '- rolearn: arn:aws:iam::123456789012:role/AddedMeanwhile\n  username: meanwhile\n';
    const k = memoryKube(base, { conflicts: 1, concurrentEdit: otherEntry });
    const r = await ensureAwsAuthMapping(k.api, OURS, { backupDir: dir });
    expect(r.changed).toBe(true);
    const users = parseMapRoles(k.current?.data?.mapRoles).map((e) => e.username);
    expect(users).toEqual(['system:node:{{EC2PrivateDNSName}}', 'platform-admin', 'meanwhile', OURS.username]);
    expect((await readdir(dir)).length).toBe(2);
  });

  it('gives up after the bounded number of conflicts without writing', async () => {
    const k = memoryKube(base, { conflicts: 10 });
    await expectCode(ensureAwsAuthMapping(k.api, OURS, { backupDir: dir, maxAttempts: 3 }), 'KUBE_CONFLICT');
    expect(k.writes).toHaveLength(0);
  });

  it('creates aws-auth when it does not exist', async () => {
    const k = memoryKube(undefined);
    const r = await ensureAwsAuthMapping(k.api, OURS, { backupDir: dir, projectId: 'p-1' });
    // What it found (nothing) and wrote: destroy deletes the ConfigMap again when nobody changed it.
    expect(r).toEqual({ changed: true, createdConfigMap: true, mapRolesBefore: null, mapRolesWritten: k.current?.data?.mapRoles });
    expect(parseMapRoles(k.current?.data?.mapRoles)).toEqual([OURS]);
    // Made by init: it carries the creation marker, as every object init creates.
    expect(k.current?.metadata).toMatchObject({ labels: { 'app.kubernetes.io/managed-by': 'astro-remote-kpo' }, annotations: { 'astro-remote-kpo/project-id': 'p-1' } });
  });

  it('writes nothing (not even a backup) when refusing to shadow or when mapRoles is malformed', async () => {
    for (const [mapRoles, code] of [[`${EXISTING}- rolearn: ${OURS.rolearn}\n  username: other\n`, 'MAPPING_OTHER_USER'], ['- rolearn: [oops\n', 'AWS_AUTH_UNEDITABLE']] as const) {
      const k = memoryKube({ ...base, data: { mapRoles } });
      await expectCode(ensureAwsAuthMapping(k.api, OURS, { backupDir: dir }), code);
      expect(k.writes).toHaveLength(0);
      expect(k.current?.data?.mapRoles).toBe(mapRoles);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('readAwsAuthMapping reports present/absent/shadowed', async () => {
    expect(await readAwsAuthMapping(memoryKube(undefined).api, OURS)).toEqual({ state: 'absent', configMapExists: false });
    expect(await readAwsAuthMapping(memoryKube(base).api, OURS)).toEqual({ state: 'absent', configMapExists: true });
    const withOurs = { ...base, data: { mapRoles: appendMapRole(EXISTING, OURS) } };
    expect(await readAwsAuthMapping(memoryKube(withOurs).api, OURS)).toEqual({ state: 'present', groups: [], configMapExists: true });
  });
});

const cm = (mapRoles: string): ConfigMapObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'aws-auth', namespace: 'kube-system', resourceVersion: '7' },
  data: { mapRoles },
});

describe('aws-auth shapes: the "..." document end and a null mapRoles', () => {
  it('appends before a "..." document-end marker, every old byte kept', () => {
    const text = `${EXISTING}...\n`;
    const next = appendMapRole(text, OURS);
    expect(next).toBe(`${EXISTING}- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n...\n`);
    expect(parseMapRoles(next)).toEqual([...parseMapRoles(EXISTING), OURS]);
  });

  it('"..." with a trailing comment, CRLF, no final newline, and after a "---" start marker', () => {
    const crlf = `---\r\n- rolearn: arn:aws:iam::123456789012:role/A\r\n  username: a\r\n... # end\r\n# after`;
    const next = appendMapRole(crlf, OURS);
    expect(next).toBe(`---\r\n- rolearn: arn:aws:iam::123456789012:role/A\r\n  username: a\r\n- rolearn: ${OURS.rolearn}\r\n  username: ${OURS.username}\r\n... # end\r\n# after`);
    const noEol = `- rolearn: arn:aws:iam::123456789012:role/A\n  username: a\n...`;
    expect(appendMapRole(noEol, OURS)).toBe(`- rolearn: arn:aws:iam::123456789012:role/A\n  username: a\n- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n...`);
  });

  it('a comment-only value ending with "..." keeps the comment and the marker', () => {
    expect(appendMapRole('# none yet\n...\n', OURS)).toBe(`# none yet\n- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n...\n`);
  });

  it.each(['~', '~\n', 'null\n', 'Null', '# nobody yet\n~\n', '~ # nothing\n'])('mapRoles %j is an empty list and gets exactly our entry', (text) => {
    expect(parseMapRoles(text)).toEqual([]);
    const next = appendMapRole(text, OURS);
    expect(parseMapRoles(next)).toEqual([OURS]);
    // Comments around the null survive.
    for (const c of text.match(/#.*$/gm) ?? []) expect(next).toContain(c);
    expect(planAwsAuthChange(cm(text), OURS)).toMatchObject({ kind: 'update' });
  });

  it('still refuses what is not a list (a mapping, a string)', async () => {
    await expectCode(() => appendMapRole('rolearn: x\n', OURS), 'AWS_AUTH_UNEDITABLE');
    await expectCode(() => parseMapRoles('just text'), 'AWS_AUTH_UNEDITABLE');
  });
});

describe('a mapping that grants more than the user', () => {
  const withGroups = (g: string) => `${EXISTING}- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n  groups:\n    - ${g}\n`;

  it('findMapping reports the groups our entry adds (also a lone string, and over duplicates)', () => {
    expect(findMapping(parseMapRoles(withGroups('system:masters')), OURS)).toEqual({ state: 'present', groups: ['system:masters'] });
    const two = `- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n  groups: ops\n`;
    expect(findMapping(parseMapRoles(two), OURS)).toEqual({ state: 'present', groups: ['ops'] });
  });

  it('planAwsAuthChange refuses it, naming the groups and the fix', async () => {
    const e = await expectCode(() => planAwsAuthChange(cm(withGroups('system:masters')), OURS), 'MAPPING_GRANTS_MORE');
    expect(e.message).toContain('system:masters');
    expect(e.message).toContain('Nothing was changed');
    expect(e.hint).toMatch(/Remove the groups/);
    expect(e.hint).toContain('--iam-role');
  });
});

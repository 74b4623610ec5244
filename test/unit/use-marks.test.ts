// The last one out turns off the lights, as pure rules: what marks say, which a project adds, who
// a destroy without state acts for, the decision and its words; and destroy's aws-auth edit, which
// gives back the bytes init found only while mapRoles is what init wrote.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedDecision, whoAmI } from '../../src/destroy/items.js';
import { identityFingerprint, useKey, useValue } from '../../src/desired.js';
import { emptyState } from '../../src/engine/state.js';
import { isDeletedPrincipal, trustedPrincipals } from '../../src/aws/trust-policy.js';
import type { ConfigMapObject, DeleteOptions, KubeApi } from '../../src/kube/api.js';
import { appendMapRole } from '../../src/kube/aws-auth.js';
import { mapRolesDigest, removeAwsAuthMapping } from '../../src/kube/aws-auth-remove.js';
import { lastOneOut, leave, marksToAdd, projectByIdentities, readUses, type UseMarks } from '../../src/use-marks.js';
import { OURS } from '../fixtures/aws-auth.js';

const WI_A = 'arn:aws:iam::1:role/a';
const WI_B = 'arn:aws:iam::1:role/b';
const made = (creator?: string, marks: Record<string, string> = {}) =>
  readUses(true, { ...(creator ? { 'astro-remote-kpo/project-id': creator } : {}), ...Object.fromEntries(Object.entries(marks).map(([id, v]) => [useKey(id), v])) });

describe('what marks say', () => {
  it('users are the use marks; an object from before use marks counts its creator; "left" marks are nobody', () => {
    expect(made('p1', { p1: useValue([WI_A]), p2: useValue([WI_B]) }).users.sort()).toEqual(['p1', 'p2']);
    expect(made('p1').users).toEqual(['p1']);
    expect(made(undefined).users).toEqual([]);
    expect(made('p1', { p1: 'left 2026-01-01' }).users).toEqual([]);
    expect(readUses(false, {}).created).toBe(false);
  });

  it('the value: the day and a fingerprint of the identities, whatever their order', () => {
    expect(useValue([WI_A, WI_B], '2026-05-01')).toBe(`2026-05-01 wi:${identityFingerprint([WI_B, WI_A])}`);
    expect(identityFingerprint([WI_A])).not.toBe(identityFingerprint([WI_B]));
  });
});

describe('marksToAdd', () => {
  it('nothing on what a person made, or when our mark is there for these identities', () => {
    expect(marksToAdd(readUses(false, {}), 'p1', [WI_A])).toEqual({});
    expect(marksToAdd(made('p1', { p1: useValue([WI_A]) }), 'p1', [WI_A])).toEqual({});
    expect(marksToAdd(made('p1'), undefined, [WI_A])).toEqual({});
  });

  it('ours on another project\'s object; again (same day) when the identities changed or we had left', () => {
    expect(marksToAdd(made('p1', { p1: useValue([WI_A]) }), 'p2', [WI_B])).toEqual({ [useKey('p2')]: expect.stringMatching(/ wi:/) });
    expect(marksToAdd(made('p1', { p1: useValue([WI_A], '2025-01-02') }), 'p1', [WI_A, WI_B])).toEqual({ [useKey('p1')]: useValue([WI_A, WI_B], '2025-01-02') });
    expect(Object.keys(marksToAdd(made('p1', { p1: 'left 2026-01-01' }), 'p1', [WI_A]))).toEqual([useKey('p1')]);
  });

  it('on an object from before use marks, its creator\'s mark too, so the creator still counts', () => {
    expect(Object.keys(marksToAdd(made('p1'), 'p2', [WI_B])).sort()).toEqual([useKey('p1'), useKey('p2')]);
  });
});

describe('who a destroy acts for', () => {
  const uses = made('p1', { p1: useValue([WI_A]), p2: useValue([WI_B, WI_A]) });
  it('with state: its project; without: the one project whose mark has the fingerprint of exactly the given identities', () => {
    expect(whoAmI({ ...emptyState(), projectId: 'p9' }, uses, [WI_A])).toBe('p9');
    expect(whoAmI(undefined, uses, [WI_A])).toBe('p1');
    expect(whoAmI(undefined, uses, [WI_A, WI_B])).toBe('p2');
    expect(whoAmI(undefined, uses, ['arn:aws:iam::1:role/c'])).toBeUndefined();
    expect(projectByIdentities(made(undefined, { p1: useValue([WI_A]), p2: useValue([WI_A]) }), [WI_A])).toBeUndefined(); // ambiguous
    expect(projectByIdentities(uses, [])).toBeUndefined();
  });
});

describe('the decision', () => {
  const marker = 'the tag managed-by=astro-remote-kpo';
  it('the last one out deletes; anyone else still using it keeps it and is named', () => {
    expect(lastOneOut({ uses: made('p1', { p1: 'x' }), me: 'p1' })).toEqual({ last: true, others: [] });
    expect(lastOneOut({ uses: made('p1', { p1: 'x', p2: '2026-02-03 wi:abc' }), me: 'p1' })).toMatchObject({ last: false, others: ['astro-remote-kpo project p2 (since 2026-02-03)'] });
    expect(lastOneOut({ uses: made('p1', { p1: 'x' }), me: 'p1', alsoUsedBy: ['principal X'] })).toMatchObject({ last: false, others: ['principal X'] });
    expect(lastOneOut({ uses: made(undefined), me: undefined })).toEqual({ last: true, others: [] }); // an orphan
    expect(lastOneOut({ uses: readUses(false, {}), me: 'p1' }).last).toBe(false);
  });

  it('in words: not ours, found, kept for others, or going', () => {
    expect(sharedDecision({ marker, uses: readUses(false, {}), recorded: undefined, me: 'p1' }).why).toBe('not created by this tool: no tag managed-by=astro-remote-kpo and not recorded in state');
    expect(sharedDecision({ marker, uses: readUses(false, {}), recorded: false, me: 'p1' }).why).toContain('existed before init');
    // Found by this project but made by another one that has left: this project is the last one out.
    expect(sharedDecision({ marker, uses: made('p2', { p1: 'x', p2: 'left' }), recorded: false, me: 'p1' })).toMatchObject({ last: true, why: 'carries the tag managed-by=astro-remote-kpo (astro-remote-kpo/project-id=p2); no other project uses it' });
    expect(sharedDecision({ marker, uses: made('p1', { p1: 'x', p2: 'x' }), recorded: true, me: 'p1' })).toMatchObject({ last: false, why: 'recorded in state as created by init; kept: still used by astro-remote-kpo project p2 (since x)' });
  });
});

describe('leaving an object that stays', () => {
  function recorder(): UseMarks & { log: string[] } {
    const log: string[] = [];
    return { label: 'x', log, add: async (m) => void log.push(`add ${Object.entries(m).join()}`), remove: async (ids) => void log.push(`remove ${ids.join()}`), byHand: () => '' };
  }
  it('takes our mark out while others use it; the last user leaves a "left" mark', async () => {
    const a = recorder();
    await leave(a, made('p1', { p1: 'x', p2: 'y' }), 'p1');
    expect(a.log).toEqual(['remove p1']);
    const b = recorder();
    await leave(b, made('p1', { p1: 'x', p2: 'left' }), 'p1', new Date('2026-03-04T00:00:00Z'));
    expect(b.log).toEqual([`add ${useKey('p1')},left 2026-03-04`]);
  });
});

describe('trust policies', () => {
  it('every principal an Allow statement names, of any kind; deleted principals show as ids', () => {
    const doc = { Statement: [{ Effect: 'Allow', Principal: { AWS: [WI_A, 'AROAABCDEFGHIJKLMNOPQ'], Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }, { Effect: 'Deny', Principal: '*', Action: '*' }] };
    expect(trustedPrincipals(doc)).toEqual([WI_A, 'AROAABCDEFGHIJKLMNOPQ', 'ec2.amazonaws.com']);
    expect(isDeletedPrincipal('AROAABCDEFGHIJKLMNOPQ')).toBe(true);
    expect(isDeletedPrincipal(WI_A)).toBe(false);
  });
});

class MemoryKube {
  deleted: DeleteOptions[] = [];
  constructor(public cm: ConfigMapObject | undefined) {}
  async readConfigMap() {
    return structuredClone(this.cm);
  }
  async replaceConfigMap(_ns: string, _name: string, body: ConfigMapObject) {
    this.cm = body;
    return body;
  }
  async deleteConfigMap(_ns: string, _name: string, opts: DeleteOptions) {
    this.deleted.push(opts);
    this.cm = undefined;
  }
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('aws-auth given back', () => {
  const cm = (data: Record<string, string>, labels?: Record<string, string>): ConfigMapObject => ({ metadata: { name: 'aws-auth', namespace: 'kube-system', resourceVersion: '7', ...(labels ? { labels } : {}) }, data });

  it('the bytes init found, from its backup, while mapRoles is what init wrote; else the textual cut', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kpo-restore-'));
    const found = '[]';
    const written = appendMapRole(found, OURS);
    const backupFile = path.join(dir, 'backup.json');
    await writeFile(backupFile, JSON.stringify(cm({ mapRoles: found })));
    const edit = { before: mapRolesDigest(found), written: mapRolesDigest(written), createdConfigMap: false, backupFile };
    const k = new MemoryKube(cm({ mapRoles: written, mapUsers: 'u' }));
    expect(await removeAwsAuthMapping(k as unknown as KubeApi, OURS, { backupDir: dir, edit })).toMatchObject({ changed: true, how: 'restored' });
    expect(k.cm!.data).toEqual({ mapRoles: '[]', mapUsers: 'u' });
    // A backup that no longer says what state recorded is not trusted: the entry is cut out instead.
    await writeFile(backupFile, JSON.stringify(cm({ mapRoles: '~' })));
    const k2 = new MemoryKube(cm({ mapRoles: written }));
    expect(await removeAwsAuthMapping(k2 as unknown as KubeApi, OURS, { backupDir: dir, edit })).toMatchObject({ how: 'cut' });
    expect(k2.cm!.data).toEqual({ mapRoles: '' });
  });

  it('a ConfigMap init created goes once nothing is left in it, guarded by the version read', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kpo-restore-'));
    const written = appendMapRole(undefined, OURS);
    const k = new MemoryKube(cm({ mapRoles: written }, { 'app.kubernetes.io/managed-by': 'astro-remote-kpo' }));
    const edit = { before: null, written: mapRolesDigest(written), createdConfigMap: true };
    expect(await removeAwsAuthMapping(k as unknown as KubeApi, OURS, { backupDir: dir, edit })).toMatchObject({ how: 'deleted' });
    expect(k.deleted).toEqual([{ resourceVersion: '7' }]);
    // Without a record, by its label: emptied by the cut, it goes too.
    const k2 = new MemoryKube(cm({ mapRoles: written }, { 'app.kubernetes.io/managed-by': 'astro-remote-kpo' }));
    expect(await removeAwsAuthMapping(k2 as unknown as KubeApi, OURS, { backupDir: dir })).toMatchObject({ how: 'deleted' });
  });
});

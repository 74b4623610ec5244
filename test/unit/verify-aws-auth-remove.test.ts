// destroy's aws-auth edit: only our exact entry goes, every other byte stays, and the edit is
// proven before anything is written.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigMapObject, KubeApi } from '../../src/kube/api.js';
import { kubeConflict } from '../../src/kube/errors.js';
import { appendMapRole, parseMapRoles } from '../../src/kube/aws-auth.js';
import { describeChange, findOurEntries, removeAwsAuthMapping, removeMapRole } from '../../src/kube/aws-auth-remove.js';
import { EXISTING, OURS } from '../fixtures/aws-auth.js';

describe('removeMapRole', () => {
  it('undoes appendMapRole byte-for-byte', () => {
    expect(removeMapRole(appendMapRole(EXISTING, OURS), OURS)).toEqual({ text: EXISTING, removed: 1 });
  });

  it('removes an entry in the middle (indented list, CRLF) and keeps the rest exactly', () => {
    const lines = ['  - rolearn: arn:aws:iam::123456789012:role/A', '    username: a', `  - rolearn: ${OURS.rolearn}`, `    username: ${OURS.username}`, '  # trailing note', '  - rolearn: arn:aws:iam::123456789012:role/B', '    username: b', ''];
    const text = lines.join('\r\n');
    const r = removeMapRole(text, OURS);
    expect(r.removed).toBe(1);
    expect(r.text).toBe([lines[0], lines[1], lines[4], lines[5], lines[6], ''].join('\r\n'));
  });

  it('matches the ARN case-insensitively but the username exactly; leaves entries with other keys alone', () => {
    const other = `- rolearn: ${OURS.rolearn.toUpperCase()}\n  username: ${OURS.username}\n`;
    expect(removeMapRole(other, OURS).removed).toBe(1);
    const otherUser = `- rolearn: ${OURS.rolearn}\n  username: someone\n`;
    expect(removeMapRole(otherUser, OURS)).toEqual({ text: otherUser, removed: 0 });
    const withGroups = `- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n  groups: [system:masters]\n`;
    expect(removeMapRole(withGroups, OURS)).toEqual({ text: withGroups, removed: 0 });
  });

  it('handles an empty value and a flow list', () => {
    expect(removeMapRole(undefined, OURS)).toEqual({ text: '', removed: 0 });
    const flow = `[{rolearn: arn:aws:iam::123456789012:role/A, username: a}, {rolearn: ${OURS.rolearn}, username: ${OURS.username}}]`;
    const r = removeMapRole(flow, OURS);
    expect(r.removed).toBe(1);
    expect(parseMapRoles(r.text)).toEqual([{ rolearn: 'arn:aws:iam::123456789012:role/A', username: 'a' }]);
  });
});

describe('duplicates, changed entries and the new shapes', () => {
  const ours = `- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n`;

  it('removes exactly one copy of an identical duplicate (the last), keeping the other byte-for-byte', () => {
    const text = `${EXISTING}${ours}# second copy, someone else's\n${ours}`;
    const r = removeMapRole(text, OURS);
    expect(r).toEqual({ text: `${EXISTING}${ours}# second copy, someone else's\n`, removed: 1 });
    expect(parseMapRoles(r.text).filter((e) => e.rolearn === OURS.rolearn)).toHaveLength(1);
    expect(removeMapRole(r.text, OURS).removed).toBe(1);
  });

  it('findOurEntries tells exact copies from entries someone changed', () => {
    const changed = `- rolearn: ${OURS.rolearn}\n  username: ${OURS.username}\n  groups:\n  - system:masters\n`;
    const f = findOurEntries(`${EXISTING}${changed}${ours}`, OURS);
    expect(f.exact).toBe(1);
    expect(f.changed).toHaveLength(1);
    expect(describeChange(f.changed[0]!, OURS)).toBe('groups system:masters');
    expect(findOurEntries(EXISTING, OURS)).toEqual({ exact: 0, changed: [] });
    expect(describeChange({ rolearn: OURS.rolearn, username: 'x', note: 1 }, OURS)).toBe('username "x", key note');
  });

  it('removes from a list ending with "..." and leaves a null mapRoles alone', () => {
    const r = removeMapRole(`${EXISTING}${ours}...\n`, OURS);
    expect(r).toEqual({ text: `${EXISTING}...\n`, removed: 1 });
    expect(removeMapRole('~\n', OURS)).toEqual({ text: '~\n', removed: 0 });
    expect(removeMapRole(`${ours}...\n`, OURS)).toEqual({ text: '...\n', removed: 1 });
  });
});

class FakeKube {
  cm: ConfigMapObject | undefined;
  conflicts = 0;
  replaced: ConfigMapObject[] = [];
  constructor(mapRoles: string) {
    this.cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system', resourceVersion: '1' }, data: { mapRoles, mapUsers: '- userarn: x\n  username: y\n' } };
  }
  async readConfigMap() {
    return structuredClone(this.cm);
  }
  async replaceConfigMap(_ns: string, _name: string, body: ConfigMapObject) {
    if (this.conflicts-- > 0) {
      // someone else wrote meanwhile
      this.cm = { ...this.cm!, metadata: { ...this.cm!.metadata, resourceVersion: String(Number(this.cm!.metadata!.resourceVersion) + 1) } };
      throw kubeConflict('409');
    }
    this.replaced.push(body);
    this.cm = body;
    return body;
  }
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('removeAwsAuthMapping', () => {
  it('writes a backup first, keeps other keys, re-reads on a conflict', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kpo-aws-auth-rm-'));
    const kube = new FakeKube(appendMapRole(EXISTING, OURS));
    kube.conflicts = 1;
    const r = await removeAwsAuthMapping(kube as unknown as KubeApi, OURS, { backupDir: dir });
    expect(r.changed).toBe(true);
    expect(kube.replaced).toHaveLength(1);
    expect(kube.cm!.data).toEqual({ mapRoles: EXISTING, mapUsers: '- userarn: x\n  username: y\n' });
    const backups = await readdir(dir);
    expect(backups.length).toBe(2); // one per attempt, each of what was read
    const saved = JSON.parse(await readFile(path.join(dir, backups.sort().at(-1)!), 'utf8')) as ConfigMapObject;
    expect(saved.data!.mapRoles).toContain('username: AstroRemoteKPO');
    // Already gone: no write, no backup.
    const again = await removeAwsAuthMapping(kube as unknown as KubeApi, OURS, { backupDir: dir });
    expect(again).toEqual({ changed: false });
    expect(kube.replaced).toHaveLength(1);
  });
});

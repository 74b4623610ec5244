// One rule proves that this project created an object state has no record of (desired.ts
// provenOurs), for Kubernetes objects (label + annotation), IAM roles and access entries (tags).
import { describe, expect, it } from 'vitest';
import { createdByProject } from '../../src/aws/iam-role.js';
import { creationTags, namespaceObject, provenOurs } from '../../src/desired.js';
import type { StageContext } from '../../src/engine/stage.js';
import { ownedByUs } from '../../src/kube/objects.js';
import { intendedIn } from '../../src/destroy/items.js';
import { intentName } from '../../src/desired.js';
import { emptyState, recordIntent } from '../../src/engine/state.js';

const owner = (projectId: string, intended = false) => ({ owner: { projectId, intended: () => intended, intend: async () => undefined } }) as unknown as StageContext;

describe('proof of creation', () => {
  it('our marker with our id; or our marker with no other id while our intent stands', () => {
    expect(provenOurs(true, 'p1', 'p1', false)).toBe(true);
    expect(provenOurs(true, 'p2', 'p1', true)).toBe(false);
    expect(provenOurs(true, undefined, 'p1', false)).toBe(false);
    expect(provenOurs(true, undefined, 'p1', true)).toBe(true);
    expect(provenOurs(false, 'p1', 'p1', true)).toBe(false);
    expect(provenOurs(true, undefined, undefined, false)).toBe(false);
  });

  it('a Kubernetes object init created for this project is ours by its label and annotation alone', () => {
    const ns = namespaceObject({ namespace: 'team-a' }, 'p1');
    expect(ownedByUs(owner('p1'), 'namespace team-a', undefined, ns)).toBe(true);
    expect(ownedByUs(owner('p2', true), 'namespace team-a', undefined, ns)).toBe(false);
    const bare = { metadata: { name: 'team-a', labels: { 'app.kubernetes.io/managed-by': 'astro-remote-kpo' } } };
    expect(ownedByUs(owner('p1'), 'namespace team-a', undefined, bare)).toBe(false);
    expect(ownedByUs(owner('p1', true), 'namespace team-a', undefined, bare)).toBe(true);
    // A record stands, whatever the object carries.
    expect(ownedByUs(owner('p1'), 'namespace team-a', false, ns)).toBe(false);
  });

  it('an IAM role by its tags', () => {
    const tags = (p?: string) => Object.entries(creationTags(p)).map(([Key, Value]) => ({ Key, Value }));
    const role = (p?: string) => ({ RoleName: 'R', Arn: 'arn:aws:iam::1:role/R', Path: '/', RoleId: 'x', CreateDate: new Date(), Tags: tags(p) });
    expect(createdByProject(role('p1'), 'p1')).toBe(true);
    expect(createdByProject(role('p2'), 'p1', true)).toBe(false);
    expect(createdByProject(role(undefined), 'p1')).toBe(false);
    expect(createdByProject(role(undefined), 'p1', true)).toBe(true);
  });
});

describe("destroy's intents", () => {
  it('only the intent for this very object counts, not one for another cluster or principal', () => {
    const state = emptyState();
    recordIntent(state, 'cluster', intentName.cluster('old-name', 'us-east-1'));
    expect(intendedIn(state, 'cluster', intentName.cluster('old-name', 'us-east-1'))).toBe(true);
    expect(intendedIn(state, 'cluster', intentName.cluster('remote-kpo-demo', 'us-east-1'))).toBe(false);
    expect(intendedIn(undefined, 'cluster', intentName.cluster('old-name', 'us-east-1'))).toBe(false);
  });
});

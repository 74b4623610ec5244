// destroy's decisions and bookkeeping without a cloud: the ownership rule, the order of work,
// stopping at the first failure, and which state records are marked.
import { describe, expect, it } from 'vitest';
import { emptyState, type State } from '../../src/engine/state.js';
import { ownership, type DestroyItem } from '../../src/destroy/items.js';
import { execute, markRemoved } from '../../src/destroy/run.js';

describe('ownership', () => {
  it('state wins over the marker both ways; without a record the intent, then the marker of this (or no) project decides', () => {
    const state = { ...emptyState(), projectId: 'p-1' };
    const marked = { text: 'the label x=y' };
    expect(ownership(true, {}, 'no label', state)).toMatchObject({ ours: true, why: 'recorded in state as created by init' });
    expect(ownership(false, marked, 'no label', state)).toMatchObject({ ours: false, why: expect.stringContaining('existed before init') });
    expect(ownership(undefined, marked, 'no label', state)).toEqual({ ours: true, why: 'carries the label x=y' });
    expect(ownership(undefined, { ...marked, projectId: 'p-1' }, 'no label', state)).toMatchObject({ ours: true });
    expect(ownership(undefined, { ...marked, projectId: 'p-2' }, 'no label', state)).toMatchObject({ ours: false, why: expect.stringContaining('another astro-remote-kpo project') });
    expect(ownership(undefined, { ...marked, projectId: 'p-2' }, 'no label', undefined)).toMatchObject({ ours: true });
    expect(ownership(undefined, {}, 'no label', state, true)).toMatchObject({ ours: true, why: expect.stringContaining('about to create') });
    expect(ownership(undefined, {}, 'no label', undefined)).toEqual({ ours: false, why: 'not created by this tool: no label and not recorded in state' });
  });
});

function doneState(): State {
  const s = emptyState();
  for (const id of ['cluster', 'context', 'namespace', 'k8s-role', 'iam-role', 'role-arn', 'identity-mapping', 'verify-mapping', 'role-binding', 'access-check'] as const) {
    (s.stages as Record<string, unknown>)[id] = { status: 'done' };
  }
  return s;
}

describe('markRemoved', () => {
  it('marks the stage and the records that only described it, except stages whose resources were kept', () => {
    const s = doneState();
    markRemoved(s, 'iam-role', new Set(['identity-mapping']), new Date('2026-01-01T00:00:00Z'));
    expect(s.stages['iam-role']).toEqual({ status: 'pending', reason: 'removed by astro-remote-kpo destroy at 2026-01-01T00:00:00.000Z' });
    expect(s.stages['role-arn']?.status).toBe('pending');
    expect(s.stages['verify-mapping']?.status).toBe('pending');
    expect(s.stages['identity-mapping']?.status).toBe('done');
    expect(s.stages['k8s-role']?.status).toBe('done');
  });
});

describe('execute', () => {
  const item = (stage: DestroyItem['stage'], kind: DestroyItem['kind'], decision: DestroyItem['decision'], log: string[], fail = false): DestroyItem => ({
    stage,
    kind,
    name: `${kind}`,
    decision,
    why: 'test',
    apply: async () => {
      log.push(kind);
      if (fail) throw new Error(`${kind} broke`);
      return kind === 'aws-auth-entry' ? 'backup at /x' : undefined;
    },
  });

  it('deletes in the given order, only "delete" items, saving after each stage', async () => {
    const log: string[] = [];
    const saves: string[] = [];
    const s = doneState();
    const items = [
      item('role-binding', 'role-binding', 'delete', log),
      item('identity-mapping', 'aws-auth-entry', 'delete', log),
      item('iam-role', 'inline-policy', 'delete', log),
      item('iam-role', 'iam-role', 'delete', log),
      item('k8s-role', 'role', 'keep', log),
      item('namespace', 'namespace', 'gone', log),
    ];
    const r = await execute(items, s, { onItem: () => undefined, save: async () => void saves.push(JSON.stringify(s.stages['iam-role'])) });
    expect(r).toEqual({});
    expect(log).toEqual(['role-binding', 'aws-auth-entry', 'inline-policy', 'iam-role']);
    expect(items[1]).toMatchObject({ result: 'deleted', note: 'backup at /x' });
    expect(saves).toHaveLength(4); // role-binding, identity-mapping, iam-role, namespace (k8s-role kept)
    expect(s.stages['k8s-role']?.status).toBe('done');
    expect(s.stages.namespace?.status).toBe('pending');
  });

  it('stops at the first failure and leaves later stages and the failed stage recorded', async () => {
    const log: string[] = [];
    const s = doneState();
    const items = [item('role-binding', 'role-binding', 'delete', log), item('iam-role', 'iam-role', 'delete', log, true), item('k8s-role', 'role', 'delete', log)];
    const r = await execute(items, s, { onItem: () => undefined, save: async () => undefined });
    expect(r.failed?.kind).toBe('iam-role');
    expect((r.error as Error).message).toBe('iam-role broke');
    expect(log).toEqual(['role-binding', 'iam-role']);
    expect(items[1]).toMatchObject({ result: 'failed', note: 'iam-role broke' });
    expect(s.stages['role-binding']?.status).toBe('pending');
    expect(s.stages['iam-role']?.status).toBe('done');
    expect(s.stages['k8s-role']?.status).toBe('done');
  });

  it('works without state (nothing to record)', async () => {
    const log: string[] = [];
    const r = await execute([item('k8s-role', 'role', 'delete', log)], undefined, { onItem: () => undefined, save: async () => { throw new Error('no state: must not save'); } });
    expect(r).toEqual({});
    expect(log).toEqual(['role']);
  });
});

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile, mkdir, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectCode } from '../support/failure.js';
import { acquireLock } from '../../src/engine/lock.js';
import { emptyState, hashInputs, loadState, saveState, stateFileOf } from '../../src/engine/state.js';
import { writeFileAtomic } from '../../src/write-files.js';
import type { Inputs } from '../../src/types.js';

const tmp = () => mkdtemp(path.join(os.tmpdir(), 'kpo-state-'));

describe('state file', () => {
  it('round-trips and is absent before the first run', async () => {
    const dir = await tmp();
    expect(await loadState(dir)).toBeUndefined();
    const s = emptyState();
    s.stages.preflight = { status: 'done', outputs: { accountId: '123456789012', callerArn: 'arn:x', partition: 'aws' } };
    await saveState(dir, s);
    expect((await loadState(dir))?.stages.preflight?.outputs?.accountId).toBe('123456789012');
    // no temp files left behind
    expect((await readdir(path.dirname(stateFileOf(dir)))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    ['not JSON', '{"schemaVersion": 1, '],
    ['an array', '[]'],
    ['another schema', '{"schemaVersion": 99, "stages": {}}'],
    ['an unknown stage', '{"schemaVersion": 1, "stages": {"bogus": {"status": "done"}}}'],
    ['a stage without status', '{"schemaVersion": 1, "stages": {"cluster": {}}}'],
  ])('a corrupt file (%s) is a clear usage error naming the file and how to reset', async (_why, text) => {
    const dir = await tmp();
    await mkdir(path.dirname(stateFileOf(dir)), { recursive: true });
    await writeFile(stateFileOf(dir), text);
    const err = await expectCode(loadState(dir), 'STATE_UNUSABLE');
    expect(err.message).toContain(stateFileOf(dir));
    expect(err.hint).toMatch(/mv .*state\.json.*\.bad/);
    expect(await readFile(stateFileOf(dir), 'utf8')).toBe(text); // never discarded
  });

  it('a crash in the middle of a write leaves the old state intact', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, '{"old":true}');
    // A child process starts an atomic write of a large document and is killed as soon as its
    // temp file appears, i.e. in the middle of the write.
    // The source module, run by Node with the bench's TypeScript hooks (dist/ is one bundle).
    const mod = new URL('../../src/write-files.ts', import.meta.url).href;
    const hooks = fileURLToPath(new URL('../../bench/ts-hooks.mjs', import.meta.url));
    const script = `import(${JSON.stringify(mod)}).then(m => m.writeFileAtomic(${JSON.stringify(file)}, JSON.stringify({big: 'x'.repeat(50_000_000)})))`;
    const child = spawn(process.execPath, ['--import', hooks, '--input-type=module', '-e', script], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    for (let i = 0; i < 500; i++) {
      if ((await readdir(dir)).some((f) => f.endsWith('.tmp'))) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await exited;
    expect(await readFile(file, 'utf8')).toMatch(/^\{"old":true\}$|^\{"big":"x+"\}$/);
    expect(JSON.parse(await readFile(file, 'utf8'))).toBeTruthy();
  });

  it('hashes only the inputs a stage reads, independent of key order', async () => {
    const a = { clusterName: 'a', region: 'us-east-1', namespace: 'n' } as Inputs;
    const b = { namespace: 'other', region: 'us-east-1', clusterName: 'a' } as Inputs;
    expect(await hashInputs(a, ['region', 'clusterName'])).toBe(await hashInputs(b, ['clusterName', 'region']));
    expect(await hashInputs(a, ['namespace'])).not.toBe(await hashInputs(b, ['namespace']));
  });
});

describe('lock', () => {
  it('a second run fails clearly while the first holds the lock, and can take it after release', async () => {
    const dir = await tmp();
    const lock = await acquireLock(dir, 'init');
    const err = await expectCode(acquireLock(dir, 'init'), 'LOCK_HELD');
    // It names the holder, so the user can tell whether it is still running.
    expect(err.message).toMatch(new RegExp(`pid ${process.pid}.*holds`));
    await lock.release();
    const again = await acquireLock(dir, 'init');
    await again.release();
  });

  it('takes over a stale lock left by a dead process', async () => {
    const dir = await tmp();
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('exit', r));
    await writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: child.pid, host: os.hostname(), startedAt: 'then', command: 'init' }));
    const lock = await acquireLock(dir, 'init');
    expect(JSON.parse(await readFile(lock.file, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('never takes a fresh unreadable lock file for stale (ours are written whole before they appear); an old one is taken over', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'lock');
    await writeFile(file, '{"pi');
    await expectCode(acquireLock(dir, 'init'), 'LOCK_UNREADABLE');
    const old = new Date(Date.now() - 60_000);
    await utimes(file, old, old);
    const lock = await acquireLock(dir, 'init');
    expect(JSON.parse(await readFile(lock.file, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });
});

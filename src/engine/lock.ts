// One run at a time per project. The owner record (pid, host, start, command) is written in full
// to a private temp file first, then link()ed into place: link fails if the lock exists, and the
// lock file, once it exists, is always complete — never empty or half-written, so no reader can
// mistake a live holder for a stale one. A lock is stale only when its recorded process is gone
// (same host, pid not alive). Taking over a stale lock happens under a short-lived guard file, and
// the lock is re-read under the guard, so two runs that both saw the same dead holder cannot both
// remove a lock and both take it.
import { randomBytes } from 'node:crypto';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KpoError } from '../errors.js';
import { ensurePrivateDir } from '../write-files.js';

export interface Lock {
  readonly file: string;
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  /** Unique per acquisition: tells our lock from a later holder's with a recycled pid. */
  token: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Read = { state: 'absent' } | { state: 'held'; info: LockInfo } | { state: 'unreadable'; ageMs: number };

async function readInfo(file: string): Promise<Read> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    throw err;
  }
  try {
    const info = JSON.parse(text) as Partial<LockInfo>;
    if (typeof info.pid === 'number' && typeof info.host === 'string') return { state: 'held', info: info as LockInfo };
  } catch {
    // not ours to parse: a file left by an older version or by hand
  }
  const ageMs = await stat(file).then((s) => Date.now() - s.mtimeMs, () => 0);
  return { state: 'unreadable', ageMs };
}

/** Links `tmp` to `target`; false when `target` exists. */
async function linkExclusive(tmp: string, target: string): Promise<boolean> {
  try {
    await link(tmp, target);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** A lock file nobody can be holding: its process is gone, or it is unreadable and old. */
function isStale(r: Read, host: string): boolean {
  if (r.state === 'held') return r.info.host === host && !alive(r.info.pid);
  // Our lock files are never unreadable (written whole before they appear); an unreadable one
  // is left over from elsewhere. Give a writer of an older version a moment before taking it.
  return r.state === 'unreadable' && r.ageMs > 5_000;
}

const GUARD_STALE_MS = 10_000;

/** Removes the lock if it still is `seen` (stale), under a guard so only one remover acts. */
async function removeStale(file: string, tmp: string, host: string, seen: Read): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await linkExclusive(tmp, guard))) {
    // Another run is taking over right now; a guard left by a killed run is old and goes.
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > GUARD_STALE_MS) await unlink(guard).catch(() => undefined);
    return;
  }
  try {
    const now = await readInfo(file);
    const same = now.state === seen.state && (now.state !== 'held' || (seen.state === 'held' && now.info.token === seen.info.token && now.info.pid === seen.info.pid));
    if (same && isStale(now, host)) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

export async function acquireLock(stateDir: string, command: string): Promise<Lock> {
  await ensurePrivateDir(stateDir);
  const file = path.join(stateDir, 'lock');
  const token = randomBytes(8).toString('hex');
  const info: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command, token };
  const tmp = `${file}.${process.pid}.${token}.tmp`;
  await writeFile(tmp, JSON.stringify(info), { mode: 0o600, flush: true });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await linkExclusive(tmp, file)) {
        return {
          file,
          release: async () => {
            const current = await readInfo(file);
            if (current.state === 'held' && current.info.token === token) await unlink(file).catch(() => undefined);
          },
        };
      }
      const seen = await readInfo(file);
      if (seen.state === 'absent') continue; // released between our link and our read: try again
      if (!isStale(seen, info.host)) {
        if (seen.state === 'held') {
          const h = seen.info;
          throw new KpoError(
            'LOCK_HELD',
            `Another astro-remote-kpo run (pid ${h.pid} on ${h.host}, "${h.command}", started ${h.startedAt}) holds ${file}.`,
            `Wait for it to finish. If that process is gone (e.g. on another machine), delete ${file} and run again.`,
          );
        }
        throw new KpoError('LOCK_UNREADABLE', `The lock file ${file} is not readable as an astro-remote-kpo lock.`, `If no other run is going on, delete ${file} and run again.`);
      }
      // The previous holder died without cleaning up: take the lock over.
      await removeStale(file, tmp, info.host, seen);
    }
    throw new KpoError('LOCK_HELD', `Could not take the lock ${file}: it keeps being re-created.`, `Check for other runs of astro-remote-kpo in this project.`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

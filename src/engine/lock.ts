// One run at a time per project: a lock file created with O_EXCL holding our pid and host.
// A lock whose process is gone (same host, pid not alive) is stale and taken over.
import { open, readFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../write-files.js';

export interface Lock {
  readonly file: string;
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
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

async function readInfo(file: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(file, 'utf8')) as Partial<LockInfo>;
    if (typeof info.pid === 'number' && typeof info.host === 'string') return info as LockInfo;
  } catch {
    // unreadable or half-written: treated as stale below
  }
  return undefined;
}

export async function acquireLock(stateDir: string, command: string): Promise<Lock> {
  await ensurePrivateDir(stateDir);
  const file = path.join(stateDir, 'lock');
  const info: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx', PRIVATE_FILE_MODE);
      await handle.writeFile(JSON.stringify(info));
      await handle.close();
      return {
        file,
        release: async () => {
          const current = await readInfo(file);
          if (current?.pid === process.pid) await unlink(file).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readInfo(file);
    const stale = !holder || (holder.host === info.host && !alive(holder.pid));
    if (!stale) {
      throw new UsageError(
        `Another astro-remote-kpo run (pid ${holder.pid} on ${holder.host}, "${holder.command}", started ${holder.startedAt}) holds ${file}.`,
        `Wait for it to finish. If that process is gone (e.g. on another machine), delete ${file} and run again.`,
      );
    }
    // The previous holder died without cleaning up: take the lock over.
    await unlink(file).catch(() => undefined);
  }
  throw new UsageError(`Could not take the lock ${file}: it keeps being re-created.`, `Check for other runs of astro-remote-kpo in this project.`);
}

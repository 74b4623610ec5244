// Every file this tool writes goes through here, so that:
// - a replace is atomic (sibling temp file, fsync, rename): a crash leaves the old file or the new
//   one, never half of either;
// - the temp file has the target's mode from its first byte (airflow_settings.yaml may be 0600 and
//   full of conn_password values: its copy must never be readable by others, even for a moment);
// - our own files (.astro-remote-kpo/) are 0600 in 0700 folders;
// - every temp file in flight is known, so Ctrl-C can wait for those writes (or remove their temp
//   files) before the process exits: no `*.tmp` survives an interrupt.
import { appendFileSync, chmodSync, constants as fsConstants, mkdirSync, unlinkSync } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { interrupted } from './errors.js';

// Unique among live processes (pid) and within this one (counter). Not node:crypto: cli.ts loads
// this module for Ctrl-C, and crypto's start-up cost would land on every `--help`. The pid also
// tells a later run whether the writer is gone (removeStaleTempFiles).
let tempSeq = 0;
const uniqueSuffix = () => `${process.pid}-${Date.now().toString(36)}-${(tempSeq += 1)}`;
/** Exactly the names tempNameFor and probeWritable give: `.<target>.<suffix>.tmp`,
 * `.astro-remote-kpo-probe-<suffix>.tmp`; the suffix's first part is the writer's pid. */
const TEMP_NAME = /^\.(?:astro-remote-kpo-probe-|[^/]+\.)([1-9]\d{0,9})-[0-9a-z]+-[1-9]\d*\.tmp$/;

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Temp file → the write that owns it. */
const inFlight = new Map<string, Promise<void>>();
let closing = false;

export interface WriteOptions {
  /** Ours alone (state, logs, backups): 0600, in a folder made 0700. */
  private?: boolean;
  /** Never replace an existing file: EEXIST instead (link(2) instead of rename(2)). */
  exclusive?: boolean;
}

/** Makes `dir` (and missing parents) 0700, and tightens it when it already exists (an older
 * version of the tool made it 0755). */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
}

/** The mode the new file must have: the existing file's (permission bits kept exactly), or undefined
 * for a new user file (the process umask decides, as for any tool). */
async function targetMode(file: string, o: WriteOptions): Promise<number | undefined> {
  if (o.private) return PRIVATE_FILE_MODE;
  try {
    return (await stat(file)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${uniqueSuffix()}.tmp`);
}

async function writeThroughTemp(tmp: string, file: string, data: string, mode: number | undefined, o: WriteOptions): Promise<void> {
  // 'wx' + mode: the temp file is created with (at most) the target's permissions; umask may only
  // take bits away, and the chmod below gives back exactly the target's, never more.
  const fh = await open(tmp, 'wx', mode ?? 0o666);
  try {
    try {
      await fh.writeFile(data, 'utf8');
      if (mode !== undefined) await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (o.exclusive) {
      // link(2) fails with EEXIST instead of replacing; where hard links are not supported
      // (some network and FUSE mounts), an exclusive copy does the same.
      await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') throw err;
        return copyFile(tmp, file, fsConstants.COPYFILE_EXCL);
      });
      await unlink(tmp);
    } else {
      await rename(tmp, file);
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Writes `data` to `file` atomically (see the top of this file). */
export async function writeFileAtomic(path0: string, data: string, o: WriteOptions = {}): Promise<void> {
  if (closing) throw interrupted();
  // A symlinked file (e.g. airflow_settings.yaml kept elsewhere) is written where it really lives:
  // renaming over the link would silently replace it with a copy.
  const file = o.exclusive ? path0 : await realpath(path0).catch(() => path0);
  const dir = path.dirname(file);
  if (o.private) await ensurePrivateDir(dir);
  else await mkdir(dir, { recursive: true });
  const mode = await targetMode(file, o);
  if (closing) throw interrupted();
  const tmp = tempNameFor(file);
  const p = writeThroughTemp(tmp, file, data, mode, o);
  inFlight.set(tmp, p);
  try {
    await p;
  } finally {
    inFlight.delete(tmp);
  }
}

/** Creates and removes one empty file in `dir` (tracked like a temp file, so an interrupt never
 * leaves it behind); rejects when `dir` cannot be written. */
export async function probeWritable(dir: string): Promise<void> {
  if (closing) throw interrupted();
  const probe = path.join(dir, `.astro-remote-kpo-probe-${uniqueSuffix()}.tmp`);
  const p = (async () => {
    await (await open(probe, 'wx', PRIVATE_FILE_MODE)).close();
    await unlink(probe);
  })();
  inFlight.set(probe, p);
  try {
    await p;
  } finally {
    inFlight.delete(probe);
  }
}

/** Appends a line to one of our own logs, synchronously (debug lines must survive a crash right
 * after them). The file is created 0600, and an older 0644 one is tightened on first use. */
export function createPrivateAppender(file: string, stateDir: string): (text: string) => void {
  let ready = false;
  return (text) => {
    if (!ready) {
      mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
      for (const d of new Set([stateDir, path.dirname(file)])) chmodSync(d, PRIVATE_DIR_MODE);
      appendFileSync(file, '', { mode: PRIVATE_FILE_MODE });
      chmodSync(file, PRIVATE_FILE_MODE);
      ready = true;
    }
    appendFileSync(file, text, { mode: PRIVATE_FILE_MODE });
  };
}

/** Removes the temp files of writes still in flight. Synchronous: safe right before an exit. */
export function removeTempFilesSync(): void {
  for (const tmp of inFlight.keys()) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed into place, or never created
    }
  }
}

/** Whether `pid` is a live process on this host (EPERM: it is, but another user's). */
function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what a run of ours killed mid-write (kill -9, a crash, power loss) left in `dirs`: temp
 * files named exactly as this module names them, regular files of this user, whose writer's pid is
 * not running on this host. A live run's temp files (its pid runs) and anything not named exactly
 * so are never touched; neither are other folders, nor what is below these. Returns what it
 * removed; a folder that does not exist or cannot be read is skipped.
 */
export async function removeStaleTempFiles(dirs: readonly string[]): Promise<Array<{ file: string; pid: number }>> {
  const removed: Array<{ file: string; pid: number }> = [];
  const uid = process.getuid?.();
  for (const dir of new Set(dirs.map((d) => path.resolve(d)))) {
    for (const name of await readdir(dir).catch(() => [])) {
      const pid = Number(TEMP_NAME.exec(name)?.[1] ?? 0);
      if (!pid || isRunning(pid)) continue;
      const file = path.join(dir, name);
      const st = await lstat(file).catch(() => undefined);
      if (!st?.isFile() || (uid !== undefined && st.uid !== uid)) continue;
      if (await unlink(file).then(() => true, () => false)) removed.push({ file, pid });
    }
  }
  return removed;
}

/** The folders the existing `files` really live in (a symlinked file is written beside its
 * target); files that do not exist are left out. */
export async function realFolders(files: readonly string[]): Promise<string[]> {
  const real = await Promise.all(files.map((f) => realpath(f).then((r) => path.dirname(r), () => undefined)));
  return real.filter((d): d is string => d !== undefined);
}

/** The number of writes in flight (for tests and the debug log). */
export function writesInFlight(): number {
  return inFlight.size;
}

/**
 * Called once, right before the process exits (Ctrl-C included): refuses new writes, waits for
 * the ones in flight to finish (each is a local write, so this is quick), and after `timeoutMs`
 * removes whatever temp files are left. After this, no temp file of ours exists.
 */
export async function settleWrites(timeoutMs = 10_000): Promise<void> {
  closing = true;
  const deadline = Date.now() + timeoutMs;
  while (inFlight.size > 0 && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    await Promise.race([Promise.allSettled([...inFlight.values()]), timeout]);
    clearTimeout(timer);
  }
  removeTempFilesSync();
}

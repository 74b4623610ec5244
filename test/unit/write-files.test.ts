// The one atomic-write helper: temp files with the target's mode from the start, private files and
// folders, exclusive creation, and settling writes in flight before an exit. And the project
// folder check that runs before anything else.
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectCode } from '../support/failure.js';
import type { Io } from '../../src/io.js';
import { ensureProjectDir } from '../../src/project-dir.js';
import { createPrivateAppender, settleWrites, writeFileAtomic, writesInFlight } from '../../src/write-files.js';

const tmpDir = () => mkdtemp(path.join(os.tmpdir(), 'kpo-write-'));
const modeOf = async (p: string) => (await stat(p)).mode & 0o777;
const BIG = 'x'.repeat(40_000_000);

/** Starts `write`, and returns the mode of the first temp file seen in `dir` while it runs. */
async function tempModeDuring(dir: string, write: Promise<void>): Promise<number | undefined> {
  let done = false;
  void write.finally(() => (done = true));
  while (!done) {
    const tmp = (await readdir(dir)).find((f) => f.endsWith('.tmp'));
    if (tmp) {
      const m = await modeOf(path.join(dir, tmp)).catch(() => undefined);
      if (m !== undefined) {
        await write;
        return m;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  return undefined;
}

describe('ensureProjectDir', () => {
  const io = (interactive: boolean, answer = false) => {
    const asked: string[] = [];
    const host: Io = {
      interactive,
      text: async () => '',
      select: async (q) => q.default,
      confirm: async (q) => {
        asked.push(q.message);
        return answer;
      },
      info: () => undefined,
      warn: () => undefined,
    };
    return { host, asked };
  };

  it('a missing folder: exit 2 naming it (non-interactive), asked with default no (interactive)', async () => {
    const missing = path.join(await tmpDir(), 'typo');
    const err = await expectCode(ensureProjectDir(missing, io(false).host, { dryRun: false }), 'PROJECT_DIR_MISSING');
    expect(err.message).toBe(`--project-dir ${JSON.stringify(missing)} does not exist.`);
    const no = io(true, false);
    await expectCode(ensureProjectDir(missing, no.host, { dryRun: false }), 'PROJECT_DIR_MISSING');
    expect(no.asked).toEqual([`${missing} does not exist. Create it?`]);
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    // A dry run may be told yes, and still writes nothing.
    await ensureProjectDir(missing, io(true, true).host, { dryRun: true });
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    await ensureProjectDir(missing, io(true, true).host, { dryRun: false });
    expect((await stat(missing)).isDirectory()).toBe(true);
    expect(await readdir(missing)).toEqual([]); // the write probe leaves nothing
  });

  it('a folder that cannot be written or created, or a file: exit 2 with a clear message', async () => {
    // Each names the folder and the reason (the errno), which the code alone does not say.
    expect((await expectCode(ensureProjectDir('/sys', io(false).host, { dryRun: false }), 'PROJECT_DIR_UNUSABLE')).message).toMatch(/--project-dir "\/sys" cannot be written \(E[A-Z]+\)/);
    expect((await expectCode(ensureProjectDir('/sys/x', io(true, true).host, { dryRun: false }), 'PROJECT_DIR_UNUSABLE')).message).toMatch(/--project-dir "\/sys\/x" cannot be created \(E[A-Z]+\)/);
    const file = path.join(await tmpDir(), 'f');
    await writeFile(file, '');
    await expectCode(ensureProjectDir(file, io(false).host, { dryRun: false }), 'PROJECT_DIR_UNUSABLE');
  });
});

describe('writeFileAtomic', () => {
  it("a temp file has the target's mode from its first byte (a 0600 file never gets a 0644 copy)", async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'airflow_settings.yaml');
    await writeFile(file, 'conn_password: secret\n', { mode: 0o600 });
    await chmod(file, 0o600);
    const seen = await tempModeDuring(dir, writeFileAtomic(file, BIG));
    expect(seen).toBe(0o600);
    expect(await modeOf(file)).toBe(0o600);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // A 0640 file stays 0640 (umask never widens or narrows an existing file's bits).
    await chmod(file, 0o640);
    await writeFileAtomic(file, 'small\n');
    expect(await modeOf(file)).toBe(0o640);
  });

  it('private files are 0600 in a 0700 folder, also when the folder existed as 0755', async () => {
    const dir = await tmpDir();
    const stateDir = path.join(dir, '.astro-remote-kpo');
    await mkdir(stateDir, { mode: 0o755 });
    await chmod(stateDir, 0o755);
    const file = path.join(stateDir, 'state.json');
    await writeFile(file, '{}', { mode: 0o644 });
    const seen = await tempModeDuring(stateDir, writeFileAtomic(file, BIG, { private: true }));
    expect(seen).toBe(0o600);
    expect(await modeOf(file)).toBe(0o600);
    expect(await modeOf(stateDir)).toBe(0o700);
  });

  it('a symlinked file stays a symlink: the file it points at is replaced, with its mode', async () => {
    const dir = await tmpDir();
    const real = path.join(dir, 'real-settings.yaml');
    await writeFile(real, 'old', { mode: 0o600 });
    await chmod(real, 0o600);
    const link = path.join(dir, 'airflow_settings.yaml');
    await symlink(real, link);
    await writeFileAtomic(link, 'new');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(real, 'utf8')).toBe('new');
    expect(await modeOf(real)).toBe(0o600);
  });

  it('exclusive never replaces an existing file and leaves no temp file', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'backup.json');
    await writeFileAtomic(file, 'first', { exclusive: true, private: true });
    await expect(writeFileAtomic(file, 'second', { exclusive: true, private: true })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(file, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['backup.json']);
  });

  it('the private appender creates 0600 and tightens an older 0644 log', async () => {
    const dir = await tmpDir();
    const stateDir = path.join(dir, '.astro-remote-kpo');
    await mkdir(path.join(stateDir, 'logs'), { recursive: true });
    const log = path.join(stateDir, 'logs', 'debug.log');
    await writeFile(log, 'old\n', { mode: 0o644 });
    const append = createPrivateAppender(log, stateDir);
    append('new\n');
    expect(await readFile(log, 'utf8')).toBe('old\nnew\n');
    expect(await modeOf(log)).toBe(0o600);
    expect(await modeOf(path.join(stateDir, 'logs'))).toBe(0o700);
    expect(await modeOf(stateDir)).toBe(0o700);
  });

  // Last in this file: settleWrites() closes the helper for the rest of this process (the exit path).
  it('settleWrites waits for writes in flight, leaves no temp file, and refuses new writes', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'state.json');
    await writeFile(file, 'old');
    const writing = writeFileAtomic(file, BIG, { private: true });
    // The write has registered its temp file once its mkdir/stat are done.
    while (writesInFlight() === 0) await new Promise((r) => setImmediate(r));
    await settleWrites();
    await writing;
    expect(writesInFlight()).toBe(0);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await readFile(file, 'utf8')).length).toBe(BIG.length);
    await expectCode(writeFileAtomic(file, 'late'), 'INTERRUPTED');
  });
});

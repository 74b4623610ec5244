// The project folder must exist and take writes before anything runs: a mistyped --project-dir
// is never silently created (non-interactive: exit 2 naming it; interactive: asked, default no),
// and a folder that cannot be written is a clear exit 2, not an "Unexpected error: EPERM" after
// the cloud was changed.
import { mkdir, stat } from 'node:fs/promises';
import { isKpoError, KpoError } from './errors.js';
import type { Io } from './io.js';
import { probeWritable } from './write-files.js';

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** Creates and removes one empty file: the only reliable test (access(W_OK) says yes to root on
 * read-only mounts such as /sys). Leaves nothing behind. */
async function probeWrite(dir: string): Promise<void> {
  try {
    await probeWritable(dir);
  } catch (err) {
    if (isKpoError(err, 'INTERRUPTED')) throw err;
    throw new KpoError('PROJECT_DIR_UNUSABLE', `--project-dir ${JSON.stringify(dir)} cannot be written (${codeOf(err)}).`, 'Pass a folder you can write to (your Astro project). Nothing was changed.');
  }
}

export async function ensureProjectDir(dir: string, io: Io, o: { dryRun: boolean }): Promise<void> {
  let exists = true;
  try {
    if (!(await stat(dir)).isDirectory()) throw new KpoError('PROJECT_DIR_UNUSABLE', `--project-dir ${JSON.stringify(dir)} is not a folder.`, 'Pass the Astro project folder. Nothing was changed.');
  } catch (err) {
    if (isKpoError(err, 'PROJECT_DIR_UNUSABLE')) throw err;
    if (codeOf(err) !== 'ENOENT') throw new KpoError('PROJECT_DIR_UNUSABLE', `--project-dir ${JSON.stringify(dir)} cannot be read (${codeOf(err)}).`, 'Pass a folder you can read and write. Nothing was changed.');
    exists = false;
  }
  if (!exists) {
    const hint = `Create it first (mkdir -p ${JSON.stringify(dir)}, or \`astro dev init\` there), or pass the Astro project folder. Nothing was changed.`;
    if (!io.interactive) throw new KpoError('PROJECT_DIR_MISSING', `--project-dir ${JSON.stringify(dir)} does not exist.`, hint);
    const create = await io.confirm({ flag: '--project-dir', message: `${dir} does not exist. Create it?`, default: false });
    if (!create) throw new KpoError('PROJECT_DIR_MISSING', `--project-dir ${JSON.stringify(dir)} does not exist.`, hint);
    // A dry run writes nothing, not even the folder it was allowed to create.
    if (o.dryRun) return;
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new KpoError('PROJECT_DIR_UNUSABLE', `--project-dir ${JSON.stringify(dir)} cannot be created (${codeOf(err)}).`, 'Pass a folder you can write to. Nothing was changed.');
    }
  }
  if (!o.dryRun) await probeWrite(dir);
}

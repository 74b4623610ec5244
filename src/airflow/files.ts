// Small file helpers for the files this tool writes into the user's project.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KpoError } from '../errors.js';
import { writeFileAtomic } from '../write-files.js';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The file's text, or undefined when it does not exist. Anything else (a directory, no
 * permission) is the user's to fix: FILE_UNREADABLE, naming the file. */
export async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new KpoError('FILE_UNREADABLE', `Cannot read ${file}: ${(err as Error).message}`, 'Fix the file or its permissions; nothing was changed.');
  }
}

/** Atomic replace of a user's file (src/write-files.ts): an existing file keeps its permission
 * bits, and its temp copy has them from the start (airflow_settings.yaml may hold passwords and
 * be 0600). */
export async function writeTextAtomic(file: string, text: string): Promise<void> {
  await writeFileAtomic(file, text);
}

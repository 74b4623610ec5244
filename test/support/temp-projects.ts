// Per-test scratch project directories for e2e tests: `project()` makes one, and after each
// test `beforeCleanup` runs (typically stopping that test's cloud) and every directory is removed.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

export function useTempProjects(prefix: string, beforeCleanup?: () => Promise<void>): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await beforeCleanup?.();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  return async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

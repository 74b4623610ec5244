// Per-test scratch project directories for e2e tests: `project()` makes one, and after each
// test `beforeCleanup` runs (typically stopping that test's cloud) and every directory is removed.
// `useCloudProjects` adds the usual pairing: a test cloud and a project, both gone after the test.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { startTestCloud, type StartTestCloudOptions, type TestCloud } from './cloud.js';

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

export function useCloudProjects(prefix: string): (opts?: StartTestCloudOptions) => Promise<{ cloud: TestCloud; dir: string }> {
  const clouds: TestCloud[] = [];
  const project = useTempProjects(prefix, async () => {
    for (const c of clouds.splice(0)) await c.stop();
  });
  return async (opts) => {
    const cloud = await startTestCloud(opts);
    clouds.push(cloud);
    return { cloud, dir: await project() };
  };
}

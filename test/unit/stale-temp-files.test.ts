// Temp files a killed run left (#19, finding 10): removed only when named exactly as write-files
// names them, a regular file of this user, in a folder given, and its writer's pid no longer runs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realFolders, removeStaleTempFiles, writeFileAtomic } from '../../src/write-files.js';

/** A pid that ran and is gone (pids are not reused this soon on a quiet test machine). */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
let sleeper: ReturnType<typeof spawn>;
beforeAll(() => {
  sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
});
afterAll(() => {
  sleeper.kill('SIGKILL');
});

describe('removeStaleTempFiles', () => {
  it('removes a dead writer’s temp files and nothing else', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-stale-'));
    const dead = deadPid();
    const live = sleeper.pid!;
    const stale = [`.airflow_settings.yaml.${dead}-lq3x9k2a-1.tmp`, `.namespace.yaml.${dead}-lq3x9k2a-12.tmp`, `.astro-remote-kpo-probe-${dead}-lq3x9k2a-3.tmp`, `.state.json.${dead}-0-1.tmp`];
    const kept = [
      `.airflow_settings.yaml.${live}-lq3x9k2a-1.tmp`, // another run of ours, still running
      `.state.json.${process.pid}-lq3x9k2a-2.tmp`, // this process's own
      `airflow_settings.yaml.${dead}-lq3x9k2a-1.tmp`, // no leading dot: not our name
      `.airflow_settings.yaml.${dead}-lq3x9k2a-1.tmp.bak`,
      `.airflow_settings.yaml.${dead}-LQ3-1.tmp`, // upper case: not base 36 as we write it
      `.airflow_settings.yaml.${dead}-lq3-0.tmp`, // our counter starts at 1
      `.airflow_settings.yaml.0-lq3-1.tmp`, // pid 0 is the process group, never a writer
      `.notes.tmp`,
      'airflow_settings.yaml',
    ];
    for (const f of [...stale, ...kept]) await writeFile(path.join(dir, f), 'x');
    // Named like ours but a folder, or a symlink: not a file we wrote.
    await mkdir(path.join(dir, `.dags.${dead}-lq3-1.tmp`));
    await symlink(path.join(dir, 'airflow_settings.yaml'), path.join(dir, `.link.${dead}-lq3-1.tmp`));
    // Below the folder given: not looked at.
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'sub', stale[0]!), 'x');

    const removed = await removeStaleTempFiles([dir, path.join(dir, 'missing'), dir]);
    expect(removed.map((r) => path.basename(r.file)).sort()).toEqual([...stale].sort());
    expect(removed.every((r) => r.pid === dead)).toBe(true);
    expect((await readdir(dir)).sort()).toEqual([...kept, `.dags.${dead}-lq3-1.tmp`, `.link.${dead}-lq3-1.tmp`, 'sub'].sort());
    expect(await readdir(path.join(dir, 'sub'))).toEqual([stale[0]]);
  });

  it('the name a real write gives its temp file matches, and a write in flight keeps it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-stale-'));
    const write = writeFileAtomic(path.join(dir, 'big.yaml'), 'x'.repeat(40_000_000));
    let done = false;
    void write.finally(() => (done = true));
    let tmp: string | undefined;
    while (!done && !tmp) {
      tmp = (await readdir(dir)).find((f) => f.endsWith('.tmp'));
      if (!tmp) await new Promise((r) => setImmediate(r));
    }
    if (tmp) {
      expect(tmp).toMatch(new RegExp(`^\\.big\\.yaml\\.${process.pid}-[0-9a-z]+-\\d+\\.tmp$`));
      expect(await removeStaleTempFiles([dir])).toEqual([]);
    }
    await write;
    // The same name with a dead writer's pid is removed.
    const dead = tmp ?? `.big.yaml.${process.pid}-abc-1.tmp`;
    const planted = dead.replace(`.${process.pid}-`, `.${deadPid()}-`);
    await writeFile(path.join(dir, planted), 'x');
    expect((await removeStaleTempFiles([dir])).map((r) => path.basename(r.file))).toEqual([planted]);
    expect(await readdir(dir)).toEqual(['big.yaml']);
  });

  it('realFolders: where existing files really live (a symlink’s target folder), missing ones left out', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-stale-'));
    await mkdir(path.join(dir, 'elsewhere'));
    await writeFile(path.join(dir, 'elsewhere', 'settings.yaml'), 'x');
    await symlink(path.join(dir, 'elsewhere', 'settings.yaml'), path.join(dir, 'airflow_settings.yaml'));
    expect(await realFolders([path.join(dir, 'airflow_settings.yaml'), path.join(dir, 'nope')])).toEqual([path.join(dir, 'elsewhere')]);
  });
});

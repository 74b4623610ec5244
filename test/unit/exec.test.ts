// The one place that spawns processes: lines as they come (stdout and stderr), exit codes, the
// environment we pass and nothing else, Ctrl-C, and a binary that is not there.
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createExec } from '../../src/exec.js';

const node = process.execPath;
const exec = createExec({ PATH: path.dirname(node), KEPT: 'yes' });

describe('exec', () => {
  it('passes every line to onLine, stdout and stderr, and keeps the combined output', async () => {
    const lines: string[] = [];
    const script = "process.stdout.write('one\\ntw'); setTimeout(() => { process.stdout.write('o\\n'); process.stderr.write('err line\\n'); process.stdout.write('last'); }, 20)";
    const r = await exec.run(node, ['-e', script], { onLine: (l) => lines.push(l) });
    expect(r.exitCode).toBe(0);
    expect(lines.sort()).toEqual(['err line', 'last', 'one', 'two']);
    expect(r.output).toContain('one\ntwo\n');
    expect(r.output).toContain('err line\n');
  });

  it('returns the exit code, runs in cwd, and sees only the environment it was given', async () => {
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'kpo-exec-')));
    const script = 'console.log(process.cwd(), process.env.KEPT, process.env.EXTRA, process.env.HOME ?? "no-home"); process.exit(3)';
    const r = await exec.run(node, ['-e', script], { cwd: dir, env: { EXTRA: 'added' } });
    expect(r.exitCode).toBe(3);
    expect(r.output.trim()).toBe(`${dir} yes added no-home`);
  });

  it('stops the process on abort and reports 130', async () => {
    const ac = new AbortController();
    const started = exec.run(node, ['-e', 'console.log("up"); setInterval(() => {}, 1000)'], {
      signal: ac.signal,
      onLine: (l) => l === 'up' && ac.abort(),
    });
    expect((await started).exitCode).toBe(130);
  });

  it('says when the process has started, and not for a binary that cannot start', async () => {
    const spawned: string[] = [];
    await exec.run(node, ['-e', '0'], { onSpawn: () => spawned.push('node') });
    await exec.run('/nonexistent/eksctl', ['version'], { onSpawn: () => spawned.push('eksctl') });
    expect(spawned).toEqual(['node']);
  });

  it('answers 127 with the reason for a binary that does not exist', async () => {
    const r = await exec.run('/nonexistent/eksctl', ['version']);
    expect(r.exitCode).toBe(127);
    expect(r.output).toMatch(/ENOENT/);
  });

  it('finds executables on PATH', async () => {
    expect(await exec.which(path.basename(node))).toBe(node);
    expect(await exec.which('surely-not-installed-kpo')).toBeUndefined();
  });
});

// `demo` on a terminal (a real pseudo-terminal, test/support/pty.ts), as someone deciding whether
// to trust the tool runs it: init's own confirmation, --step's question between the commands,
// destroy's own confirmations (the cluster name typed back). The same UI as the real commands,
// because they are the real commands.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliInPty, type PtyResult, type PtySession } from '../support/pty.js';
import { requireBuild } from './aws-helpers.js';

let tmp: string;
beforeAll(async () => {
  requireBuild();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kpo-demo-pty-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** `demo <args>` on a terminal with nothing of the developer's environment; `play` is the person at the keyboard. */
async function onTerminal(args: string[], play: (s: PtySession) => Promise<void>): Promise<{ r: PtyResult; temp: string }> {
  const temp = await mkdtemp(path.join(tmp, 'tmpdir-'));
  const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, TMPDIR: temp, HOME: await mkdtemp(path.join(tmp, 'home-')), TERM: 'xterm-256color', NO_COLOR: '1' };
  const s = startCliInPty(['demo', ...args], { env, cwd: tmp, cols: 200, rows: 60, timeoutMs: 150_000 });
  try {
    await play(s);
  } catch (e) {
    s.kill();
    throw e;
  }
  return { r: await s.result, temp };
}

describe('demo on a terminal', () => {
  it('asks what the real commands ask, and --step asks before each next command', async () => {
    const { r, temp } = await onTerminal(['--step'], async (s) => {
      await s.waitFor(/SIMULATED AWS account and EKS cluster on this machine \(127\.0\.0\.1\)/);
      // init's wizard: the values are given, so its questions are the pods' identity and the confirmation.
      await s.enterThrough(/Proceed\?/, { max: 3 });
      await s.answer(/Proceed\?/, 'y');
      await s.answer(/Run astro-remote-kpo status next\?/, '');
      await s.answer(/Run astro-remote-kpo verify next\?/, '');
      await s.answer(/Run astro-remote-kpo destroy next\?/, 'y');
      await s.answer(/Delete these \d+ resources\?/, 'y');
      await s.answer(/Type the cluster name \(remote-kpo-demo\)/, 'remote-kpo-demo');
      await s.waitFor(/and nothing left it\./);
    });
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).toMatch(/All \d+ checks passed/);
    expect(r.screen).toMatch(/^ {2}nothing: /m);
    expect(await readdir(temp)).toEqual([]);
  }, 180_000);

  it('declining init\'s confirmation stops the demo: nothing was changed, nothing is left', async () => {
    const { r, temp } = await onTerminal([], async (s) => {
      await s.enterThrough(/Proceed\?/, { max: 3 });
      await s.answer(/Proceed\?/, 'n');
      await s.waitFor(/and nothing left it\./);
    });
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).toContain('Nothing was changed.');
    expect(r.screen).not.toMatch(/\$ astro-remote-kpo status/);
    expect(await readdir(temp)).toEqual([]);
  }, 150_000);
});

// Every question is asked before the first change: the kubeconfig context to use (several point at
// the cluster) and whether to overwrite a project file the user has (dags/remote_kpo.py that was
// there before the tool) come with the confirmation, after preflight's reads, while the test
// cloud's call log holds no mutating call; declined, nothing changes at all. On a real terminal
// (a pseudo-terminal), as a person meets it. Non-interactive, both take their default and say so.
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestCloud } from '../support/cloud.js';
import { startCliInPty, type PtySession } from '../support/pty.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { readState, requireBuild, WI } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-questions-');
beforeAll(requireBuild);

const EKSCTL_CTX = 'test-admin@remote-kpo-demo.us-east-1.eksctl.io';
const ADMIN_CTX = 'admin@remote-kpo-demo';
const MINE = '# my own DAG, there before astro-remote-kpo\n';

/** A cluster two kubeconfig contexts point at (eksctl's, current, and an admin one), and a
 * project that already has a dags/remote_kpo.py of the user's. */
async function setup(): Promise<{ cloud: TestCloud; dir: string }> {
  const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
  await cloud.writeAdminContext('remote-kpo-demo', { contextName: ADMIN_CTX, setCurrent: false });
  await mkdir(path.join(dir, 'dags'));
  await writeFile(path.join(dir, 'dags', 'remote_kpo.py'), MINE);
  return { cloud, dir };
}

/** The cloud's environment as a terminal session has it: no CI variable (that would make the run
 * non-interactive), a terminal type. */
function terminalEnv(env: Record<string, string>): Record<string, string> {
  const { CI: _ci, ...rest } = env;
  return { ...rest, TERM: 'xterm-256color' };
}

describe('questions first, on a terminal', () => {
  it('both questions come with the confirmation, before any change; declined, nothing changes', { timeout: 120_000 }, async () => {
    const { cloud, dir } = await setup();
    const s: PtySession = startCliInPty(['init', '--workload-identity', WI, '--project-dir', dir], { env: terminalEnv(cloud.env), cwd: dir, cols: 200 });
    try {
      // The wizard's own prompts (cluster name, region) with their defaults, up to the first question.
      await s.enterThrough(/kubeconfig contexts point at cluster remote-kpo-demo/);
      expect(s.screen).toContain('About to set up, as');
      expect(s.screen).toContain('dags/remote_kpo.py (you changed it: overwrite? asked below)');
      expect(cloud.mutatingCalls(), 'at the context question').toEqual([]);
      const picked = await s.answer(/which one should be used/, '');
      expect(picked).toContain(EKSCTL_CTX);
      // The file question shows the difference first.
      await s.waitFor(/Overwrite dags\/remote_kpo\.py with the version above\?/);
      expect(s.screen).toContain('dags/remote_kpo.py differs from what astro-remote-kpo would write');
      expect(s.screen).toContain(`-${MINE.trim()}`);
      expect(cloud.mutatingCalls(), 'at the overwrite question').toEqual([]);
      await s.answer(/Overwrite dags\/remote_kpo\.py/, 'n');
      await s.answer(/Proceed\?/, 'n');
      const r = await s.result;
      expect(r.code, r.screen).toBe(0);
      expect(r.screen).toContain('Nothing was changed.');
    } finally {
      s.kill();
    }
    expect(cloud.mutatingCalls()).toEqual([]);
    expect(await readFile(path.join(dir, 'dags', 'remote_kpo.py'), 'utf8')).toBe(MINE);
    expect(existsSync(path.join(dir, '.astro-remote-kpo'))).toBe(false);
  });

  it('the answers reach the stages: the context picked is used, the file overwritten; no stage asks', { timeout: 120_000 }, async () => {
    const { cloud, dir } = await setup();
    const s: PtySession = startCliInPty(['init', '--workload-identity', WI, '--project-dir', dir], { env: terminalEnv(cloud.env), cwd: dir, cols: 200 });
    let questionsAt: number;
    try {
      await s.enterThrough(/kubeconfig contexts point at cluster remote-kpo-demo/);
      // The second choice (the admin context), not the default (the current one).
      const picked = await s.answer(/which one should be used/, '\x1b[B');
      expect(picked).toContain(ADMIN_CTX);
      await s.answer(/Overwrite dags\/remote_kpo\.py/, 'y');
      expect(cloud.mutatingCalls()).toEqual([]);
      await s.answer(/Proceed\?/, '');
      questionsAt = s.screen.length;
      const r = await s.result;
      expect(r.code, r.screen).toBe(0);
      // After the confirmation, not one question more: the stages ran under the spinner.
      expect(r.screen.slice(questionsAt)).not.toMatch(/(?:^|\n)\s*\? /);
    } finally {
      s.kill();
    }
    expect(cloud.mutatingCalls().length).toBeGreaterThan(0);
    const st = await readState(dir);
    expect(st.stages.context.outputs).toMatchObject({ source: 'kubeconfig', contextName: ADMIN_CTX });
    expect(st.stages['project-files'].outputs.written).toContain('dags/remote_kpo.py');
    expect(await readFile(path.join(dir, 'dags', 'remote_kpo.py'), 'utf8')).not.toBe(MINE);
  });
});

describe('questions first, non-interactive', () => {
  it('every question answered by its default, said plainly; nothing hangs', { timeout: 120_000 }, async () => {
    const { cloud, dir } = await setup();
    const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.code, out).toBe(0);
    expect(out).not.toContain('which one should be used');
    expect(out).toContain('dags/remote_kpo.py (you changed it: kept; --force overwrites it)');
    // The context: the current one of the two, and how to pick the other.
    expect(out).toContain(`using the current context — pass --kube-context to pick another`);
    const st = await readState(dir);
    expect(st.stages.context.outputs).toMatchObject({ source: 'kubeconfig', contextName: EKSCTL_CTX });
    // The file: kept, with a warning naming --force.
    expect(st.stages['project-files'].outputs.kept).toEqual(['dags/remote_kpo.py']);
    expect(out).toContain('kept dags/remote_kpo.py');
    expect(await readFile(path.join(dir, 'dags', 'remote_kpo.py'), 'utf8')).toBe(MINE);

    // --force answers the file question yes, without asking.
    const forced = await runCli(['init', '--non-interactive', '--force', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(forced.stdout).toContain('dags/remote_kpo.py (you changed it: overwritten: --force)');
    expect(await readFile(path.join(dir, 'dags', 'remote_kpo.py'), 'utf8')).not.toBe(MINE);
  });
});

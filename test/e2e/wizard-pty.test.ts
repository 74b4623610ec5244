// E2E: the wizard as a person meets it, on a real (pseudo-)terminal rather than pipes. Typed
// answers, the confirmation, Ctrl-C while eksctl creates the cluster (exit 130, the stage named),
// then the same command with no flags, answered only with Enter, resumes on the recorded
// cluster and finishes.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCliInPty, type PtySession } from '../support/pty.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { runCli } from '../support/run-cli.js';
import { initArgs, readState, requireBuild, WI } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-pty-');

beforeAll(requireBuild);

/** The cloud's environment as a terminal session has it: no CI variable (that would make the
 * run non-interactive), a terminal type, nothing of the developer's own. */
function terminalEnv(env: Record<string, string>): Record<string, string> {
  const { CI: _ci, ...rest } = env;
  return { ...rest, TERM: 'xterm-256color' };
}

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the wizard on a terminal', () => {
  it('typed answers, Ctrl-C during eksctl, then Enter-only resume on the recorded cluster', { timeout: 180_000 }, async () => {
    const { cloud, dir } = await cloudProject();
    const env = terminalEnv(cloud.env);
    // Long enough that eksctl is still creating when Ctrl-C comes; the control plane goes on to
    // ACTIVE in the (test) cloud regardless, as CloudFormation would.
    cloud.eksctl.setDurationMs(10_000);

    // --- first run: typed answers, the confirmation, Ctrl-C while eksctl runs ---
    let s: PtySession = startCliInPty(['init', '--project-dir', dir], { env, cwd: dir });
    try {
      const wiLine = await s.answer(/workload identity/i, WI);
      expect(wiLine).toContain(WI);
      const clusterLine = await s.answer(/cluster name/i, 'kpo-typed');
      expect(clusterLine).toMatch(/kpo-typed$/);
      // Everything else (region, …, the confirmation) with its default, until eksctl is at work.
      const rest = await s.enterThrough(() => cloud.aws.cluster('kpo-typed')?.status === 'CREATING');
      expect(rest.some((l) => /Yes$/.test(l)), `a confirmation was answered: ${JSON.stringify(rest)}`).toBe(true);
      expect(cloud.aws.cluster('remote-kpo-demo')).toBeUndefined();
      s.ctrlC();
      const first = await s.result;
      expect(first.timedOut).toBe(false);
      expect(first.code, first.screen).toBe(130);
      // The interrupt names the stage it stopped, and the resume command carries the typed cluster name.
      expect(first.screen).toMatch(/interrupt[^\n]*\bcluster\b|\bcluster\b[^\n]*interrupt/i);
      // (The spinner's redraws can come between the two lines in the byte stream.)
      expect(first.screen).toMatch(/Resume with:[\s\S]*?\n\s*npx astro-remote-kpo init [^\n]*--cluster-name kpo-typed/);
      const st = await readState(dir);
      expect(st.inputs.clusterName).toBe('kpo-typed');
      expect(st.inputs.workloadIdentities).toEqual([WI]);
      expect(st.stages.cluster.status).toBe('interrupted');
    } finally {
      s.kill();
    }

    // The second run: the resume prompt and every prompt defaulting to the recorded answers.
    // CloudFormation finishes the control plane while nobody watches.
    await until('kpo-typed to become ACTIVE', () => cloud.aws.cluster('kpo-typed')?.status === 'ACTIVE', 60_000);
    cloud.eksctl.setDurationMs(400);

    // --- second run: no flags, Enter to every prompt ---
    s = startCliInPty(['init', '--project-dir', dir], { env, cwd: dir });
    try {
      const answered = await s.enterThrough(/Done\b|Failed:|✖/, { timeoutMs: 60_000 });
      const second = await s.result;
      expect(second.code, second.screen).toBe(0);
      // It offered to resume, and every prompt offered what the first run recorded.
      expect(answered.join('\n')).toMatch(/Resume the setup of cluster kpo-typed/);
      expect(answered.find((l) => /cluster name/i.test(l))).toMatch(/kpo-typed$/);
      expect(answered.join('\n')).not.toMatch(/remote-kpo-demo/);
      expect(cloud.aws.cluster('remote-kpo-demo')).toBeUndefined();
      const st = await readState(dir);
      expect(st.inputs.clusterName).toBe('kpo-typed');
      expect(st.stages.cluster.status).toMatch(/done|skipped/);
      expect(st.stages['access-check'].status).toBe('done');
      expect(cloud.aws.role('AstroRemoteKPO')).toBeDefined();
    } finally {
      s.kill();
    }
  });

  it("verify and destroy on a terminal never ask init's question about the task pods' AWS identity", { timeout: 120_000 }, async () => {
    const { cloud, dir } = await cloudProject();
    const env = terminalEnv(cloud.env);
    const first = await runCli(initArgs(dir), { env: cloud.env, cwd: dir });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // From another folder (no state: a fresh clone), where the values would otherwise be asked for.
    const bare = await mkdtemp(path.join(os.tmpdir(), 'kpo-e2e-pty-bare-'));
    for (const args of [['verify'], ['destroy', '--yes']]) {
      const s = startCliInPty([...args, '--workload-identity', WI, '--project-dir', bare], { env, cwd: bare });
      try {
        const answered = await s.enterThrough(() => false, { timeoutMs: 60_000 }).catch(() => [] as string[]);
        const r = await s.result;
        // verify: 1, the bare folder has no airflow_settings.yaml or DAGs (every cloud row passes).
        expect(r.code, r.screen).toBe(args[0] === 'verify' ? 1 : 0);
        expect(r.screen, args[0]).not.toMatch(/AWS identity of their own/);
        expect(answered.join('\n'), args[0]).not.toMatch(/AWS identity/);
      } finally {
        s.kill();
      }
    }
    await rm(bare, { recursive: true, force: true });
  });
});

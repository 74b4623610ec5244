// E2E: the wizard a person reads — the confirmation after preflight, colour only on a terminal,
// help and usage errors, the audit trail in debug.log, a cluster without its node group, and the
// resume command and `status` carrying every input.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StartTestCloudOptions, TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { CLI_BIN, runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, readState, requireBuild, WI } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-wizard-');
let cloud: TestCloud;
let dir: string;

beforeAll(requireBuild);

async function setup(opts: StartTestCloudOptions = {}) {
  ({ cloud, dir } = await cloudProject(opts));
  return cloud;
}

const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[`);
const ANSI_SEQ = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g');

// util-linux `script` gives the CLI a pseudo-terminal (so it is interactive); each answer is typed
// once its question has shown. (The full terminal walk-through lives in the pseudo-terminal test.)
const HAS_SCRIPT = existsSync('/usr/bin/script');
async function inTerminal(args: string[], env: Record<string, string>, answers: Array<[string, string]>): Promise<{ code: number; out: string }> {
  const cmd = [process.execPath, CLI_BIN, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...env, CI: '', TERM: 'xterm', COLUMNS: '120' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const pending = [...answers];
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    while (pending.length && out.includes(pending[0]![0])) child.stdin.write(pending.shift()![1]);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  clearTimeout(timer);
  return { code, out: out.replace(ANSI_SEQ, '') };
}

describe('confirmation', () => {
  it('after preflight: account, caller, cluster creation with eksctl, IAM role create, mapping and files', async () => {
    const c = await setup();
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = r.stdout;
    const at = out.indexOf('About to set up');
    expect(at).toBeGreaterThan(out.indexOf('0·preflight'));
    expect(at).toBeLessThan(out.indexOf('1·cluster'));
    const block = out.slice(at, out.indexOf('\n', out.indexOf('is logged in .astro-remote-kpo/logs/debug.log')));
    expect(block).toContain(`as ${c.adminArn} in AWS account 123456789012 (region us-east-1)`);
    expect(block).toMatch(/create EKS cluster remote-kpo-demo with eksctl from k8s\/cluster\.yaml \(managed node group kpo-workers: 2 × t3\.medium; usually 15–20 min; billed/);
    expect(block).toContain(`create IAM role AstroRemoteKPO, trusted by ${WI}`);
    expect(block).toContain('with an EKS access entry');
    expect(block).toMatch(/write in .*airflow_settings\.yaml \(connection aws_eks, if it differs\), k8s\/cluster\.yaml.*dags\/test_eks_connectivity\.py.*\.gitignore/);
    expect(block).toContain('--dry-run');
    // The dry-run hint is a command that works: it carries the inputs.
    expect(block).toContain(`--workload-identity ${WI} --region us-east-1`);
    // A re-run lists only what would really change: every project file is as wanted now.
    const again = (await runCli(initArgs(dir), { env: c.env, cwd: dir })).stdout;
    const writeLine = again.split('\n').find((l) => l.includes('• write in')) ?? '';
    expect(writeLine).toContain('airflow_settings.yaml');
    expect(writeLine).not.toMatch(/k8s\/|dags\/|\.dockerignore|\.gitignore/);
  });

  it.skipIf(!HAS_SCRIPT)('interactive: answered "no", nothing is created and nothing is written', async () => {
    const c = await setup();
    const r = await inTerminal(['init', '--workload-identity', WI, '--project-dir', dir], c.env, [
      ['EKS cluster name', '\r'],
      ['AWS region', '\r'],
      // The task pods' question: Enter takes its default, no AWS identity for the pods.
      ['AWS identity of their own', '\r'],
      ['Proceed?', 'n\r'],
    ]);
    expect(r.out).toContain('About to set up, as');
    expect(r.out).toContain('no AWS identity for the pods');
    expect(r.out).toContain('create EKS cluster remote-kpo-demo with eksctl');
    expect(r.out).toContain('Nothing was changed.');
    expect(r.code).toBe(0);
    expect(c.mutatingCalls()).toEqual([]);
    expect(existsSync(path.join(dir, '.astro-remote-kpo', 'state.json'))).toBe(false);
    expect(existsSync(path.join(dir, 'k8s'))).toBe(false);
    // Not even the tool's own folder (the lock made it; declining takes it away).
    expect(existsSync(path.join(dir, '.astro-remote-kpo'))).toBe(false);
  });

  it('a live lookup, not state: an existing role and an existing cluster are "use", the role named as found', async () => {
    const c = await setup({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    c.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [] } });
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.stdout).toMatch(/use IAM role AstroRemoteKPO \(exists, not created by this tool; used, kept by destroy\), adding only what is missing of: trusted by /);
    expect(r.stdout).toMatch(/use EKS cluster remote-kpo-demo \(exists, ACTIVE/);
    expect(r.stdout).not.toContain('create EKS cluster');
  });
});

describe('colour only on a terminal', () => {
  it('no ANSI byte in piped stdout, nor in the stderr of --json; FORCE_COLOR forces it, --no-color wins', async () => {
    const c = await setup();
    const piped = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).not.toMatch(ANSI);
    expect(piped.stderr).not.toMatch(ANSI);
    const json = await runCli(initArgs(dir, ['--json']), { env: c.env, cwd: dir });
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr.length).toBeGreaterThan(0);
    expect(json.stderr).not.toMatch(ANSI);
    expect(json.stdout).not.toMatch(ANSI);
    // FORCE_COLOR asks for colour even in a pipe (as chalk and Node do); NO_COLOR does not win over it.
    const forced = await runCli(['status', '--project-dir', dir], { env: { ...c.env, FORCE_COLOR: '1' }, cwd: dir });
    expect(forced.stdout).toMatch(ANSI);
    const noColorFlag = await runCli(['status', '--project-dir', dir, '--no-color'], { env: { ...c.env, FORCE_COLOR: '1' }, cwd: dir });
    expect(noColorFlag.stdout).not.toMatch(ANSI);
  });
});

describe('help', () => {
  it('init --help shows the defaults; verify and destroy speak for themselves', async () => {
    const c = await setup();
    const init = await runCli(['init', '--help'], { env: c.env, cwd: dir });
    const flat = init.stdout.replace(/\s+/g, ' ');
    for (const d of ['(default: remote-kpo-demo)', '(default: astro-remote-kpo)', '(default: AstroRemoteKPO)', '(default: auto)', '(default: scoped)', '(default: aws_eks)', '(default: AWS_REGION, the profile\'s region, or us-east-1)']) {
      expect(flat).toContain(d);
    }
    const verify = (await runCli(['verify', '--help'], { env: c.env, cwd: dir })).stdout;
    expect(verify).not.toMatch(/-y, --yes/);
    expect(verify).not.toContain('created with eksctl');
    expect(verify).not.toContain('--cluster-config');
    const destroy = (await runCli(['destroy', '--help'], { env: c.env, cwd: dir })).stdout.replace(/\s+/g, ' ');
    expect(destroy).not.toContain('(required');
    expect(destroy).toContain('--workload-identity <arn> the workload identities init added');
    const top = (await runCli(['--help'], { env: c.env, cwd: dir })).stdout.split('\n');
    expect(top[0]).toMatch(/^Quick start/);
    // The demo first (issue #22), then the dry run, then the real thing.
    expect(top.slice(1, 4).join('\n')).toMatch(/astro-remote-kpo demo [\s\S]*init --dry-run --workload-identity <arn>[\s\S]*init --workload-identity <arn>/);
  });

  it("an unknown flag: the error and the suggestion in at most 5 lines, exit 2", async () => {
    const c = await setup();
    const r = await runCli(['init', '--regoin', 'eu-west-1'], { env: c.env, cwd: dir });
    expectFailure(r, 'BAD_COMMAND_LINE');
    const lines = `${r.stdout}${r.stderr}`.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines.join('\n')).toContain("unknown option '--regoin'");
    expect(lines.join('\n')).toContain('--region');
  });
});

describe('audit trail', () => {
  it('debug.log lists every mutating call of init and of destroy, and the summary names it', async () => {
    const c = await setup();
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Every change made in AWS and in the cluster is listed in');
    const d = await runCli(['destroy', '--yes', '--project-dir', dir], { env: c.env, cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const log = await readFile(path.join(dir, '.astro-remote-kpo', 'logs', 'debug.log'), 'utf8');
    const audit = log.split('\n').filter((l) => / audit /.test(l));
    const calls = c.mutatingCalls().filter((m) => m.service !== 'eksctl');
    expect(calls.length).toBeGreaterThan(6);
    for (const m of calls) {
      const needle = `audit ${m.service} ${m.operation} `;
      expect(audit.some((l) => l.includes(needle) && (!m.name || l.includes(m.name))), `${needle}${m.name ?? ''} in\n${audit.join('\n')}`).toBe(true);
    }
    // Each side: as many audit lines as calls the cloud saw (no retries in this run).
    for (const service of ['iam', 'eks', 'kube'] as const) {
      expect(audit.filter((l) => l.includes(` audit ${service} `)).length, service).toBe(calls.filter((m) => m.service === service).length);
    }
    expect(audit.some((l) => l.includes('audit eksctl create cluster remote-kpo-demo'))).toBe(true);
    // destroy's deletions are there too.
    expect(audit.some((l) => /audit iam DeleteRole RoleName=AstroRemoteKPO -> ok/.test(l))).toBe(true);
    expect(audit.some((l) => /audit kube DELETE rolebindings /.test(l))).toBe(true);
    // After destroy the chain says what happened, not "not created yet".
    const status = await runCli(['status', '--project-dir', dir], { env: c.env, cwd: dir });
    expect(status.stdout).toContain('IAM role AstroRemoteKPO (removed by destroy)');
    expect(status.stdout).not.toContain('not created yet');
  });
});

describe('a cluster is done when it can run pods', () => {
  it('eksctl stopped after the control plane: the run fails, the resume creates the node group with eksctl create nodegroup', async () => {
    const c = await setup();
    c.eksctl.stopAfterControlPlane();
    const first = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expectFailure(first, 'EKSCTL_FAILED');
    expect(c.aws.cluster('remote-kpo-demo')?.status).toBe('ACTIVE');
    expect([...c.aws.cluster('remote-kpo-demo')!.nodegroups.keys()]).toEqual([]);

    const second = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/use EKS cluster remote-kpo-demo \(exists, ACTIVE.*\n.*create managed node group kpo-workers: 2 × t3\.medium in it with eksctl create nodegroup/);
    const creates = c.eksctl.invocations.filter((a) => a[0] === 'create');
    expect(creates.map((a) => a.slice(0, 2).join(' '))).toEqual(['create cluster', 'create nodegroup']);
    expect(creates[1]).toEqual(['create', 'nodegroup', '--config-file', path.join(dir, 'k8s', 'cluster.yaml')]);
    expect([...c.aws.cluster('remote-kpo-demo')!.nodegroups.keys()]).toEqual(['kpo-workers']);
    expect(second.stdout).toMatch(/✔ 1·cluster .*created managed node group kpo-workers: 2 × t3\.medium with eksctl \(it was missing\)/);
    const state = await readState(dir);
    expect(state.stages.cluster.status).toBe('done');
    // A third run finds everything and creates nothing.
    c.resetCalls();
    const third = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(third.code).toBe(0);
    expect(c.eksctl.invocations.filter((a) => a[0] === 'create')).toHaveLength(2);
    // status still shows what init made, not "skipped: exists".
    const status = await runCli(['status', '--project-dir', dir], { env: c.env, cwd: dir });
    expect(status.stdout).toMatch(/✔ 1·cluster\s+done .*created managed node group kpo-workers/);
    expect(status.stdout).toMatch(/✔ 5·iam-role\s+done .*created IAM role AstroRemoteKPO/);
  });

  it('without eksctl the missing node group fails clearly with the command to run', async () => {
    // Our cluster (init's eksctl made it, stopped after the control plane), then eksctl is gone.
    const c = await setup();
    c.eksctl.stopAfterControlPlane();
    expectFailure(await runCli(initArgs(dir), { env: c.env, cwd: dir }), 'EKSCTL_FAILED');
    const env = { ...c.env, PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter) };
    const r = await runCli(initArgs(dir), { env, cwd: dir });
    expectFailure(r, 'EKSCTL_MISSING');
    // The command to run by hand.
    expect(r.stdout + r.stderr).toContain('eksctl create nodegroup --config-file');
  });

  it("someone else's ACTIVE cluster with no node group or Fargate profile: a warning, nothing created", async () => {
    // Even with our generic managed-by tag (every cluster made from the template has it): without a
    // record or this project's intent, it is not ours, and eksctl is never run on it.
    const c = await setup({ cluster: { name: 'remote-kpo-demo', nodeGroup: false, tags: { 'managed-by': 'astro-remote-kpo' }, withKubeconfigContext: true } });
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cluster remote-kpo-demo has no managed node group and no Fargate profile: .*pods will stay Pending/);
    expect(c.eksctl.invocations).toEqual([]);
    expect(c.calls.some((k) => k.operation === 'ListNodegroups')).toBe(true);
    expect(c.calls.some((k) => k.operation === 'ListFargateProfiles')).toBe(true);
  });
});

describe('resume remembers; Ctrl-C says what goes on', () => {
  it('Ctrl-C during eksctl: the stage, CloudFormation, the log, and a resume command with every input; status suggests the same', async () => {
    const c = await setup();
    c.eksctl.setDurationMs(20_000);
    const { startCli } = await import('../support/run-cli.js');
    const p = startCli(initArgs(dir, ['--cluster-name', 'kpo-typed', '--namespace', 'team-a']), { env: c.env, cwd: dir });
    await p.waitForOutput('1·cluster: eksctl create cluster -f');
    // eksctl has started (its log is being written) when the cluster shows up CREATING.
    while (c.aws.cluster('kpo-typed')?.status !== 'CREATING') await new Promise((r) => setTimeout(r, 50));
    p.interrupt();
    const r = await p.result;
    expectFailure(r, 'INTERRUPTED');
    const out = r.stdout + r.stderr;
    expect(out).toContain('Interrupted during 1·cluster');
    expect(out).toMatch(/CloudFormation keeps creating cluster kpo-typed \(stack eksctl-kpo-typed-cluster\)/);
    expect(out).toContain(path.join(dir, '.astro-remote-kpo', 'logs', 'eksctl-create-cluster.log'));
    const resume = `npx astro-remote-kpo init --workload-identity ${WI} --cluster-name kpo-typed --region us-east-1 --namespace team-a --project-dir ${dir} --non-interactive`;
    expect(out).toContain(resume);
    const status = await runCli(['status', '--project-dir', dir], { env: c.env, cwd: dir });
    expect(status.stdout).toContain(`Next: npx astro-remote-kpo init --workload-identity ${WI} --cluster-name kpo-typed --region us-east-1 --namespace team-a --project-dir ${dir}`);
    expect(status.stdout).not.toContain('printed above');
  });

  it.skipIf(!HAS_SCRIPT)('an interactive re-run offers the recorded setup; Enter through every prompt resumes cluster kpo-typed', async () => {
    const c = await setup();
    c.eksctl.failWith(1, 'simulated failure', 1);
    const first = await runCli(initArgs(dir, ['--cluster-name', 'kpo-typed']), { env: c.env, cwd: dir });
    expectFailure(first, 'EKSCTL_FAILED');
    const r = await inTerminal(['init', '--project-dir', dir], c.env, [
      ['Resume the setup of cluster kpo-typed', '\r'],
      ['workload identity', '\r'],
      ['EKS cluster name', '\r'],
      ['AWS region', '\r'],
      ['AWS identity of their own', '\r'],
      ['Proceed?', '\r'],
    ]);
    expect(r.code, r.out).toBe(0);
    // The terminal is 80 columns wide: long lines wrap.
    const flat = r.out.replace(/\r?\n/g, '');
    expect(flat).toContain(`(IAM role ARN) (${WI})`);
    expect(flat).toContain('EKS cluster name (created if it does not exist) (kpo-typed)');
    expect(c.aws.cluster('kpo-typed')?.status).toBe('ACTIVE');
    expect(c.aws.cluster('remote-kpo-demo')).toBeUndefined();
    expect((await readState(dir)).inputs.clusterName).toBe('kpo-typed');
  });
});

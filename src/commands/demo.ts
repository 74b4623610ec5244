// `demo`: the real init, status, verify and destroy, run as child processes exactly as a user
// would run them, against the simulation (src/sim) started in this process: a simulated AWS
// account and EKS cluster on 127.0.0.1, a throwaway Astro project in a temp folder. The first and
// last lines say so; every other line is what the real commands print, except the look at the
// files init wrote and the simulation's own answer to "what is left?" (src/commands/demo-show.ts).
// docs/demo.md says what it proves and what it does not.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUi } from '../context.js';
import { EXIT, KpoError } from '../errors.js';
import { claimInterrupts } from '../interrupt.js';
import { loadState } from '../engine/state.js';
import { DEFAULTS, type RawOptions } from '../options.js';
import { packageFile } from '../package-file.js';
import { shellQuote } from '../shell-quote.js';
import { startDemoWorld, type DemoWorld } from '../sim/demo-world.js';
import { filesInitWrote, stateLeftovers, type DemoFiles } from './demo-show.js';

export interface DemoOptions extends RawOptions {
  keep?: boolean;
  step?: boolean;
}

export interface DemoStep {
  command: string;
  exitCode: number;
  /** The command's own --json document (with --json), or null. */
  result: unknown;
}

export const FIRST_LINE = 'astro-remote-kpo demo: everything below runs against a SIMULATED AWS account and EKS cluster on this machine (127.0.0.1). Your AWS and Kubernetes settings are ignored; nothing leaves this machine.';
export const LAST_LINE = 'That was a simulation: every command above ran against a simulated AWS account and EKS cluster on this machine (127.0.0.1), and nothing left it.';

export async function demoCommand(raw: DemoOptions): Promise<number> {
  const { out, io, interactive } = await createUi(raw, process.env);
  if (raw.step && (!interactive || !process.stdout.isTTY)) {
    throw new KpoError('INPUT_INVALID', `--step asks before each next command, so it needs a terminal and no --yes, --json or CI; ${raw.json ? '--json was given' : raw.yes ? '--yes was given' : 'this is not one'}.`, 'Run `astro-remote-kpo demo` without --step.');
  }
  const json = Boolean(raw.json);
  const note = (line: string) => (json ? process.stderr.write(`${line}\n`) : out.line(out.chalk.bold(line)));
  note(FIRST_LINE);

  const root = await mkdtemp(path.join(os.tmpdir(), 'astro-remote-kpo-demo-'));
  const release = claimInterrupts();
  let interrupted = false;
  const onSigint = () => void (interrupted = true);
  process.on('SIGINT', onSigint);
  const steps: DemoStep[] = [];
  let files: DemoFiles | undefined;
  let left: string[] | undefined;
  let world: DemoWorld | undefined;
  let code: number;
  try {
    world = await startDemoWorld(root, process.env);
    const dir = world.projectDir;
    const common = [...(raw.color === false ? ['--no-color'] : []), ...(json ? ['--json'] : [])];
    // Not a conversation (--yes, --json, CI, no terminal): the children are told so, as a script would.
    const unattended = interactive ? [] : ['--yes'];
    const plan: string[][] = [
      // Every value init would ask for is given (the simulation has one region and one cluster name):
      // on a terminal, what is left to answer is init's own confirmation.
      ['init', '--workload-identity', world.workloadIdentity, '--cluster-name', DEFAULTS.clusterName, '--region', world.cloud.region, '--project-dir', dir, ...unattended, ...common],
      ['status', '--project-dir', dir, ...common],
      ['verify', '--project-dir', dir, ...(interactive ? [] : ['--non-interactive']), ...common],
      ...(raw.keep ? [] : [['destroy', '--project-dir', dir, '--delete-cluster', '--delete-namespace', ...unattended, ...common]]),
    ];
    for (const [i, args] of plan.entries()) {
      // --step: a question like every other of the tool's (Enter goes on; no stops the demo here).
      if (i > 0 && raw.step && !(await io.confirm({ flag: '', message: `Run astro-remote-kpo ${args[0]} next?`, default: true }))) break;
      if (!json) out.line(out.chalk.dim(`\n$ astro-remote-kpo ${args.map(shellQuote).join(' ')}`));
      const step = await runChild(args, world.env, dir, { json, interactive });
      steps.push(step);
      if (interrupted) break;
      if (args[0] === 'verify') {
        files = await filesInitWrote(dir);
        if (!json) for (const l of files.lines) out.line(l);
      }
      if (step.exitCode !== EXIT.ok) break;
      if (args[0] === 'init' && !(await loadState(dir))) break; // declined at the confirmation: nothing to look at
    }
    const failed = steps.find((s) => s.exitCode !== EXIT.ok);
    if (!raw.keep && !failed && !interrupted && steps.length === plan.length) {
      // Ask the simulation itself, and the project: is anything left?
      left = [...world.leftovers(), ...(await stateLeftovers(dir))];
      if (!json) {
        out.line(out.chalk.bold('\nWhat the simulation holds now that it did not hold before init:'));
        out.line(left.length ? left.map((l) => `  ✖ ${l}`).join('\n') : '  nothing: no IAM role, OIDC provider, EKS cluster, access entry or namespace of init\'s is left, and the project\'s state holds no record of a create to undo.');
      }
    }
    code = interrupted ? EXIT.interrupted : (failed?.exitCode ?? (left?.length ? EXIT.stageFailed : EXIT.ok));
  } finally {
    process.off('SIGINT', onSigint);
    release();
    await world?.stop();
    // --keep keeps the project folder only; the simulation lived in memory and is gone.
    if (raw.keep) await Promise.all(['bin', 'sim'].map((d) => rm(path.join(root, d), { recursive: true, force: true })));
    else await rm(root, { recursive: true, force: true });
  }
  const projectDir = raw.keep ? path.join(root, 'project') : undefined;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: code === EXIT.ok, simulation: true, steps, files: files?.json ?? null, left: left ?? null, ...(projectDir ? { projectDir } : {}), kept: Boolean(raw.keep) }, null, 2)}\n`);
  }
  if (projectDir) note(`The project is kept at ${projectDir} (the simulated account and cluster it was set up against are gone).`);
  note(LAST_LINE);
  return code;
}

/** Whether any of our stdio is a terminal: then Ctrl-C comes from it, to the process group. */
const fromTerminal = () => Boolean(process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY);

/** One real command: `node <the launcher> <args>`, as a user runs it. */
function runChild(args: string[], env: Record<string, string>, cwd: string, o: { json: boolean; interactive: boolean }): Promise<DemoStep> {
  const bin = fileURLToPath(packageFile('bin/astro-remote-kpo.js'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: [o.interactive ? 'inherit' : 'ignore', o.json ? 'pipe' : 'inherit', 'inherit'] });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    // From a terminal, Ctrl-C reaches the whole process group, the child included (a second one
    // would make init kill itself at once); a signal sent to this process alone is passed on.
    const forward = () => void (!fromTerminal() && child.kill('SIGINT'));
    process.on('SIGINT', forward);
    child.on('error', (e) => {
      process.off('SIGINT', forward);
      reject(e);
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward);
      let result: unknown = null;
      if (o.json) {
        try {
          result = JSON.parse(stdout);
        } catch {
          result = { unparsed: stdout };
        }
      }
      resolve({ command: args[0]!, exitCode: code ?? (signal === 'SIGINT' ? EXIT.interrupted : EXIT.stageFailed), result });
    });
  });
}

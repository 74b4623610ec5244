// Builds everything a run needs in ONE place (create-astro's getContext): the output, the io
// host, validated inputs and flags, the lazily-loaded clients, and the debug log.
import path from 'node:path';
import { listDeployments, readWorkloadIdentities } from './airflow/astro-cli.js';
import { createAwsClients } from './aws/clients.js';
import type { Services } from './engine/stage.js';
import { stateDirOf } from './engine/state.js';
import { createExec } from './exec.js';
import type { Io } from './io.js';
import type { RawOptions } from './options.js';
import { assertSupportedPlatform } from './platform.js';
import { ensureProjectDir } from './project-dir.js';
import { isInteractive, resolveOptions, type Env, type ResolveContext } from './resolve.js';
import { initCommandLine, keptSwitches } from './resume-command.js';
import type { Inputs, RunFlags } from './types.js';
import { interactiveIo, nonInteractiveIo } from './ui/io-host.js';
import { createPrivateAppender } from './write-files.js';
import { createOutput, type Output } from './ui/output.js';

export interface RunContext {
  inputs: Inputs;
  flags: RunFlags;
  env: Env;
  out: Output;
  io: Io;
  services: Services;
  projectDir: string;
  stateDir: string;
  debug: (line: string) => void;
  /** The command line to print as "run this again to resume". */
  resumeCommand: string;
}


/** Output + io only: what status/verify/destroy need before options are resolved. */
export async function createUi(raw: RawOptions, env: Env): Promise<{ out: Output; io: Io; interactive: boolean }> {
  // Every command starts here: on a platform the tool does not run on, it says so first (src/platform.ts).
  assertSupportedPlatform();
  const interactive = isInteractive(raw, env, Boolean(process.stdin.isTTY));
  const out = await createOutput({ json: Boolean(raw.json), color: raw.color !== false, env });
  return { out, io: interactive ? interactiveIo(out) : nonInteractiveIo(out), interactive };
}

export async function buildRunContext(raw: RawOptions, argv: readonly string[] = process.argv, rctx: ResolveContext = {}): Promise<RunContext> {
  const env: Env = { ...process.env };
  const { out, io } = await createUi(raw, env);
  try {
    const exec = createExec(env);
    // Workload identities not given are read from the Deployments with the astro CLI (read-only).
    const lookup = (ids: readonly string[]) => readWorkloadIdentities(exec, ids);
    const { inputs, flags } = await resolveOptions(raw, env, io, process.cwd(), rctx, lookup, () => listDeployments(exec));
    const projectDir = flags.projectDir;
    // Only for the commands that write there: verify is read-only (no probe file, no offer to create).
    if (rctx.command !== 'verify') await ensureProjectDir(projectDir, io, { dryRun: flags.dryRun });
    const stateDir = stateDirOf(projectDir);
    // The debug log is ours (never the user's secrets: no credentials or tokens are passed to it).
    // A dry run writes nothing at all, so its debug lines are dropped.
    const append = createPrivateAppender(path.join(stateDir, 'logs', 'debug.log'), stateDir);
    const debug = (line: string) => {
      if (flags.dryRun) return;
      try {
        append(`${new Date().toISOString()} ${line}\n`);
      } catch {
        // a debug log that cannot be written must never fail the run
      }
    };
    // A dry run is what people run with no AWS account: never probe the EC2 instance metadata
    // service (a link-local address) for credentials then. Real runs keep the SDK's full chain.
    if (flags.dryRun && env.AWS_EC2_METADATA_DISABLED === undefined) process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const services: Services = {
      aws: createAwsClients({ region: inputs.region, ...(inputs.profile ? { profile: inputs.profile } : {}), audit: debug }),
      exec,
      io,
    };
    // Rebuilt from the resolved inputs (prompt answers included), not from argv alone.
    const resumeCommand = initCommandLine(inputs, { projectDir: raw.projectDir, from: flags.from, only: flags.only, switches: keptSwitches(argv) });
    return { inputs, flags, env, out, io, services, projectDir, stateDir, debug, resumeCommand };
  } catch (err) {
    out.close();
    throw err;
  }
}

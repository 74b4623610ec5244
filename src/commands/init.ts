// `init`: resolve (offering to resume what state recorded) → validate every stage's user files →
// preflight → confirm with live facts → run the rest of the graph → summarise.
import { rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { buildRunContext, type RunContext } from '../context.js';
import { claimInterrupts } from '../interrupt.js';
import { realFolders, removeStaleTempFiles, removeTempFilesSync } from '../write-files.js';
import { SETTINGS_FILE } from '../airflow/settings-file.js';
import { kubeconfigPaths } from '../kube/kubeconfig.js';
import { EXIT, errorRecord, isKpoError } from '../errors.js';
import { selectModes } from '../engine/graph.js';
import { acquireLock } from '../engine/lock.js';
import { planStages } from '../engine/plan.js';
import { makeFullContext, makeStageContext } from '../engine/context.js';
import { readOnlyOwner, runStages } from '../engine/runner.js';
import { emptyState, loadState, saveState, type State } from '../engine/state.js';
import type { RawOptions } from '../options.js';
import type { StageOutputs } from '../types.js';
import { allStages } from '../stages/index.js';
import type { StageId } from '../types.js';
import { finalSummary, jsonStages, nextStepLines, renderPlan } from '../ui/summary.js';
import { confirmation, confirmationHandoffs } from './init-confirm.js';
import { interruptedLines } from './init-interrupt.js';
import { askQuestions } from './init-questions.js';

/** Every stage's recorded outputs, whatever its status. */
const recordedOutputs = (state: State): Partial<StageOutputs> =>
  Object.fromEntries(Object.entries(state.stages).map(([id, r]) => [id, r?.outputs]).filter(([, o]) => o !== undefined)) as Partial<StageOutputs>;

/** Relative to where the user is when that is shorter and inside it; absolute otherwise. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

const isDirectory = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);

/** The temp files of a killed run (src/write-files.ts), in every folder init writes to: the project,
 * its k8s/ and dags/, the state folder and its backups, and where the settings file and the
 * kubeconfig really live (a symlinked file is written beside its target). Never fails the run. */
async function removeLeftovers(rc: RunContext, debug: (line: string) => void): Promise<void> {
  try {
    const p = rc.projectDir;
    const files = [path.join(p, SETTINGS_FILE), ...(await kubeconfigPaths(rc.env))];
    const folders = [p, path.join(p, 'k8s'), path.join(p, 'dags'), rc.stateDir, path.join(rc.stateDir, 'backups'), ...(await realFolders(files))];
    for (const { file, pid } of await removeStaleTempFiles(folders)) debug(`removed ${file}: a temp file of process ${pid}, which no longer runs (a killed run)`);
  } catch (err) {
    debug(`could not look for temp files of a killed run: ${(err as Error).message}`);
  }
}

export async function initCommand(raw: RawOptions): Promise<number> {
  // A corrupt state file is an error even for a dry run: never silently discarded.
  // (Only from a folder that exists: a missing or bad --project-dir is refused, exit 2, by the
  // context's own check, with the right message.)
  const dir = raw.projectDir === '' ? undefined : path.resolve(raw.projectDir ?? '.');
  const previous = dir && (await isDirectory(dir)) ? await loadState(dir) : undefined;
  const rc = await buildRunContext(raw, process.argv, { command: 'init', ...(previous?.inputs ? { recorded: previous.inputs } : {}) });
  const { out, flags, inputs } = rc;
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      // A second Ctrl-C kills the process at once: take our temp files away first (the one place
      // that decides to die; destroy's second Ctrl-C does not kill, so its writes go on).
      removeTempFilesSync();
      process.kill(process.pid, 'SIGKILL');
    }
    out.warn('Interrupted: saving state… (Ctrl-C again to force)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const releaseInterrupts = claimInterrupts();
  const base = { ...rc, stages: allStages, env: rc.env, signal: controller.signal, reporter: out };
  let state: State | undefined;
  // Until the confirmation is answered nothing is written: not state, not the debug log.
  let holding = !raw.json && !raw.dryRun;
  try {
    state = previous ?? emptyState();
    // Bad user files (e.g. airflow_settings.yaml) are found before anything changes anywhere. What
    // a previous run recorded (e.g. the role ARN) lets a refusal print the exact entry to add.
    const recorded = recordedOutputs(state);
    for (const s of allStages) await s.validate?.(makeStageContext(s, base, { outputs: recorded }));

    if (flags.dryRun) {
      const plans = await planStages({ ...base, state });
      if (flags.json) process.stdout.write(`${JSON.stringify({ command: 'init', dryRun: true, ok: true, inputs, plan: plans }, null, 2)}\n`);
      else out.line(renderPlan(out.chalk, plans));
      return EXIT.ok;
    }

    const held: string[] = [];
    const debug = (line: string) => (holding ? held.push(line) : rc.debug(line));
    const release = () => {
      if (!holding) return;
      holding = false;
      for (const l of held.splice(0)) rc.debug(l);
    };
    // The SDK's own lines (its credential chain's warnings) are held like ours: never the terminal.
    rc.services.aws.logTo(debug);
    const modes = selectModes(allStages, { from: flags.from, only: flags.only });
    const selected = new Set([...modes].filter(([, m]) => m !== 'dependency').map(([id]) => id as StageId));
    const gate = flags.json
      ? undefined
      : {
          after: 'preflight' as const,
          // The question phase: after preflight's reads, before the first change. Every question a
          // stage would ask is asked here, with the confirmation; the answers go to the stages.
          ask: async (outputs: Partial<StageOutputs>, handoffs: Parameters<typeof confirmation>[5]) => {
            // previous: every record, stale or not (what an earlier run attached, for a feature turned
            // off; the role's attachments, so the confirmation looks at the role as iam-role does).
            const previous = { ...recordedOutputs(st), ...outputs };
            const ctx = makeFullContext({ ...base, debug }, { outputs, previous, owner: readOnlyOwner(st) });
            const { lines, facts } = await confirmation(ctx, outputs, selected, out.chalk, `${rc.resumeCommand} --dry-run`, handoffs);
            for (const l of lines) out.line(l);
            const answers = await askQuestions(ctx, rc.io, facts, { context: modes.has('context'), projectFiles: selected.has('project-files') }, outputs.cluster?.endpoint);
            // Non-interactive (--yes, CI): the summary is printed, the question is not asked.
            const proceed = flags.interactive && !flags.yes;
            const go = proceed ? await rc.io.confirm({ flag: '--yes', message: 'Proceed?', default: true }) : true;
            if (!go) return false;
            release();
            // What the confirmation read reaches the stages that would read it again; a question
            // answered (one is asked only when there is an answer to give) may have taken a while.
            return { answers, handoffs: confirmationHandoffs(facts, proceed || Object.keys(answers).length > 0) };
          },
        };

    // Taking the lock makes .astro-remote-kpo/: a run that ends before the confirmation was answered
    // yes takes it away again, so "Nothing was changed." is true of the project too.
    const stateDirExisted = await isDirectory(rc.stateDir);
    const lock = await acquireLock(rc.stateDir, 'init');
    const st = state;
    // What the project recorded before this run, for a run that stops at preflight (below).
    const before = previous ? structuredClone(previous) : undefined;
    try {
      debug(`init ${JSON.stringify(inputs)}`);
      const outcome = await runStages({ ...base, debug, state: st, gate, save: async () => (holding ? undefined : saveState(rc.projectDir, st)) });
      if (outcome.declined) {
        out.line('Nothing was changed.');
        return EXIT.ok;
      }
      // A failed preflight is worth recording (status shows it), though nothing was confirmed. It
      // changed nothing anywhere, so it records its failure and nothing else: the inputs that
      // worked (verify and destroy default to them) and the stages done before stay as they were.
      if (outcome.failed.includes('preflight')) {
        if (before) Object.assign(st, { ...before, stages: { ...before.stages, preflight: st.stages.preflight }, updatedAt: st.updatedAt });
        release();
        await saveState(rc.projectDir, st);
      } else if (holding) {
        release();
        await saveState(rc.projectDir, st);
      }
      if (flags.json) {
        // A failed run names its first failure at the top, as every --json failure does (error.code).
        const error = outcome.error ? { error: { ...errorRecord(outcome.error), stage: outcome.failed[0] } } : {};
        process.stdout.write(`${JSON.stringify({ command: 'init', dryRun: false, ok: outcome.ok, exitCode: outcome.exitCode, inputs, ran: outcome.ran, stages: jsonStages(st), ...error, ...(outcome.ok ? { nextSteps: nextStepLines(inputs, st) } : {}) }, null, 2)}\n`);
      } else if (outcome.ok) {
        const parts = {
          // What this run was asked to do (not the dependencies it merely ran again).
          ran: outcome.ran.filter((id) => selected.has(id)),
          ...(flags.from ? { from: flags.from } : {}),
          ...(flags.only ? { only: flags.only } : {}),
          // The connection on the Deployment(s), deploy, the test DAG, verify: filled in.
          next: nextStepLines(inputs, st),
          logFile: displayPath(path.join(rc.stateDir, 'logs', 'debug.log')),
        };
        for (const l of finalSummary(out.chalk, inputs, st, parts)) out.line(l);
      } else {
        out.line('');
        out.line(out.chalk.red(`Failed: ${outcome.failed.join(', ')}. State is saved in ${rc.stateDir}.`));
        out.line(`Fix the cause above, then resume with:\n  ${rc.resumeCommand}`);
      }
      return outcome.ok ? EXIT.ok : outcome.exitCode || EXIT.stageFailed;
    } finally {
      // A run that went ahead (not one declined at the confirmation: "Nothing was changed") also
      // takes away the temp files a killed run of ours left, under the lock so no other run of this
      // project is writing; a live process's own are never touched.
      if (!holding) await removeLeftovers(rc, debug);
      await lock.release();
      if (holding && !stateDirExisted) await rmdir(rc.stateDir).catch(() => undefined);
    }
  } catch (err) {
    if (isKpoError(err, 'INTERRUPTED') && state) {
      if (holding) out.line('Nothing was changed.');
      else for (const l of interruptedLines(state, inputs, rc.stateDir, rc.resumeCommand)) out.line(l);
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    releaseInterrupts();
    out.close();
  }
}

// `init`: resolve → validate every stage's user files → confirm → run the graph → summarise.
import { buildRunContext } from '../context.js';
import { claimInterrupts } from '../interrupt.js';
import { EXIT, InterruptedError } from '../errors.js';
import { acquireLock } from '../engine/lock.js';
import { planStages } from '../engine/plan.js';
import { makeStageContext, runStages } from '../engine/runner.js';
import { emptyState, loadState, saveState } from '../engine/state.js';
import type { RawOptions } from '../options.js';
import type { StageOutputs } from '../types.js';
import { allStages } from '../stages/index.js';
import { chainLines, jsonStages, renderPlan } from '../ui/summary.js';

export async function initCommand(raw: RawOptions): Promise<number> {
  const rc = await buildRunContext(raw);
  const { out, flags, inputs } = rc;
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.kill(process.pid, 'SIGKILL');
    out.warn('Interrupted: saving state… (Ctrl-C again to force)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const releaseInterrupts = claimInterrupts();
  const base = { ...rc, stages: allStages, env: rc.env, signal: controller.signal, reporter: out };
  try {
    // A corrupt state file is an error even for a dry run: never silently discarded.
    const previous = await loadState(rc.projectDir);
    const state = previous ?? emptyState();
    // Bad user files (e.g. airflow_settings.yaml) are found before anything changes anywhere. What
    // a previous run recorded (e.g. the role ARN) lets a refusal print the exact entry to add.
    const recorded = Object.fromEntries(Object.entries(state.stages).map(([id, r]) => [id, r?.outputs]).filter(([, o]) => o !== undefined)) as Partial<StageOutputs>;
    const validateCtx = makeStageContext({ ...base }, recorded, () => undefined);
    for (const s of allStages) await s.validate?.(validateCtx);

    if (flags.dryRun) {
      const plans = await planStages({ ...base, state });
      if (flags.json) process.stdout.write(`${JSON.stringify({ command: 'init', dryRun: true, ok: true, inputs, plan: plans }, null, 2)}\n`);
      else out.line(renderPlan(out.chalk, plans));
      return EXIT.ok;
    }

    if (flags.interactive && !flags.yes) {
      out.line(out.chalk.bold('About to set up:'));
      for (const l of chainLines(inputs, state)) out.line(`  ${l}`);
      const go = await rc.io.confirm({ flag: '--yes', message: 'Proceed? (run with --dry-run to see every change first)', default: true });
      if (!go) {
        out.line('Nothing was changed.');
        return EXIT.ok;
      }
    }

    const lock = await acquireLock(rc.stateDir, 'init');
    try {
      rc.debug(`init ${JSON.stringify(inputs)}`);
      const outcome = await runStages({ ...base, state, save: () => saveState(rc.projectDir, state) });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ command: 'init', dryRun: false, ok: outcome.ok, exitCode: outcome.exitCode, inputs, ran: outcome.ran, stages: jsonStages(state) }, null, 2)}\n`);
      } else if (outcome.ok) {
        out.line('');
        out.line(out.chalk.green.bold('Done. The authorization chain:'));
        for (const l of chainLines(inputs, state)) out.line(`  ${l}`);
        out.line('');
        out.line('Next: run `astro dev start` and trigger the test_eks_connectivity DAG, then remote_kpo.');
      } else {
        out.line('');
        out.line(out.chalk.red(`Failed: ${outcome.failed.join(', ')}. State is saved in ${rc.stateDir}.`));
        out.line(`Fix the cause above, then resume with:\n  ${rc.resumeCommand}`);
      }
      return outcome.ok ? EXIT.ok : outcome.exitCode || EXIT.stageFailed;
    } catch (err) {
      if (err instanceof InterruptedError) out.line(`State saved. Resume with:\n  ${rc.resumeCommand}`);
      throw err;
    } finally {
      await lock.release();
    }
  } finally {
    process.off('SIGINT', onSigint);
    releaseInterrupts();
    out.close();
  }
}

// `destroy`: removes what this tool created, in reverse dependency order, and only that: a
// resource goes when state records init created it, or (without a record) when it carries our
// tag/label; anything else is kept and the output says why. `--dry-run` lists and changes
// nothing. Idempotent and resumable: a resource already gone is fine, and state records progress.
import path from 'node:path';
import { buildRunContext } from '../context.js';
import { claimInterrupts } from '../interrupt.js';
import { EXIT, asKpoError, codeLine, errorRecord, interrupted, KpoError } from '../errors.js';
import { acquireLock, type Lock } from '../engine/lock.js';
import { makeFullContext, type ContextBase } from '../engine/context.js';
import type { Services } from '../engine/stage.js';
import type { KubeApi } from '../kube/api.js';
import { loadState, saveState } from '../engine/state.js';
import type { RawOptions } from '../options.js';
import type { StageOutputs } from '../types.js';
import { withStateInputs } from '../verify/state-inputs.js';
import { recordsAboutOthers, recordsForNamedObjects } from '../destroy/records.js';
import { discover, execute } from '../destroy/run.js';
import { destroyJson, itemLine, renderPlan } from '../destroy/render.js';
import { confirmClusterDeletion } from '../destroy/discover-cluster.js';


export async function destroyCommand(raw: RawOptions): Promise<number> {
  const { deleteNamespace = false, deleteCluster = false } = raw;
  const projectDir = path.resolve(raw.projectDir ?? '.');
  const state = await loadState(projectDir);
  const rc = await buildRunContext(withStateInputs(raw, state), process.argv, { command: 'destroy' });
  const { out, flags, inputs } = rc;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  const releaseInterrupts = claimInterrupts();
  let lock: Lock | undefined;
  // The Kubernetes API discovery connected: the deletes use it; it ends with the run.
  const held: { kube?: KubeApi } = {};
  try {
    if (!flags.dryRun && !flags.interactive && !flags.yes) {
      throw new KpoError(
        'CONFIRMATION_REQUIRED',
        'destroy deletes cloud resources: pass --yes to confirm when not running interactively.',
        'See what it would delete first: npx astro-remote-kpo destroy --dry-run',
      );
    }
    if (!flags.dryRun) lock = await acquireLock(rc.stateDir, 'destroy');
    // The stages' own lines ("Kubernetes: using …") go to the debug log; eksctl's progress is shown.
    const services: Services = { ...rc.services, io: { ...rc.io, info: (l: string) => rc.debug(l) } };
    rc.services.aws.logTo(rc.debug);
    const outputs: Partial<StageOutputs> = {};
    // Progress is shown while deleting (eksctl's lines); during discovery it is only the probe.
    let deleting = false;
    const base: ContextBase = { ...rc, services, signal: controller.signal };
    const ctx = makeFullContext(base, { outputs, progress: (t) => (deleting ? out.line(out.chalk.dim(`  … ${t}`)) : rc.debug(t)) });
    // Records about other objects than those named now (another --iam-role, --namespace, …) are
    // not taken for these: discovery judges them as without state, and their records stay.
    const aboutOthers = state ? recordsAboutOthers(state, inputs) : [];
    if (aboutOthers.length) rc.debug(`destroy: state's records of ${aboutOthers.join(', ')} are about other objects than the inputs name now; not used`);
    const items = await discover({ ctx, base, outputs, held, state: recordsForNamedObjects(state, inputs), deleteNamespace, deleteCluster });

    out.line(renderPlan(out.chalk, items, flags.dryRun));
    if (flags.dryRun) {
      if (flags.json) process.stdout.write(destroyJson({ inputs, dryRun: true, exitCode: EXIT.ok, items }));
      return EXIT.ok;
    }
    if (items.some((i) => i.decision === 'delete') && flags.interactive) {
      const toDelete = items.filter((i) => i.decision === 'delete');
      const go = await rc.io.confirm({ flag: '--yes', message: `Delete these ${toDelete.length} resources?`, default: false });
      if (!go) {
        out.line('Nothing was changed.');
        return EXIT.ok;
      }
      // The cluster needs more than a yes: its name typed back.
      const at = items.findIndex((i) => i.kind === 'cluster');
      if (at >= 0) items[at] = await confirmClusterDeletion(ctx, rc.io, items[at]!);
    }
    const toDelete = items.filter((i) => i.decision === 'delete');
    rc.debug(`destroy ${JSON.stringify(inputs)}: ${toDelete.map((i) => i.name).join('; ')}`);
    deleting = true;
    const r = await execute(items, state, {
      onItem: (i) => out.line(itemLine(out.chalk, i)),
      save: async () => (state ? saveState(projectDir, state) : undefined),
    }, aboutOthers);
    if (controller.signal.aborted) throw interrupted();
    if (r.failed) {
      const err = asKpoError(r.error);
      const hint = `${err.hint ? `${err.hint}\n` : ''}Run destroy again to resume: what is already gone stays gone.`;
      out.line(out.chalk.red(`Stopped at ${r.failed.name}: ${r.failed.note ?? 'failed'}`));
      out.line(hint);
      out.line(out.chalk.dim(codeLine(err.code)));
      if (flags.json) process.stdout.write(destroyJson({ inputs, dryRun: false, exitCode: err.exitCode, items, error: { ...errorRecord(err), message: r.failed.note ?? 'failed', hint } }));
      return err.exitCode;
    }
    // An item looked at again right before deleting may have had to stay after all.
    const deleted = items.filter((i) => i.result === 'deleted');
    const kept = items.filter((i) => i.decision === 'keep' || i.result === 'kept');
    out.line(
      out.chalk.green.bold(`Done: ${deleted.length} deleted, ${kept.length} kept${kept.length ? ` (${kept.map((i) => i.name).join('; ')})` : ''}.`),
    );
    out.line('Project files (airflow_settings.yaml, dags/, k8s/) are left as they are.');
    if (flags.json) process.stdout.write(destroyJson({ inputs, dryRun: false, exitCode: EXIT.ok, items }));
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
    releaseInterrupts();
    await lock?.release();
    // The Kubernetes connections kept for the run end with it.
    await held.kube?.close();
    out.close();
  }
}

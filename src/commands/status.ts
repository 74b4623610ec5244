// `status`: no network. The recorded stages, the authorization chain with real names, and what
// to run next. Works (and says so) when there is no state yet.
import { DEPLOYMENT_ID_LINE } from '../airflow/deployed-connection.js';
import { createUi } from '../context.js';
import { EXIT } from '../errors.js';
import { loadState, stateFileOf, type StageRecord } from '../engine/state.js';
import type { RawOptions } from '../options.js';
import { STAGE_IDS } from '../types.js';
import { formatDuration, stageLabel } from '../ui/output.js';
import { chainLines, jsonStages } from '../ui/summary.js';
import { initCommandLine } from '../resume-command.js';
import path from 'node:path';

/** Read-only lookup stages (Stage.lookup), named here so status loads no stage module. */
const LOOKUPS: ReadonlySet<string> = new Set(['role-arn']);

export async function statusCommand(raw: RawOptions): Promise<number> {
  const { out } = await createUi(raw, process.env);
  try {
    const projectDir = path.resolve(raw.projectDir ?? '.');
    const state = await loadState(projectDir);
    const file = stateFileOf(projectDir);
    if (!state) {
      if (raw.json) process.stdout.write(`${JSON.stringify({ command: 'status', state: null, file, next: 'astro-remote-kpo init' }, null, 2)}\n`);
      else out.line(`No state in ${file}: nothing has been set up from this project yet.\nNext: npx astro-remote-kpo init --astro-deployment-id YOUR_DEPLOYMENT_ID  (or --workload-identity ROLE_ARN; add --dry-run to see the plan)`);
      return EXIT.ok;
    }
    const stages = jsonStages(state);
    const pending = stages.filter((s) => s.status !== 'done' && s.status !== 'skipped');
    // The suggestion carries every recorded non-default input: a bare `init` would prompt with
    // (or, non-interactively, use) the defaults and could set up a different cluster.
    const shape = { ...(raw.projectDir ? { projectDir: raw.projectDir } : {}) };
    const next = pending.length
      ? `${state.inputs ? initCommandLine(state.inputs, shape) : 'npx astro-remote-kpo init'}  (resumes at ${pending[0]!.id})`
      : `${state.inputs ? initCommandLine(state.inputs, shape, 'verify') : 'npx astro-remote-kpo verify'}  (everything is recorded as done; check it live)`;
    if (raw.json) {
      process.stdout.write(`${JSON.stringify({ command: 'status', file, updatedAt: state.updatedAt, inputs: state.inputs ?? null, stages, next }, null, 2)}\n`);
      return EXIT.ok;
    }
    const c = out.chalk;
    out.line(c.bold(`State: ${file} (updated ${state.updatedAt})`));
    for (const id of STAGE_IDS) {
      const r = state.stages[id] as StageRecord | undefined;
      // Found done on a later run, but made by an earlier one: that is what matters here.
      // A lookup stage (role-arn) that found its answer did its job: not a skip.
      const status = r?.status === 'skipped' && (r.madeBy || LOOKUPS.has(id)) ? 'done' : (r?.status ?? 'pending');
      const mark = { done: c.green('✔'), skipped: c.cyan('↷'), failed: c.red('✖'), interrupted: c.yellow('■'), running: c.yellow('…'), pending: c.dim('·') }[status];
      const when = r?.finishedAt ? c.dim(` ${r.finishedAt}`) : '';
      const took = r?.durationMs !== undefined ? c.dim(` ${formatDuration(r.durationMs)}`) : '';
      const failure = r?.error ? `${r.error.message}${r.error.code ? c.dim(` [${r.error.code}]`) : ''}` : undefined;
      const note = failure ?? r?.summary ?? (r?.madeBy ? `${r.madeBy.summary}${r.madeBy.at ? ` (at ${r.madeBy.at}; checked again since)` : ''}` : undefined) ?? r?.reason ?? '';
      // Taken up again by the last run because an input it reads changed.
      const again = r?.invalidatedBy ? c.dim(` (checked again: ${r.invalidatedBy.length ? `${r.invalidatedBy.join(', ')} changed` : 'it reads more inputs since an upgrade'})`) : '';
      out.line(`${mark} ${stageLabel(id).padEnd(22)} ${status.padEnd(11)}${when}${took}${note ? `  ${note}` : ''}${again}`);
    }
    if (state.inputs) {
      out.line('');
      out.line(c.bold('Authorization chain:'));
      for (const l of chainLines(state.inputs, state)) out.line(`  ${l}`);
      const accepted = state.stages['access-check']?.outputs?.acceptedExtra ?? [];
      if (accepted.length) {
        out.line(c.bold('Accepted with --allow-extra-access (the user may do more than EksPodOperator needs):'));
        for (const l of accepted) out.line(`  ${l}`);
      }
    }
    const deployed = state.stages['deployment-connection']?.outputs;
    if (deployed && !deployed.ran && deployed.command) {
      out.line('');
      out.line(c.bold('Connection for the deployed Deployment (not created by init; run it yourself):'));
      // Paste-safe: the command reads "$DEPLOYMENT_ID", so the line that sets it comes first.
      if (deployed.command.includes('"$DEPLOYMENT_ID"')) out.line(`  ${DEPLOYMENT_ID_LINE}`);
      out.line(`  ${deployed.command}`);
    }
    out.line('');
    out.line(`Next: ${next}`);
    return EXIT.ok;
  } finally {
    out.close();
  }
}

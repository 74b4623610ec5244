// `verify`: a read-only live check of the whole authorization chain, one row per link with ✔/✖
// and the fix. Takes init's flags; with state, init's recorded inputs are the defaults; without
// state it audits whatever exists (e.g. a setup made by hand from the seed README).
// Exit 0 when no row fails or is skipped (a warning does not fail), 1 otherwise: a failing row is a finding, not an exception.
import path from 'node:path';
import { buildRunContext } from '../context.js';
import { EXIT } from '../errors.js';
import { makeFullContext, type ContextBase } from '../engine/context.js';
import { readOnlyOwner } from '../engine/runner.js';
import type { Services } from '../engine/stage.js';
import { loadState } from '../engine/state.js';
import type { RawOptions } from '../options.js';
import type { StageOutputs } from '../types.js';
import { k8sRoleStage } from '../stages/k8s-role.js';
import { roleBindingStage } from '../stages/role-binding.js';
import { recordedOutputs, withStateInputs } from '../verify/state-inputs.js';
import { runVerify } from '../verify/run.js';
import { renderRows, verifyJson } from '../verify/render.js';

export async function verifyCommand(raw: RawOptions): Promise<number> {
  const state = await loadState(path.resolve(raw.projectDir ?? '.'));
  const rc = await buildRunContext(withStateInputs(raw, state), process.argv, { command: 'verify' });
  try {
    // Only a project init set up gets debug lines: verify must not create files elsewhere.
    const debug = state ? rc.debug : () => undefined;
    rc.services.aws.logTo(debug);
    // The stages' progress lines ("Kubernetes: using …") would interleave with the rows: log them.
    const io = { ...rc.io, info: (line: string) => debug(line) };
    const services: Services = { ...rc.services, io };
    const outputs: Partial<StageOutputs> = {};
    // Ownership as init judges it (record, marker with this project's id, intent): a drifted Role
    // this project created is put back by init; one it found is not (src/kube/takeover.ts).
    const previous = await recordedOutputs(state, rc.inputs, [k8sRoleStage, roleBindingStage]);
    const owner = state ? readOnlyOwner(state) : undefined;
    const base: ContextBase = { ...rc, services, debug, signal: new AbortController().signal };
    const ctx = makeFullContext(base, { outputs, previous, ...(owner ? { owner } : {}) });
    const rows = await runVerify({ ctx, base, outputs, clusterCreatedByUs: state?.stages.cluster?.outputs?.createdByUs ?? false });
    // A warning is a finding verify cannot settle from here (e.g. a private API endpoint): said, not failed.
    const code = rows.every((r) => r.status === 'pass' || r.status === 'warn') ? EXIT.ok : EXIT.stageFailed;
    if (rc.flags.json) process.stdout.write(verifyJson(rc.inputs, rows, code));
    else rc.out.line(renderRows(rc.out.chalk, rc.inputs, rows));
    return code;
  } finally {
    rc.out.close();
  }
}

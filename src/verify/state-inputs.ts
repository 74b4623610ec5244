// verify and destroy act on what `init` set up: when the project has state, its recorded inputs
// are the defaults (a flag given on the command line still wins), so `astro-remote-kpo verify`
// or `destroy` after `init` needs no flags at all. Without state, everything comes from flags.
import type { AnyStage } from '../engine/stage.js';
import { recordFresh, type State } from '../engine/state.js';
import type { RawOptions } from '../options.js';
import type { Inputs, StageOutputs } from '../types.js';

const FROM_STATE: ReadonlyArray<readonly [keyof RawOptions, keyof Inputs]> = [
  ['workloadIdentity', 'workloadIdentities'],
  ['clusterName', 'clusterName'],
  ['region', 'region'],
  ['profile', 'profile'],
  ['kubeContext', 'kubeContext'],
  ['namespace', 'namespace'],
  ['k8sRole', 'k8sRole'],
  ['k8sUser', 'k8sUser'],
  ['iamRole', 'iamRole'],
  ['authMode', 'authMode'],
  ['permissions', 'permissions'],
  ['connId', 'connId'],
  ['clusterConfig', 'clusterConfig'],
  ['astroDeploymentId', 'astroDeploymentIds'],
  ['localDev', 'localDev'],
  ['allowExtraAccess', 'allowExtraAccess'],
  ['podPolicyArn', 'podPolicyArns'],
  ['podIdentity', 'podIdentity'],
  ['podRole', 'podRole'],
  ['podServiceAccount', 'podServiceAccount'],
];

export function withStateInputs(raw: RawOptions, state: State | undefined): RawOptions {
  const recorded = state?.inputs;
  if (!recorded) return raw;
  const out: Record<string, unknown> = { ...raw };
  for (const [flag, input] of FROM_STATE) {
    if (out[flag] === undefined && recorded[input] !== undefined) out[flag] = recorded[input];
  }
  return out as RawOptions;
}

/** What `stages` recorded in state about the objects verify looks at now (the record's inputs are
 * the ones in use): ownership history, e.g. whether init created the Role or found it. */
export async function recordedOutputs(state: State | undefined, inputs: Inputs, stages: readonly AnyStage[]): Promise<Partial<StageOutputs>> {
  const out: Record<string, unknown> = {};
  for (const stage of stages) {
    const rec = state?.stages[stage.id];
    // Fresh as init's runner judges it (a record of an earlier version included).
    if (rec?.outputs !== undefined && (await recordFresh(stage.id, stage.inputs, rec.inputsHash, inputs, state?.inputs))) out[stage.id] = rec.outputs;
  }
  return out as Partial<StageOutputs>;
}

// State written before stages declared everything they read (issue #21) stays valid: the hashes
// of stages whose declared inputs did not change are byte for byte what the previous version
// recorded, and a record of a stage that gained only locating inputs (profile, region, cluster
// name) keeps standing while those are unchanged. The hex values below are what the previous
// version's hashInputs gave for these inputs and its declarations (computed before the change).
import { describe, expect, it } from 'vitest';
import { runStages, type Reporter } from '../../src/engine/runner.js';
import { emptyState, hashInputs, recordFresh, type State } from '../../src/engine/state.js';
import { allStages } from '../../src/stages/index.js';
import type { Inputs, StageId } from '../../src/types.js';
import { defaultInputs } from './airflow-ctx.js';

const inputs: Inputs = defaultInputs();

/** The previous version's declarations and the hashes it recorded for `inputs` (the task pods'
 * stages of issue #20 came later: they have no earlier record). */
const BEFORE: Partial<Record<StageId, [Array<keyof Inputs>, string]>> = {
  preflight: [['region', 'profile', 'clusterName'], '8df14924c4088d41'],
  cluster: [['clusterName', 'region'], '1f3939f0a1210bd6'],
  context: [['clusterName', 'region', 'profile', 'kubeContext'], '7556c34b0f244d99'],
  namespace: [['clusterName', 'namespace', 'workloadIdentities'], 'a52eb0cbd54448bb'],
  'k8s-role': [['clusterName', 'namespace', 'k8sRole', 'workloadIdentities'], '81b5d749748be322'],
  'iam-role': [['iamRole', 'workloadIdentities', 'localDev', 'clusterName', 'region'], '38a3fcd39e5414ab'],
  'role-arn': [['iamRole'], 'e18d1f598f47a1f5'],
  'identity-mapping': [['authMode', 'k8sUser', 'iamRole', 'clusterName', 'region', 'workloadIdentities'], '09f7028b07f6e37a'],
  'verify-mapping': [['authMode', 'k8sUser', 'iamRole', 'clusterName', 'region'], '65d678cbc57fb7c8'],
  'role-binding': [['clusterName', 'namespace', 'k8sRole', 'k8sUser', 'workloadIdentities'], 'adaa4b2d1b9e5d38'],
  'access-check': [['clusterName', 'namespace', 'k8sRole', 'k8sUser', 'allowExtraAccess'], '233c9e6af717079d'],
  connection: [['connId', 'region', 'iamRole'], 'fe69a5054733c9cd'],
  'project-files': [['clusterName', 'region', 'namespace', 'k8sRole', 'k8sUser', 'workloadIdentities', 'permissions', 'connId', 'clusterConfig', 'localDev', 'profile'], 'a9b8f0ae13b575da'],
  'deployment-connection': [['astroDeploymentIds', 'connId', 'region', 'iamRole'], 'e4e761d0bcdebfc4'],
};

/** Stages that gained an input that is not a locating one: checked again once after the upgrade. */
const RECHECKED_ONCE: StageId[] = ['cluster', 'context', 'iam-role', 'project-files'];

describe('state of the previous version', () => {
  it('hashes are unchanged where the declared inputs are', async () => {
    for (const [id, [keys, hash]] of Object.entries(BEFORE)) expect(await hashInputs(inputs, keys), id).toBe(hash);
    for (const stage of allStages) {
      if (!BEFORE[stage.id]) continue;
      const [keys, hash] = BEFORE[stage.id]!;
      if ([...stage.inputs].sort().join() === [...keys].sort().join()) expect(await hashInputs(inputs, stage.inputs), stage.id).toBe(hash);
    }
  });

  it('a record made before stands while the locating inputs are as the last run had them; else it is stale', async () => {
    for (const stage of allStages) {
      if (!BEFORE[stage.id]) continue;
      const [, hash] = BEFORE[stage.id]!;
      const fresh = await recordFresh(stage.id, stage.inputs, hash, inputs, inputs);
      expect(fresh, stage.id).toBe(!RECHECKED_ONCE.includes(stage.id));
      // Another region than the last run's: no earlier record of a stage that reads it stands.
      const moved = { ...inputs, region: 'eu-west-1' };
      if (stage.inputs.includes('region')) expect(await recordFresh(stage.id, stage.inputs, hash, moved, inputs), stage.id).toBe(false);
      // Another namespace: the old declaration already read it, so its old hash says stale.
      if (stage.inputs.includes('namespace')) expect(await recordFresh(stage.id, stage.inputs, hash, { ...inputs, namespace: 'x' }, inputs), stage.id).toBe(false);
    }
  });

  it('the runner after an upgrade: only the stages that gained a non-locating input are checked again, once', async () => {
    const state: State = { ...emptyState(), inputs };
    for (const [id, [, hash]] of Object.entries(BEFORE)) (state.stages as Record<string, unknown>)[id] = { status: 'done', inputsHash: hash, outputs: {} };
    const reporter: Reporter = { stageStart: () => undefined, stageProgress: () => undefined, stageEnd: () => undefined };
    // Stand-in stages with the real declarations: the runner's staleness is what is under test.
    const stages = allStages.map((s) => ({ ...s, check: undefined, run: async () => ({ outputs: {} as never }) }));
    await runStages({
      stages: stages as never,
      state,
      inputs,
      flags: { projectDir: '/p', dryRun: false, yes: true, interactive: false, json: false, color: false, force: false, switchContext: false },
      services: {} as never,
      projectDir: '/p',
      stateDir: '/p/.astro-remote-kpo',
      env: {},
      reporter,
      save: async () => undefined,
      debug: () => undefined,
      signal: new AbortController().signal,
    });
    for (const stage of allStages) {
      expect(state.stages[stage.id]?.invalidatedBy !== undefined, stage.id).toBe(RECHECKED_ONCE.includes(stage.id));
    }
    // Nothing of the inputs changed: the records say so (an empty list), and the next run finds all fresh.
    expect(state.stages.cluster?.invalidatedBy).toEqual([]);
    for (const stage of allStages) expect(await recordFresh(stage.id, stage.inputs, state.stages[stage.id]?.inputsHash, inputs, inputs), stage.id).toBe(true);
  });
});

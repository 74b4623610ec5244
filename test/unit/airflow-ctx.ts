// A context for the Airflow-side stages (connection, deployment-connection, project-files) as a
// plain literal: a real project directory, real process spawning (createExec) and an io that
// records what the stage said. Nothing else: these stages declare neither AWS nor Kubernetes, so
// the literal has neither, and a stage that reached for one would not compile.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createExec } from '../../src/exec.js';
import type { Answers, Inputs, RunFlags, StageOutputs } from '../../src/types.js';
import { ambient, outputsOf } from '../support/stage-ctx.js';

export const ACCOUNT = '123456789012';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/AstroRemoteKPO`;

export function defaultInputs(over: Partial<Inputs> = {}): Inputs {
  return {
    clusterName: 'remote-kpo-demo',
    region: 'us-east-1',
    namespace: 'astro-remote-kpo',
    k8sRole: 'astro-remote-kpo-role',
    k8sUser: 'AstroRemoteKPO',
    iamRole: 'AstroRemoteKPO',
    workloadIdentities: ['arn:aws:iam::123456789012:role/astro-dep-abc123'], astroDeploymentIds: [], localDev: false,
    authMode: 'auto',
    permissions: 'scoped',
    connId: 'aws_eks',
    podPolicyArns: [],
    podIdentity: 'auto',
    podRole: 'AstroRemoteKPOPods',
    podServiceAccount: 'astro-remote-kpo-pods',
    ...over,
  };
}

export async function tempProject(prefix = 'kpo-airflow-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export function stageContext(opts: {
  projectDir: string;
  inputs?: Partial<Inputs>;
  flags?: Partial<RunFlags>;
  answers?: Answers;
  outputs?: Partial<StageOutputs>;
  env?: Record<string, string | undefined>;
}) {
  const outputs: Partial<StageOutputs> = {
    preflight: { accountId: ACCOUNT, callerArn: `arn:aws:iam::${ACCOUNT}:user/admin`, partition: 'aws' },
    'role-arn': { roleArn: ROLE_ARN, mappingArn: ROLE_ARN },
    ...opts.outputs,
  };
  return {
    inputs: defaultInputs(opts.inputs),
    flags: { force: false, interactive: false, ...opts.flags },
    answers: opts.answers ?? {},
    projectDir: opts.projectDir,
    stateDir: path.join(opts.projectDir, '.astro-remote-kpo'),
    exec: createExec(opts.env ?? { PATH: process.env.PATH }),
    ...ambient(),
    ...outputsOf(outputs),
  };
}

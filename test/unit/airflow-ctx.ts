// A StageContext for the Airflow-side stages: a real project directory, real process spawning
// (createExec) and a recording Io whose answers the test chooses. No AWS or Kubernetes: these
// stages never touch them, and the clients throw if they ever did.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AwsClients } from '../../src/aws/clients.js';
import type { StageContext } from '../../src/engine/stage.js';
import { createExec } from '../../src/exec.js';
import type { AskConfirm, Io } from '../../src/io.js';
import type { Inputs, RunFlags, StageId, StageOutputs } from '../../src/types.js';

export const ACCOUNT = '123456789012';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/AstroRemoteKPO`;

export interface RecordingIo extends Io {
  infos: string[];
  warns: string[];
  asked: AskConfirm[];
}

export function recordingIo(interactive: boolean, answer: (q: AskConfirm) => boolean = (q) => q.default): RecordingIo {
  const io: RecordingIo = {
    interactive,
    infos: [],
    warns: [],
    asked: [],
    text: async (q) => q.default ?? '',
    select: async (q) => q.default,
    confirm: async (q) => {
      io.asked.push(q);
      return answer(q);
    },
    info: (l) => io.infos.push(l),
    warn: (l) => io.warns.push(l),
  };
  return io;
}

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
    ...over,
  };
}

export async function tempProject(prefix = 'kpo-airflow-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

const noAws = new Proxy({}, {
  get(_t, prop) {
    throw new Error(`this stage must not use AWS (touched aws.${String(prop)})`);
  },
}) as AwsClients;

export function stageContext(opts: {
  projectDir: string;
  inputs?: Partial<Inputs>;
  flags?: Partial<RunFlags>;
  io?: RecordingIo;
  outputs?: Partial<StageOutputs>;
  env?: Record<string, string | undefined>;
}): StageContext & { io: RecordingIo; outputs: Partial<StageOutputs> } {
  const io = opts.io ?? recordingIo(false);
  const env = opts.env ?? { PATH: process.env.PATH };
  const exec = createExec(env);
  const outputs: Partial<StageOutputs> = {
    preflight: { accountId: ACCOUNT, callerArn: `arn:aws:iam::${ACCOUNT}:user/admin`, partition: 'aws' },
    'role-arn': { roleArn: ROLE_ARN, mappingArn: ROLE_ARN },
    ...opts.outputs,
  };
  const flags: RunFlags = { projectDir: opts.projectDir, dryRun: false, yes: false, interactive: io.interactive, json: false, color: false, force: false, switchContext: false, ...opts.flags };
  return {
    inputs: defaultInputs(opts.inputs),
    flags,
    projectDir: opts.projectDir,
    stateDir: path.join(opts.projectDir, '.astro-remote-kpo'),
    services: { aws: noAws, exec, io },
    io,
    aws: noAws,
    exec,
    env,
    signal: new AbortController().signal,
    owner: { projectId: undefined, intend: () => Promise.reject(new Error('this stage creates nothing')), intended: () => false },
    outputs,
    kube() {
      throw new Error('this stage must not use Kubernetes');
    },
    // Nothing is handed on between these stages.
    handoff: () => undefined,
    output<K extends StageId>(id: K): StageOutputs[K] {
      const v = outputs[id];
      if (v === undefined) throw new Error(`no outputs for ${id}`);
      return v;
    },
    tryOutput: <K extends StageId>(id: K) => outputs[id],
    previousOutput: <K extends StageId>(id: K) => outputs[id],
    progress: () => undefined,
    debug: () => undefined,
  };
}

// Pieces of a stage's context for unit tests that build it as a plain literal: the members every
// stage has (io, signal, progress, debug), outputs by stage id, and AWS clients that answer from a
// table. A stage declares what it reads, so each test's literal holds just that (no Proxy to catch
// the rest: a member the stage did not declare is a compile error in the stage).
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from '../../src/aws/clients.js';
import type { StageIo } from '../../src/engine/stage.js';
import type { StageId, StageOutputs } from '../../src/types.js';

export interface RecordingIo extends StageIo {
  infos: string[];
  warns: string[];
}

export function recordingIo(): RecordingIo {
  const io: RecordingIo = { infos: [], warns: [], info: (l) => io.infos.push(l), warn: (l) => io.warns.push(l) };
  return io;
}

/** What every stage's context has: an io that records, a signal, progress and debug. */
export function ambient(io: RecordingIo = recordingIo()) {
  return { io, signal: new AbortController().signal, progress: () => undefined, debug: () => undefined };
}

/** Outputs keyed by stage id, as a stage reads its needs and its own record; no handoff. */
export function outputsOf(outputs: Partial<StageOutputs> = {}) {
  return {
    output<K extends StageId>(id: K): StageOutputs[K] {
      const v = outputs[id];
      if (v === undefined) throw new Error(`no outputs for ${id}`);
      return v;
    },
    tryOutput: <K extends StageId>(id: K) => outputs[id],
    previousOutput: <K extends StageId>(id: K) => outputs[id],
    handoff: () => undefined,
  };
}

type Answer = (input: Record<string, unknown>) => unknown;

/**
 * AWS clients whose `send` answers by the command's class name (`DescribeClusterCommand`) from a
 * table, recording every call; a command with no answer fails the test. An answer that throws an
 * error named like the SDK's (`ResourceNotFoundException`) plays AWS's refusal. Each client is of
 * its SDK class (the SDK's paginators check that), with only `send` of its own.
 */
export function awsAnswering(answers: Record<string, Answer>): AwsClients & { sent: string[] } {
  const sent: string[] = [];
  const send = async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    const name = command.constructor.name;
    sent.push(name);
    const answer = answers[name];
    if (!answer) throw new Error(`unexpected AWS call ${name}`);
    return answer(command.input);
  };
  const client = <C extends object>(of: { prototype: C }): C => Object.assign(Object.create(of.prototype) as C, { send });
  const fail = () => Promise.reject(new Error('not used by this test'));
  return {
    sent,
    region: 'us-east-1',
    sts: async () => client(STSClient),
    iam: async () => client(IAMClient),
    eks: async () => client(EKSClient),
    credentials: fail,
    logTo: () => undefined,
  };
}

/** An AWS error as the SDK throws it: its name is the error code. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 404 } });
}

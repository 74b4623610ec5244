// A stage reaches what it declares and nothing else. At compile time: every `@ts-expect-error`
// line below is an undeclared read, and `npm run typecheck` fails on a directive that expects an
// error where there is none, so lifting the restriction (a wider context type, an input list and
// a context that are two declarations again) fails the build. At run time: the context is a real
// pick of the same declaration, so an undeclared read is undefined there too.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { makeStageContext, type ContextBase } from '../../src/engine/context.js';
import { defineStage, type ContextOf } from '../../src/engine/stage.js';
import { allStages } from '../../src/stages/index.js';
import { connectionStage } from '../../src/stages/connection.js';
import { contextStage } from '../../src/stages/context.js';
import { projectFilesStage } from '../../src/stages/project-files.js';
import type { Inputs, RunFlags, StageOutputs } from '../../src/types.js';
import { defaultInputs } from './airflow-ctx.js';
import { awsAnswering } from '../support/stage-ctx.js';

const flags: RunFlags = { projectDir: '/p', dryRun: false, yes: true, interactive: false, json: false, color: false, force: true, switchContext: false };
const io = { interactive: false, text: async () => '', select: async () => '' as never, confirm: async () => true, info: () => undefined, warn: () => undefined };
const base: ContextBase = {
  inputs: defaultInputs({ profile: 'dev' }),
  flags,
  answers: { kubeContext: 'picked', overwrite: { 'k8s/role.yaml': true } },
  services: { aws: awsAnswering({}), exec: { which: async () => undefined, run: async () => ({ exitCode: 0, output: '' }) }, io },
  projectDir: '/p',
  stateDir: '/p/.astro-remote-kpo',
  env: { HOME: '/home/me' },
  signal: new AbortController().signal,
  debug: () => undefined,
};
const outputs: Partial<StageOutputs> = {
  preflight: { accountId: '123456789012', callerArn: 'arn:aws:iam::123456789012:user/me', partition: 'aws' },
  cluster: { clusterArn: 'arn', endpoint: 'https://e', certificateAuthority: '', authenticationMode: 'API', createdByUs: false },
};

// A stage declaring two inputs, one service, one need, one flag: what its methods may touch.
const probe = defineStage({
  id: 'namespace',
  title: 'probe',
  needs: ['preflight'],
  inputs: ['clusterName', 'region'],
  services: ['aws'],
  flags: ['force'],
  async run(ctx) {
    const declared = [ctx.inputs.clusterName, ctx.inputs.region, ctx.flags.force, ctx.aws.region, ctx.output('preflight').accountId];
    // @ts-expect-error namespace is not a declared input
    const input: unknown = ctx.inputs.namespace;
    // @ts-expect-error exec is not a declared service
    const service: unknown = ctx.exec;
    // @ts-expect-error projectDir is a service too, and not declared
    const dir: unknown = ctx.projectDir;
    // @ts-expect-error interactive is not a declared flag
    const flag: unknown = ctx.flags.interactive;
    // @ts-expect-error no answers declared
    const answer: unknown = ctx.answers.kubeContext;
    // @ts-expect-error cluster is not a need: its outputs are out of reach
    const need: unknown = ctx.tryOutput('cluster');
    // @ts-expect-error another stage's record is not this stage's history
    const history: unknown = ctx.previousOutput('cluster');
    // @ts-expect-error a stage's io says, never asks (every question is asked before the first change)
    const ask: unknown = ctx.io.confirm;
    // @ts-expect-error the Kubernetes API is a service like any other
    const kube: unknown = ctx.kube;
    const undeclared = { input, service, dir, flag, answer, need, history, ask, kube };
    return { outputs: { created: false }, summary: JSON.stringify({ declared, undeclared }) };
  },
  async plan() {
    return { items: [] };
  },
});

describe('a stage reaches what it declares', () => {
  it('undeclared reads are compile errors (above) and undefined at run time', async () => {
    const r = await probe.run(makeStageContext(probe, base, { outputs }));
    const { declared, undeclared } = JSON.parse(r.summary!) as { declared: unknown[]; undeclared: Record<string, unknown> };
    expect(declared).toEqual(['remote-kpo-demo', 'us-east-1', true, 'us-east-1', '123456789012']);
    // JSON drops undefined members: every undeclared read came back undefined.
    expect(undeclared).toEqual({});
  });

  it("the inputs list and ctx.inputs are one declaration (the real stages' types)", () => {
    expectTypeOf<ContextOf<typeof connectionStage>['inputs']>().toEqualTypeOf<Readonly<Pick<Inputs, 'connId' | 'region' | 'iamRole'>>>();
    expectTypeOf<keyof ContextOf<typeof contextStage>['inputs']>().toEqualTypeOf<(typeof contextStage.inputs)[number]>();
    expectTypeOf<keyof ContextOf<typeof projectFilesStage>['answers']>().toEqualTypeOf<'overwrite'>();
    expectTypeOf<ContextOf<typeof contextStage>['io']>().not.toHaveProperty('select');
  });

  it('every real stage gets exactly its declared inputs, flags, answers and services, and its io cannot ask', () => {
    const services = ['aws', 'exec', 'env', 'kube', 'tryKube', 'owner', 'projectDir', 'stateDir', 'commandLine'];
    const memberOf: Record<string, string[]> = { kube: ['kube', 'tryKube'] };
    for (const stage of allStages) {
      const ctx = makeStageContext(stage, base, { outputs }) as unknown as Record<string, unknown> & { inputs: object; flags: object; answers: object; io: object };
      expect(Object.keys(ctx.inputs).sort(), stage.id).toEqual([...stage.inputs].filter((k) => base.inputs[k] !== undefined).sort());
      expect(Object.keys(ctx.flags).sort(), stage.id).toEqual([...(stage.flags ?? [])].filter((k) => base.flags[k] !== undefined).sort());
      expect(Object.keys(ctx.answers).sort(), stage.id).toEqual([...(stage.answers ?? [])].sort());
      const reached = services.filter((s) => s in ctx);
      expect(reached.sort(), stage.id).toEqual(stage.services.flatMap((s) => memberOf[s] ?? [s]).sort());
      expect(Object.keys(ctx.io).sort(), stage.id).toEqual(['info', 'warn']);
    }
  });

  it('outputs: a need is there, anything else is not; a stage reads its own record and declared hints only', () => {
    const ctx = makeStageContext(contextStage, base, { outputs: { ...outputs, namespace: { created: true } } });
    expect(ctx.output('cluster').endpoint).toBe('https://e');
    expect(ctx.tryOutput('preflight')?.accountId).toBe('123456789012');
    const loose = ctx as unknown as { tryOutput(id: string): unknown; output(id: string): unknown };
    expect(loose.tryOutput('namespace')).toBeUndefined();
    expect(() => loose.output('namespace')).toThrow(/not available/);
  });

  it('a stage that uses AWS or the cluster declares where they are: profile and region (and the cluster name)', () => {
    // The SDK clients are built with the run's region and profile, and a record about an object in
    // the cluster is about the cluster of those: a change of them must make the record stale.
    for (const stage of allStages) {
      const where = new Set<string>([...(stage.services.includes('aws' as never) ? ['profile', 'region'] : []), ...(stage.services.includes('kube' as never) ? ['profile', 'region', 'clusterName'] : [])]);
      for (const k of where) expect(stage.inputs, `${stage.id} reads ${k}`).toContain(k);
    }
  });
});

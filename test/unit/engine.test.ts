import { describe, expect, it } from 'vitest';
import { KpoError } from '../../src/errors.js';
import { expectCode } from '../support/failure.js';
import { selectModes, topoOrder } from '../../src/engine/graph.js';
import { planStages } from '../../src/engine/plan.js';
import { coalesced, runStages, type Reporter, type RunnerOptions } from '../../src/engine/runner.js';
import { defineStage, type AnyStage, type Services } from '../../src/engine/stage.js';
import { emptyState, type State } from '../../src/engine/state.js';
import type { CheckResult, Inputs, RunFlags, StageId, StageOutputs } from '../../src/types.js';

// Engine tests use small stand-in stages over a subset of the real ids; the real stages are
// exercised end to end against the test cloud.
const inputs: Inputs = {
  clusterName: 'c',
  region: 'us-east-1',
  namespace: 'ns',
  k8sRole: 'r',
  k8sUser: 'u',
  iamRole: 'i',
  workloadIdentities: ['arn:aws:iam::123456789012:role/w'], astroDeploymentIds: [], localDev: false, podPolicyArns: [], podIdentity: 'auto', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'astro-remote-kpo-pods',
  authMode: 'auto',
  permissions: 'scoped',
  connId: 'aws_eks',
};
const flags: RunFlags = { projectDir: '/tmp/x', dryRun: false, yes: true, interactive: false, json: false, color: false, force: false, switchContext: false };

interface Probe {
  events: string[];
  active: number;
  maxActive: number;
  done: Set<StageId>;
  failOnce: Set<StageId>;
}

function fakeStage(id: StageId, needs: StageId[], probe: Probe, opts: { delay?: number; inputs?: (keyof Inputs)[]; noCheck?: boolean } = {}): AnyStage {
  const stage = {
    id,
    title: id,
    needs,
    inputs: opts.inputs ?? ['clusterName'],
    services: [],
    check: opts.noCheck
      ? undefined
      : async () => (probe.done.has(id) ? { done: true as const, reason: 'exists', outputs: { id } } : { done: false as const }),
    async run(ctx: { output: (x: StageId) => unknown }) {
      for (const n of needs) ctx.output(n); // throws if a need's outputs are missing
      probe.events.push(`start ${id}`);
      probe.active++;
      probe.maxActive = Math.max(probe.maxActive, probe.active);
      await new Promise((r) => setTimeout(r, opts.delay ?? 5));
      probe.active--;
      probe.events.push(`end ${id}`);
      if (probe.failOnce.delete(id)) throw new KpoError('AWS_REQUEST_FAILED', `${id} broke`, 'fix it');
      probe.done.add(id);
      return { outputs: { id }, summary: `ran ${id}` };
    },
    async plan() {
      return { items: [{ action: `would run ${id}` }] };
    },
  };
  return stage as unknown as AnyStage;
}

function newProbe(): Probe {
  return { events: [], active: 0, maxActive: 0, done: new Set(), failOnce: new Set() };
}

const silent: Reporter = { stageStart() {}, stageProgress() {}, stageEnd() {} };

function graph(probe: Probe, delays: Partial<Record<StageId, number>> = {}): AnyStage[] {
  return [
    fakeStage('preflight', [], probe, { noCheck: true }),
    fakeStage('cluster', ['preflight'], probe, { delay: delays.cluster }),
    fakeStage('context', ['cluster'], probe, { noCheck: true }),
    fakeStage('namespace', ['context'], probe, { inputs: ['namespace'] }),
    fakeStage('iam-role', ['preflight'], probe, { delay: delays['iam-role'], inputs: ['iamRole'] }),
    fakeStage('role-arn', ['iam-role'], probe, { inputs: ['iamRole'] }),
    fakeStage('identity-mapping', ['role-arn', 'context'], probe, { inputs: ['iamRole', 'k8sUser'] }),
  ];
}

function opts(stages: AnyStage[], state: State, extra: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    stages,
    state,
    inputs,
    flags,
    services: {} as Services,
    projectDir: '/tmp/x',
    stateDir: '/tmp/x/.astro-remote-kpo',
    env: {},
    reporter: silent,
    save: async () => undefined,
    debug: () => undefined,
    signal: new AbortController().signal,
    ...extra,
  };
}

describe('graph', () => {
  it('orders by dependencies and rejects cycles and unknown needs', () => {
    const p = newProbe();
    const order = topoOrder(graph(p));
    expect(order.indexOf('cluster')).toBeLessThan(order.indexOf('context'));
    expect(order.indexOf('role-arn')).toBeLessThan(order.indexOf('identity-mapping'));
    expect(() => topoOrder([fakeStage('preflight', ['cluster'], p), fakeStage('cluster', ['preflight'], p)])).toThrow(/cycle/);
    expect(() => topoOrder([fakeStage('cluster', ['preflight'], p)])).toThrow(/unknown stage/);
  });

  it('--only forces one stage and makes its ancestors dependencies; --from forces the rest', async () => {
    const g = graph(newProbe());
    const only = selectModes(g, { only: 'role-arn' });
    expect([...only.entries()].sort()).toEqual([
      ['iam-role', 'dependency'],
      ['preflight', 'dependency'],
      ['role-arn', 'force'],
    ]);
    const from = selectModes(g, { from: 'iam-role' });
    expect(from.get('namespace')).toBe('normal');
    expect(from.get('iam-role')).toBe('force');
    expect(from.get('identity-mapping')).toBe('force');
    await expectCode(() => selectModes(g, { from: 'cluster', only: 'cluster' }), 'INPUT_INVALID');
  });
});

describe('runStages', () => {
  it('runs independent branches concurrently: IAM while the cluster is being created', async () => {
    const p = newProbe();
    const state = emptyState();
    const out = await runStages(opts(graph(p, { cluster: 60, 'iam-role': 10 }), state));
    expect(out.ok).toBe(true);
    expect(p.maxActive).toBeGreaterThanOrEqual(2);
    // iam-role and role-arn both finished while cluster was still running
    expect(p.events.indexOf('end role-arn')).toBeLessThan(p.events.indexOf('end cluster'));
    expect(p.events.indexOf('start identity-mapping')).toBeGreaterThan(p.events.indexOf('end cluster'));
    expect(state.stages['identity-mapping']?.status).toBe('done');
    expect(state.inputs).toEqual(inputs);
  });

  it('a failure stops its dependents only, keeps state, and a re-run resumes there', async () => {
    const p = newProbe();
    p.failOnce.add('role-arn');
    const state = emptyState();
    const first = await runStages(opts(graph(p), state));
    expect(first.ok).toBe(false);
    expect(first.exitCode).toBe(1);
    expect(first.failed).toEqual(['role-arn']);
    expect(state.stages['role-arn']?.status).toBe('failed');
    // The record carries the code (status --json and init --json show it) and the outcome the error.
    expect(state.stages['role-arn']?.error).toEqual({ code: 'AWS_REQUEST_FAILED', message: 'role-arn broke', hint: 'fix it' });
    expect(first.error?.code).toBe('AWS_REQUEST_FAILED');
    expect(state.stages['identity-mapping']?.status).toBe('pending');
    expect(state.stages.namespace?.status).toBe('done'); // the other branch went on

    p.events.length = 0;
    const second = await runStages(opts(graph(p), state));
    expect(second.ok).toBe(true);
    // check() says done for finished stages: only the read-only ones, the failed one and after run again
    expect(second.ran.sort()).toEqual(['context', 'identity-mapping', 'preflight', 'role-arn']);
    expect(state.stages.cluster?.status).toBe('skipped');
  });

  it('an error that is not ours fails its stage as UNEXPECTED, exit 1, its message kept', async () => {
    const stages = graph(newProbe()).map((s) => (s.id === 'namespace' ? ({ ...s, run: async () => { throw new TypeError('x is undefined'); } } as AnyStage) : s));
    const state = emptyState();
    const out = await runStages(opts(stages, state));
    expect(out).toMatchObject({ ok: false, exitCode: 1, failed: ['namespace'] });
    expect(out.error?.code).toBe('UNEXPECTED');
    expect(state.stages.namespace?.error).toEqual({ code: 'UNEXPECTED', message: 'x is undefined' });
  });

  it('a stage blocked by a failure keeps the outputs it recorded (what destroy reads)', async () => {
    const p = newProbe();
    const state = emptyState();
    await runStages(opts(graph(p), state));
    expect(state.stages['iam-role']?.outputs).toEqual({ id: 'iam-role' });
    // An expired session on the next run: preflight fails, every stage after it is blocked.
    p.failOnce.add('preflight');
    const again = await runStages(opts(graph(p), state));
    expect(again.failed).toEqual(['preflight']);
    for (const id of ['cluster', 'iam-role', 'identity-mapping'] as const) {
      expect(state.stages[id]?.status).toBe('pending');
      expect(state.stages[id]?.outputs).toEqual({ id });
    }
  });

  it('--only by itself runs one stage; a missing dependency is a usage error (exit 2)', async () => {
    const p = newProbe();
    const state = emptyState();
    const out = await runStages(opts(graph(p), state, { flags: { ...flags, only: 'role-arn' } }));
    expect(out.ok).toBe(false);
    expect(out.exitCode).toBe(2);
    expect(state.stages['iam-role']?.error?.code).toBe('ONLY_NEEDS_STAGE');
    expect(state.stages['iam-role']?.error?.message).toContain('"iam-role"');

    p.done.add('iam-role');
    const again = await runStages(opts(graph(p), state, { flags: { ...flags, only: 'role-arn' } }));
    expect(again.ok).toBe(true);
    expect(again.ran.sort()).toEqual(['preflight', 'role-arn']);
    expect(state.stages.namespace).toBeUndefined();
  });

  it('--from re-runs that stage and those after it even when check says done', async () => {
    const p = newProbe();
    const state = emptyState();
    await runStages(opts(graph(p), state));
    const out = await runStages(opts(graph(p), state, { flags: { ...flags, from: 'iam-role' } }));
    expect(out.ran.sort()).toEqual(['context', 'iam-role', 'identity-mapping', 'preflight', 'role-arn']);
  });

  it('changed inputs invalidate exactly the stages that read them, and the records say which inputs', async () => {
    const p = newProbe();
    const state = emptyState();
    await runStages(opts(graph(p), state));
    // The state as the first stage starts: which records the runner made stale.
    const at: { start?: State } = {};
    const started = () => at.start;
    // cluster reads only clusterName; identity-mapping reads iamRole too but comes after iam-role:
    // it goes stale by its own reading, cluster does not by coming after nothing that changed.
    const changed = { ...inputs, k8sUser: 'other' };
    await runStages(opts(graph(newProbe()), state, {
      inputs: changed,
      reporter: { ...silent, stageStart: () => void (at.start ??= structuredClone(state)) },
    }));
    expect(started()?.stages['identity-mapping']?.status).toBe('pending');
    expect(started()?.stages['identity-mapping']?.reason).toBe('inputs changed since it last ran (k8sUser)');
    // Stale no more: checked again, and the record says why it was.
    expect(state.stages['identity-mapping']?.invalidatedBy).toEqual(['k8sUser']);
    // (preflight is the one starting: running.)
    for (const id of ['cluster', 'context', 'namespace', 'iam-role', 'role-arn'] as const) {
      expect(started()?.stages[id]?.status, id).toBe('done');
      expect(state.stages[id]?.invalidatedBy, id).toBeUndefined();
    }

    // iam-role's change: iam-role, role-arn and identity-mapping read iamRole; namespace does not.
    at.start = undefined;
    await runStages(opts(graph(newProbe()), state, {
      inputs: { ...changed, iamRole: 'other' },
      reporter: { ...silent, stageStart: () => void (at.start ??= structuredClone(state)) },
    }));
    expect(['iam-role', 'role-arn', 'identity-mapping'].map((id) => started()?.stages[id as StageId]?.status)).toEqual(['pending', 'pending', 'pending']);
    expect(started()?.stages.namespace?.status).toBe('done'); // reads only `namespace`
    expect(state.stages['role-arn']?.invalidatedBy).toEqual(['iamRole']);
    expect(state.stages.namespace?.invalidatedBy).toBeUndefined();
    expect(state.inputs?.iamRole).toBe('other');
  });

  it('Ctrl-C marks the running stage interrupted and throws INTERRUPTED', async () => {
    const p = newProbe();
    const state = emptyState();
    const ac = new AbortController();
    const stages = graph(p, { cluster: 500 });
    setTimeout(() => ac.abort(), 50);
    await expectCode(runStages(opts(stages, state, { signal: ac.signal })), 'INTERRUPTED');
    expect(state.stages.cluster?.status).toBe('interrupted');
    expect(state.stages.cluster?.error?.code).toBe('INTERRUPTED');
    expect(state.stages.preflight?.status).toBe('done');
  });

  it('saves state after every status change, in order', async () => {
    const p = newProbe();
    const state = emptyState();
    const snapshots: string[] = [];
    await runStages(opts(graph(p), state, { save: async () => void snapshots.push(state.stages.cluster?.status ?? '-') }));
    expect(snapshots).toContain('running');
    expect(snapshots.at(-1)).toBe('done');
  });
});

describe('from check() to run(), and handoffs between stages', () => {
  // A stage that looks something up in check() (counting lookups) and gets it again in run().
  function lookupStage(lookups: string[], seenInRun: unknown[]): AnyStage {
    const stage = defineStage({
      id: 'preflight',
      title: 'lookup',
      needs: [],
      inputs: ['clusterName'],
      services: [],
      async check(): Promise<CheckResult<StageOutputs['preflight'], { thing: string | undefined }>> {
        lookups.push('check');
        return { done: false, seen: { thing: undefined } };
      },
      async run(_ctx, seen) {
        if (!seen) lookups.push('run');
        seenInRun.push(seen);
        return { outputs: { accountId: '1', callerArn: 'a', partition: 'aws' }, summary: 'ran', handoff: { cluster: { cluster: { name: 'handed-on-cluster' } } } };
      },
      async plan() {
        return { items: [] };
      },
    });
    return stage as AnyStage;
  }
  // The cluster stage's check() takes what was handed to it: once.
  function takerStage(taken: unknown[]): AnyStage {
    const stage = defineStage({
      id: 'cluster',
      title: 'taker',
      needs: ['preflight'],
      inputs: [],
      services: [],
      async check(ctx) {
        taken.push(ctx.handoff('cluster'), ctx.handoff('cluster'));
        return { done: false };
      },
      async run(ctx) {
        taken.push(ctx.handoff('cluster'));
        return { outputs: { endpoint: 'e', authenticationMode: 'API', createdByUs: false } as never };
      },
      async plan() {
        return { items: [] };
      },
    });
    return stage as AnyStage;
  }

  it("run() gets what check() read, also when it found nothing; a forced run looks up itself", async () => {
    const lookups: string[] = [];
    const seen: unknown[] = [];
    await runStages(opts([lookupStage(lookups, seen)], emptyState()));
    expect(lookups).toEqual(['check']);
    expect(seen).toEqual([{ thing: undefined }]);

    lookups.length = 0;
    seen.length = 0;
    await runStages(opts([lookupStage(lookups, seen)], emptyState(), { flags: { ...flags, from: 'preflight' } }));
    expect(lookups).toEqual(['run']);
    expect(seen).toEqual([undefined]);
  });

  it('a handoff reaches the stage it is for once, and the gate sees it without taking it and adds its own', async () => {
    const taken: unknown[] = [];
    const gateSaw: unknown[] = [];
    const state = emptyState();
    await runStages(
      opts([lookupStage([], []), takerStage(taken)], state, {
        gate: {
          after: 'preflight',
          ask: async (_outputs, handoffs) => {
            gateSaw.push(structuredClone(handoffs.cluster));
            return { answers: {}, handoffs: { cluster: { cluster: { name: 'handed-on-cluster' }, capacity: { specs: [], warnings: ['read by the confirmation'] } } } };
          },
        },
      }),
    );
    expect(gateSaw).toEqual([{ cluster: { name: 'handed-on-cluster' } }]);
    expect(taken).toEqual([{ cluster: { name: 'handed-on-cluster' }, capacity: { specs: [], warnings: ['read by the confirmation'] } }, undefined, undefined]);
    // In memory only: never written to state.
    expect(JSON.stringify(state)).not.toContain('handed-on-cluster');
  });

  it('a forced stage (--from) takes no handoff: asked to do its part again, it reads afresh', async () => {
    const taken: unknown[] = [];
    await runStages(opts([lookupStage([], []), takerStage(taken)], emptyState(), { flags: { ...flags, from: 'cluster' } }));
    // No check ran (forced), and run() found nothing handed to it.
    expect(taken).toEqual([undefined]);
  });

  it("a check that finds its stage done hands on what it read; a stage hands only to one that needs it", async () => {
    const handing = (to: StageId) =>
      defineStage({
        id: 'iam-role',
        title: 'hands on',
        needs: [],
        inputs: [],
        services: [],
        async check() {
          return { done: true, reason: 'there', outputs: { roleArn: 'arn', createdByUs: false, attachedPolicies: [] }, handoff: { [to]: { role: { Arn: 'arn:aws:iam::1:role/handed' } } } };
        },
        async run() {
          throw new Error('not reached');
        },
        async plan() {
          return { items: [] };
        },
      }) as AnyStage;
    const taken: unknown[] = [];
    const taker = defineStage({
      id: 'role-arn',
      title: 'takes',
      needs: ['iam-role'],
      inputs: [],
      services: [],
      async check(ctx) {
        taken.push(ctx.handoff('role-arn'));
        return { done: true, reason: 'handed', outputs: { roleArn: 'arn', mappingArn: 'arn' } };
      },
      async run() {
        throw new Error('not reached');
      },
      async plan() {
        return { items: [] };
      },
    }) as AnyStage;
    const ok = await runStages(opts([handing('role-arn'), taker], emptyState()));
    expect(ok.ok).toBe(true);
    expect(taken).toEqual([{ role: { Arn: 'arn:aws:iam::1:role/handed' } }]);
    // Addressed to a stage that does not need it: a bug, reported as the stage's failure.
    const wrong = await runStages(opts([handing('cluster'), taker], emptyState()));
    expect(wrong.failed).toEqual(['iam-role']);
    expect(wrong.error?.message).toMatch(/handed something to cluster, which does not need it/);
  });
});

describe('checkAfter: a read-only check that does not wait for stages it does not read from', () => {
  /** A chain preflight → cluster → context → namespace → k8s-role; the last checks after context. */
  function chain(events: string[], o: { k8sRoleCheckAfter?: boolean; namespaceFails?: boolean; k8sRoleCheckThrows?: boolean } = {}): AnyStage[] {
    const simple = (id: StageId, needs: StageId[], delay = 0): AnyStage =>
      ({
        id,
        title: id,
        needs,
        inputs: [],
        services: [],
        async run() {
          events.push(`run ${id}`);
          await new Promise((r) => setTimeout(r, delay));
          if (id === 'namespace' && o.namespaceFails) throw new KpoError('KUBE_FORBIDDEN', 'namespace refused');
          events.push(`ran ${id}`);
          return { outputs: {} };
        },
        async plan() {
          return { items: [] };
        },
      }) as unknown as AnyStage;
    const role = {
      id: 'k8s-role',
      title: 'k8s-role',
      needs: ['namespace'],
      ...(o.k8sRoleCheckAfter ? { checkAfter: ['context'] } : {}),
      inputs: [],
      services: [],
      async check(ctx: { output: (id: StageId) => unknown; tryOutput: (id: StageId) => unknown }) {
        events.push(`check k8s-role`);
        // The early check's context reaches only what it waits for (not namespace, still running).
        events.push(`check sees namespace: ${ctx.tryOutput('namespace') === undefined ? 'no' : 'yes'}`);
        if (o.k8sRoleCheckThrows) throw new KpoError('KUBE_FORBIDDEN', 'may not read Roles');
        return { done: false, seen: { current: 'read early' } };
      },
      async run(_ctx: unknown, seen: unknown) {
        events.push(`run k8s-role with ${JSON.stringify(seen)}`);
        return { outputs: { created: true, changed: [] } };
      },
      async plan() {
        return { items: [] };
      },
    } as unknown as AnyStage;
    return [simple('preflight', []), simple('cluster', ['preflight']), simple('context', ['cluster']), simple('namespace', ['context'], 30), role];
  }

  it('starts the check once the stages it reads from are done, and run() after every need, with what it read', async () => {
    const events: string[] = [];
    const r = await runStages(opts(chain(events, { k8sRoleCheckAfter: true }), emptyState()));
    expect(r.ok).toBe(true);
    // The check went out while namespace ran; run() waited for namespace and got the check's read.
    expect(events.indexOf('check k8s-role')).toBeLessThan(events.indexOf('ran namespace'));
    expect(events).toContain('check sees namespace: no');
    expect(events.indexOf('run k8s-role with {"current":"read early"}')).toBeGreaterThan(events.indexOf('ran namespace'));
  });

  it('without checkAfter the check waits for every need, as before', async () => {
    const events: string[] = [];
    await runStages(opts(chain(events), emptyState()));
    expect(events.indexOf('check k8s-role')).toBeGreaterThan(events.indexOf('ran namespace'));
  });

  it('a need that fails blocks the stage as before: its early answer, or early failure, is never used', async () => {
    for (const k8sRoleCheckThrows of [false, true]) {
      const events: string[] = [];
      const state = emptyState();
      const r = await runStages(opts(chain(events, { k8sRoleCheckAfter: true, namespaceFails: true, k8sRoleCheckThrows }), state));
      expect(r.failed).toEqual(['namespace']);
      expect(events).toContain('check k8s-role');
      expect(events.some((e) => e.startsWith('run k8s-role'))).toBe(false);
      expect(state.stages['k8s-role']).toMatchObject({ status: 'pending', reason: 'waiting for namespace' });
    }
  });

  it('an early check that fails fails its stage once the needs are done, with its code', async () => {
    const events: string[] = [];
    const state = emptyState();
    const r = await runStages(opts(chain(events, { k8sRoleCheckAfter: true, k8sRoleCheckThrows: true }), state));
    expect(r.failed).toEqual(['k8s-role']);
    expect(state.stages['k8s-role']?.error?.code).toBe('KUBE_FORBIDDEN');
  });

  it('checkAfter must name a stage it comes after', async () => {
    const events: string[] = [];
    const stages = chain(events, { k8sRoleCheckAfter: true });
    (stages[4] as { checkAfter?: StageId[] }).checkAfter = ['iam-role'];
    await expect(runStages(opts(stages, emptyState()))).rejects.toThrow(/checks after iam-role, which it does not come after/);
  });
});

describe('saving state: one write at a time, changes made meanwhile share the next', () => {
  it('every change is written by a write that starts after it; a failed write fails its callers only', async () => {
    let value = 0;
    const written: number[] = [];
    const gates: Array<() => void> = [];
    let fail = false;
    const save = coalesced(async () => {
      const v = value; // serialised when the write starts
      await new Promise<void>((r) => gates.push(r));
      if (fail) throw new Error('disk full');
      written.push(v);
    });
    // Lets every write that was asked for start and finish.
    const flush = async () => {
      for (;;) {
        await new Promise((r) => setTimeout(r, 0));
        if (!gates.length) return;
        gates.shift()!();
      }
    };
    value = 1;
    const a = save();
    await new Promise((r) => setTimeout(r, 0)); // the first write has started (with 1)
    value = 2;
    const b = save();
    value = 3;
    const c = save(); // joins b: neither has started
    expect(c).toBe(b);
    await flush();
    await Promise.all([a, b, c]);
    expect(written).toEqual([1, 3]);

    fail = true;
    const d = save();
    d.catch(() => undefined);
    await flush();
    await expect(d).rejects.toThrow('disk full');
    fail = false;
    value = 4;
    const e = save();
    await flush();
    await e;
    expect(written).toEqual([1, 3, 4]);
  });
});

describe('planStages', () => {
  it('plans every stage without running any, and survives a plan that throws', async () => {
    const p = newProbe();
    const stages = graph(p);
    const broken = { ...stages[4]!, plan: async () => { throw new Error('no credentials'); } } as AnyStage;
    stages[4] = broken;
    const plans = await planStages({ ...opts(stages, emptyState()), flags: { ...flags, dryRun: true } });
    expect(plans.map((x) => x.id)).toHaveLength(7);
    expect(p.events).toEqual([]);
    expect(plans.find((x) => x.id === 'iam-role')?.items[0]?.unknown).toBe('no credentials');
  });
});

describe('gate (init confirmation after preflight)', () => {
  it('holds every other stage until the gate stage has finished and the answer is yes', async () => {
    const p = newProbe();
    const state = emptyState();
    let askedWith: string[] = [];
    const r = await runStages(
      opts(graph(p), state, {
        gate: {
          after: 'preflight',
          ask: async (outputs) => {
            askedWith = Object.keys(outputs);
            p.events.push('ask');
            return { answers: {} };
          },
        },
      }),
    );
    expect(r.ok).toBe(true);
    expect(askedWith).toEqual(['preflight']);
    expect(p.events.slice(0, 3)).toEqual(['start preflight', 'end preflight', 'ask']);
    expect(p.done.size).toBe(7);
  });

  it('a no stops the run: nothing after the gate stage runs', async () => {
    const p = newProbe();
    const state = emptyState();
    const r = await runStages(opts(graph(p), state, { gate: { after: 'preflight', ask: async () => false } }));
    expect(r).toMatchObject({ ok: true, declined: true, ran: ['preflight'] });
    expect(p.events).toEqual(['start preflight', 'end preflight']);
  });

  it('a re-run that finds a stage done keeps what the earlier run did (madeBy)', async () => {
    const p = newProbe();
    const state = emptyState();
    await runStages(opts(graph(p), state));
    await runStages(opts(graph(p), state));
    expect(state.stages.cluster?.status).toBe('skipped');
    expect(state.stages.cluster?.madeBy?.summary).toBe('ran cluster');
    await runStages(opts(graph(p), state));
    expect(state.stages.cluster?.madeBy?.summary).toBe('ran cluster');
  });
});

// Stage 2: which Kubernetes API to talk to, and how. Replaces `kubectl config get-contexts` /
// `use-context`: the context whose server is the EKS endpoint (or --kube-context) is used as is,
// without touching the user's kubeconfig unless --switch-context asks; with no such context the
// connection is built in memory from DescribeCluster and an in-process EKS token. When several
// contexts point at the endpoint, the one picked in init's question phase (answers.kubeContext)
// is used, else the default; it never asks. Read-only, so it has no check(): it always runs and
// returns the connection (`kube`), which the runner hands to every later stage that declares it.
import { defineStage, type StageContext } from '../engine/stage.js';
import { errorMessage } from '../errors.js';
import { connect, type Connection } from '../kube/connect.js';
import { loadKubeconfig, switchCurrentContext, type LoadedKubeconfig } from '../kube/kubeconfig.js';
import { selectContext, type Selection } from '../kube/select.js';
import type { StageOutputs } from '../types.js';

interface Chosen {
  kc: LoadedKubeconfig;
  selection: Selection;
  conn: Connection;
}

type Ctx = StageContext<{
  inputs: 'clusterName' | 'region' | 'kubeContext';
  services: 'aws' | 'env';
  answers: 'kubeContext';
  needs: 'preflight';
}>;

async function choose(ctx: Ctx, cluster: StageOutputs['cluster']): Promise<Chosen> {
  const kc = await loadKubeconfig(ctx.env);
  const selection = await selectContext({
    kc,
    clusterName: ctx.inputs.clusterName,
    endpoint: cluster.endpoint,
    kubeContext: ctx.inputs.kubeContext,
    chosen: ctx.answers.kubeContext,
  });
  const conn = await connect({
    selection,
    kc,
    cluster,
    inputs: ctx.inputs,
    aws: ctx.aws,
    env: ctx.env,
    signal: ctx.signal,
    caller: ctx.tryOutput('preflight')?.callerArn,
    debug: ctx.debug,
  });
  return { kc, selection, conn };
}

function outputsOf(c: Chosen): StageOutputs['context'] {
  return {
    source: c.selection.source,
    ...(c.selection.source === 'kubeconfig' ? { contextName: c.selection.context.name } : {}),
    server: c.conn.server,
    tokenSource: c.conn.tokenSource,
  };
}

function describeChoice(c: Chosen): string {
  return c.selection.source === 'kubeconfig'
    ? `kubeconfig context "${c.selection.context.name}" (${c.selection.reason})`
    : `an in-memory connection to ${c.conn.server} (${c.selection.reason})`;
}

export const contextStage = defineStage({
  id: 'context',
  title: 'Pick the Kubernetes context',
  // cluster: its endpoint and CA; preflight: who we are, for 403 messages.
  needs: ['cluster', 'preflight'],
  // namespace: where the probe asks whether we may create RoleBindings.
  inputs: ['clusterName', 'region', 'profile', 'kubeContext', 'namespace'],
  services: ['aws', 'env'],
  flags: ['switchContext'],
  answers: ['kubeContext'],

  async validate(ctx) {
    // A broken kubeconfig or an unknown --kube-context is bad input: say so before anything runs.
    if (!ctx.inputs.kubeContext) return;
    const kc = await loadKubeconfig(ctx.env);
    await selectContext({ kc, clusterName: ctx.inputs.clusterName, kubeContext: ctx.inputs.kubeContext });
  },

  async run(ctx) {
    const chosen = await choose(ctx, ctx.output('cluster'));
    const warnings: string[] = [];
    if (chosen.selection.source === 'kubeconfig' && chosen.selection.warning) warnings.push(chosen.selection.warning);
    ctx.io.info(`Kubernetes: using ${describeChoice(chosen)}; authenticating with ${chosen.conn.tokenSource}.`);
    ctx.progress(`checking ${chosen.conn.server}`);
    // Fails here, clearly, when the endpoint is unreachable or our credentials are rejected.
    const mayBind = await chosen.conn.kube.probe(ctx.inputs.namespace);
    if (!mayBind.allowed) {
      warnings.push(
        `the API server says we may not create RoleBindings in namespace ${ctx.inputs.namespace} (${chosen.conn.kube.authDescription}); the Kubernetes stages will likely fail: use a cluster admin identity or pick another context with --kube-context.`,
      );
    }
    if (ctx.flags.switchContext) {
      if (chosen.selection.source === 'kubeconfig') {
        const name = chosen.selection.context.name;
        if (chosen.kc.currentContext !== name) {
          const file = await switchCurrentContext(ctx.env, name);
          ctx.io.info(`Switched current-context to "${name}" in ${file} (--switch-context).`);
        }
      } else {
        warnings.push(
          `--switch-context: no kubeconfig context exists for cluster ${ctx.inputs.clusterName}, so there is nothing to switch to (\`aws eks update-kubeconfig --name ${ctx.inputs.clusterName} --region ${ctx.inputs.region}\` would add one).`,
        );
      }
    }
    return {
      outputs: outputsOf(chosen),
      summary: chosen.selection.source === 'kubeconfig' ? `context "${chosen.selection.context.name}"` : `in-memory connection (${chosen.conn.tokenSource})`,
      ...(warnings.length ? { warnings } : {}),
      kube: chosen.conn.kube,
    };
  },

  async plan(ctx) {
    const cluster = ctx.tryOutput('cluster');
    if (!cluster) {
      // No cluster outputs: it is to be created, or it could not be looked up (no credentials).
      return { items: [{ action: 'pick the kubeconfig context for the cluster (or connect in memory)', unknown: 'the cluster is not known yet (to be created, or not looked up: see the cluster stage)' }] };
    }
    let chosen: Chosen;
    try {
      chosen = await choose(ctx, cluster);
    } catch (err) {
      return { items: [{ action: 'pick the kubeconfig context for the cluster', unknown: errorMessage(err) }] };
    }
    const items = [{ action: `use ${describeChoice(chosen)}, authenticating with ${chosen.conn.tokenSource}` }];
    if (ctx.flags.switchContext && chosen.selection.source === 'kubeconfig' && chosen.kc.currentContext !== chosen.selection.context.name) {
      items.push({ action: `switch current-context to "${chosen.selection.context.name}" (--switch-context)` });
    }
    try {
      await chosen.conn.kube.probe(ctx.inputs.namespace);
    } catch (err) {
      return { items: [...items.map((i) => ({ ...i, unknown: errorMessage(err) }))], outputs: outputsOf(chosen) };
    }
    // Later plans may ask the API server for dryRun=All answers.
    return { items, outputs: outputsOf(chosen), kube: chosen.conn.kube };
  },
});

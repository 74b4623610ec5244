// init's question phase: every question a run can ask is worked out cheaply after preflight's
// reads (the cluster preflight looked up, the project files as the confirmation surveyed them, the
// kubeconfig) and asked together with the confirmation, before the first change. Stages never
// ask (their io cannot): the answers reach them in plain sight (Answers in src/types.ts), and a
// stage without an answer uses the default a non-interactive run uses, so every question has one
// (aws-cdk's IoHost rule).
import { unifiedDiff } from '../airflow/diff.js';
import type { FullContext } from '../engine/stage.js';
import type { Io } from '../io.js';
import { loadKubeconfig } from '../kube/kubeconfig.js';
import { contextQuestion } from '../kube/select.js';
import type { Answers } from '../types.js';
import type { ConfirmationFacts } from './init-confirm.js';

/** Which stages of this run could ask: the context stage runs in every run that reaches it (it
 * has no check); the project-files stage only when this run may write (not as --only's dependency). */
export interface QuestionScope {
  context: boolean;
  projectFiles: boolean;
}

/**
 * Which kubeconfig context, when several point at the cluster's endpoint and no --kube-context
 * names one. The endpoint is the one DescribeCluster gave preflight (or the confirmation); when
 * that lookup failed, the one recorded. A cluster that does not exist yet (eksctl creates it in
 * this run) gets a new endpoint no context can point at before: eksctl writes the only one, so
 * there is nothing to ask. Should several appear anyway, the stage takes the default and says so.
 */
async function askContext(ctx: FullContext, io: Io, facts: ConfirmationFacts, recordedEndpoint: string | undefined): Promise<string | undefined> {
  const endpoint = facts.cluster ? facts.cluster.endpoint : facts.clusterUnknown ? recordedEndpoint : undefined;
  if (ctx.inputs.kubeContext || !endpoint) return undefined;
  // A kubeconfig that cannot be read is the context stage's to report, with its own message.
  const kc = await loadKubeconfig(ctx.env).catch(() => undefined);
  const choice = kc && contextQuestion({ kc, endpoint });
  if (!choice) return undefined;
  return io.select({
    flag: '--kube-context',
    message: `${choice.matches.length} kubeconfig contexts point at cluster ${ctx.inputs.clusterName}; which one should be used?`,
    choices: choice.matches.map((c) => ({ value: c.name, name: `${c.name} (user ${c.userName})${c.name === kc.currentContext ? ' — current' : ''}` })),
    default: choice.fallback.name,
  });
}

/** Per file of ours the user changed: show the difference and ask whether to overwrite it. */
async function askOverwrites(io: Io, facts: ConfirmationFacts): Promise<Record<string, boolean>> {
  const answers: Record<string, boolean> = {};
  for (const d of facts.files?.decisions ?? []) {
    if (d.status !== 'changed') continue;
    io.info(`${d.path} differs from what astro-remote-kpo would write (did you edit it?):`);
    for (const line of unifiedDiff(d.current ?? '', d.content, d.path).trimEnd().split('\n')) io.info(`  ${line}`);
    answers[d.path] = await io.confirm({ flag: '--force', message: `Overwrite ${d.path} with the version above?`, default: false });
  }
  return answers;
}

/**
 * The answers of this run. Non-interactive: none, and each stage takes its default (the current
 * or first of several contexts, saying --kube-context picks another; a changed file kept with a
 * warning, unless --force). --force answers every overwrite question yes, so none is asked.
 */
export async function askQuestions(ctx: FullContext, io: Io, facts: ConfirmationFacts, scope: QuestionScope, recordedEndpoint?: string): Promise<Answers> {
  if (!io.interactive) return {};
  const kubeContext = scope.context ? await askContext(ctx, io, facts, recordedEndpoint) : undefined;
  const overwrite = scope.projectFiles && !ctx.flags.force ? await askOverwrites(io, facts) : {};
  return { ...(kubeContext ? { kubeContext } : {}), ...(Object.keys(overwrite).length ? { overwrite } : {}) };
}

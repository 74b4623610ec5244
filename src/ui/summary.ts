// Renders what a run did: the dry-run plan, the final summary with next steps, and the --json
// document. Pure functions of their inputs so tests can check them directly.
import type { ChalkInstance } from 'chalk';
import type { StagePlan } from '../engine/plan.js';
import type { State, StageRecord } from '../engine/state.js';
import { roleBindingName } from '../desired.js';
import { STAGE_IDS, type Inputs, type StageId } from '../types.js';
import { nextSteps } from './next-steps.js';
import { stageLabel } from './output.js';

const indent = (text: string, pad: string) => text.split('\n').map((l) => `${pad}${l}`).join('\n');

export function renderPlan(chalk: ChalkInstance, plans: StagePlan[]): string {
  const lines = [chalk.bold('Plan (dry run: nothing will be created or changed)'), ''];
  for (const p of plans) {
    lines.push(`${chalk.bold(stageLabel(p.id))}  ${p.title}`);
    for (const item of p.items) {
      lines.push(`   ${item.unknown ? chalk.yellow('?') : '•'} ${item.action}`);
      if (item.unknown) lines.push(chalk.yellow(`     unknown: ${item.unknown}`));
      if (item.details) lines.push(indent(item.details, '       '));
    }
  }
  return lines.join('\n');
}

const removed = (rec: { reason?: string } | undefined) => rec?.reason?.startsWith('removed by') ?? false;

/** workload identity → IAM role → k8s user → RoleBinding → Role → namespace, with real names,
 * one link a line, the arrows aligned. Each name says where it stands when it is not live. */
export function chainLines(inputs: Inputs, state: State): string[] {
  const roleRec = state.stages['role-arn'];
  const roleArn = roleRec?.outputs?.roleArn;
  const role = roleArn ?? `${inputs.iamRole} (${removed(roleRec) ? 'removed by destroy' : 'not created yet'})`;
  const localDev = state.stages['iam-role']?.outputs?.localDevPrincipal;
  const mapRec = state.stages['identity-mapping'];
  const kind = mapRec?.outputs?.kind;
  const mapping = kind === 'access-entry' ? 'EKS access entry' : kind === 'aws-auth' ? 'aws-auth entry' : removed(mapRec) ? 'mapping removed by destroy' : inputs.authMode === 'auto' ? 'access entry or aws-auth' : inputs.authMode;
  const rbRec = state.stages['role-binding'];
  const rb = `RoleBinding ${roleBindingName(inputs.k8sRole)}${removed(rbRec) ? ', removed by destroy' : ''}`;
  const roleRbacRec = state.stages['k8s-role'];
  const rows: Array<[string, string]> = [
    ['sts:AssumeRole', `IAM role ${role}`],
    [mapping, `Kubernetes user ${inputs.k8sUser} (cluster ${inputs.clusterName}, ${inputs.region})`],
    [rb, `Role ${inputs.k8sRole}${removed(roleRbacRec) ? ' (removed by destroy)' : ''}`],
    [
      'grants',
      removed(state.stages.namespace)
        ? `nothing now (namespace ${inputs.namespace} removed by destroy)`
        : state.stages['access-check']?.outputs?.acceptedExtra?.length
          ? `pods in namespace ${inputs.namespace}, and more: accepted with --allow-extra-access (see access-check)`
          : `pods in namespace ${inputs.namespace}, and nothing else`,
    ],
  ];
  const width = Math.max(...rows.map(([l]) => l.length));
  const head = 'Astro workload identity';
  const who = [...inputs.workloadIdentities, ...(localDev ? [`${localDev}  (you, --local-dev)`] : [])];
  return [...who.map((wi, i) => `${i === 0 ? head : 'and'.padStart(head.length)}  ${wi}`), ...rows.map(([l, r]) => `  └ ${l.padEnd(width)} → ${r}`), ...podChainLines(inputs, state)];
}

/** The task pods' own AWS identity (issue #20): pod → ServiceAccount → role → policies, with real
 * names; nothing when the feature is off. */
export function podChainLines(inputs: Inputs, state: State): string[] {
  if (!inputs.podPolicyArns.length) return [];
  const saRec = state.stages['pod-service-account'];
  const roleRec = state.stages['pod-role'];
  const idRec = state.stages['pod-identity'];
  const sa = saRec?.outputs?.enabled ? saRec.outputs : undefined;
  const role = roleRec?.outputs?.enabled ? roleRec.outputs : undefined;
  const id = idRec?.outputs?.enabled ? idRec.outputs : undefined;
  const where = (rec: { reason?: string } | undefined, done: boolean) => (removed(rec) ? ' (removed by destroy)' : done ? '' : ' (not set up yet)');
  const mode = sa?.mode ?? id?.mode;
  const link = mode === 'irsa' ? 'IRSA' : mode === 'pod-identity' ? 'EKS Pod Identity' : inputs.podIdentity === 'auto' ? 'IRSA or Pod Identity' : inputs.podIdentity;
  const via =
    mode === 'irsa'
      ? ` (annotation eks.amazonaws.com/role-arn${id?.oidcProviderArn ? `; OIDC provider ${id.oidcProviderArn.replace(/^arn:[^:]+:iam::\d+:oidc-provider\//, '')}` : ''})`
      : mode === 'pod-identity' && sa?.association
        ? ` (association ${sa.association.id})`
        : '';
  const rows: Array<[string, string]> = [
    ['runs as', `ServiceAccount ${inputs.podServiceAccount} (namespace ${inputs.namespace})${where(saRec, Boolean(sa))}`],
    [link, `IAM role ${role?.roleArn ?? inputs.podRole}${where(roleRec, Boolean(role?.roleArn))}${via}`],
    ['may use', (role?.policies ?? inputs.podPolicyArns).join(', ')],
  ];
  const width = Math.max(...rows.map(([l]) => l.length));
  return ['Task pod (remote_kpo)', ...rows.map(([l, r]) => `  └ ${l.padEnd(width)} → ${r}`)];
}

export interface SummaryParts {
  /** Run flags that made this a partial run. */
  from?: StageId;
  only?: StageId;
  ran: readonly StageId[];
  /** The next steps (src/ui/next-steps.ts): the deploy path, with its own heading. */
  next: string[];
  logFile: string;
}

/** The closing summary of a successful init. A partial run (--only/--from) says what it ran
 * rather than claiming the whole chain is done. */
export function finalSummary(chalk: ChalkInstance, inputs: Inputs, state: State, p: SummaryParts): string[] {
  const lines = [''];
  const audit = `Every change made in AWS and in the cluster is listed in ${p.logFile} (lines starting "audit").`;
  if (p.only || p.from) {
    const which = p.only ? `--only ${p.only}` : `--from ${p.from}`;
    lines.push(
      chalk.green.bold(`Done (${which}): ran ${p.ran.length ? p.ran.map(stageLabel).join(', ') : 'nothing (all up to date)'}.`),
      'The other stages were not run now; `npx astro-remote-kpo status` shows them all, `npx astro-remote-kpo verify` checks the chain live.',
      audit,
    );
    return lines;
  }
  lines.push(chalk.green.bold('Done. The authorization chain:'), ...chainLines(inputs, state).map((l) => `  ${l}`));
  if (p.next.length) lines.push('', chalk.bold(p.next[0]!), ...p.next.slice(1));
  lines.push('', audit);
  return lines;
}

/** The closing next steps after a successful init (content: src/ui/next-steps.ts). */
export function nextStepLines(inputs: Inputs, state: State): string[] {
  const roleArn = state.stages['role-arn']?.outputs?.roleArn;
  const dc = state.stages['deployment-connection']?.outputs;
  const local = state.stages['iam-role']?.outputs?.localDevPrincipal;
  const cluster = state.stages.cluster?.outputs;
  const reach = cluster?.endpointAccess ? { endpointAccess: cluster.endpointAccess, endpoint: cluster.endpoint } : {};
  return nextSteps({ inputs, ...(roleArn ? { roleArn } : {}), ...(dc ? { deploymentConnection: dc } : {}), ...(local ? { localDevPrincipal: local } : {}), ...reach });
}

export interface JsonStage {
  id: StageId;
  number: number;
  status: StageRecord['status'];
  reason?: string;
  summary?: string;
  warnings?: string[];
  error?: StageRecord['error'];
  durationMs?: number;
  outputs?: unknown;
  /** This run took the stage up again because these inputs it reads changed (StageRecord). */
  invalidatedBy?: StageRecord['invalidatedBy'];
}

export function jsonStages(state: State): JsonStage[] {
  return STAGE_IDS.map((id, number) => {
    const r = state.stages[id] as StageRecord | undefined;
    return {
      id,
      number,
      status: r?.status ?? 'pending',
      ...(r?.reason ? { reason: r.reason } : {}),
      ...(r?.summary ? { summary: r.summary } : {}),
      ...(r?.warnings?.length ? { warnings: r.warnings } : {}),
      ...(r?.error ? { error: r.error } : {}),
      ...(r?.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
      ...(r?.outputs !== undefined ? { outputs: r.outputs } : {}),
      ...(r?.invalidatedBy ? { invalidatedBy: r.invalidatedBy } : {}),
    };
  });
}

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

/** workload identity → IAM role → k8s user → RoleBinding → Role → namespace, with real names. */
export function chainLines(inputs: Inputs, state: State): string[] {
  const roleArn = state.stages['role-arn']?.outputs?.roleArn ?? `(IAM role ${inputs.iamRole}, not created yet)`;
  const localDev = state.stages['iam-role']?.outputs?.localDevPrincipal;
  const mapping = state.stages['identity-mapping']?.outputs?.kind ?? (inputs.authMode === 'auto' ? 'access entry or aws-auth' : inputs.authMode);
  return [
    ...inputs.workloadIdentities.map((wi, i) => `${i === 0 ? 'Astro workload identity' : 'and'.padStart(23)}  ${wi}`),
    ...(localDev ? [`${'and'.padStart(23)}  ${localDev}  (you, --local-dev)`] : []),
    `  --sts:AssumeRole-->       IAM role ${roleArn}`,
    `  --${mapping}-->  Kubernetes user ${inputs.k8sUser} (cluster ${inputs.clusterName}, ${inputs.region})`,
    `  --RoleBinding ${roleBindingName(inputs.k8sRole)}-->  Role ${inputs.k8sRole}`,
    `  --> pods in namespace ${inputs.namespace}, and nothing else`,
  ];
}

/** The closing next steps after a successful init (content: src/ui/next-steps.ts). */
export function nextStepLines(inputs: Inputs, state: State): string[] {
  const roleArn = state.stages['role-arn']?.outputs?.roleArn;
  const dc = state.stages['deployment-connection']?.outputs;
  const local = state.stages['iam-role']?.outputs?.localDevPrincipal;
  return nextSteps({ inputs, ...(roleArn ? { roleArn } : {}), ...(dc ? { deploymentConnection: dc } : {}), ...(local ? { localDevPrincipal: local } : {}) });
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
    };
  });
}

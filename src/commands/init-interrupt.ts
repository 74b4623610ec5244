// What Ctrl-C leaves behind, said plainly: which stage was interrupted, what goes on in AWS
// without us (CloudFormation does not stop because eksctl did), where eksctl's log is, and the
// exact command that resumes.
import { statSync } from 'node:fs';
import path from 'node:path';
import { EKSCTL_LOG, EKSCTL_NODEGROUP_LOG } from '../aws/eksctl.js';
import type { State } from '../engine/state.js';
import { STAGE_IDS, type Inputs } from '../types.js';
import { stageLabel } from '../ui/output.js';

/** The log file if eksctl wrote to it during the stage that started at `since`. */
function logOfThisRun(file: string, since: string | undefined): string | undefined {
  try {
    return !since || statSync(file).mtimeMs >= Date.parse(since) - 1000 ? file : undefined;
  } catch {
    return undefined;
  }
}

export function interruptedLines(state: State, inputs: Inputs, stateDir: string, resumeCommand: string): string[] {
  const stages = STAGE_IDS.filter((id) => state.stages[id]?.status === 'interrupted');
  const lines = [''];
  if (!stages.length) {
    lines.push('Interrupted before any stage had started: nothing was changed.');
    return lines;
  }
  lines.push(`Interrupted during ${stages.map(stageLabel).join(', ')}.`);
  const cluster = state.stages.cluster;
  if (cluster?.status === 'interrupted') {
    const logs = path.join(stateDir, 'logs');
    const created = logOfThisRun(path.join(logs, EKSCTL_LOG), cluster.startedAt);
    const nodegroup = logOfThisRun(path.join(logs, EKSCTL_NODEGROUP_LOG), cluster.startedAt);
    if (created || nodegroup) {
      lines.push(
        `eksctl was stopped, but AWS goes on: CloudFormation keeps creating ${created ? `cluster ${inputs.clusterName} (stack eksctl-${inputs.clusterName}-cluster)` : 'the node group'} in ${inputs.region}, billed once it exists.`,
        `eksctl's log: ${created ?? nodegroup}`,
        'The resume waits for the cluster to be ACTIVE and creates any managed node group of its ClusterConfig that eksctl did not get to.',
      );
    } else lines.push(`Nothing was being created by eksctl; the resume looks cluster ${inputs.clusterName} up again.`);
  }
  const others = stages.filter((s) => s !== 'cluster');
  if (others.length) lines.push(`The resume checks what ${others.map(stageLabel).join(', ')} finished before carrying on.`);
  lines.push(`State is saved in ${path.join(stateDir, 'state.json')}. Resume with:`, `  ${resumeCommand}`);
  return lines;
}

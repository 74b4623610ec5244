// destroy's output: the list of items with their decision and reason (the dry run stops there),
// a line per deletion as it happens, and one JSON document under --json.
import type { ChalkInstance } from 'chalk';
import type { ErrorRecord } from '../errors.js';
import type { Inputs } from '../types.js';
import type { DestroyItem } from './items.js';

export function renderPlan(chalk: ChalkInstance, items: readonly DestroyItem[], dryRun: boolean): string {
  const lines = [chalk.bold(dryRun ? 'destroy --dry-run: what would go (nothing is changed)' : 'destroy: in this order')];
  for (const i of items) {
    const tag = i.decision === 'delete' ? chalk.red('delete') : i.decision === 'keep' ? chalk.cyan('keep  ') : chalk.dim('gone  ');
    lines.push(`  ${tag} ${i.name}${chalk.dim(` — ${i.why}`)}`);
  }
  const n = items.filter((i) => i.decision === 'delete').length;
  lines.push(n ? `${n} to delete.` : 'Nothing of ours is left to delete.');
  return lines.join('\n');
}

export function itemLine(chalk: ChalkInstance, i: DestroyItem): string {
  if (i.result === 'deleted') return `${chalk.green('✔')} deleted ${i.name}${i.note ? chalk.dim(` (${i.note})`) : ''}`;
  if (i.result === 'kept') return `${chalk.cyan('•')} kept ${i.name}: ${i.note ?? 'someone uses it'}`;
  return `${chalk.red('✖')} could not delete ${i.name}: ${i.note ?? 'failed'}`;
}

export function destroyJson(o: { inputs: Inputs; dryRun: boolean; exitCode: number; items: readonly DestroyItem[]; error?: ErrorRecord }): string {
  const items = o.items.map((i) => ({
    stage: i.stage,
    kind: i.kind,
    name: i.name,
    decision: i.decision,
    why: i.why,
    ...(i.result ? { result: i.result } : {}),
    ...(i.note ? { note: i.note } : {}),
  }));
  return `${JSON.stringify({ command: 'destroy', dryRun: o.dryRun, ok: o.exitCode === 0, exitCode: o.exitCode, inputs: o.inputs, items, ...(o.error ? { error: o.error } : {}) }, null, 2)}\n`;
}

// verify's output: one line per check (✔ / ✖ / – / !) with the fix under each failure or warning, or one JSON
// document. Pure functions of the rows, so unit tests can check them directly.
import type { ChalkInstance } from 'chalk';
import { codeLine } from '../errors.js';
import type { Inputs } from '../types.js';
import type { CheckRow } from './row.js';

export interface VerifySummary {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  warned: number;
}

export function summarize(rows: readonly CheckRow[]): VerifySummary {
  const count = (s: CheckRow['status']) => rows.filter((r) => r.status === s).length;
  return { total: rows.length, passed: count('pass'), failed: count('fail'), skipped: count('skip'), warned: count('warn') };
}

const pad = (text: string, lead: string) => text.split('\n').map((l) => `${lead}${l}`).join('\n');

export function renderRows(chalk: ChalkInstance, inputs: Inputs, rows: readonly CheckRow[]): string {
  const width = Math.max(...rows.map((r) => r.title.length));
  const out = [
    chalk.bold(`Verifying: ${inputs.workloadIdentities.join(', ')} → IAM role ${inputs.iamRole} → user ${inputs.k8sUser} → Role ${inputs.k8sRole} in ${inputs.namespace} (cluster ${inputs.clusterName}, ${inputs.region})`),
    '',
  ];
  for (const r of rows) {
    const mark = r.status === 'pass' ? chalk.green('✔') : r.status === 'fail' ? chalk.red('✖') : r.status === 'warn' ? chalk.yellow('!') : chalk.dim('–');
    const detail = r.status === 'skip' ? chalk.dim(r.detail) : r.detail;
    out.push(`${mark} ${r.title.padEnd(width)}  ${detail}`);
    for (const n of r.notes ?? []) out.push(chalk.yellow(`    note: ${n}`));
    if (r.lines?.length) out.push(pad(r.lines.join('\n'), '      '));
    if (r.fix && r.status !== 'pass') out.push(r.status === 'skip' ? chalk.dim(`    ${r.fix}`) : pad(`${r.status === 'fail' ? 'fix' : 'what to do'}: ${r.fix}`, '    '));
    // A row that failed because of an error ends, like every error block, with its code.
    if (r.code && r.status === 'fail') out.push(chalk.dim(`    ${codeLine(r.code)}`));
  }
  const s = summarize(rows);
  out.push('');
  const warned = `${s.warned} warning${s.warned > 1 ? 's' : ''} (!)`;
  out.push(
    s.failed === 0 && s.skipped === 0
      ? s.warned === 0
        ? chalk.green.bold(`All ${s.total} checks passed: the chain works end to end.`)
        : chalk.yellow.bold(`${s.passed} of ${s.total} checks passed and none failed, with ${warned}: what verify cannot check from here. Read ${s.warned > 1 ? 'them' : 'it'} above.`)
      : chalk.red.bold(`${s.failed} of ${s.total} checks failed${s.skipped ? `, ${s.skipped} not checked because of them` : ''}${s.warned ? `; ${warned}` : ''}.`),
  );
  return out.join('\n');
}

export function verifyJson(inputs: Inputs, rows: readonly CheckRow[], exitCode: number): string {
  const s = summarize(rows);
  return `${JSON.stringify({ command: 'verify', ok: exitCode === 0, exitCode, inputs, summary: s, checks: rows }, null, 2)}\n`;
}

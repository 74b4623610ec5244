// verify row: the two DAGs in <project>/dags name this cluster, region, namespace and conn id in
// their defaults block (the block project-files rewrites).
import { initCommandLine } from '../resume-command.js';
import path from 'node:path';
import { fail, failFromError, pass, type CheckRow } from './row.js';
import type { VerifyContext } from './context.js';
import { readTextIfExists } from '../airflow/files.js';
import { DAG_FILES, dagDefaults } from '../airflow/project-files.js';

/** `NAME = "value"` assignments at the start of a line (Python string literal, either quote). */
export function pythonDefaults(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([A-Z_][A-Z0-9_]*)\s*=\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*(?:#.*)?$/gm)) {
    if (!(m[1]! in out)) out[m[1]!] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return out;
}

export async function checkDags(vc: VerifyContext): Promise<CheckRow> {
  const { clusterName, region, namespace, connId } = vc.ctx.inputs;
  const restore = `${initCommandLine(vc.ctx.inputs)} --only project-files`;
  // The values project-files writes into each DAG's defaults block.
  const want = dagDefaults(vc.ctx.inputs);
  try {
    const problems: string[] = [];
    for (const name of DAG_FILES) {
      const file = path.join(vc.ctx.projectDir, 'dags', name);
      const text = await readTextIfExists(file);
      if (text === undefined) {
        problems.push(`${path.join('dags', name)} does not exist`);
        continue;
      }
      const found = pythonDefaults(text);
      for (const [key, value] of Object.entries(want)) {
        if (found[key] !== value) problems.push(`${path.join('dags', name)}: ${key} is ${found[key] === undefined ? 'not set' : JSON.stringify(found[key])}, not ${JSON.stringify(value)}`);
      }
    }
    if (problems.length) return fail('dags', problems.join('; '), `Rewrite them (a file you changed is kept unless --force): ${restore} --force`);
    return pass('dags', `${DAG_FILES.map((f) => `dags/${f}`).join(' and ')} name cluster ${clusterName} (${region}), namespace ${namespace}, conn id ${connId}`);
  } catch (err) {
    return failFromError('dags', err, 'Check the files in dags/.');
  }
}

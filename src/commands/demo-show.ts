// What `demo` shows between verify and destroy: the files init wrote into the throwaway project,
// read back from disk (the aws_eks entry of airflow_settings.yaml, the DAGs, requirements.txt, the
// manifests), so a reader sees what a real run leaves in their own project.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { loadState } from '../engine/state.js';
import { DEFAULTS } from '../options.js';

export interface DemoFiles {
  /** The lines printed (human output). */
  lines: string[];
  /** The same for --json. */
  json: { connection: unknown; dags: string[]; requirements: string[]; manifests: string[] };
}

const list = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [] as string[])).sort();

export async function filesInitWrote(projectDir: string): Promise<DemoFiles> {
  const settings = parse(await readFile(path.join(projectDir, 'airflow_settings.yaml'), 'utf8').catch(() => '')) as { airflow?: { connections?: Array<{ conn_id?: unknown }> } } | null;
  const connection = settings?.airflow?.connections?.find((c) => c?.conn_id === DEFAULTS.connId) ?? null;
  const dags = (await list(path.join(projectDir, 'dags'))).filter((f) => f.endsWith('.py'));
  const requirements = (await readFile(path.join(projectDir, 'requirements.txt'), 'utf8').catch(() => '')).split('\n').filter((l) => l.trim() !== '');
  const manifests = (await list(path.join(projectDir, 'k8s'))).map((f) => `k8s/${f}`);
  const indent = (text: string) => text.trimEnd().split('\n').map((l) => `    ${l}`);
  const lines = [
    '',
    `Files init wrote in ${projectDir}:`,
    `  airflow_settings.yaml, the ${DEFAULTS.connId} connection (for astro dev; the summary above gives the command for the Deployment):`,
    ...(connection ? indent(stringify([connection])) : ['    (none)']),
    `  dags/: ${dags.join(', ') || '(none)'}`,
    `  requirements.txt:${requirements.length ? '' : ' (empty)'}`,
    ...requirements.map((l) => `    ${l}`),
    `  ${manifests.join(', ') || 'k8s/: (none)'}`,
  ];
  return { lines, json: { connection, dags, requirements, manifests } };
}

/** What the project's state still says init made: every intent (recorded before each create)
 * is undone by destroy and leaves with it. The records of the project files stay, as the files do. */
export async function stateLeftovers(projectDir: string): Promise<string[]> {
  const state = await loadState(projectDir);
  const left: string[] = [];
  for (const [id, intents] of Object.entries(state?.intents ?? {})) for (const i of intents ?? []) left.push(`state.json intent of stage ${id}: ${JSON.stringify(i)}`);
  return left;
}

// Shared bits of the AWS-stage e2e tests: the built CLI check, the CLI arguments, state.json.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StageRecord, State } from '../../src/engine/state.js';
import type { Inputs, StageId, StageOutputs } from '../../src/types.js';
import { REPO_ROOT } from '../support/run-cli.js';

export const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';

/** The tests run the real built CLI; `npm test` builds dist/ first (building here would race the
 * other test files' CLI processes reading dist/). */
export function requireBuild(): void {
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` before the e2e tests');
}

export function initArgs(dir: string, extra: string[] = []): string[] {
  return ['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir, ...extra];
}

/** state.json as the assertions read it: every stage present (a missing one fails the assertion). */
export interface ReadState {
  projectId: string;
  inputs: Inputs;
  intents?: State['intents'];
  stages: { [K in StageId]: StageRecord<K> & { outputs: StageOutputs[K] } };
}

export async function readState(dir: string): Promise<ReadState> {
  return JSON.parse(await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8')) as ReadState;
}

// Reads what we need from the astro CLI (the user's own login to Astro: we never see a token).
// The workload identity is in the `configuration` block of `astro deployment inspect`, and only
// with --show-workload-identity (astro-cli cloud/deployment/inspect/inspect.go, since v1.30):
//   astro deployment inspect <id> --show-workload-identity --key configuration.workload_identity
// prints the bare value on one line.
import { KpoError } from '../errors.js';
import type { Exec } from '../exec.js';
import { RULES } from '../validate.js';

export const INSPECT_KEY = 'configuration.workload_identity';

export function inspectArgs(deploymentId: string): string[] {
  return ['deployment', 'inspect', deploymentId, '--show-workload-identity', '--key', INSPECT_KEY];
}

// The astro CLI exits 1 for every failure and has no machine-readable error output: its words are
// all there is to tell these conditions apart. Both patterns live here and nowhere else.

/** astro-cli's own wording when there is no usable login (config/context.go, organization.go, 401s). */
const NOT_LOGGED_IN = /no context set|astro login|not logged in|not authenticated|token.*(expired|invalid)|401|unauthori[sz]ed/i;

/** Older astro CLIs fail `deployment connection create` on an existing connection id (Airflow's 409). */
export const CONNECTION_EXISTS = /already exists|409|conflict/i;

const FIX = 'Run `astro login` (and `astro workspace switch` to the Deployment\'s workspace), or pass the workload identity yourself with --workload-identity <arn> (Astro UI: Deployment → Details → Workload Identity).';

function lastLines(text: string, n = 4): string {
  return text.trim().split(/\r?\n/).slice(-n).join('\n');
}

/** The first line that looks like an IAM role ARN (astro may print a banner before the value). */
export function parseWorkloadIdentity(output: string): string | undefined {
  for (const line of output.split(/\r?\n/)) {
    const v = line.trim();
    if (v.startsWith('arn:')) return v;
  }
  return undefined;
}

/** Each Deployment's workload identity, in order. Missing astro or login → ASTRO_CLI_MISSING / ASTRO_NOT_LOGGED_IN (exit 3). */
export async function readWorkloadIdentities(exec: Exec, deploymentIds: readonly string[], debug?: (line: string) => void): Promise<string[]> {
  const astro = await exec.which('astro');
  if (!astro) {
    throw new KpoError(
      'ASTRO_CLI_MISSING',
      `The astro CLI is not on PATH: it is needed to read the workload identity of Deployment ${deploymentIds.join(', ')}.`,
      `Install it (https://www.astronomer.io/docs/astro/cli/install-cli) and run \`astro login\`, or pass --workload-identity <arn> instead.`,
    );
  }
  const found: string[] = [];
  for (const id of deploymentIds) {
    const r = await exec.run(astro, inspectArgs(id), { onLine: (l) => debug?.(`astro: ${l}`) });
    if (r.exitCode !== 0) {
      if (NOT_LOGGED_IN.test(r.output)) {
        throw new KpoError('ASTRO_NOT_LOGGED_IN', `The astro CLI is not logged in (reading Deployment ${id}):\n${lastLines(r.output)}`, FIX);
      }
      throw new KpoError('ASTRO_INSPECT_FAILED', `astro deployment inspect ${id} failed (exit ${r.exitCode}):\n${lastLines(r.output)}`, `Check the Deployment id (astro deployment list). ${FIX}`);
    }
    const arn = parseWorkloadIdentity(r.output);
    if (!arn) {
      throw new KpoError(
        'DEPLOYMENT_NO_WORKLOAD_IDENTITY',
        `Deployment ${id} reports no AWS workload identity (astro printed: ${JSON.stringify(lastLines(r.output, 1))}).`,
        'Only Astro Deployments on AWS have an IAM role as workload identity. Pass --workload-identity <arn> instead.',
      );
    }
    if (!RULES.workloadIdentity.test(arn)) {
      throw new KpoError('DEPLOYMENT_IDENTITY_INVALID', `The workload identity of Deployment ${id}, ${JSON.stringify(arn)}, is not valid: expected ${RULES.workloadIdentity.allowed}.`, 'Pass --workload-identity <arn> instead.');
    }
    found.push(arn);
  }
  return found;
}

export interface ListedDeployment {
  id: string;
  name: string;
}

/** `astro deployment list`'s table (cloud/deployment/deployment.go: NAME … DEPLOYMENT ID …): the
 * columns are aligned, so each row's id starts where the header's "DEPLOYMENT ID" does. */
export function parseDeploymentList(output: string): ListedDeployment[] {
  const lines = output.split(/\r?\n/);
  const header = lines.findIndex((l) => /\bNAME\b/.test(l) && l.includes('DEPLOYMENT ID'));
  if (header < 0) return [];
  const at = lines[header]!.indexOf('DEPLOYMENT ID');
  const out: ListedDeployment[] = [];
  for (const line of lines.slice(header + 1)) {
    const id = /^[a-z0-9]{10,40}/.exec(line.slice(at))?.[0];
    if (!id || !RULES.astroDeploymentId.test(id)) continue;
    out.push({ id, name: line.slice(0, line.search(/\S\s{2,}|$/) + 1).trim() || id });
  }
  return out;
}

/** The Deployments the logged-in astro CLI lists in the current workspace; [] when it cannot. */
export async function listDeployments(exec: Exec): Promise<ListedDeployment[]> {
  const astro = await exec.which('astro');
  if (!astro) return [];
  const r = await exec.run(astro, ['deployment', 'list']);
  return r.exitCode === 0 ? parseDeploymentList(r.output) : [];
}

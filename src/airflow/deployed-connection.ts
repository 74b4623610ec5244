// airflow_settings.yaml is read by `astro dev` only. A deployed Astro Deployment gets the same
// connection either through the astro CLI (flags as in astro-cli cmd/cloud/deployment_objects.go:
// `astro deployment connection create --deployment-id --conn-id --conn-type --extra <JSON text>`)
// or through an AIRFLOW_CONN_<CONN_ID> environment variable in Airflow's JSON connection format.
import { partitionOf } from '../desired.js';
import { connExtra, type AwsConnection } from './settings-file.js';
import { shellQuote } from '../shell-quote.js';

/** Printed when no --astro-deployment-id was given: a shell variable set on its own line, so every
 * command line stays paste-safe (a raw `<deployment-id>` is a redirection to bash). */
export const DEPLOYMENT_ID_VAR = '"$DEPLOYMENT_ID"';
export const DEPLOYMENT_ID_LINE = 'DEPLOYMENT_ID=your-deployment-id    # the id from `astro deployment list`';

/** For a dry run without a recorded role ARN: the ARN follows from the account and role name. */
export function guessRoleArn(region: string, iamRole: string, accountId: string | undefined): string {
  return `arn:${partitionOf(region)}:iam::${accountId ?? '<account-id>'}:role/${iamRole}`;
}


export function extraJson(c: AwsConnection): string {
  return JSON.stringify(connExtra(c));
}

/** Arguments for `astro` (create or update take the same flags). */
export function astroConnectionArgs(verb: 'create' | 'update', deploymentId: string, c: AwsConnection): string[] {
  return ['deployment', 'connection', verb, '--deployment-id', deploymentId, '--conn-id', c.connId, '--conn-type', 'aws', '--extra', extraJson(c)];
}

/** The ready-to-paste command line; without an id it reads "$DEPLOYMENT_ID" (see DEPLOYMENT_ID_LINE). */
export function astroConnectionCommand(deploymentId: string | undefined, c: AwsConnection, verb: 'create' | 'update' = 'create'): string {
  const args = astroConnectionArgs(verb, deploymentId ?? DEPLOYMENT_ID_VAR, c);
  return ['astro', ...args.map((a) => (a === DEPLOYMENT_ID_VAR ? a : shellQuote(a)))].join(' ');
}

/** The environment-variable route, ready to run: a secret Deployment variable (astro-cli splits
 * KEY=VALUE at the first '=', so the JSON value may contain any character). */
export function astroVariableCommand(deploymentId: string | undefined, c: AwsConnection): string {
  const id = deploymentId ? shellQuote(deploymentId) : DEPLOYMENT_ID_VAR;
  return `astro deployment variable create --deployment-id ${id} --secret ${connEnvVarLine(c)}`;
}

/** Airflow looks a connection up as AIRFLOW_CONN_ + the conn id upper-cased. */
export function connEnvVarName(connId: string): string {
  return `AIRFLOW_CONN_${connId.toUpperCase()}`;
}

/** Airflow's JSON connection format (Airflow 2.3+): all other fields empty, extra as an object. */
export function airflowConnJson(c: AwsConnection): string {
  return JSON.stringify({ conn_type: 'aws', extra: connExtra(c) });
}

/** `AIRFLOW_CONN_AWS_EKS='{"conn_type":"aws",...}'`, safe to paste into a POSIX shell. */
export function connEnvVarLine(c: AwsConnection): string {
  return `${connEnvVarName(c.connId)}=${shellQuote(airflowConnJson(c))}`;
}

/** The lines the connection stage prints for the deployed Deployment(s): every line paste-safe. */
export function deployedConnectionLines(deploymentIds: readonly string[], c: AwsConnection): string[] {
  const ids: (string | undefined)[] = deploymentIds.length ? [...deploymentIds] : [undefined];
  const lines = [
    `${c.connId} is in airflow_settings.yaml, which only \`astro dev\` reads. For the deployed Deployment${ids.length > 1 ? 's' : ''}, run (stage 13 does it for each --astro-deployment-id):`,
    ...(deploymentIds.length ? [] : [`  ${DEPLOYMENT_ID_LINE}`]),
    ...ids.map((id) => `  ${astroConnectionCommand(id, c)}`),
    '  or, as a secret Deployment environment variable instead:',
    ...ids.map((id) => `  ${astroVariableCommand(id, c)}`),
  ];
  // Names with '-' or '.' are fine for Airflow but cannot be exported from a POSIX shell.
  if (!/^[A-Z_][A-Z0-9_]*$/.test(connEnvVarName(c.connId))) {
    lines.push(`  note: ${connEnvVarName(c.connId)} has '-' or '.': Airflow reads it, but a POSIX shell cannot export it (the astro command above is fine).`);
  }
  return lines;
}

// airflow_settings.yaml is read by `astro dev` only. A deployed Astro Deployment gets the same
// connection either through the astro CLI (flags as in astro-cli cmd/cloud/deployment_objects.go:
// `astro deployment connection create --deployment-id --conn-id --conn-type --extra <JSON text>`)
// or through an AIRFLOW_CONN_<CONN_ID> environment variable in Airflow's JSON connection format.
import { partitionOf } from '../desired.js';
import { connExtra, type AwsConnection } from './settings-file.js';

/** Placeholder printed when no --astro-deployment-id was given. */
export const DEPLOYMENT_ID_PLACEHOLDER = '<deployment-id>';

/** For a dry run without a recorded role ARN: the ARN follows from the account and role name. */
export function guessRoleArn(region: string, iamRole: string, accountId: string | undefined): string {
  return `arn:${partitionOf(region)}:iam::${accountId ?? '<account-id>'}:role/${iamRole}`;
}

/** POSIX shell quoting: bare when safe, else single quotes with embedded quotes escaped. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function extraJson(c: AwsConnection): string {
  return JSON.stringify(connExtra(c));
}

/** Arguments for `astro` (create or update take the same flags). */
export function astroConnectionArgs(verb: 'create' | 'update', deploymentId: string, c: AwsConnection): string[] {
  return ['deployment', 'connection', verb, '--deployment-id', deploymentId, '--conn-id', c.connId, '--conn-type', 'aws', '--extra', extraJson(c)];
}

/** The ready-to-paste command line. The placeholder id is left unquoted so it reads as one. */
export function astroConnectionCommand(deploymentId: string | undefined, c: AwsConnection, verb: 'create' | 'update' = 'create'): string {
  const args = astroConnectionArgs(verb, deploymentId ?? DEPLOYMENT_ID_PLACEHOLDER, c);
  return ['astro', ...args.map((a) => (a === DEPLOYMENT_ID_PLACEHOLDER ? a : shellQuote(a)))].join(' ');
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

/** The lines the connection stage prints for the deployed Deployment. */
export function deployedConnectionLines(deploymentId: string | undefined, c: AwsConnection): string[] {
  const lines = [
    `${c.connId} is in airflow_settings.yaml, which only \`astro dev\` reads. For the deployed Deployment, use one of:`,
    `  ${astroConnectionCommand(deploymentId, c)}`,
    `  ${connEnvVarLine(c)}    (a Deployment environment variable; mark it secret)`,
  ];
  // Names with '-' or '.' are fine for Airflow but cannot be exported from a POSIX shell.
  if (!/^[A-Z_][A-Z0-9_]*$/.test(connEnvVarName(c.connId))) {
    lines.push(`  note: ${connEnvVarName(c.connId)} is not a valid shell variable name; set it in the Astro UI (Environment Variables) instead.`);
  }
  return lines;
}

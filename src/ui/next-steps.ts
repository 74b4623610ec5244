// The closing "Next:" of a successful init: the path from here to a pod that ran from the
// Deployment. In order: a route to the cluster's API endpoint when it is private, limited to some
// CIDRs or not reported (src/aws/endpoint-access.ts; nothing for a public one), the connection on the Deployment(s), `astro deploy`, the test DAG in the
// Deployment, `verify`. The local `astro dev` path is offered only when --local-dev set it up (the
// role trusts nobody local otherwise, so AssumeRole would fail there). Pure: inputs in, lines out.
import { astroConnectionCommand, astroVariableCommand, DEPLOYMENT_ID_LINE } from '../airflow/deployed-connection.js';
import { reachAdvice } from '../aws/endpoint-access.js';
import { partitionOf } from '../desired.js';
import type { EndpointAccess, Inputs, StageOutputs } from '../types.js';

export interface NextStepsInput {
  inputs: Inputs;
  /** The role's ARN (stage role-arn), when known. */
  roleArn?: string;
  /** What stage 13 recorded, when it ran. */
  deploymentConnection?: StageOutputs['deployment-connection'];
  /** --local-dev: the caller's principal the role now trusts. */
  localDevPrincipal?: string;
  /** The cluster's API endpoint access and URL (stage cluster), when recorded. */
  endpointAccess?: EndpointAccess;
  endpoint?: string;
}

export function nextSteps(n: NextStepsInput): string[] {
  const { inputs } = n;
  const ids = inputs.astroDeploymentIds;
  const conn = { connId: inputs.connId, region: inputs.region, roleArn: n.roleArn ?? `arn:${partitionOf(inputs.region)}:iam::ACCOUNT:role/${inputs.iamRole}` };
  const done = new Set(n.deploymentConnection?.ran ? (n.deploymentConnection.deployments ?? []) : []);
  const lines = ['Next, to see a pod start on the cluster from your Deployment:'];
  let step = 0;
  const next = () => `  ${(step += 1)}.`;

  // A route from the Deployment to the API server, when the endpoint does not plainly give one.
  const advice = n.endpointAccess && reachAdvice(n.endpointAccess, { ...inputs, ...(n.endpoint ? { endpoint: n.endpoint } : {}) });
  if (advice) lines.push(`${next()} ${advice.headline}`, ...advice.lines.map((l) => `       ${l}`));

  // The connection on each Deployment.
  const missing = ids.filter((id) => !done.has(id));
  if (ids.length && !missing.length) {
    lines.push(`${next()} Connection ${inputs.connId} is set on Deployment ${ids.join(', ')} (done by stage 13).`);
  } else {
    lines.push(`${next()} Create connection ${inputs.connId} on the Deployment${missing.length > 1 ? 's' : ''}:`);
    if (!ids.length) lines.push(`       ${DEPLOYMENT_ID_LINE}`);
    for (const id of missing.length ? missing : [undefined]) lines.push(`       ${astroConnectionCommand(id, conn)}`);
    lines.push('     or as a secret environment variable:');
    for (const id of missing.length ? missing : [undefined]) lines.push(`       ${astroVariableCommand(id, conn)}`);
  }
  // Deploy: the DAGs are in this project, not in the Deployment yet.
  lines.push(`${next()} Deploy this project (it holds dags/test_eks_connectivity.py and dags/remote_kpo.py):`);
  for (const id of ids.length ? ids : ['"$DEPLOYMENT_ID"']) lines.push(`       astro deploy ${id}`);
  // The test DAG checks every link the operator uses, then the real operator.
  lines.push(`${next()} In the Deployment's Airflow UI, trigger test_eks_connectivity; when it passes, trigger remote_kpo.`);
  lines.push(`${next()} Check the whole chain from here at any time: npx astro-remote-kpo verify`);

  lines.push('');
  if (inputs.localDev) {
    const who = n.localDevPrincipal ? `your own identity ${n.localDevPrincipal}` : 'your own identity';
    lines.push(`Local testing (--local-dev): the role also trusts ${who}, and docker-compose.override.yml gives \`astro dev\` your ~/.aws read-only${inputs.profile ? ` with profile ${inputs.profile}` : ''}.`);
    lines.push('  astro dev restart        # picks up the override and the connection in airflow_settings.yaml');
    lines.push('  then trigger test_eks_connectivity in the local Airflow UI (http://localhost:8080).');
  } else {
    lines.push('Testing with `astro dev` on this machine will not work as set up: the role trusts only the Deployment');
    lines.push(`identit${inputs.workloadIdentities.length > 1 ? 'ies' : 'y'}. To test locally too, re-run with --local-dev.`);
  }
  return lines;
}

// Stage 13: the same connection on the deployed Astro Deployment (airflow_settings.yaml only
// serves `astro dev`). Runs `astro deployment connection create` only when --astro-deployment-id
// is given and the astro CLI is on PATH; otherwise it is skipped with the command to run.
import type { Stage, StageContext } from '../engine/stage.js';
import { StageFailedError } from '../errors.js';
import type { StageOutputs, StageResult } from '../types.js';

type Outputs = StageOutputs['deployment-connection'];

const lib = () => import('../airflow/deployed-connection.js');

async function describe(ctx: StageContext) {
  const { astroConnectionCommand } = await lib();
  const conn = { connId: ctx.inputs.connId, region: ctx.inputs.region, roleArn: ctx.output('role-arn').roleArn };
  return { conn, command: astroConnectionCommand(ctx.inputs.astroDeploymentId, conn) };
}

/** Why the stage does not run astro, or undefined when it can. */
async function skipReason(ctx: StageContext, command: string): Promise<string | undefined> {
  // init's closing summary prints the command with the other ways to set it (and `status` shows
  // it from the outputs); saying it here too would print it twice.
  if (!ctx.inputs.astroDeploymentId) return 'no --astro-deployment-id (pass it to create the connection on the Deployment, or run the astro command in the summary)';
  if (!(await ctx.exec.which('astro'))) return `astro CLI not found — run: ${command}`;
  return undefined;
}

function tail(output: string, lines = 8): string {
  return output.trim().split(/\r?\n/).slice(-lines).join('\n');
}

export const deploymentConnectionStage: Stage<'deployment-connection'> = {
  id: 'deployment-connection',
  title: 'Connection on the deployed Astro Deployment',
  needs: ['connection'],
  inputs: ['astroDeploymentId', 'connId', 'region', 'iamRole'],

  async check(ctx) {
    const { command } = await describe(ctx);
    const reason = await skipReason(ctx, command);
    if (reason) return { done: true, reason, outputs: { ran: false, command } };
    // The astro CLI cannot show a connection's extra, so "done" means: we ran this exact command.
    const previous = ctx.tryOutput('deployment-connection');
    if (previous?.ran && previous.command === command) {
      return { done: true, reason: `connection ${ctx.inputs.connId} was created on Deployment ${ctx.inputs.astroDeploymentId} by an earlier run`, outputs: previous };
    }
    return { done: false, reason: 'not created on the Deployment yet' };
  },

  async run(ctx): Promise<StageResult<Outputs>> {
    const { conn, command } = await describe(ctx);
    const reason = await skipReason(ctx, command);
    const astro = await ctx.exec.which('astro');
    if (reason || !astro || !ctx.inputs.astroDeploymentId) return { outputs: { ran: false, command }, summary: `skipped: ${reason}` };
    const { astroConnectionArgs } = await lib();
    const exec = (verb: 'create' | 'update') =>
      ctx.exec.run(astro, astroConnectionArgs(verb, ctx.inputs.astroDeploymentId!, conn), {
        signal: ctx.signal,
        onLine: (line) => {
          ctx.debug(`astro: ${line}`);
          ctx.progress(line);
        },
      });
    ctx.progress(`astro deployment connection create --conn-id ${conn.connId}`);
    let result = await exec('create');
    let verb = 'created';
    // Airflow's API answers 409 for an existing connection id: update it instead (re-runs stay safe).
    if (result.exitCode !== 0 && /already exists|409|conflict/i.test(result.output)) {
      ctx.progress(`astro deployment connection update --conn-id ${conn.connId}`);
      result = await exec('update');
      verb = 'updated';
    }
    if (result.exitCode !== 0) {
      throw new StageFailedError(
        `astro deployment connection ${verb === 'created' ? 'create' : 'update'} failed (exit ${result.exitCode}):\n${tail(result.output)}`,
        `Check \`astro login\` and the Deployment id, then resume; or run it yourself:\n  ${command}`,
      );
    }
    return { outputs: { ran: true, command }, summary: `${verb} connection ${conn.connId} on Deployment ${ctx.inputs.astroDeploymentId}` };
  },

  async plan(ctx) {
    const { astroConnectionCommand, guessRoleArn } = await lib();
    const roleArn = ctx.tryOutput('role-arn')?.roleArn ?? guessRoleArn(ctx.inputs.region, ctx.inputs.iamRole, ctx.tryOutput('preflight')?.accountId);
    const command = astroConnectionCommand(ctx.inputs.astroDeploymentId, { connId: ctx.inputs.connId, region: ctx.inputs.region, roleArn });
    const reason = await skipReason(ctx, command);
    // Without an id the connection stage's plan (above) already shows the command.
    const item = reason
      ? { action: `skip: ${reason.split(' — ')[0]!}`, ...(ctx.inputs.astroDeploymentId ? { details: command } : {}) }
      : { action: `run: ${command}` };
    return { items: [item], outputs: { ran: false, command } };
  },
};

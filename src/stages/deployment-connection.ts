// Stage 13: the same connection on every given Astro Deployment (airflow_settings.yaml only
// serves `astro dev`). Runs `astro deployment connection create` (update when it exists) for each
// --astro-deployment-id when the astro CLI is on PATH; otherwise it is skipped with the commands.
import { auditLine } from '../audit.js';
import { defineStage, type StageContext } from '../engine/stage.js';
import { KpoError } from '../errors.js';
import type { StageOutputs, StageResult } from '../types.js';
import { CONNECTION_EXISTS } from '../airflow/astro-cli.js';
import { astroConnectionArgs, astroConnectionCommand, guessRoleArn } from '../airflow/deployed-connection.js';

type Outputs = StageOutputs['deployment-connection'];
type Ctx = StageContext<{ inputs: 'astroDeploymentIds' | 'connId' | 'region'; services: 'exec'; needs: 'role-arn' }>;

async function describe(ctx: Pick<Ctx, 'inputs' | 'output'>, roleArn = ctx.output('role-arn').roleArn) {
  const conn = { connId: ctx.inputs.connId, region: ctx.inputs.region, roleArn };
  // One command line recorded: the template with "$DEPLOYMENT_ID" (the ids are in `deployments`).
  return { conn, command: astroConnectionCommand(undefined, conn) };
}

/** Why the stage does not run astro, or undefined when it can. */
async function skipReason(ctx: Pick<Ctx, 'inputs' | 'exec'>): Promise<string | undefined> {
  // The commands are printed once, filled in, in init's closing next steps (and in the plan).
  if (!ctx.inputs.astroDeploymentIds.length) return 'no --astro-deployment-id (pass it to create the connection on the Deployment, or run the astro command in the next steps)';
  if (!(await ctx.exec.which('astro'))) return 'astro CLI not found — run the astro commands in the next steps';
  return undefined;
}

function tail(output: string, lines = 8): string {
  return output.trim().split(/\r?\n/).slice(-lines).join('\n');
}

export const deploymentConnectionStage = defineStage({
  id: 'deployment-connection',
  title: 'Connection on the deployed Astro Deployment(s)',
  // connection: after it (the same connection); role-arn: the ARN in the extra; preflight: the
  // account, for the ARN a plan shows before the role exists.
  needs: ['connection', 'role-arn', 'preflight'],
  inputs: ['astroDeploymentIds', 'connId', 'region', 'iamRole'],
  services: ['exec'],

  async check(ctx) {
    const { command } = await describe(ctx);
    const reason = await skipReason(ctx);
    if (reason) return { done: true, reason, outputs: { ran: false, command } };
    // The astro CLI cannot show a connection's extra, so "done" means: we ran this exact command
    // on every Deployment asked for.
    const previous = ctx.tryOutput('deployment-connection');
    const ids = ctx.inputs.astroDeploymentIds;
    if (previous?.ran && previous.command === command && ids.every((id) => previous.deployments?.includes(id))) {
      return { done: true, reason: `connection ${ctx.inputs.connId} was set on Deployment ${ids.join(', ')} by an earlier run`, outputs: previous };
    }
    return { done: false, reason: 'not set on the Deployment(s) yet' };
  },

  async run(ctx): Promise<StageResult<Outputs>> {
    const { conn, command } = await describe(ctx);
    const reason = await skipReason(ctx);
    const astro = await ctx.exec.which('astro');
    if (reason || !astro) return { outputs: { ran: false, command }, summary: `skipped: ${reason ?? 'astro CLI not found'}` };
    const exec = async (verb: 'create' | 'update', id: string) => {
      const r = await ctx.exec.run(astro, astroConnectionArgs(verb, id, conn), {
        signal: ctx.signal,
        onLine: (line) => {
          ctx.debug(`astro: ${line}`);
          ctx.progress(line);
        },
      });
      // The audit trail covers the Deployments too: a connection there is a change init made.
      ctx.debug(auditLine({ service: 'astro', operation: `deployment connection ${verb}`, target: `${id} ${conn.connId}`, outcome: r.exitCode === 0 ? 'ok' : `failed (exit ${r.exitCode})` }));
      return r;
    };
    const done: string[] = [];
    const what: string[] = [];
    for (const id of ctx.inputs.astroDeploymentIds) {
      ctx.progress(`astro deployment connection create --deployment-id ${id} --conn-id ${conn.connId}`);
      let result = await exec('create', id);
      let verb: 'create' | 'update' = 'create';
      // Older astro CLIs fail on an existing connection id (Airflow answers 409): update it instead.
      if (result.exitCode !== 0 && CONNECTION_EXISTS.test(result.output)) {
        ctx.progress(`astro deployment connection update --deployment-id ${id} --conn-id ${conn.connId}`);
        result = await exec('update', id);
        verb = 'update';
      }
      if (result.exitCode !== 0) {
        throw new KpoError(
          'ASTRO_CONNECTION_FAILED',
          `astro deployment connection ${verb} on Deployment ${id} failed (exit ${result.exitCode}):\n${tail(result.output)}`,
          `Check \`astro login\` and the Deployment id (astro deployment list), then resume; or run it yourself:\n  ${astroConnectionCommand(id, conn)}${done.length ? `\n(already set on ${done.join(', ')})` : ''}`,
        );
      }
      done.push(id);
      what.push(`${verb === 'create' ? 'created' : 'updated'} on ${id}`);
    }
    return { outputs: { ran: true, command, deployments: done }, summary: `connection ${conn.connId}: ${what.join(', ')}` };
  },

  async plan(ctx) {
    const roleArn = ctx.tryOutput('role-arn')?.roleArn ?? guessRoleArn(ctx.inputs.region, ctx.inputs.iamRole, ctx.tryOutput('preflight')?.accountId);
    const { conn, command } = await describe(ctx, roleArn);
    const reason = await skipReason(ctx);
    const commands = ctx.inputs.astroDeploymentIds.map((id) => astroConnectionCommand(id, conn));
    // Without an id the connection stage's plan (above) already shows the commands.
    const items = reason
      ? [{ action: `skip: ${reason.split(' — ')[0]!}`, ...(commands.length ? { details: commands.join('\n') } : {}) }]
      : commands.map((c) => ({ action: `run: ${c}` }));
    return { items, outputs: { ran: false, command } };
  },
});

// Stage 11: the aws_eks connection in <project>/airflow_settings.yaml (seed: "Configuring the AWS
// Connection", with a valid JSON extra this time). validate() rejects a malformed file before any
// stage changes anything; run() upserts only our entry and writes atomically.
import path from 'node:path';
import { defineStage, type StageContext } from '../engine/stage.js';
import type { StageOutputs } from '../types.js';
import { entryDifferences, entryText, extraOf, findEntry, parseSettings } from '../airflow/settings-file.js';
import { readTextIfExists, writeTextAtomic } from '../airflow/files.js';
import { deployedConnectionLines, guessRoleArn } from '../airflow/deployed-connection.js';
import { upsertConnection } from '../airflow/settings-splice.js';

type Outputs = StageOutputs['connection'];

const FILE_NAME = 'airflow_settings.yaml';

type Ctx = StageContext<{ inputs: 'connId' | 'region'; services: 'projectDir' }>;

const settingsFile = (ctx: Pick<Ctx, 'projectDir'>) => path.join(ctx.projectDir, FILE_NAME);

function connection(ctx: Pick<Ctx, 'inputs'>, roleArn: string) {
  return { connId: ctx.inputs.connId, region: ctx.inputs.region, roleArn };
}

export const connectionStage = defineStage({
  id: 'connection',
  title: 'Airflow connection in airflow_settings.yaml',
  // role-arn: the ARN in the extra; preflight: the account, for the ARN a plan shows before the role exists.
  needs: ['role-arn', 'preflight'],
  inputs: ['connId', 'region', 'iamRole'],
  services: ['projectDir'],

  // Before any stage runs: a malformed file, two entries for our conn_id, or one whose edit would
  // touch bytes outside our entry (aliases, merge keys, layouts a textual edit cannot reach), is
  // exit 2 naming the lines or giving the entry to add by hand, and nothing anywhere has changed yet.
  async validate(ctx) {
    const file = settingsFile(ctx);
    const text = await readTextIfExists(file);
    if (text === undefined) return;
    // The role ARN is known only after the role-arn stage; the edit's feasibility does not depend
    // on it, but "already up to date" does: reuse the entry's own ARN when it names our role.
    const entry = findEntry(parseSettings(text, file), ctx.inputs.connId);
    const current = entry ? extraOf(entry)?.role_arn : undefined;
    const ours = typeof current === 'string' && current.startsWith('arn:') && current.endsWith(`:role/${ctx.inputs.iamRole}`) ? current : undefined;
    const roleArn = ctx.tryOutput('role-arn')?.roleArn ?? ours ?? guessRoleArn(ctx.inputs.region, ctx.inputs.iamRole, ctx.tryOutput('preflight')?.accountId);
    upsertConnection(text, connection(ctx, roleArn), file);
  },

  async check(ctx) {
    const file = settingsFile(ctx);
    const text = await readTextIfExists(file);
    if (text === undefined) return { done: false, reason: `${FILE_NAME} does not exist yet` };
    const roleArn = ctx.output('role-arn').roleArn;
    const entry = text.trim() ? findEntry(parseSettings(text, file), ctx.inputs.connId) : undefined;
    if (!entry) return { done: false, reason: `no ${ctx.inputs.connId} entry in ${FILE_NAME}` };
    const diffs = entryDifferences(entry, connection(ctx, roleArn));
    if (diffs.length) return { done: false, reason: `${ctx.inputs.connId} differs in ${diffs.join(', ')}` };
    // The commands for the deployed Deployment(s) are in init's closing next steps, filled in.
    const outputs: Outputs = { file, connId: ctx.inputs.connId, created: ctx.tryOutput('connection')?.created ?? false };
    return { done: true, reason: `${ctx.inputs.connId} in ${FILE_NAME} is up to date`, outputs };
  },

  async run(ctx) {
    const file = settingsFile(ctx);
    const conn = connection(ctx, ctx.output('role-arn').roleArn);
    const result = upsertConnection(await readTextIfExists(file), conn, file);
    if (result.action !== 'none') {
      // What we write must read back as the entry we meant, or we write nothing.
      const entry = findEntry(parseSettings(result.text, file), conn.connId);
      if (!entry || entryDifferences(entry, conn).length) throw new Error(`internal: the edited ${FILE_NAME} does not hold the expected ${conn.connId} entry`);
      await writeTextAtomic(file, result.text);
    }
    // The deployed-connection forms are printed once, labelled, in init's closing summary.
    const summary = {
      'create-file': `created ${FILE_NAME} with connection ${conn.connId}`,
      add: `added connection ${conn.connId} to ${FILE_NAME}`,
      update: `updated connection ${conn.connId} (${result.fields.join(', ')}) in ${FILE_NAME}`,
      none: `connection ${conn.connId} in ${FILE_NAME} is up to date`,
    }[result.action];
    const created = result.action === 'create-file' || result.action === 'add' || (ctx.tryOutput('connection')?.created ?? false);
    return { outputs: { file, connId: conn.connId, created }, summary };
  },

  async plan(ctx) {
    const file = settingsFile(ctx);
    const known = ctx.tryOutput('role-arn')?.roleArn;
    const account = ctx.tryOutput('preflight')?.accountId;
    const roleArn = known ?? guessRoleArn(ctx.inputs.region, ctx.inputs.iamRole, account);
    const conn = connection(ctx, roleArn);
    const result = upsertConnection(await readTextIfExists(file), conn, file);
    const action = {
      'create-file': `create ${file} with connection ${conn.connId}`,
      add: `add connection ${conn.connId} to ${file}`,
      update: `update connection ${conn.connId} in ${file} (${result.fields.join(', ')})`,
      none: `exists: connection ${conn.connId} in ${file} (skip)`,
    }[result.action];
    // The commands for the deployed Deployment(s) in their general form: the deployment-connection
    // stage's plan shows them for each --astro-deployment-id (this stage does not read the ids).
    const details = [...(result.action === 'none' ? [] : [entryText(conn).trimEnd(), '']), ...deployedConnectionLines([], conn)].join('\n');
    return {
      items: [{ action, details, ...(account || known ? {} : { unknown: 'the AWS account id (no credentials): the role ARN shown is a placeholder' }) }],
      outputs: { file, connId: conn.connId, created: result.action === 'create-file' || result.action === 'add' },
    };
  },
});

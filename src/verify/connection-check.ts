// verify row: the connection in <project>/airflow_settings.yaml names this role ARN and region
// (read with the connection stage's own parser, so both agree on what "the entry" is).
import { initCommandLine } from '../resume-command.js';
import path from 'node:path';
import { fail, failFromError, pass, type CheckRow } from './row.js';
import type { VerifyContext } from './context.js';
import { readTextIfExists } from '../airflow/files.js';
import { entryDifferences, extraOf, findEntry, parseSettings, SETTINGS_FILE } from '../airflow/settings-file.js';

export async function checkConnection(vc: VerifyContext): Promise<CheckRow> {
  const { connId, region } = vc.ctx.inputs;
  const roleArn = vc.roleArn;
  const restore = `${initCommandLine(vc.ctx.inputs)} --only connection`;
  const file = path.join(vc.ctx.projectDir, SETTINGS_FILE);
  try {
    const text = await readTextIfExists(file);
    if (text === undefined) return fail('connection', `${file} does not exist`, `Write it: ${restore} (or check --project-dir)`);
    const entry = text.trim() ? findEntry(parseSettings(text, file), connId) : undefined;
    if (!entry) return fail('connection', `${file} has no connection ${connId}`, `Add it: ${restore}`);
    if (!roleArn) return fail('connection', 'the role ARN is unknown (see the rows above)', 'Fix the IAM rows first.');
    const diffs = entryDifferences(entry, { connId, region, roleArn });
    if (!diffs.length) return pass('connection', `${connId} in ${SETTINGS_FILE}: role_arn ${roleArn}, region_name ${region}`);
    const extra = extraOf(entry);
    const found: string[] = [];
    if (diffs.includes('conn_extra')) {
      if (!extra) found.push('conn_extra is missing or not a mapping/JSON object');
      else {
        if (extra.role_arn !== roleArn) found.push(`role_arn is ${JSON.stringify(extra.role_arn ?? null)}, not ${roleArn}`);
        if (extra.region_name !== region) found.push(`region_name is ${JSON.stringify(extra.region_name ?? null)}, not ${region}`);
      }
    }
    const others = diffs.filter((d) => d !== 'conn_extra');
    if (others.length) found.push(`${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} not as needed (conn_type aws, host/login/password empty)`);
    return fail('connection', `${connId} in ${file}: ${found.join('; ')}`, `Update it: ${restore}`, {
      data: { roleArn: extra?.role_arn ?? null, region: extra?.region_name ?? null, fields: diffs },
    });
  } catch (err) {
    return failFromError('connection', err, `Fix ${file}, then run verify again.`);
  }
}

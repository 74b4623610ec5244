// The connection stage (airflow_settings.yaml), the printed deployed-connection forms, and the
// deployment-connection stage running a stand-in `astro` binary as a real process.
import { execFileSync } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expectCode } from '../support/failure.js';
import { airflowConnJson, astroConnectionArgs, astroConnectionCommand, connEnvVarLine } from '../../src/airflow/deployed-connection.js';
import { connectionStage } from '../../src/stages/connection.js';
import { deploymentConnectionStage } from '../../src/stages/deployment-connection.js';
import { ROLE_ARN, stageContext, tempProject } from './airflow-ctx.js';
import { shellQuote } from '../../src/shell-quote.js';

const DEP = 'clx1abc2d000008l4ezw5ofno';
const CONN = { connId: 'aws_eks', region: 'us-east-1', roleArn: ROLE_ARN };

/** What a POSIX shell makes of `text` (proves the quoting is paste-safe). */
function shellWords(text: string): string[] {
  const out = execFileSync('sh', ['-c', `for a in ${text}; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('deployed-connection forms', () => {
  it('the astro command uses the real flags and survives the shell intact', () => {
    const cmd = astroConnectionCommand(DEP, CONN);
    expect(cmd.startsWith(`astro deployment connection create --deployment-id ${DEP} --conn-id aws_eks --conn-type aws --extra '`)).toBe(true);
    expect(shellWords(cmd.replace(/^astro /, ''))).toEqual(astroConnectionArgs('create', DEP, CONN));
    const extra = astroConnectionArgs('create', DEP, CONN).at(-1)!;
    expect(JSON.parse(extra)).toEqual({ region_name: 'us-east-1', role_arn: ROLE_ARN });
    // Paste-safe without an id: a shell variable, never a <placeholder> bash reads as a redirection.
    expect(astroConnectionCommand(undefined, CONN)).toContain('--deployment-id "$DEPLOYMENT_ID" ');
    expect(astroConnectionCommand(undefined, CONN)).not.toMatch(/[<>]/);
  });

  it('AIRFLOW_CONN_AWS_EKS holds Airflow JSON that parses, after the shell has read it', () => {
    const line = connEnvVarLine(CONN);
    expect(line.startsWith("AIRFLOW_CONN_AWS_EKS='")).toBe(true);
    const value = execFileSync('sh', ['-c', `${line}; printf '%s' "$AIRFLOW_CONN_AWS_EKS"`], { encoding: 'utf8' });
    expect(value).toBe(airflowConnJson(CONN));
    expect(JSON.parse(value)).toEqual({ conn_type: 'aws', extra: { region_name: 'us-east-1', role_arn: ROLE_ARN } });
  });

  it('shellQuote escapes single quotes', () => {
    for (const s of [`it's`, `{"a":"b c"}`, `'`, 'plain', '$HOME `x`']) expect(shellWords(shellQuote(s))).toEqual([s]);
  });
});

describe('connection stage', () => {
  const settings = (dir: string) => path.join(dir, 'airflow_settings.yaml');

  it('creates airflow_settings.yaml (the deployed forms are left to the closing next steps), and is done afterwards', async () => {
    const dir = await tempProject();
    const ctx = stageContext({ projectDir: dir });
    await connectionStage.validate!(ctx);
    expect(await connectionStage.check!(ctx)).toMatchObject({ done: false });
    const r = await connectionStage.run(ctx);
    expect(r.outputs).toEqual({ file: settings(dir), connId: 'aws_eks', created: true });
    const conns = (parse(await readFile(settings(dir), 'utf8')) as { airflow: { connections: Array<Record<string, unknown>> } }).airflow.connections;
    expect(conns).toHaveLength(1);
    expect(conns[0]).toMatchObject({ conn_id: 'aws_eks', conn_type: 'aws', conn_extra: { region_name: 'us-east-1', role_arn: ROLE_ARN } });
    expect(ctx.io.infos.join('\n')).not.toContain('astro deployment connection create');

    const again = stageContext({ projectDir: dir, outputs: { connection: r.outputs } });
    expect(await connectionStage.check!(again)).toMatchObject({ done: true, outputs: { created: true } });
  });

  it('a new role ARN updates the entry (check says not done first)', async () => {
    const dir = await tempProject();
    await connectionStage.run(stageContext({ projectDir: dir }));
    const other = 'arn:aws:iam::123456789012:role/teams/OtherRole';
    const ctx = stageContext({ projectDir: dir, outputs: { 'role-arn': { roleArn: other, mappingArn: other } } });
    expect(await connectionStage.check!(ctx)).toMatchObject({ done: false, reason: expect.stringContaining('conn_extra') });
    const r = await connectionStage.run(ctx);
    expect(r.summary).toContain('updated connection aws_eks (conn_extra)');
    expect(await readFile(settings(dir), 'utf8')).toContain(`role_arn: ${other}`);
  });

  it('a malformed file fails validation with exit 2 and stays byte-identical', async () => {
    const dir = await tempProject();
    const bad = 'airflow:\n  connections: {}\n  pools:\n    - pool_name: p\n';
    await writeFile(settings(dir), bad);
    const ctx = stageContext({ projectDir: dir });
    const err = await expectCode(connectionStage.validate!(ctx), 'SETTINGS_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`${settings(dir)} line 2, column 16`);
    await expectCode(connectionStage.run(ctx), 'SETTINGS_INVALID');
    expect(await readFile(settings(dir), 'utf8')).toBe(bad);
  });

  it('keeps the file mode of an existing settings file (it may hold passwords)', async () => {
    const dir = await tempProject();
    await writeFile(settings(dir), 'airflow:\n  connections:\n    - conn_id: pg\n      conn_type: postgres\n      conn_password: secret\n');
    await chmod(settings(dir), 0o600);
    await connectionStage.run(stageContext({ projectDir: dir }));
    expect((await stat(settings(dir))).mode & 0o777).toBe(0o600);
  });

  it('dry run describes the change and writes nothing', async () => {
    const dir = await tempProject();
    const p = await connectionStage.plan(stageContext({ projectDir: dir, outputs: { 'role-arn': undefined, preflight: undefined } }));
    expect(p.items[0]!.action).toBe(`create ${settings(dir)} with connection aws_eks`);
    expect(p.items[0]!.unknown).toContain('account id');
    expect(p.items[0]!.details).toContain('role_arn: arn:aws:iam::<account-id>:role/AstroRemoteKPO');
    await expect(stat(settings(dir))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('deployment-connection stage', () => {
  /** A stand-in astro on PATH: records its arguments, then behaves as the script says. */
  async function fakeAstro(dir: string, body: string) {
    const bin = path.join(dir, 'bin');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(bin, { recursive: true });
    const log = path.join(dir, 'astro-calls.log');
    await writeFile(path.join(bin, 'astro'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> "${log}"\necho --- >> "${log}"\n${body}\n`);
    await chmod(path.join(bin, 'astro'), 0o755);
    const calls = async () =>
      (await readFile(log, 'utf8').catch(() => ''))
        .split('---\n')
        .filter(Boolean)
        .map((c) => c.trimEnd().split('\n'));
    return { env: { PATH: `${bin}:/usr/bin:/bin` }, calls };
  }

  it('without --astro-deployment-id: skipped, pointing at the command the connection stage printed', async () => {
    const dir = await tempProject();
    const c = await deploymentConnectionStage.check!(stageContext({ projectDir: dir }));
    expect(c).toMatchObject({ done: true, outputs: { ran: false } });
    expect(c.done && c.reason).toMatch(/^no --astro-deployment-id \(pass it .*or run the astro command in the next steps\)$/);
    expect(c.done && c.outputs.command).toBe(astroConnectionCommand(undefined, CONN));
  });

  it('with an id but no astro on PATH: skipped, naming the command', async () => {
    const dir = await tempProject();
    const ctx = stageContext({ projectDir: dir, inputs: { astroDeploymentIds: [DEP] }, env: { PATH: path.join(dir, 'empty') } });
    const c = await deploymentConnectionStage.check!(ctx);
    expect(c.done && c.reason).toBe('astro CLI not found — run the astro commands in the next steps');
  });

  it('with an id and astro: runs `astro deployment connection create` with the real flags', async () => {
    const dir = await tempProject();
    const astro = await fakeAstro(dir, 'echo "Creating connection aws_eks"');
    const ctx = stageContext({ projectDir: dir, inputs: { astroDeploymentIds: [DEP] }, env: astro.env });
    expect(await deploymentConnectionStage.check!(ctx)).toMatchObject({ done: false });
    const r = await deploymentConnectionStage.run(ctx);
    expect(r.outputs).toEqual({ ran: true, command: astroConnectionCommand(undefined, CONN), deployments: [DEP] });
    expect(await astro.calls()).toEqual([astroConnectionArgs('create', DEP, CONN)]);
    // Recorded as run: the next check is done without calling astro again.
    const again = stageContext({ projectDir: dir, inputs: { astroDeploymentIds: [DEP] }, env: astro.env, outputs: { 'deployment-connection': r.outputs } });
    expect(await deploymentConnectionStage.check!(again)).toMatchObject({ done: true });
    expect(await astro.calls()).toHaveLength(1);
  });

  it('an existing connection on the Deployment is updated instead', async () => {
    const dir = await tempProject();
    const astro = await fakeAstro(dir, 'if [ "$3" = create ]; then echo "Error: 409 Conflict: connection already exists" >&2; exit 1; fi; echo updated');
    const r = await deploymentConnectionStage.run(stageContext({ projectDir: dir, inputs: { astroDeploymentIds: [DEP] }, env: astro.env }));
    expect(r.summary).toContain(`connection aws_eks: updated on ${DEP}`);
    expect(await astro.calls()).toEqual([astroConnectionArgs('create', DEP, CONN), astroConnectionArgs('update', DEP, CONN)]);
  });

  it('an astro failure fails the stage (exit 1) with its output and the command', async () => {
    const dir = await tempProject();
    const astro = await fakeAstro(dir, 'echo "Error: You are not authenticated. Please run astro login" >&2; exit 1');
    const err = await expectCode(
      deploymentConnectionStage.run(stageContext({ projectDir: dir, inputs: { astroDeploymentIds: [DEP] }, env: astro.env })),
      'ASTRO_CONNECTION_FAILED',
    );
    expect(err.exitCode).toBe(1);
    // astro's own output and the command to run by hand.
    expect(err.message).toContain('not authenticated');
    expect(err.hint).toContain(astroConnectionCommand(DEP, CONN));
  });
});

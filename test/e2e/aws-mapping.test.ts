// E2E: identity-mapping and verify-mapping, EKS access entries and kube-system/aws-auth.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { requireBuild, initArgs, readState } from './aws-helpers.js';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/AstroRemoteKPO';
const USER = 'AstroRemoteKPO';

const cloudProject = useCloudProjects('kpo-e2e-map-');
let cloud: TestCloud;
let dir: string;

beforeAll(requireBuild);

async function setup(mode: 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP') {
  ({ cloud, dir } = await cloudProject({ authenticationMode: mode, cluster: { name: 'remote-kpo-demo', authenticationMode: mode, withKubeconfigContext: true } }));
  return cloud;
}

function nodeRoleArn(c: TestCloud): string {
  const arn = c.kube.awsAuth().find((e) => e.username?.startsWith('system:node:'))?.rolearn;
  if (!arn) throw new Error('test cloud made no node role mapping');
  return arn;
}

/** aws-auth as people really have it: eksctl's node role, a comment, a person's role entry; and mapUsers. */
function seedAwsAuth(c: TestCloud): { mapRoles: string; mapUsers: string } {
  const mapRoles = [
    '- groups:',
    '  - system:bootstrappers',
    '  - system:nodes',
    `  rolearn: ${nodeRoleArn(c)}`,
    '  username: system:node:{{EC2PrivateDNSName}}',
    '# platform team: keep this one (OPS-42)',
    '- rolearn: "arn:aws:iam::123456789012:role/PlatformAdmin"   # quoted on purpose',
    '  username: platform-admin',
    '  groups: [ "system:masters" ]',
    '',
  ].join('\n');
  const mapUsers = '- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n  groups:\n    - system:masters\n';
  c.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { mapRoles, mapUsers } });
  return { mapRoles, mapUsers };
}

describe('identity mapping: EKS access entries', () => {
  it.each(['API', 'API_AND_CONFIG_MAP'] as const)('auth mode %s → a STANDARD access entry with the username; verified; re-run is a no-op', async (mode) => {
    const c = await setup(mode);
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const e = c.aws.accessEntry('remote-kpo-demo', ROLE_ARN);
    expect(e).toMatchObject({ principalArn: ROLE_ARN, username: USER, type: 'STANDARD' });
    expect(c.kube.configMap('kube-system', 'aws-auth')?.data?.mapRoles ?? '').not.toContain(ROLE_ARN);
    const state = await readState(dir);
    expect(state.stages['identity-mapping'].outputs).toEqual({ kind: 'access-entry', principalArn: ROLE_ARN, username: USER, createdByUs: true });
    expect(state.stages['verify-mapping'].outputs).toEqual({ kind: 'access-entry', username: USER });

    c.resetCalls();
    const again = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(c.mutatingCalls()).toEqual([]);
    expect(c.aws.accessEntries('remote-kpo-demo').filter((x) => x.principalArn === ROLE_ARN)).toHaveLength(1);
  });

  it('retries CreateAccessEntry while EKS cannot see the new role yet', async () => {
    const c = await setup('API_AND_CONFIG_MAP');
    const notYet = { code: 'InvalidParameterException', status: 400, message: `The specified principalArn is invalid: ${ROLE_ARN} does not exist.` };
    c.faults.failNth('CreateAccessEntry', 1, notYet);
    c.faults.failNth('CreateAccessEntry', 2, notYet);
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(c.calls.filter((x) => x.operation === 'CreateAccessEntry').map((x) => x.status)).toEqual([400, 400, 200]);
    expect(c.aws.accessEntry('remote-kpo-demo', ROLE_ARN)?.username).toBe(USER);
  });

  it('an existing entry for the role with another username is refused (exit 1), nothing changed', async () => {
    const c = await setup('API_AND_CONFIG_MAP');
    c.aws.createRole({ name: 'AstroRemoteKPO', trustPolicy: { Version: '2012-10-17', Statement: [] } });
    c.aws.addAccessEntry('remote-kpo-demo', ROLE_ARN, { username: 'someone-else' });
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expectFailure(r, 'MAPPING_OTHER_USER');
    expect(r.stdout + r.stderr).toContain('with username "someone-else", not "AstroRemoteKPO"');
    expect(c.aws.accessEntry('remote-kpo-demo', ROLE_ARN)?.username).toBe('someone-else');
    expect(c.mutatingCalls('eks')).toEqual([]);
    expect((await readState(dir)).stages['identity-mapping'].status).toBe('failed');
  });

  it('--auth-mode aws-auth on an API_AND_CONFIG_MAP cluster edits aws-auth instead', async () => {
    const c = await setup('API_AND_CONFIG_MAP');
    await c.writeAdminContext('remote-kpo-demo', { contextName: 'admin', setCurrent: true });
    const r = await runCli(initArgs(dir, ['--auth-mode', 'aws-auth', '--kube-context', 'admin']), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(c.kube.awsAuth()).toContainEqual({ rolearn: ROLE_ARN, username: USER });
    expect(c.aws.accessEntry('remote-kpo-demo', ROLE_ARN)).toBeUndefined();
  });
});

describe('identity mapping: kube-system/aws-auth (CONFIG_MAP)', () => {
  it('appends our entry, keeping the three existing entries, comments and mapUsers byte-for-byte; backup first; re-run is a no-op', async () => {
    const c = await setup('CONFIG_MAP');
    const before = seedAwsAuth(c);
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);

    const after = c.kube.configMap('kube-system', 'aws-auth')!.data!;
    expect(after.mapRoles).toBe(`${before.mapRoles}- rolearn: ${ROLE_ARN}\n  username: ${USER}\n`);
    expect(after.mapUsers).toBe(before.mapUsers);
    expect(c.calls.filter((x) => x.operation === 'PUT configmaps')).toHaveLength(1);

    const state = await readState(dir);
    const out = state.stages['identity-mapping'].outputs;
    expect(out).toMatchObject({ kind: 'aws-auth', principalArn: ROLE_ARN, username: USER, createdByUs: true });
    const backups = await readdir(path.join(dir, '.astro-remote-kpo', 'backups'));
    expect(backups).toHaveLength(1);
    expect(out.backupFile).toBe(path.join(dir, '.astro-remote-kpo', 'backups', backups[0]!));
    const backup = JSON.parse(await readFile(out.backupFile!, 'utf8'));
    expect(backup.data).toEqual(before);
    expect(state.stages['verify-mapping'].outputs).toEqual({ kind: 'aws-auth', username: USER });

    c.resetCalls();
    const again = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(c.mutatingCalls()).toEqual([]);
    expect(c.kube.configMap('kube-system', 'aws-auth')!.data!.mapRoles).toBe(after.mapRoles);
    expect(await readdir(path.join(dir, '.astro-remote-kpo', 'backups'))).toHaveLength(1);
  });

  it('refuses to shadow an entry for the same role with another username: exit 1, nothing changed', async () => {
    const c = await setup('CONFIG_MAP');
    const before = seedAwsAuth(c);
    const shadow = `${before.mapRoles}- rolearn: ${ROLE_ARN}\n  username: legacy-user\n`;
    c.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { mapRoles: shadow, mapUsers: before.mapUsers } });
    const rv = c.kube.configMap('kube-system', 'aws-auth')!.metadata!.resourceVersion;

    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expectFailure(r, 'MAPPING_OTHER_USER');
    expect(r.stdout + r.stderr).toContain('to username "legacy-user"');
    const now = c.kube.configMap('kube-system', 'aws-auth')!;
    expect(now.metadata!.resourceVersion).toBe(rv);
    expect(now.data).toEqual({ mapRoles: shadow, mapUsers: before.mapUsers });
    expect(c.mutatingCalls('kube').filter((x) => x.operation.endsWith('configmaps'))).toEqual([]);
    const state = await readState(dir);
    expect(state.stages['identity-mapping'].status).toBe('failed');
    expect(state.stages['verify-mapping'].status).toBe('pending');
  });

  it('refuses malformed mapRoles YAML: exit 1, nothing written', async () => {
    const c = await setup('CONFIG_MAP');
    const broken = `- rolearn: ${nodeRoleArn(c)}\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:nodes\n`;
    c.kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { mapRoles: broken } });
    const r = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expectFailure(r, 'AWS_AUTH_UNEDITABLE');
    // Why: the YAML.
    expect(r.stdout + r.stderr).toContain('not valid YAML');
    expect(c.kube.configMap('kube-system', 'aws-auth')!.data).toEqual({ mapRoles: broken });
  });

  it('--auth-mode access-entry on a CONFIG_MAP cluster is a clear error', async () => {
    const c = await setup('CONFIG_MAP');
    const r = await runCli(initArgs(dir, ['--auth-mode', 'access-entry']), { env: c.env, cwd: dir });
    expectFailure(r, 'AUTH_MODE_MISMATCH');
    expect(c.mutatingCalls('eks')).toEqual([]);
  });
});

// `destroy` end to end on the loopback test cloud: after a real `init` it leaves the cloud as it
// was before init — pre-existing aws-auth entries byte-for-byte, an unrelated IAM role untouched —
// records its progress in state, is idempotent, resumes after a failure, and --dry-run changes
// nothing.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const NS = 'astro-remote-kpo';

interface Item { kind: string; name: string; decision: 'delete' | 'keep' | 'gone'; why: string; result?: string; note?: string }
interface DestroyDoc { command: string; dryRun: boolean; ok: boolean; exitCode: number; items: Item[]; error?: { code: string; awsCode?: string; message: string; hint?: string } }

let cloud: TestCloud | undefined;
const project = useTempProjects('kpo-destroy-e2e-', async () => {
  await cloud?.stop();
  cloud = undefined;
});

const run = (dir: string, args: string[]) => runCli([...args, '--project-dir', dir], { env: cloud!.env, cwd: dir });

async function init(dir: string, extra: string[] = []): Promise<void> {
  const r = await run(dir, ['init', '--non-interactive', '--workload-identity', WI, ...extra]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

async function destroy(dir: string, extra: string[]): Promise<{ code: number; doc: DestroyDoc; stderr: string }> {
  const r = await run(dir, ['destroy', '--json', ...extra]);
  let doc: DestroyDoc;
  try {
    doc = JSON.parse(r.stdout) as DestroyDoc;
  } catch {
    throw new Error(`destroy printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}

/** Everything in the cloud a run could touch, in a comparable form. */
function snapshot(c: TestCloud) {
  const roles = [...c.aws.roles.values()]
    .map((r) => ({ name: r.name, path: r.path, trust: r.trustPolicyRaw, inline: [...r.inline.entries()], attached: [...r.attached], tags: r.tags }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const clusters = [...c.aws.clusters.values()].map((cl) => ({
    name: cl.name,
    status: cl.status,
    entries: [...cl.accessEntries.values()].map((e) => ({ principal: e.principalArn, username: e.username, type: e.type, tags: e.tags })),
  }));
  const kube = ['Namespace', 'Role', 'RoleBinding', 'ConfigMap', 'ClusterRole', 'ClusterRoleBinding']
    .flatMap((kind) =>
      c.kube.list(kind).map((o) => {
        const { metadata, ...rest } = o as { metadata: { name: string; namespace?: string; labels?: unknown } } & Record<string, unknown>;
        return `${kind} ${metadata.namespace ?? ''}/${metadata.name} ${JSON.stringify(metadata.labels ?? {})} ${JSON.stringify({ ...rest, status: undefined })}`;
      }),
    )
    .sort();
  return { roles, clusters, kube };
}

const UNRELATED_TRUST = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' }] };

describe('destroy after init', () => {
  it('on an aws-auth cluster: leaves the cloud exactly as before init, keeps every other aws-auth entry byte-for-byte, backs aws-auth up first', async () => {
    cloud = await startTestCloud({ cluster: { name: 'remote-kpo-demo', authenticationMode: 'CONFIG_MAP', withKubeconfigContext: true } });
    // Someone else's entries, with comments and their own formatting, and an unrelated role.
    const cm = cloud.kube.configMap('kube-system', 'aws-auth')!;
    const mapRoles = `${cm.data!.mapRoles}# platform team (ticket OPS-42)\n- rolearn: "arn:aws:iam::123456789012:role/PlatformAdmin"   # quoted on purpose\n  username: platform-admin\n  groups: [ "system:masters" ]\n`;
    cloud.kube.put({ ...cm, data: { ...cm.data, mapRoles, mapUsers: '- userarn: arn:aws:iam::123456789012:user/alice\n  username: alice\n' } });
    cloud.aws.createRole({ name: 'PlatformAdmin', trustPolicy: UNRELATED_TRUST, tags: [{ Key: 'team', Value: 'platform' }] });
    const dir = await project();
    const before = snapshot(cloud);
    const awsAuthBefore = structuredClone(cloud.kube.configMap('kube-system', 'aws-auth')!.data);

    await init(dir);
    expect(cloud.kube.configMap('kube-system', 'aws-auth')!.data!.mapRoles).toContain('username: AstroRemoteKPO');
    expect(snapshot(cloud)).not.toEqual(before);

    const { code, doc } = await destroy(dir, ['--yes', '--delete-namespace']);
    expect(code, JSON.stringify(doc, null, 2)).toBe(0);
    expect(doc.items.filter((i) => i.decision === 'delete').map((i) => i.kind)).toEqual(['role-binding', 'aws-auth-entry', 'inline-policy', 'iam-role', 'role', 'namespace']);
    expect(doc.items.every((i) => i.decision !== 'delete' || i.result === 'deleted')).toBe(true);
    expect(doc.items.find((i) => i.kind === 'cluster')).toMatchObject({ decision: 'keep', why: expect.stringContaining('existed before init') });

    expect(snapshot(cloud)).toEqual(before);
    expect(cloud.kube.configMap('kube-system', 'aws-auth')!.data).toEqual(awsAuthBefore);
    // The backup holds aws-auth as it was just before the removal.
    const backups = await readdir(path.join(dir, '.astro-remote-kpo', 'backups'));
    const last = JSON.parse(await readFile(path.join(dir, '.astro-remote-kpo', 'backups', backups.sort().at(-1)!), 'utf8')) as { data: { mapRoles: string } };
    expect(last.data.mapRoles).toContain('username: AstroRemoteKPO');
    expect(doc.items.find((i) => i.kind === 'aws-auth-entry')?.note).toContain('backup of aws-auth');

    // State says so; `status` shows it; a second destroy finds nothing of ours and changes nothing.
    const state = JSON.parse(await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8')) as { stages: Record<string, { status: string; reason?: string }> };
    for (const id of ['role-binding', 'identity-mapping', 'iam-role', 'role-arn', 'k8s-role', 'namespace']) {
      expect(state.stages[id], id).toMatchObject({ status: 'pending', reason: expect.stringContaining('removed by astro-remote-kpo destroy') });
    }
    expect(state.stages.cluster?.status).toBe('skipped');
    cloud.resetCalls();
    const again = await destroy(dir, ['--yes', '--delete-namespace']);
    expect(again.code).toBe(0);
    expect(cloud.mutatingCalls()).toEqual([]);
    expect(again.doc.items.filter((i) => i.decision === 'delete')).toEqual([]);
    expect(snapshot(cloud)).toEqual(before);
  });

  it('on an access-entry cluster init created: deletes the access entry, and the cluster only with --yes --delete-cluster (eksctl delete cluster)', async () => {
    cloud = await startTestCloud();
    cloud.aws.createRole({ name: 'PlatformAdmin', trustPolicy: UNRELATED_TRUST });
    const dir = await project();
    const rolesBefore = snapshot(cloud).roles;
    await init(dir);
    expect(cloud.aws.accessEntry('remote-kpo-demo', 'arn:aws:iam::123456789012:role/AstroRemoteKPO')).toBeDefined();

    // Without --delete-cluster the cluster stays, everything else of ours goes.
    const first = await destroy(dir, ['--yes']);
    expect(first.code, JSON.stringify(first.doc, null, 2)).toBe(0);
    expect(first.doc.items.find((i) => i.kind === 'cluster')).toMatchObject({ decision: 'keep', why: expect.stringContaining('pass --delete-cluster') });
    expect(first.doc.items.find((i) => i.kind === 'namespace')).toMatchObject({ decision: 'keep', why: expect.stringContaining('pass --delete-namespace') });
    expect(cloud.aws.accessEntry('remote-kpo-demo', 'arn:aws:iam::123456789012:role/AstroRemoteKPO')).toBeUndefined();
    expect(cloud.aws.role('AstroRemoteKPO')).toBeUndefined();
    expect(cloud.kube.roleBinding(NS, 'astro-remote-kpo-rolebinding')).toBeUndefined();
    expect(cloud.kube.role(NS, 'astro-remote-kpo-role')).toBeUndefined();
    expect(cloud.kube.namespace(NS)).toBeDefined();
    expect(cloud.aws.cluster('remote-kpo-demo')).toBeDefined();

    const second = await destroy(dir, ['--yes', '--delete-cluster', '--delete-namespace']);
    expect(second.code, JSON.stringify(second.doc, null, 2) + second.stderr).toBe(0);
    expect(second.doc.items.filter((i) => i.decision === 'delete').map((i) => i.kind)).toEqual(['namespace', 'cluster']);
    expect(cloud.eksctl.invocations.some((a) => a.join(' ') === 'delete cluster --name remote-kpo-demo --region us-east-1 --wait')).toBe(true);
    expect(cloud.aws.cluster('remote-kpo-demo')).toBeUndefined();
    // The unrelated role (and nothing of ours) is left; eksctl's own node role is eksctl's business.
    expect(snapshot(cloud).roles.filter((r) => !r.name.startsWith('eksctl-'))).toEqual(rolesBefore);
    const log = await readFile(path.join(dir, '.astro-remote-kpo', 'logs', 'eksctl-delete-cluster.log'), 'utf8');
    expect(log).toContain('all cluster resources were deleted');
  });

  it('--dry-run lists what would go and changes nothing; without a TTY it needs --yes', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    await init(dir);
    const stateBefore = await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8');
    const before = snapshot(cloud);
    cloud.resetCalls();
    const dry = await destroy(dir, ['--dry-run', '--delete-namespace', '--delete-cluster']);
    expect(dry.code).toBe(0);
    expect(dry.doc).toMatchObject({ command: 'destroy', dryRun: true, ok: true });
    expect(dry.doc.items.filter((i) => i.decision === 'delete').map((i) => i.kind)).toEqual(['role-binding', 'access-entry', 'inline-policy', 'iam-role', 'role', 'namespace', 'cluster']);
    expect(dry.doc.items.every((i) => i.result === undefined)).toBe(true);
    expect(cloud.mutatingCalls()).toEqual([]);
    expect(cloud.eksctl.invocations.some((a) => a[0] === 'delete')).toBe(false);
    expect(snapshot(cloud)).toEqual(before);
    expect(await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8')).toBe(stateBefore);

    const human = await run(dir, ['destroy', '--no-color']);
    expectFailure(human, 'CONFIRMATION_REQUIRED');
    expect(human.stderr).toContain('pass --yes');
    expect(cloud.mutatingCalls()).toEqual([]);
  });

  it('resumes after a failure: what is gone stays gone, the rest goes on the next run', async () => {
    cloud = await startTestCloud();
    const dir = await project();
    await init(dir);
    cloud.faults.failNext('DeleteRole', 12, { code: 'ServiceFailure', status: 500, message: 'internal failure' });
    const broken = await destroy(dir, ['--yes', '--delete-namespace']);
    expect(broken.code).toBe(1);
    expect(broken.doc.ok).toBe(false);
    // Which error stopped it: AWS's own name beside our code.
    expect(broken.doc.error).toMatchObject({ code: 'AWS_REQUEST_FAILED', awsCode: 'ServiceFailure' });
    expect(broken.doc.items.find((i) => i.kind === 'iam-role')).toMatchObject({ result: 'failed' });
    expect(broken.doc.items.find((i) => i.kind === 'role')?.result).toBeUndefined();
    expect(cloud.aws.role('AstroRemoteKPO')).toBeDefined();
    expect(cloud.kube.roleBinding(NS, 'astro-remote-kpo-rolebinding')).toBeUndefined();
    expect(cloud.kube.role(NS, 'astro-remote-kpo-role')).toBeDefined();
    const state = JSON.parse(await readFile(path.join(dir, '.astro-remote-kpo', 'state.json'), 'utf8')) as { stages: Record<string, { status: string; outputs?: unknown }> };
    expect(state.stages['role-binding']?.status).toBe('pending');
    expect(state.stages['identity-mapping']?.status).toBe('pending');
    expect(state.stages['iam-role']).toMatchObject({ status: 'done', outputs: { createdByUs: true } });

    cloud.faults.clear();
    const resumed = await destroy(dir, ['--yes', '--delete-namespace']);
    expect(resumed.code, JSON.stringify(resumed.doc, null, 2)).toBe(0);
    expect(resumed.doc.items.filter((i) => i.decision === 'delete').map((i) => i.kind)).toEqual(['iam-role', 'role', 'namespace']);
    expect(resumed.doc.items.find((i) => i.kind === 'role-binding')?.decision).toBe('gone');
    expect(cloud.aws.role('AstroRemoteKPO')).toBeUndefined();
    expect(cloud.kube.namespace(NS)).toBeUndefined();
  });
});

// "Nothing else" is checked, not assumed (issue #19, finding 5), end to end: when the mapped user
// may do more than EksPodOperator needs through any RoleBinding or ClusterRoleBinding, init fails
// at access-check (exit 1) naming each binding and what it grants, and verify fails the same way;
// --allow-extra-access accepts it (recorded in state, shown by the summary, status and verify).
import { beforeEach, describe, expect, it } from 'vitest';
import type { TestCloud } from '../support/cloud.js';
import type { KubeObj } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, readState } from './aws-helpers.js';

const NS = 'astro-remote-kpo';
const USER = 'AstroRemoteKPO';
const RBAC = 'rbac.authorization.k8s.io';

interface Row { id: string; status: string; detail: string; fix?: string; lines?: string[]; notes?: string[]; data?: Record<string, unknown>; code?: string }

const cloudProject = useCloudProjects('kpo-extra-access-');
let cloud: TestCloud;
let dir: string;
beforeEach(async () => {
  ({ cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } }));
});

async function cli(args: string[]) {
  const r = await runCli(args, { env: cloud.env, cwd: dir });
  return { ...r, out: `${r.stdout}\n${r.stderr}` };
}
const init = (extra: string[] = []) => cli(initArgs(dir, extra));

async function matrixRow(): Promise<{ code: number; row: Row }> {
  const r = await cli(['verify', '--json', '--project-dir', dir]);
  return { code: r.code, row: (JSON.parse(r.stdout) as { checks: Row[] }).checks.find((x) => x.id === 'access-matrix')! };
}

const user = { kind: 'User', name: USER, apiGroup: RBAC };
function clusterRole(name: string, rules: object[]): KubeObj {
  return { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name }, rules };
}
function clusterBinding(name: string, role: string, subjects: object[]): KubeObj {
  return { apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name }, subjects, roleRef: { kind: 'ClusterRole', name: role, apiGroup: RBAC } };
}
function roleBinding(name: string, role: { kind: string; name: string }, subjects: object[]): KubeObj {
  return { apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name, namespace: NS }, subjects, roleRef: { ...role, apiGroup: RBAC } };
}

describe('a user that may do more fails init and verify alike (e2e)', () => {
  it('cluster-admin through a ClusterRoleBinding: init exit 1 at access-check naming it; --allow-extra-access accepts it everywhere', async () => {
    const binding = JSON.stringify(cloud.kube.put(clusterBinding('kpo-admin', 'cluster-admin', [user])));
    const r = await init();
    expectFailure(r, 'RBAC_EXTRA_ACCESS');
    // At access-check, counting the bindings.
    expect(r.out).toMatch(/✖ 10·access-check .*through 1 binding/);
    expect(r.out).toContain('ClusterRoleBinding kpo-admin binds ClusterRole cluster-admin to User AstroRemoteKPO');
    expect(r.out).toContain('kubectl delete clusterrolebinding kpo-admin');
    expect(r.out).toContain('--allow-extra-access');
    expect(r.out).not.toContain('needed permissions allowed');
    let s = await readState(dir);
    expect(s.stages['access-check'].status).toBe('failed');
    expect(s.inputs.allowExtraAccess).toBeUndefined();

    const v = await matrixRow();
    expect(v.code).toBe(1);
    expect(v.row).toMatchObject({ status: 'fail', code: 'RBAC_EXTRA_ACCESS' });
    expect(v.row.detail).toContain('through 1 binding');
    expect(v.row.lines?.some((l) => l.includes('ClusterRoleBinding kpo-admin binds ClusterRole cluster-admin'))).toBe(true);
    expect(v.row.fix).toContain('--allow-extra-access');

    // Accepted explicitly: recorded, shown, and verify reports it instead of failing.
    const ok = await init(['--allow-extra-access']);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('more accepted (--allow-extra-access)');
    expect(ok.out).toContain('and more: accepted with --allow-extra-access');
    s = await readState(dir);
    expect(s.inputs.allowExtraAccess).toBe(true);
    expect(s.stages['access-check'].outputs.acceptedExtra?.[0]).toContain('ClusterRoleBinding kpo-admin');
    const st = await cli(['status', '--project-dir', dir]);
    expect(st.out).toContain('Accepted with --allow-extra-access');
    expect(st.out).toMatch(/Next: .*verify .*--allow-extra-access/);
    const accepted = await matrixRow();
    expect(accepted.code).toBe(0);
    expect(accepted.row.status).toBe('pass');
    expect(accepted.row.data?.acceptedByFlag).toBe('--allow-extra-access');
    expect(accepted.row.notes?.some((n) => n.includes('accepted (--allow-extra-access): ClusterRoleBinding kpo-admin'))).toBe(true);
    // Nobody's binding was touched.
    expect(JSON.stringify(cloud.kube.get('ClusterRoleBinding', 'kpo-admin'))).toBe(binding);
  });

  it('a RoleBinding granting secrets (shared with bob): exit 1 naming it and the edit; verify agrees', async () => {
    cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    cloud.kube.put({ apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: 'secret-reader', namespace: NS }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] });
    cloud.kube.put(roleBinding('kpo-secrets', { kind: 'Role', name: 'secret-reader' }, [user, { kind: 'User', name: 'bob', apiGroup: RBAC }]));
    const r = await init();
    expectFailure(r, 'RBAC_EXTRA_ACCESS');
    expect(r.out).toContain(`RoleBinding kpo-secrets in namespace ${NS} binds Role secret-reader to User ${USER}: get, list on secrets (in namespace ${NS})`);
    expect(r.out).toContain(`kubectl -n ${NS} edit rolebinding kpo-secrets  (remove subject User ${USER})`);
    expect((await readState(dir)).stages['access-check'].status).toBe('failed');
    const v = await matrixRow();
    expect(v.code).toBe(1);
    expect(v.row.code).toBe('RBAC_EXTRA_ACCESS');
    expect(v.row.lines?.some((l) => l.includes('RoleBinding kpo-secrets'))).toBe(true);

    expect((await init(['--allow-extra-access'])).code).toBe(0);
    expect(cloud.kube.roleBinding(NS, 'kpo-secrets')?.subjects).toHaveLength(2);
  });

  it('a grant no access question asks about (configmaps) is found by listing the bindings', async () => {
    cloud.kube.put(clusterRole('config-reader', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }]));
    cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    cloud.kube.put(roleBinding('kpo-config', { kind: 'ClusterRole', name: 'config-reader' }, [user]));
    const r = await init();
    expectFailure(r, 'RBAC_EXTRA_ACCESS');
    expect(r.out).toContain(`RoleBinding kpo-config in namespace ${NS} binds ClusterRole config-reader to User ${USER}: get on configmaps`);
    expect(r.out).not.toContain('the access check found it may also');
    expect((await matrixRow()).row.status).toBe('fail');
  });

  it('more granted to every signed-in user (system:authenticated) counts when the access check shows it', async () => {
    cloud.kube.put(clusterRole('secret-reader', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]));
    cloud.kube.put(clusterBinding('everyone-reads-secrets', 'secret-reader', [{ kind: 'Group', name: 'system:authenticated', apiGroup: RBAC }]));
    const r = await init();
    expectFailure(r, 'RBAC_EXTRA_ACCESS');
    expect(r.out).toContain('ClusterRoleBinding everyone-reads-secrets binds ClusterRole secret-reader to Group system:authenticated: get on secrets (cluster-wide)');
    expect(r.out).toContain('kubectl edit clusterrolebinding everyone-reads-secrets  (remove subject Group system:authenticated)');
  });

  it('bindings that cannot be listed (403): says so, and still fails on what the access check found', async () => {
    cloud.kube.put(clusterBinding('kpo-admin', 'cluster-admin', [user]));
    const forbidden = { status: 403, code: 'Forbidden', message: 'clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "someone" cannot list resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope' };
    cloud.faults.failNext('GET clusterrolebindings', 3, forbidden);
    const r = await init();
    expectFailure(r, 'RBAC_EXTRA_ACCESS');
    expect(r.out).toContain('could not be listed');
    expect(r.out).toContain('the access check found it may also');
    expect(r.out).toContain('ClusterRoleBinding "kpo-admin"');
    expect(r.out).toContain('kubectl edit clusterrolebinding kpo-admin  (remove subject User AstroRemoteKPO)');
    cloud.faults.clear();

    // Without the extra grant, the same refusal to list is a warning, not a failure.
    cloud.kube.delete('ClusterRoleBinding', 'kpo-admin');
    cloud.faults.failNext('GET clusterrolebindings', 3, forbidden);
    const ok = await init();
    expect(ok.code, ok.out).toBe(0);
    expect((await readState(dir)).stages['access-check'].warnings?.join('\n')).toContain('could not be listed');
    cloud.faults.clear();
  });
});

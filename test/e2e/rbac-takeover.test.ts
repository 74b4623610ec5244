// Never a takeover (issue #19, finding 3), end to end: a Role or RoleBinding of our names that this
// project did not create, and that differs from what init would make, is never changed. init stops
// at that object's stage (exit 1, state saved), names it and every difference, and gives the fix
// (another --k8s-role, or the exact edit); verify names the same difference and the same fix. A
// found object that already matches is used as found; one this project created is still put back.
import { beforeEach, describe, expect, it } from 'vitest';
import { roleBindingObject, roleObject } from '../../src/desired.js';
import type { KubeObj } from '../support/cloud.js';
import type { TestCloud } from '../support/cloud.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, readState } from './aws-helpers.js';

const NS = 'astro-remote-kpo';
const ROLE = 'astro-remote-kpo-role';
const RB = 'astro-remote-kpo-rolebinding';
const USER = 'AstroRemoteKPO';
const RBAC = 'rbac.authorization.k8s.io';
const inputs = { namespace: NS, k8sRole: ROLE, k8sUser: USER };

interface Row { id: string; status: string; detail: string; fix?: string; code?: string }

const cloudProject = useCloudProjects('kpo-takeover-');
let cloud: TestCloud;
let dir: string;
beforeEach(async () => {
  ({ cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } }));
  // Someone else's namespace, with their RBAC objects in it (made before any init).
  cloud.kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
});

async function init(extra: string[] = []) {
  const r = await runCli(initArgs(dir, extra), { env: cloud.env, cwd: dir });
  return { ...r, out: `${r.stdout}\n${r.stderr}` };
}

async function verifyRows(): Promise<{ code: number; rows: Row[] }> {
  const r = await runCli(['verify', '--json', '--project-dir', dir], { env: cloud.env, cwd: dir });
  return { code: r.code, rows: (JSON.parse(r.stdout) as { checks: Row[] }).checks };
}

function binding(subjects: object[], roleRef: object = { kind: 'Role', name: ROLE, apiGroup: RBAC }): KubeObj {
  return { apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name: RB, namespace: NS, labels: { team: 'data' } }, subjects, roleRef };
}
const alice = { kind: 'User', name: 'alice', apiGroup: RBAC };
const ours = { kind: 'User', name: USER, apiGroup: RBAC };

/** Puts `obj` and returns a snapshot to compare with later: untouched means byte-identical. */
function place(obj: KubeObj): string {
  return JSON.stringify(cloud.kube.put(obj));
}
const now = (kind: 'RoleBinding' | 'Role', name: string) => JSON.stringify(cloud.kube.get(kind, NS, name));
const writesTo = (resource: string) => cloud.mutatingCalls('kube').filter((c) => c.operation.endsWith(` ${resource}`));

describe('a found RoleBinding that differs is never changed (e2e)', () => {
  it("binds ClusterRole view to alice: init stops at role-binding (exit 1), untouched, names roleRef and subjects, fix works", async () => {
    const before = place(binding([alice], { kind: 'ClusterRole', name: 'view', apiGroup: RBAC }));
    const r = await init();
    expectFailure(r, 'TAKEOVER_REFUSED');
    expect(now('RoleBinding', RB)).toBe(before);
    expect(writesTo('rolebindings')).toEqual([]);
    expect(r.out).toContain(`RoleBinding ${RB} in namespace ${NS} exists`);
    expect(r.out).toContain('roleRef is ClusterRole/view, not Role/astro-remote-kpo-role');
    expect(r.out).toContain('extra subject User alice');
    expect(r.out).toContain(`missing subject User ${USER}`);
    expect(r.out).toContain('--k8s-role astro-remote-kpo-2-role');
    expect(r.out).toContain(`kubectl -n ${NS} delete rolebinding ${RB}`);
    const s = await readState(dir);
    expect(s.stages['role-binding'].status).toBe('failed');
    expect(s.stages['k8s-role'].status).toBe('done');

    // verify names the same difference and gives the same fix (not "init --from role-binding").
    const v = await verifyRows();
    expect(v.code).toBe(1);
    const row = v.rows.find((x) => x.id === 'role-binding')!;
    expect(row).toMatchObject({ status: 'fail', code: 'TAKEOVER_REFUSED' });
    expect(row.detail).toContain('roleRef is ClusterRole/view, not Role/astro-remote-kpo-role');
    expect(row.detail).toContain('extra subject User alice');
    expect(row.fix).toContain('--k8s-role astro-remote-kpo-2-role');
    expect(row.fix).not.toContain('--from role-binding');

    // The fix it gives: another --k8s-role makes our own Role and RoleBinding; alice's stays.
    const fixed = await init(['--k8s-role', 'astro-remote-kpo-2-role']);
    expect(fixed.code, fixed.out).toBe(0);
    expect(now('RoleBinding', RB)).toBe(before);
    expect(cloud.kube.roleBinding(NS, 'astro-remote-kpo-2-rolebinding')?.subjects).toEqual([ours]);
  });

  it('our roleRef but alice beside our user: refused (exit 1), alice kept, the edit shown', async () => {
    const before = place(binding([alice, ours]));
    const r = await init();
    expectFailure(r, 'TAKEOVER_REFUSED');
    expect(now('RoleBinding', RB)).toBe(before);
    expect(r.out).toContain('extra subject User alice');
    expect(r.out).not.toContain('missing subject');
    expect(r.out).toContain(`kubectl -n ${NS} edit rolebinding ${RB}`);
    expect(r.out).toContain('give them a RoleBinding of their own first');
    expect((await readState(dir)).stages['role-binding'].status).toBe('failed');
    // Resumable: the same command stops at the same place, still without a write.
    cloud.resetCalls();
    const again = await init();
    expectFailure(again, 'TAKEOVER_REFUSED');
    expect(writesTo('rolebindings')).toEqual([]);
    expect(now('RoleBinding', RB)).toBe(before);
  });

  it('our roleRef, only alice: refused, untouched; --dry-run says init will refuse', async () => {
    const before = place(binding([alice]));
    const plan = await init(['--dry-run']);
    expect(plan.code, plan.out).toBe(0);
    expect(plan.out).toMatch(/unknown: init will refuse: RoleBinding astro-remote-kpo-rolebinding in namespace astro-remote-kpo exists/);
    const r = await init();
    expectFailure(r, 'TAKEOVER_REFUSED');
    expect(now('RoleBinding', RB)).toBe(before);
    expect(r.out).toContain('extra subject User alice');
    expect(r.out).toContain(`missing subject User ${USER}`);
  });
});

describe('a found Role that differs is never changed (e2e)', () => {
  const withSecrets = [...roleObject(inputs).rules, { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }];

  it('other rules: init stops at k8s-role (exit 1), untouched, names every difference and the rules to set', async () => {
    const before = place({ apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: ROLE, namespace: NS }, rules: withSecrets.filter((x) => !x.resources.includes('pods/log')) });
    const r = await init();
    expectFailure(r, 'TAKEOVER_REFUSED');
    expect(now('Role', ROLE)).toBe(before);
    expect(writesTo('roles')).toEqual([]);
    expect(r.out).toContain('extra verb get on secrets');
    expect(r.out).toContain('missing verb get on pods/log');
    expect(r.out).toContain(`kubectl -n ${NS} edit role ${ROLE}`);
    expect(r.out).toContain('resources: [pods/log]');
    const s = await readState(dir);
    expect(s.stages['k8s-role'].status).toBe('failed');
    // Nothing bound to a Role it could not use.
    expect(cloud.kube.roleBinding(NS, RB)).toBeUndefined();

    const v = await verifyRows();
    const row = v.rows.find((x) => x.id === 'k8s-role')!;
    expect(row).toMatchObject({ status: 'fail', code: 'TAKEOVER_REFUSED' });
    expect(row.detail).toContain('extra verb get on secrets');
    expect(row.fix).toContain(`kubectl -n ${NS} edit role ${ROLE}`);
  });

  it('extra verbs on pods are other rules too: refused', async () => {
    const rules = roleObject(inputs).rules.map((x) => (x.resources[0] === 'pods' ? { ...x, verbs: [...x.verbs, 'deletecollection'] } : x));
    const before = place({ apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: ROLE, namespace: NS }, rules });
    const r = await init();
    expectFailure(r, 'TAKEOVER_REFUSED');
    expect(now('Role', ROLE)).toBe(before);
    expect(r.out).toContain('extra verb deletecollection on pods');
  });

  it("another project's Role that drifted is not this project's to put back: refused, and says whose it is", async () => {
    const rules = roleObject(inputs).rules.filter((x) => x.resources[0] !== 'events');
    const before = place({ ...roleObject(inputs, 'other-project-id'), rules });
    const r = await init();
    expectFailure(r, 'TAKEOVER_REFUSED');
    expect(now('Role', ROLE)).toBe(before);
    expect(r.out).toContain('created by another astro-remote-kpo project (project id other-project-id)');
    const row = (await verifyRows()).rows.find((x) => x.id === 'k8s-role')!;
    expect(row.code).toBe('TAKEOVER_REFUSED');
    expect(row.detail).toContain('missing verbs list, watch on events');
    expect(row.detail).toContain('created by another astro-remote-kpo project (project id other-project-id)');
  });
});

describe('found objects that match are used as found (e2e)', () => {
  it('a Role with our rules in another order and a RoleBinding without apiGroup: no write, recorded as found', async () => {
    const shuffled = [
      { apiGroups: [''], resources: ['events'], verbs: ['watch', 'list'] },
      { apiGroups: [''], resources: ['pods/exec', 'pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['delete', 'patch', 'watch', 'list', 'get', 'create'] },
    ];
    const role = place({ apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: ROLE, namespace: NS }, rules: shuffled });
    const rb = place(binding([{ kind: 'User', name: USER }]));
    const r = await init();
    expect(r.code, r.out).toBe(0);
    expect(now('Role', ROLE)).toBe(role);
    expect(now('RoleBinding', RB)).toBe(rb);
    expect(writesTo('roles')).toEqual([]);
    expect(writesTo('rolebindings')).toEqual([]);
    const s = await readState(dir);
    expect(s.stages['k8s-role'].outputs).toMatchObject({ created: false });
    expect(s.stages['role-binding'].outputs).toMatchObject({ created: false });
    expect(s.stages['access-check'].status).toBe('done');
  });

  it('a RoleBinding this project created that drifted (alice added) is still put back', async () => {
    expect((await init()).code).toBe(0);
    const mine = cloud.kube.roleBinding(NS, RB)!;
    cloud.kube.put({ ...mine, subjects: [...(mine.subjects as object[]), alice] });
    const r = await init();
    expect(r.code, r.out).toBe(0);
    expect(cloud.kube.roleBinding(NS, RB)?.subjects).toEqual(roleBindingObject(inputs).subjects);
  });
});

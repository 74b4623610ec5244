// The "nothing else" rule (src/kube/extra-access.ts) on listed bindings: which count as more than
// EksPodOperator needs, and which do not (a narrower grant, another user, what every signed-in
// user gets, a role that grants nothing).
import { initCommandLine } from '../../src/resume-command.js';
import { describe, expect, it } from 'vitest';
import { KPO_RULES } from '../../src/desired.js';
import type { AccessRow } from '../../src/kube/access.js';
import type { Collection, KubeApi, KubeObject } from '../../src/kube/api.js';
import { extraAccessError, findExtraAccess } from '../../src/kube/extra-access.js';
import { KubeRequestError } from '../../src/kube/errors.js';
import type { Inputs } from '../../src/types.js';

const NS = 'astro-remote-kpo';
const USER = 'AstroRemoteKPO';
const RBAC = 'rbac.authorization.k8s.io';
const inputs: Inputs = {
  clusterName: 'remote-kpo-demo', region: 'us-east-1', namespace: NS, k8sRole: 'astro-remote-kpo-role', k8sUser: USER, iamRole: 'AstroRemoteKPO',
  workloadIdentities: ['arn:aws:iam::123456789012:role/astro-dep-abc123'], astroDeploymentIds: [], localDev: false, authMode: 'auto', permissions: 'scoped', connId: 'aws_eks', podPolicyArns: [], podIdentity: 'auto', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'astro-remote-kpo-pods',
};

interface World { rolebindings: KubeObject[]; clusterrolebindings: KubeObject[]; roles: Record<string, KubeObject>; clusterroles: Record<string, KubeObject>; forbid?: boolean }

function api(w: World): KubeApi {
  const fake: Pick<KubeApi, 'listAll' | 'readRole' | 'readClusterRole'> = {
    async listAll(c: Collection) {
      if (w.forbid) throw new KubeRequestError('forbidden: may not list', 403, 'Forbidden');
      return c.resource === 'rolebindings' ? w.rolebindings : w.clusterrolebindings;
    },
    readRole: async (ns, name) => w.roles[`${ns}/${name}`],
    readClusterRole: async (name) => w.clusterroles[name],
  };
  return fake as KubeApi;
}

const user = { kind: 'User', name: USER, apiGroup: RBAC };
const rb = (name: string, ns: string, ref: { kind: string; name: string }, subjects: object[]): KubeObject => ({ metadata: { name, namespace: ns }, roleRef: { ...ref, apiGroup: RBAC }, subjects });
const crb = (name: string, role: string, subjects: object[]): KubeObject => ({ metadata: { name }, roleRef: { kind: 'ClusterRole', name: role, apiGroup: RBAC }, subjects });
const rules = (r: object[]): KubeObject => ({ rules: r });

describe('findExtraAccess', () => {
  it('our own binding, a narrower grant, another user and bindings to system:authenticated are not more', async () => {
    const w: World = {
      rolebindings: [
        rb('astro-remote-kpo-rolebinding', NS, { kind: 'Role', name: 'astro-remote-kpo-role' }, [user]),
        rb('narrow', NS, { kind: 'Role', name: 'narrow' }, [user]),
        rb('alice', NS, { kind: 'Role', name: 'secrets' }, [{ kind: 'User', name: 'alice' }]),
      ],
      clusterrolebindings: [crb('system:discovery', 'system:discovery', [{ kind: 'Group', name: 'system:authenticated' }]), crb('empty', 'nothing', [user])],
      roles: {
        [`${NS}/astro-remote-kpo-role`]: rules([...KPO_RULES]),
        [`${NS}/narrow`]: rules([{ apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['one'] }]),
        [`${NS}/secrets`]: rules([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]),
      },
      clusterroles: { 'system:discovery': rules([{ verbs: ['get'], nonResourceURLs: ['/api'] }]), nothing: rules([]) },
    };
    expect(await findExtraAccess(api(w), inputs, [], ['system:authenticated'])).toEqual({ rows: [], bindings: [] });
  });

  it('a ClusterRole bound in our namespace beyond the needed verbs, and any grant elsewhere, are more', async () => {
    const w: World = {
      rolebindings: [rb('edit', NS, { kind: 'ClusterRole', name: 'pods-all' }, [user]), rb('elsewhere', 'default', { kind: 'ClusterRole', name: 'pod-reader' }, [user, { kind: 'User', name: 'bob' }])],
      clusterrolebindings: [],
      roles: {},
      clusterroles: {
        'pods-all': rules([{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }, { verbs: ['get'], nonResourceURLs: ['/metrics'] }]),
        'pod-reader': rules([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]),
      },
    };
    const x = await findExtraAccess(api(w), inputs, [], ['system:authenticated']);
    expect(x.bindings.map((b) => [b.name, b.grants, b.onlySubject])).toEqual([
      // A RoleBinding never grants non-resource URLs: only the pods rule counts.
      ['edit', `every verb on pods (in namespace ${NS})`, true],
      ['elsewhere', 'get on pods (in namespace default)', false],
    ]);
    const e = extraAccessError(inputs, x, (change) => initCommandLine({ ...inputs, ...change }));
    expect(e).toMatchObject({ code: 'RBAC_EXTRA_ACCESS', exitCode: 1 });
    expect(e.hint).toContain(`kubectl -n ${NS} delete rolebinding edit`);
    expect(e.hint).toContain('kubectl -n default edit rolebinding elsewhere  (remove subject User AstroRemoteKPO)');
    expect(e.hint).toContain('--allow-extra-access');
  });

  it('a binding naming the user whose role cannot be read is not assumed harmless', async () => {
    const kube = api({ rolebindings: [], clusterrolebindings: [crb('mystery', 'hidden', [user])], roles: {}, clusterroles: {} });
    kube.readClusterRole = async () => {
      throw new KubeRequestError('forbidden: may not get clusterroles "hidden"', 403, 'Forbidden');
    };
    const x = await findExtraAccess(kube, inputs, [], ['system:authenticated']);
    expect(x.bindings).toHaveLength(1);
    expect(x.bindings[0]!.grants).toContain('grants unknown, its role could not be read (forbidden');
  });

  it('when listing is refused, the rows are the evidence and the binding the API server named is the fix', async () => {
    const row: AccessRow = {
      verb: 'get', resource: 'secrets', group: '', namespace: NS, expect: 'denied', actual: 'allowed', ok: false,
      reason: `RBAC: allowed by RoleBinding "team/${NS}" of ClusterRole "view" to Group "system:authenticated"`,
    };
    const x = await findExtraAccess(api({ rolebindings: [], clusterrolebindings: [], roles: {}, clusterroles: {}, forbid: true }), inputs, [row], ['system:authenticated']);
    expect(x.bindings).toEqual([]);
    expect(x.bindingsUnknown).toContain('forbidden');
    const e = extraAccessError(inputs, x, (change) => initCommandLine({ ...inputs, ...change }));
    expect(e.message).toContain('could not be listed');
    expect(e.message).toContain(`get secrets in namespace ${NS}`);
    expect(e.hint).toContain(`kubectl -n ${NS} edit rolebinding team  (remove subject Group system:authenticated)`);
  });
});

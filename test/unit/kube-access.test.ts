// The access-check matrix, its table and the "rule to add", and the SubjectAccessReview →
// impersonated SelfSubjectAccessReview fallback over the real client (loopback server that
// decides with a tiny RBAC evaluation of the Role we grant).
import { afterEach, describe, expect, it } from 'vitest';
import { expectCode } from '../support/failure.js';
import { KPO_RULES } from '../../src/desired.js';
import { accessMatrix, accessTable, caseLabel, missingRulesYaml, runAccessChecks, type AccessCase } from '../../src/kube/access.js';
import { KubeRequestError } from '../../src/kube/errors.js';
import { json, loopback, status, type Loopback } from './kube-loopback.js';

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Attrs {
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  namespace?: string;
}

/** Allowed when the namespace is ours and `rules` grant verb on resource[/subresource]. */
function decide(rules: typeof KPO_RULES, a: Attrs): boolean {
  if (a.namespace !== 'astro-remote-kpo') return false;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return rules.some((r) => r.apiGroups.includes(a.group ?? '') && r.resources.includes(res) && r.verbs.includes(a.verb));
}

function review(kind: string, allowed: boolean) {
  return json(201, { kind, apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, status: allowed ? { allowed, reason: 'RBAC: allowed by RoleBinding' } : { allowed } });
}

describe('accessMatrix', () => {
  it('asks every verb × resource EksPodOperator needs, subresources split, then the negatives', () => {
    const cases = accessMatrix({ namespace: 'astro-remote-kpo' });
    const positives = cases.filter((c) => c.expect === 'allowed');
    expect(positives).toHaveLength(KPO_RULES.reduce((n, r) => n + r.resources.length * r.verbs.length, 0));
    expect(positives.every((c) => c.namespace === 'astro-remote-kpo')).toBe(true);
    expect(positives).toContainEqual({ verb: 'get', resource: 'pods', subresource: 'log', group: '', namespace: 'astro-remote-kpo', expect: 'allowed' });
    expect(positives).toContainEqual({ verb: 'create', resource: 'pods', subresource: 'exec', group: '', namespace: 'astro-remote-kpo', expect: 'allowed' });
    const negatives = cases.filter((c) => c.expect === 'denied').map(caseLabel);
    expect(negatives).toEqual(
      expect.arrayContaining([
        'create pods in namespace default',
        'list secrets in namespace astro-remote-kpo',
        'get nodes (cluster-wide)',
        'list nodes (cluster-wide)',
        'get namespaces (cluster-wide)',
        'list namespaces (cluster-wide)',
        'create clusterroles.rbac.authorization.k8s.io (cluster-wide)',
        'create clusterrolebindings.rbac.authorization.k8s.io (cluster-wide)',
      ]),
    );
    // Using "default" as our namespace moves the "pods elsewhere" check to kube-system.
    expect(accessMatrix({ namespace: 'default' }).filter((c) => c.expect === 'denied').map(caseLabel)).toContain('create pods in namespace kube-system');
  });

  it('renders the table and the YAML rule that would grant what is missing', () => {
    const missing: AccessCase[] = [
      { verb: 'get', resource: 'pods', subresource: 'log', group: '', namespace: 'ns', expect: 'allowed' },
      { verb: 'list', resource: 'events', group: '', namespace: 'ns', expect: 'allowed' },
      { verb: 'watch', resource: 'events', group: '', namespace: 'ns', expect: 'allowed' },
    ];
    expect(missingRulesYaml(missing)).toBe(
      ['- apiGroups: [""]', '  resources: ["pods/log"]', '  verbs: ["get"]', '- apiGroups: [""]', '  resources: ["events"]', '  verbs: ["list", "watch"]'].join('\n'),
    );
    const table = accessTable([
      { ...missing[0]!, actual: 'denied', ok: false },
      { verb: 'list', resource: 'nodes', group: '', expect: 'denied', actual: 'denied', ok: true },
    ]);
    expect(table[0]).toMatch(/^VERB\s+RESOURCE\s+NAMESPACE\s+EXPECTED\s+ACTUAL$/);
    expect(table[1]).toMatch(/^get\s+pods\/log\s+ns\s+allowed\s+denied\s+✖$/);
    expect(table[2]).toMatch(/^list\s+nodes\s+\(cluster\)\s+denied\s+denied\s+✔$/);
  });
});

describe('runAccessChecks', () => {
  it('uses SubjectAccessReview for the user, all in parallel', async () => {
    server = await loopback((req) => {
      const spec = (req.json as { spec: { user: string; resourceAttributes: Attrs } }).spec;
      return review('SubjectAccessReview', spec.user === 'AstroRemoteKPO' && decide(KPO_RULES, spec.resourceAttributes));
    });
    const kube = await server.client();
    const cases = accessMatrix({ namespace: 'astro-remote-kpo' });
    const r = await runAccessChecks(kube, 'AstroRemoteKPO', cases);
    expect(r.method).toBe('SubjectAccessReview');
    expect(r.rows.every((row) => row.ok)).toBe(true);
    expect(server.seen).toHaveLength(cases.length);
    expect(server.seen.every((s) => s.path === '/apis/authorization.k8s.io/v1/subjectaccessreviews')).toBe(true);
  });

  it('falls back to impersonated SelfSubjectAccessReview when SubjectAccessReview is forbidden, and reports a missing rule', async () => {
    const withoutLog = KPO_RULES.filter((r) => !r.resources.includes('pods/log'));
    server = await loopback((req) => {
      if (req.path.endsWith('/subjectaccessreviews') && !req.path.includes('self')) {
        return status(403, 'Forbidden', 'subjectaccessreviews.authorization.k8s.io is forbidden: User "dev" cannot create resource "subjectaccessreviews"');
      }
      const user = req.headers['impersonate-user'];
      const spec = (req.json as { spec: { resourceAttributes: Attrs } }).spec;
      return review('SelfSubjectAccessReview', user === 'AstroRemoteKPO' && decide(withoutLog, spec.resourceAttributes));
    });
    const kube = await server.client();
    const r = await runAccessChecks(kube, 'AstroRemoteKPO', accessMatrix({ namespace: 'astro-remote-kpo' }));
    expect(r.method).toBe('SelfSubjectAccessReview');
    expect(r.fallbackReason).toContain('forbidden');
    const failed = r.rows.filter((row) => !row.ok);
    expect(failed.map(caseLabel)).toEqual(['get pods/log in namespace astro-remote-kpo']);
    expect(server.seen.filter((s) => s.path.endsWith('selfsubjectaccessreviews')).every((s) => s.headers['impersonate-user'] === 'AstroRemoteKPO')).toBe(true);
  });

  it('does not hide other failures behind the fallback', async () => {
    server = await loopback(() => status(401, 'Unauthorized', 'Unauthorized'));
    const kube = await server.client();
    const err = await expectCode(runAccessChecks(kube, 'AstroRemoteKPO', accessMatrix({ namespace: 'astro-remote-kpo' })), 'KUBE_UNAUTHORIZED');
    expect((err as KubeRequestError).status).toBe(401);
    expect(server.seen.some((s) => s.path.includes('selfsubjectaccessreviews'))).toBe(false);
  });
});

// The access check: `kubectl auth can-i <verb> <resource> -n <ns> --as <user>` for the whole
// matrix EksPodOperator needs (must be allowed) plus grants it must NOT have (must be denied),
// asked of the API server as SubjectAccessReviews, or as impersonated SelfSubjectAccessReviews
// when the caller may not create SubjectAccessReviews.
import { KPO_RULES } from '../desired.js';
import type { Inputs } from '../types.js';
import type { AccessReviewAnswer, AccessReviewQuery, KubeApi } from './api.js';
import { KubeRequestError } from './errors.js';

export interface AccessCase extends AccessReviewQuery {
  expect: 'allowed' | 'denied';
}

export interface AccessRow extends AccessCase {
  actual: 'allowed' | 'denied';
  ok: boolean;
  reason?: string;
}

export type AccessMethod = 'SubjectAccessReview' | 'SelfSubjectAccessReview';

/** Every verb × resource of KPO_RULES in the namespace, then the negatives. */
export function accessMatrix(inputs: Pick<Inputs, 'namespace'>): AccessCase[] {
  const ns = inputs.namespace;
  const positives: AccessCase[] = KPO_RULES.flatMap((rule) =>
    rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((full) => {
        const [resource, subresource] = full.split('/') as [string, string | undefined];
        return rule.verbs.map((verb) => ({ verb, resource, ...(subresource ? { subresource } : {}), group, namespace: ns, expect: 'allowed' as const }));
      }),
    ),
  );
  // Pods elsewhere: "default", unless that is our namespace.
  const elsewhere = ns === 'default' ? 'kube-system' : 'default';
  const rbac = 'rbac.authorization.k8s.io';
  const negatives: AccessCase[] = [
    { verb: 'create', resource: 'pods', group: '', namespace: elsewhere, expect: 'denied' },
    { verb: 'list', resource: 'secrets', group: '', namespace: ns, expect: 'denied' },
    { verb: 'get', resource: 'secrets', group: '', namespace: ns, expect: 'denied' },
    { verb: 'create', resource: 'rolebindings', group: rbac, namespace: ns, expect: 'denied' },
    { verb: 'get', resource: 'nodes', group: '', expect: 'denied' },
    { verb: 'list', resource: 'nodes', group: '', expect: 'denied' },
    { verb: 'get', resource: 'namespaces', group: '', expect: 'denied' },
    { verb: 'list', resource: 'namespaces', group: '', expect: 'denied' },
    { verb: 'create', resource: 'clusterroles', group: rbac, expect: 'denied' },
    { verb: 'create', resource: 'clusterrolebindings', group: rbac, expect: 'denied' },
  ];
  return [...positives, ...negatives];
}

export function resourceLabel(q: AccessReviewQuery): string {
  const r = q.subresource ? `${q.resource}/${q.subresource}` : q.resource;
  return q.group ? `${r}.${q.group}` : r;
}

export function caseLabel(c: AccessReviewQuery): string {
  return `${c.verb} ${resourceLabel(c)} ${c.namespace ? `in namespace ${c.namespace}` : '(cluster-wide)'}`;
}

/** The groups the API server gives a mapped IAM identity: the mapping's own plus
 * system:authenticated (which EKS adds to every authenticated user). */
export function subjectGroups(mappingGroups: readonly string[] = []): string[] {
  return [...new Set([...mappingGroups, 'system:authenticated'])];
}

/**
 * Asks every case in parallel, for the user in `groups` (what the identity mapping grants, so a
 * mapping that adds system:masters shows up as extra grants). SubjectAccessReview first; if the
 * caller is forbidden to create those, the same questions go as SelfSubjectAccessReviews
 * impersonating the user (without groups: `groupsIgnored` says so when there were some).
 */
export async function runAccessChecks(
  kube: KubeApi,
  user: string,
  cases: AccessCase[],
  groups: readonly string[] = subjectGroups(),
): Promise<{ method: AccessMethod; rows: AccessRow[]; fallbackReason?: string; groupsIgnored?: boolean }> {
  const ask = async (fn: (q: AccessReviewQuery) => Promise<AccessReviewAnswer>): Promise<AccessRow[]> =>
    Promise.all(
      cases.map(async (c) => {
        const { expect, ...q } = c;
        const a = await fn(q);
        const actual = a.allowed ? ('allowed' as const) : ('denied' as const);
        return { ...c, expect, actual, ok: actual === expect, ...(a.reason ? { reason: a.reason } : {}) };
      }),
    );
  try {
    return { method: 'SubjectAccessReview', rows: await ask((q) => kube.subjectAccessReview(user, q, [...groups])) };
  } catch (err) {
    if (!(err instanceof KubeRequestError && err.status === 403)) throw err;
    const rows = await ask((q) => kube.selfSubjectAccessReviewAs(user, q));
    // Impersonation adds system:authenticated itself; other groups would need Impersonate-Group
    // rights as well, so they are not asked for, and the caller is told.
    const groupsIgnored = groups.some((g) => g !== 'system:authenticated');
    return { method: 'SelfSubjectAccessReview', rows, fallbackReason: err.message, ...(groupsIgnored ? { groupsIgnored } : {}) };
  }
}

/** A fixed-width table: verb, resource, namespace, expected, actual, ✔/✖. */
export function accessTable(rows: AccessRow[]): string[] {
  const head = ['VERB', 'RESOURCE', 'NAMESPACE', 'EXPECTED', 'ACTUAL', ''];
  const body = rows.map((r) => [r.verb, resourceLabel(r), r.namespace ?? '(cluster)', r.expect, r.actual, r.ok ? '✔' : '✖']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...body.map(line)];
}

/** The Role rules that would grant what is missing, as YAML to paste under `rules:`. */
export function missingRulesYaml(missing: AccessCase[]): string {
  const byTarget = new Map<string, { group: string; resource: string; verbs: string[] }>();
  for (const m of missing) {
    const resource = m.subresource ? `${m.resource}/${m.subresource}` : m.resource;
    const key = `${m.group ?? ''}|${resource}`;
    const e = byTarget.get(key) ?? { group: m.group ?? '', resource, verbs: [] };
    if (!e.verbs.includes(m.verb)) e.verbs.push(m.verb);
    byTarget.set(key, e);
  }
  return [...byTarget.values()]
    .map((e) => [`- apiGroups: ["${e.group}"]`, `  resources: ["${e.resource}"]`, `  verbs: [${e.verbs.map((v) => `"${v}"`).join(', ')}]`].join('\n'))
    .join('\n');
}

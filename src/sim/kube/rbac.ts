// The RBAC authorizer over the stored Roles, RoleBindings, ClusterRoles and ClusterRoleBindings,
// following k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac: rule matching (verbs, apiGroups,
// resources with subresources and "*/sub", resourceNames, nonResourceURLs) and the reason text
// ("RBAC: allowed by RoleBinding "rb/ns" of Role "r" to User "u""). Denials carry no reason.
import { resourceType, type KubeObj, type KubeStore } from './store.js';

export interface UserInfo {
  username: string;
  groups: string[];
  /** EKS access policy AmazonEKSClusterAdminPolicy (the cluster creator in API modes). */
  eksClusterAdmin?: boolean;
}

export interface ResourceAttributes {
  verb: string;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface NonResourceAttributes {
  verb: string;
  path: string;
}

export type Attributes = ({ kind: 'resource' } & ResourceAttributes) | ({ kind: 'nonResource' } & NonResourceAttributes);

export interface Decision {
  allowed: boolean;
  reason?: string;
}

interface Rule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

function resourceMatches(rule: Rule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

function nonResourceMatches(rule: Rule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

export function ruleAllows(rule: Rule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (a.kind === 'nonResource') return nonResourceMatches(rule, a.path);
  if (!has(rule.apiGroups, a.group ?? '')) return false;
  if (!resourceMatches(rule, a.resource ?? '', a.subresource)) return false;
  if (rule.resourceNames?.length) return !!a.name && rule.resourceNames.includes(a.name);
  return true;
}

function subjectMatches(s: Subject, user: UserInfo, bindingNs: string | undefined): boolean {
  if (s.kind === 'User') return s.name === user.username;
  if (s.kind === 'Group') return !!s.name && user.groups.includes(s.name);
  if (s.kind === 'ServiceAccount') return user.username === `system:serviceaccount:${s.namespace ?? bindingNs}:${s.name}`;
  return false;
}

function describeSubject(s: Subject, bindingNs: string | undefined): string {
  if (s.kind === 'ServiceAccount') return `ServiceAccount "${s.name}/${s.namespace ?? bindingNs}"`;
  return `${s.kind} "${s.name}"`;
}

function rulesOf(store: KubeStore, roleRef: { kind?: string; name?: string }, ns: string | undefined): Rule[] | undefined {
  const role: KubeObj | undefined =
    roleRef.kind === 'ClusterRole' ? store.get(resourceType('clusterroles'), undefined, roleRef.name ?? '') : store.get(resourceType('roles'), ns, roleRef.name ?? '');
  return role ? ((role.rules as Rule[] | undefined) ?? []) : undefined;
}

/** Decides like kube-apiserver with `--authorization-mode=RBAC` (plus EKS's access-policy webhook). */
export function authorize(store: KubeStore, user: UserInfo, a: Attributes): Decision {
  if (user.eksClusterAdmin) {
    return { allowed: true, reason: `EKS Access Policy: allowed by ClusterRoleBinding "${user.username}" of ClusterRole "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" to User "${user.username}"` };
  }
  const visit = (binding: KubeObj, bindingKind: string, ns: string | undefined): Decision | undefined => {
    const roleRef = (binding.roleRef ?? {}) as { kind?: string; name?: string };
    const subjects = (binding.subjects ?? []) as Subject[];
    const subject = subjects.find((s) => subjectMatches(s, user, ns));
    if (!subject) return undefined;
    const rules = rulesOf(store, roleRef, ns);
    if (!rules?.some((r) => ruleAllows(r, a))) return undefined;
    const name = ns ? `${binding.metadata?.name}/${ns}` : binding.metadata?.name;
    return { allowed: true, reason: `RBAC: allowed by ${bindingKind} "${name}" of ${roleRef.kind} "${roleRef.name}" to ${describeSubject(subject, ns)}` };
  };
  for (const b of store.list(resourceType('clusterrolebindings'))) {
    const d = visit(b, 'ClusterRoleBinding', undefined);
    if (d) return d;
  }
  if (a.kind === 'resource' && a.namespace) {
    for (const b of store.list(resourceType('rolebindings'), a.namespace)) {
      const d = visit(b, 'RoleBinding', a.namespace);
      if (d) return d;
    }
  }
  return { allowed: false };
}

/** The message of a 403, word for word as kube-apiserver writes it. */
export function forbiddenMessage(user: UserInfo, a: ResourceAttributes, qualifiedResource: string): string {
  const what = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const head = a.name ? `${qualifiedResource} "${a.name}" is forbidden` : `${qualifiedResource} is forbidden`;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${head}: User "${user.username}" cannot ${a.verb} resource "${what}" in API group "${a.group ?? ''}" ${scope}`;
}

/** A ClusterRoleBinding of `cluster-admin` to a group: what a team adds to make a group admins
 * (tests of a mapping that grants such a group). */
export function clusterAdminBinding(group: string): KubeObj {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: group },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  };
}

/** Cluster defaults every API server starts with (bootstrap policy), trimmed to what matters here. */
export const BOOTSTRAP_RBAC: KubeObj[] = [
  {
    kind: 'ClusterRole',
    metadata: { name: 'cluster-admin', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules: [
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      { verbs: ['*'], nonResourceURLs: ['*'] },
    ],
  },
  {
    kind: 'ClusterRoleBinding',
    metadata: { name: 'cluster-admin', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:masters' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
  },
  {
    kind: 'ClusterRole',
    metadata: { name: 'system:basic-user', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules: [{ verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] }],
  },
  {
    kind: 'ClusterRoleBinding',
    metadata: { name: 'system:basic-user', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:authenticated' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:basic-user' },
  },
  {
    kind: 'ClusterRole',
    metadata: { name: 'system:discovery', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'] }],
  },
  {
    kind: 'ClusterRoleBinding',
    metadata: { name: 'system:discovery', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:authenticated' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:discovery' },
  },
  {
    kind: 'ClusterRole',
    metadata: { name: 'system:public-info-viewer', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }],
  },
  {
    kind: 'ClusterRoleBinding',
    metadata: { name: 'system:public-info-viewer', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    subjects: [
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:authenticated' },
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:unauthenticated' },
    ],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:public-info-viewer' },
  },
];

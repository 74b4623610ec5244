// "Nothing else" is checked, not assumed (DESIGN.md): the one rule init's access-check stage and
// verify's access-matrix row both apply. Two kinds of evidence that the mapped user may do more
// than EksPodOperator needs:
//  - the access questions that must be denied but are allowed (SubjectAccessReview rows), and
//  - every RoleBinding and ClusterRoleBinding whose subjects include the user (or a group its
//    mapping grants) and whose role grants anything beyond the needed set: this also catches
//    grants the questions do not ask about (configmaps, deployments, …).
// Bindings to system:authenticated apply to every signed-in user (discovery, basic-user, the
// cluster's own defaults): they count only when an access question shows them granting more.
import { KPO_RULES } from '../desired.js';
import { KpoError, errorMessage } from '../errors.js';
import type { Inputs } from '../types.js';
import { caseLabel, type AccessRow } from './access.js';
import type { KubeApi, KubeObject } from './api.js';
import { KubeRequestError } from './errors.js';
import { grants } from './reconcile.js';
import { together } from '../together.js';
import type { CommandLine } from './takeover.js';

const RBAC = { prefix: '/apis/rbac.authorization.k8s.io/v1' } as const;
const EVERYONE = 'system:authenticated';
const SHOWN_RULES = 6;

export interface ExtraBinding {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  name: string;
  namespace?: string;
  /** e.g. "ClusterRole cluster-admin". */
  roleRef: string;
  /** The subject that gives it to the user, e.g. "User AstroRemoteKPO" or "Group ops-admins". */
  subject: string;
  /** What it grants beyond the needed set, in words, with its scope. */
  grants: string;
  /** The user is the binding's only subject: deleting it is the whole fix. */
  onlySubject: boolean;
}

export interface ExtraAccess {
  /** Access questions that must be denied, answered "allowed". */
  rows: AccessRow[];
  bindings: ExtraBinding[];
  /** Why the bindings could not be listed (then the rows are the only evidence). */
  bindingsUnknown?: string;
}

export function hasExtra(x: ExtraAccess): boolean {
  return x.rows.length > 0 || x.bindings.length > 0;
}

interface Rule {
  verbs?: unknown;
  apiGroups?: unknown;
  resources?: unknown;
  resourceNames?: unknown;
  nonResourceURLs?: unknown;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** (group, resource, verb) keys EksPodOperator needs, resourceNames aside (a named grant of a
 * needed verb is a narrower one, not more). */
const NEEDED = new Set([...grants(KPO_RULES).values()].map((g) => JSON.stringify([g.group, g.resource, g.verb])));

function describeRule(r: Rule): string {
  const verbs = list(r.verbs);
  const v = verbs.includes('*') ? 'every verb' : verbs.join(', ');
  const urls = list(r.nonResourceURLs);
  if (urls.length) return `${v} on URLs ${urls.join(', ')}`;
  const groups = list(r.apiGroups);
  const resources = list(r.resources).map((x) => (x === '*' ? 'every resource' : x)).join(', ');
  const group = groups.includes('*') ? ' in every API group' : groups.every((g) => g === '') ? '' : ` in API group ${groups.map((g) => g || '""').join(', ')}`;
  const names = list(r.resourceNames);
  return `${v} on ${resources}${group}${names.length ? ` named ${names.join(', ')}` : ''}`;
}

/** The rules of a binding's role that grant more than the needed set where the binding applies. */
function beyondNeeded(rules: Rule[], kind: ExtraBinding['kind'], namespace: string | undefined, ours: string): Rule[] {
  return rules.filter((r) => {
    const nonResource = list(r.nonResourceURLs).length > 0;
    // A RoleBinding never grants non-resource URLs; a ClusterRoleBinding grants everywhere.
    if (kind === 'RoleBinding' && nonResource) return false;
    if (list(r.verbs).length === 0) return false;
    if (kind === 'ClusterRoleBinding' || namespace !== ours || nonResource) return true;
    return [...grants([r]).values()].some((g) => !NEEDED.has(JSON.stringify([g.group, g.resource, g.verb])));
  });
}

interface Named {
  kind: ExtraBinding['kind'];
  name: string;
  namespace?: string;
  subject: string;
}

/** The binding the API server gave as the reason a question was allowed, e.g. `RBAC: allowed by
 * ClusterRoleBinding "x" of ClusterRole "y" to Group "z"` (a RoleBinding reads "name/namespace"). */
function namedBy(reason: string | undefined): Named | undefined {
  const m = /allowed by (RoleBinding|ClusterRoleBinding) "([^"/]+)(?:\/([^"]+))?" of \w+ "[^"]*" to (\w+) "([^"]+)"/.exec(reason ?? '');
  if (!m) return undefined;
  return { kind: m[1] as Named['kind'], name: m[2]!, ...(m[3] ? { namespace: m[3] } : {}), subject: `${m[4]} ${m[5]}` };
}

const keyOf = (b: { kind: string; name: string; namespace?: string }) => `${b.kind} ${b.name}${b.namespace ? `/${b.namespace}` : ''}`;

/** Allowed must-be-denied questions grouped by the reason the API server gave (one per binding). */
export function rowsByReason(rows: readonly AccessRow[]): Array<{ reason: string; rows: AccessRow[] }> {
  const by = new Map<string, AccessRow[]>();
  for (const r of rows) by.set(r.reason ?? '', [...(by.get(r.reason ?? '') ?? []), r]);
  return [...by].map(([reason, list]) => ({ reason, rows: list }));
}

function subjectMatch(b: KubeObject, user: string, groups: readonly string[], always: boolean): { subject: string; only: boolean } | undefined {
  const subjects = (Array.isArray(b.subjects) ? b.subjects : []) as Array<Record<string, unknown>>;
  const hit = subjects.find(
    (s) => (s.kind === 'User' && s.name === user) || (s.kind === 'Group' && typeof s.name === 'string' && groups.includes(s.name) && (always || s.name !== EVERYONE)),
  );
  // Deleting is the fix only for a binding made for the user alone; a group is others' too.
  return hit ? { subject: `${String(hit.kind)} ${String(hit.name)}`, only: subjects.length === 1 && hit.kind === 'User' } : undefined;
}

/** Every RoleBinding and ClusterRoleBinding (or why they could not be listed), and the roles they
 * bind, each read once (`roleOf`; a role that cannot be read, e.g. forbidden, is its reason). */
export interface BindingListing {
  listed?: Array<{ kind: ExtraBinding['kind']; b: KubeObject }>;
  unknown?: string;
  roleOf(ref: Record<string, unknown>, namespace: string | undefined): Promise<KubeObject | string | undefined>;
}

/**
 * Lists the bindings and reads the roles of those that name the user or a group its mapping
 * grants (system:authenticated aside: such a binding counts only when an access question names it),
 * none of which depends on the access questions' answers: the access check starts this with its
 * questions (one round trip for both, not one after the other). The Role the user's own
 * RoleBinding binds (--k8s-role) is read with the lists, not after them, unless `ownRole` is that
 * Role as the k8s-role stage read it a moment ago. Listing needs list rights
 * on RoleBindings and ClusterRoleBindings (the tool's admin credentials have them); when refused,
 * `unknown` says why.
 */
export async function listBindings(kube: KubeApi, inputs: Pick<Inputs, 'namespace' | 'k8sUser' | 'k8sRole'>, groups: readonly string[], ownRole?: KubeObject): Promise<BindingListing> {
  const roles = new Map<string, Promise<KubeObject | string | undefined>>();
  if (ownRole) roles.set(`Role ${inputs.namespace}/${inputs.k8sRole}`, Promise.resolve(ownRole));
  const roleOf = (ref: Record<string, unknown>, ns: string | undefined) => {
    const name = String(ref.name ?? '');
    const key = ref.kind === 'ClusterRole' ? `ClusterRole ${name}` : `Role ${ns}/${name}`;
    if (!roles.has(key)) {
      const read = ref.kind === 'ClusterRole' ? kube.readClusterRole(name) : kube.readRole(ns ?? '', name);
      const p = read.catch((err: unknown) => (err instanceof KubeRequestError ? errorMessage(err) : Promise.reject(err)));
      // Read ahead, perhaps never looked at: its failure must not go unhandled.
      p.catch(() => undefined);
      roles.set(key, p);
    }
    return roles.get(key)!;
  };
  void roleOf({ kind: 'Role', name: inputs.k8sRole }, inputs.namespace);
  let listed: NonNullable<BindingListing['listed']>;
  try {
    const [rbs, crbs] = await together([kube.listAll({ ...RBAC, resource: 'rolebindings' }), kube.listAll({ ...RBAC, resource: 'clusterrolebindings' })]);
    if (!rbs || !crbs) return { unknown: 'the API server does not serve RoleBindings/ClusterRoleBindings', roleOf };
    listed = [...crbs.map((b) => ({ kind: 'ClusterRoleBinding' as const, b })), ...rbs.map((b) => ({ kind: 'RoleBinding' as const, b }))];
  } catch (err) {
    if (!(err instanceof KubeRequestError)) throw err;
    return { unknown: errorMessage(err), roleOf };
  }
  for (const { kind, b } of listed) {
    if (subjectMatch(b, inputs.k8sUser, groups, false)) void roleOf((b.roleRef ?? {}) as Record<string, unknown>, kind === 'RoleBinding' ? b.metadata?.namespace : undefined);
  }
  return { listed, roleOf };
}

/**
 * Every binding that gives `user` (in `groups`) more than the needed set, plus the must-be-denied
 * rows that are allowed. `listing`: listBindings(), started with the access questions (listed
 * now when not given); a binding to system:authenticated that a row names has its role read now.
 */
export async function findExtraAccess(
  kube: KubeApi,
  inputs: Pick<Inputs, 'namespace' | 'k8sUser' | 'k8sRole'>,
  rows: AccessRow[],
  groups: readonly string[],
  listing: Promise<BindingListing> = listBindings(kube, inputs, groups),
): Promise<ExtraAccess> {
  const extraRows = rows.filter((r) => r.expect === 'denied' && r.actual === 'allowed');
  const named = new Set(extraRows.map((r) => namedBy(r.reason)).filter((n) => n !== undefined).map(keyOf));
  const l = await listing;
  if (!l.listed) return { rows: extraRows, bindings: [], bindingsUnknown: l.unknown };
  const found = await Promise.all(
    l.listed.map(async ({ kind, b }): Promise<ExtraBinding | undefined> => {
      const name = b.metadata?.name ?? '';
      const namespace = kind === 'RoleBinding' ? b.metadata?.namespace : undefined;
      const match = subjectMatch(b, inputs.k8sUser, groups, named.has(keyOf({ kind, name, ...(namespace ? { namespace } : {}) })));
      if (!match) return undefined;
      const ref = (b.roleRef ?? {}) as Record<string, unknown>;
      const role = await l.roleOf(ref, namespace);
      const scope = kind === 'ClusterRoleBinding' ? 'cluster-wide' : `in namespace ${namespace}`;
      let what: string;
      if (typeof role === 'string') {
        // Not assumed to be harmless: it names the user, and what it grants cannot be told.
        what = `grants unknown, its role could not be read (${role})`;
      } else {
        const extra = beyondNeeded((Array.isArray(role?.rules) ? role.rules : []) as Rule[], kind, namespace, inputs.namespace);
        if (!extra.length) return undefined;
        const shown = extra.slice(0, SHOWN_RULES).map(describeRule);
        if (extra.length > SHOWN_RULES) shown.push(`and ${extra.length - SHOWN_RULES} more rules`);
        what = `${shown.join('; ')} (${scope})`;
      }
      return {
        kind,
        name,
        ...(namespace ? { namespace } : {}),
        roleRef: `${String(ref.kind ?? '')} ${String(ref.name ?? '')}`,
        subject: match.subject,
        grants: what,
        onlySubject: match.only,
      };
    }),
  );
  return { rows: extraRows, bindings: found.filter((b): b is ExtraBinding => b !== undefined) };
}

export function bindingLabel(b: ExtraBinding): string {
  return `${b.kind} ${b.name}${b.namespace ? ` in namespace ${b.namespace}` : ''}`;
}

/** A binding in one line: which, through what role and subject, and what it grants. */
export function bindingLine(b: ExtraBinding): string {
  return `${bindingLabel(b)} binds ${b.roleRef} to ${b.subject}: ${b.grants}`;
}

/** Every piece of evidence of more access, one line each. */
export function extraLines(x: ExtraAccess): string[] {
  return [
    ...x.bindings.map(bindingLine),
    ...rowsByReason(x.rows).map((g) => `the access check found it may also ${g.rows.map(caseLabel).join(', ')}${g.reason ? ` (${g.reason})` : ''}`),
  ];
}

/** Said whenever the bindings could not be listed: what was and was not checked. */
export function unknownBindingsLine(x: ExtraAccess): string | undefined {
  return x.bindingsUnknown ? `the RoleBindings and ClusterRoleBindings could not be listed (${x.bindingsUnknown}): only the access questions were checked` : undefined;
}

/** The exact change per binding: delete one made only for the user, else take the subject out. */
function bindingFix(b: Named & { onlySubject?: boolean }): string {
  const ns = b.namespace ? `-n ${b.namespace} ` : '';
  const res = b.kind.toLowerCase();
  return b.onlySubject ? `kubectl ${ns}delete ${res} ${b.name}` : `kubectl ${ns}edit ${res} ${b.name}  (remove subject ${b.subject})`;
}

/** Every binding to change: those listed, and (when listing was refused) those the API server
 * named as the reason for an allowed question. */
function fixes(x: ExtraAccess): string[] {
  const listed = new Set(x.bindings.map(keyOf));
  const named = x.rows.map((r) => namedBy(r.reason)).filter((n): n is Named => n !== undefined && !listed.has(keyOf(n)));
  const unique = [...new Map(named.map((n) => [keyOf(n), n])).values()];
  return [...x.bindings, ...unique].map(bindingFix);
}

/** The refusal (init) and the failing row (verify): every binding, what it grants, and the fix. */
export function extraAccessError(inputs: Pick<Inputs, 'k8sUser'>, x: ExtraAccess, commandLine: CommandLine): KpoError {
  const { k8sUser } = inputs;
  const n = x.bindings.length;
  const head = `User ${k8sUser} may do more than EksPodOperator needs${n ? `, through ${n} binding${n > 1 ? 's' : ''}` : ''}:`;
  const steps = fixes(x);
  const where = steps.length
    ? `Take the extra access away (if nothing else relies on it):\n${steps.map((f) => `  ${f}`).join('\n')}\n`
    : `Find what grants it (kubectl get rolebindings,clusterrolebindings -A -o wide | grep -e ${k8sUser}) and narrow it.\n`;
  return new KpoError(
    'RBAC_EXTRA_ACCESS',
    `${head}\n${[...extraLines(x), ...(x.bindingsUnknown ? [unknownBindingsLine(x)!] : [])].map((l) => `  - ${l}`).join('\n')}`,
    `${where}or, if User ${k8sUser} should have it, accept it explicitly: ${commandLine({ allowExtraAccess: true })}`,
  );
}

// Never a takeover (DESIGN.md, "Ownership"): a Role or RoleBinding this project did not create is
// used only when it already is what init would make. One that differs (other rules, another
// roleRef, other subjects) is never changed: init stops before writing to it, names it with every
// difference, and gives the fix. The same rule as the identity mapping, which refuses a found
// mapping with groups. verify gives the same fix for the same object (src/verify/kube-checks.ts).
import { MARKER_LABEL, PROJECT_KEY, roleBindingName, roleBindingObject, roleObject } from '../desired.js';
import { KpoError } from '../errors.js';
import type { Inputs } from '../types.js';
import type { KubeObject } from './api.js';
import { toYaml } from './reconcile.js';

export type RbacKind = 'Role' | 'RoleBinding';

/** Who made a found object, as far as its metadata tells ("was not created by …"). */
export function whose(current: KubeObject): string {
  const marked = current.metadata?.labels?.[MARKER_LABEL[0]] === MARKER_LABEL[1];
  const id = current.metadata?.annotations?.[PROJECT_KEY];
  if (!marked) return 'was not created by astro-remote-kpo';
  return id ? `was created by another astro-remote-kpo project (project id ${id})` : 'carries the astro-remote-kpo label but no proof that this project created it';
}

/** A Role name for the fix, and so a RoleBinding name too (it derives from the Role's). */
export function otherRoleName(k8sRole: string): string {
  return k8sRole.endsWith('-role') ? `${k8sRole.slice(0, -'-role'.length)}-2-role` : `${k8sRole}-2`;
}

function labelOf(kind: RbacKind, inputs: Pick<Inputs, 'namespace' | 'k8sRole'>): string {
  return `${kind} ${kind === 'Role' ? inputs.k8sRole : roleBindingName(inputs.k8sRole)} in namespace ${inputs.namespace}`;
}

/** The init command line of the run with some inputs changed (the `commandLine` service). */
export type CommandLine = (change: Partial<Inputs>) => string;

/** What a fix names: the Role's place and name; a RoleBinding's fix names its user too. */
type RoleTarget = Pick<Inputs, 'namespace' | 'k8sRole'>;
type BindingTarget = RoleTarget & Pick<Inputs, 'k8sUser'>;

/** What to do about a found object that differs: use another --k8s-role, or change it yourself
 * (the exact edit), then run init again. */
export async function takeoverFix(kind: 'Role', inputs: RoleTarget, commandLine: CommandLine, found: readonly string[]): Promise<string>;
export async function takeoverFix(kind: RbacKind, inputs: BindingTarget, commandLine: CommandLine, found: readonly string[]): Promise<string>;
export async function takeoverFix(kind: RbacKind, inputs: RoleTarget & Partial<BindingTarget>, commandLine: CommandLine, found: readonly string[]): Promise<string> {
  const { namespace, k8sRole } = inputs;
  const alt = otherRoleName(k8sRole);
  const other =
    `Either let init make its own: pick a Role name not in use in namespace ${namespace}, e.g.\n  ${commandLine({ k8sRole: alt })}\n` +
    `  (it creates Role ${alt} and RoleBinding ${roleBindingName(alt)}, named after the Role)`;
  if (kind === 'Role') {
    const rules = await toYaml({ rules: roleObject(inputs).rules });
    return `${other}\nor, if Role ${k8sRole} is meant for EksPodOperator and nothing else relies on what it grants now, give it exactly these rules yourself (kubectl -n ${namespace} edit role ${k8sRole}), then run init again:\n${rules}`;
  }
  const name = roleBindingName(k8sRole);
  if (found.some((f) => f.startsWith('roleRef '))) {
    return `${other}\nor, if nothing else relies on RoleBinding ${name}, delete it yourself (kubectl -n ${namespace} delete rolebinding ${name}; a roleRef cannot be changed in place), then run init again: it creates its own.`;
  }
  // (The overloads: a RoleBinding's fix always has its user.)
  const { k8sUser } = inputs as BindingTarget;
  const subjects = await toYaml({ subjects: roleBindingObject({ ...inputs, k8sUser }).subjects });
  const others = found.some((f) => f.startsWith('extra subject'))
    ? ` The other subjects then lose what Role ${k8sRole} grants them: give them a RoleBinding of their own first.`
    : '';
  return `${other}\nor, if RoleBinding ${name} is meant for EksPodOperator, make User ${k8sUser} its only subject yourself (kubectl -n ${namespace} edit rolebinding ${name}), then run init again:\n${subjects}${others ? `\n${others.trim()}` : ''}`;
}

/** init's refusal: the object, who made it, every difference, the fix. Exit 1, nothing written. */
export async function takeoverRefusal(kind: 'Role', inputs: RoleTarget, commandLine: CommandLine, current: KubeObject, found: readonly string[]): Promise<KpoError>;
export async function takeoverRefusal(kind: RbacKind, inputs: BindingTarget, commandLine: CommandLine, current: KubeObject, found: readonly string[]): Promise<KpoError>;
export async function takeoverRefusal(kind: RbacKind, inputs: RoleTarget & Partial<BindingTarget>, commandLine: CommandLine, current: KubeObject, found: readonly string[]): Promise<KpoError> {
  return new KpoError(
    'TAKEOVER_REFUSED',
    `${labelOf(kind, inputs)} exists, ${whose(current)}, and differs from what init would make: ${found.join('; ')}. ` +
      'init does not change what this project did not create: nothing was changed.',
    // (The overloads above give a RoleBinding's refusal its user.)
    await takeoverFix(kind, inputs as BindingTarget, commandLine, found),
  );
}

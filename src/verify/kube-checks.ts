// verify rows on the cluster: namespace, Role and RoleBinding as src/desired.ts says (only the
// fields that grant access are compared; labels are bookkeeping), and the full access matrix.
import { initCommandLine } from '../resume-command.js';
import { roleBindingName } from '../desired.js';
import type { KubeApi, KubeObject } from '../kube/api.js';
import { fail, failFromError, pass, type CheckRow } from './row.js';
import type { VerifyContext } from './context.js';
import { ownedByUs, roleBindingOps, roleOps } from '../kube/objects.js';
import { findings, type ReconcileOps } from '../kube/reconcile.js';
import { takeoverFix, type RbacKind } from '../kube/takeover.js';
import { accessMatrix, accessTable, caseLabel, missingRulesYaml, runAccessChecks, subjectGroups } from '../kube/access.js';

function restore(vc: VerifyContext, from: string): string {
  return `${initCommandLine(vc.ctx.inputs)} --from ${from}`;
}

function kubeOf(vc: VerifyContext): KubeApi {
  if (!vc.kube) throw new Error('internal: no Kubernetes API');
  return vc.kube;
}

export async function checkNamespace(vc: VerifyContext): Promise<CheckRow> {
  const { namespace } = vc.ctx.inputs;
  try {
    const ns = await kubeOf(vc).readNamespace(namespace);
    if (!ns) return fail('namespace', `namespace ${namespace} does not exist`, `Create it: ${restore(vc, 'namespace')}`);
    const phase = (ns.status as { phase?: unknown } | undefined)?.phase;
    if (phase === 'Terminating') return fail('namespace', `namespace ${namespace} is being deleted (Terminating)`, 'Wait until it is gone, then run init again (or pick another --namespace).');
    return pass('namespace', `${namespace} exists`);
  } catch (err) {
    return failFromError('namespace', err, 'Check that the identity you run verify with may read namespaces.');
  }
}

/** A Role or RoleBinding that differs: this project's is put back by init (--from its stage);
 * a found one init will not change (never a takeover), so the fix is init's refusal's own. */
async function drifted(vc: VerifyContext, kind: RbacKind, ops: ReconcileOps, current: KubeObject, found: string[]): Promise<{ why: string; fix: string }> {
  const id = kind === 'Role' ? 'k8s-role' : 'role-binding';
  if (ownedByUs(vc.ctx, ops.label, vc.ctx.previousOutput(id)?.created, current)) {
    return { why: '', fix: `Put it back (this project created it): ${restore(vc, id)}` };
  }
  return { why: '; it was not created by this project, so init will not change it', fix: await takeoverFix(kind, vc.ctx.inputs, found) };
}

export async function checkRole(vc: VerifyContext): Promise<CheckRow> {
  const { namespace, k8sRole } = vc.ctx.inputs;
  try {
    const ops = roleOps(() => kubeOf(vc), vc.ctx.inputs);
    const role = await ops.read();
    if (!role) return fail('k8s-role', `Role ${k8sRole} does not exist in namespace ${namespace}`, `Create it: ${restore(vc, 'k8s-role')}`);
    const diff = findings(ops, role);
    if (diff.length) {
      const d = await drifted(vc, 'Role', ops, role, diff);
      return fail('k8s-role', `Role ${k8sRole} differs from the EksPodOperator rules: ${diff.join('; ')}${d.why}`, d.fix);
    }
    return pass('k8s-role', `Role ${k8sRole} grants exactly the EksPodOperator rules in ${namespace}`);
  } catch (err) {
    return failFromError('k8s-role', err, 'Check that the identity you run verify with may read Roles.');
  }
}

export async function checkRoleBinding(vc: VerifyContext): Promise<CheckRow> {
  const { namespace, k8sRole, k8sUser } = vc.ctx.inputs;
  const name = roleBindingName(k8sRole);
  try {
    const ops = roleBindingOps(() => kubeOf(vc), vc.ctx.inputs);
    const rb = await ops.read();
    if (!rb) return fail('role-binding', `RoleBinding ${name} does not exist in namespace ${namespace}`, `Create it: ${restore(vc, 'role-binding')}`);
    const diff = findings(ops, rb);
    if (diff.length) {
      const d = await drifted(vc, 'RoleBinding', ops, rb, diff);
      return fail('role-binding', `RoleBinding ${name} is not Role ${k8sRole} → User ${k8sUser}: ${diff.join('; ')}${d.why}`, d.fix);
    }
    return pass('role-binding', `${name} binds Role ${k8sRole} to User ${k8sUser}`);
  } catch (err) {
    return failFromError('role-binding', err, 'Check that the identity you run verify with may read RoleBindings.');
  }
}

/** Every verb EksPodOperator needs allowed, every grant it must not have denied (access-check's matrix). */
export async function checkAccessMatrix(vc: VerifyContext): Promise<CheckRow> {
  const { k8sUser, namespace, k8sRole } = vc.ctx.inputs;
  try {
    const groups = subjectGroups(vc.mappingGroups);
    const { method, rows, fallbackReason, groupsIgnored } = await runAccessChecks(kubeOf(vc), k8sUser, accessMatrix(vc.ctx.inputs), groups);
    const missing = rows.filter((r) => r.expect === 'allowed' && !r.ok);
    const extra = rows.filter((r) => r.expect === 'denied' && !r.ok);
    const needed = rows.filter((r) => r.expect === 'allowed').length;
    const data = { method, rows: rows.map((r) => ({ verb: r.verb, resource: r.resource, subresource: r.subresource, namespace: r.namespace, expect: r.expect, actual: r.actual, ok: r.ok })) };
    const subject = `as User ${k8sUser} in groups ${groups.join(', ')}`;
    const how = `${method} ${subject}${fallbackReason ? ` (SubjectAccessReview not allowed: ${fallbackReason}${groupsIgnored ? '; impersonation asked without the groups' : ''})` : ''}`;
    if (!missing.length && !extra.length) {
      return pass('access-matrix', `User ${k8sUser}: ${needed} needed permissions allowed, ${rows.length - needed} others denied (${how})`, { data });
    }
    const parts = [
      ...(missing.length ? [`missing ${missing.map(caseLabel).join(', ')}`] : []),
      ...(extra.length ? [`may also ${extra.map(caseLabel).join(', ')}`] : []),
    ];
    const fix = missing.length
      ? `Add to Role ${k8sRole} in ${namespace}:\n${missingRulesYaml(missing)}\nor run: ${restore(vc, 'k8s-role')}`
      : `Find the binding that grants User ${k8sUser} more than EksPodOperator needs and narrow it (kubectl get rolebindings,clusterrolebindings -A -o wide | grep ${k8sUser}).`;
    return fail('access-matrix', `User ${k8sUser}: ${parts.join('; ')} (${how})`, fix, { lines: accessTable(rows), data });
  } catch (err) {
    return failFromError('access-matrix', err, 'The identity you run verify with needs to create SubjectAccessReviews (or impersonate users).');
  }
}

// verify rows on the cluster: namespace, Role and RoleBinding as src/desired.ts says (only the
// fields that grant access are compared; labels are bookkeeping), and the full access matrix.
import { initCommandLine } from '../resume-command.js';
import { roleBindingName } from '../desired.js';
import type { KubeApi, KubeObject } from '../kube/api.js';
import { fail, failFromError, pass, type CheckRow } from './row.js';
import type { VerifyContext } from './context.js';
import { ownedByUs, roleBindingOps, roleOps } from '../kube/objects.js';
import { findings, type ReconcileOps } from '../kube/reconcile.js';
import { takeoverFix, whose, type RbacKind } from '../kube/takeover.js';
import { accessMatrix, accessTable, caseLabel, missingRulesYaml, runAccessChecks, subjectGroups } from '../kube/access.js';
import { bindingLine, extraAccessError, extraLines, findExtraAccess, hasExtra, listBindings, unknownBindingsLine } from '../kube/extra-access.js';

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
 * a found one init will not change (never a takeover), so the fix and the code are init's refusal's own. */
async function drifted(vc: VerifyContext, kind: RbacKind, ops: ReconcileOps, current: KubeObject, found: string[]): Promise<{ why: string; fix: string; code?: 'TAKEOVER_REFUSED' }> {
  const id = kind === 'Role' ? 'k8s-role' : 'role-binding';
  if (ownedByUs(vc.ctx, ops.label, vc.ctx.previousOutput(id)?.created, current)) {
    return { why: '', fix: `Put it back (this project created it): ${restore(vc, id)}` };
  }
  return { why: `; not created by this project (it ${whose(current)}), so init will not change it`, fix: await takeoverFix(kind, vc.ctx.inputs, vc.ctx.commandLine, found), code: 'TAKEOVER_REFUSED' };
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
      return fail('k8s-role', `Role ${k8sRole} differs from the EksPodOperator rules: ${diff.join('; ')}${d.why}`, d.fix, d.code ? { code: d.code } : {});
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
      return fail('role-binding', `RoleBinding ${name} is not Role ${k8sRole} → User ${k8sUser}: ${diff.join('; ')}${d.why}`, d.fix, d.code ? { code: d.code } : {});
    }
    return pass('role-binding', `${name} binds Role ${k8sRole} to User ${k8sUser}`);
  } catch (err) {
    return failFromError('role-binding', err, 'Check that the identity you run verify with may read RoleBindings.');
  }
}

/** Every verb EksPodOperator needs allowed, and nothing else (access-check's matrix and rule,
 * src/kube/extra-access.ts): more fails the row unless init recorded --allow-extra-access (or it
 * is given now), and then the row passes and names what was accepted. */
export async function checkAccessMatrix(vc: VerifyContext): Promise<CheckRow> {
  const { k8sUser, namespace, k8sRole } = vc.ctx.inputs;
  try {
    const groups = subjectGroups(vc.mappingGroups);
    // The bindings do not depend on the answers: listed while the questions are asked.
    const listing = listBindings(kubeOf(vc), vc.ctx.inputs, groups);
    listing.catch(() => undefined);
    const { method, rows, fallbackReason, groupsIgnored } = await runAccessChecks(kubeOf(vc), k8sUser, accessMatrix(vc.ctx.inputs), groups);
    const extra = await findExtraAccess(kubeOf(vc), vc.ctx.inputs, rows, groups, listing);
    const missing = rows.filter((r) => r.expect === 'allowed' && !r.ok);
    const needed = rows.filter((r) => r.expect === 'allowed').length;
    const data = {
      method,
      rows: rows.map((r) => ({ verb: r.verb, resource: r.resource, subresource: r.subresource, namespace: r.namespace, expect: r.expect, actual: r.actual, ok: r.ok })),
      extraBindings: extra.bindings.map(bindingLine),
      ...(extra.bindingsUnknown ? { bindingsUnknown: extra.bindingsUnknown } : {}),
      ...(hasExtra(extra) && vc.ctx.inputs.allowExtraAccess ? { acceptedByFlag: '--allow-extra-access' } : {}),
    };
    const subject = `as User ${k8sUser} in groups ${groups.join(', ')}`;
    const how = `${method} ${subject}${fallbackReason ? ` (SubjectAccessReview not allowed: ${fallbackReason}${groupsIgnored ? '; impersonation asked without the groups' : ''})` : ''}`;
    const unknown = unknownBindingsLine(extra);
    const unknownNote = unknown ? [unknown] : [];
    if (missing.length) {
      const also = hasExtra(extra) ? `; may also do more (${extraLines(extra).join('; ')})` : '';
      return fail(
        'access-matrix',
        `User ${k8sUser}: missing ${missing.map(caseLabel).join(', ')}${also} (${how})`,
        `Add to Role ${k8sRole} in ${namespace}:\n${missingRulesYaml(missing)}\nor run: ${restore(vc, 'k8s-role')}`,
        { lines: accessTable(rows), data, code: 'RBAC_PERMISSIONS_MISSING' },
      );
    }
    if (hasExtra(extra) && !vc.ctx.inputs.allowExtraAccess) {
      // init's refusal, word for word: its first line is the detail, the evidence lines go under it.
      const e = extraAccessError(vc.ctx.inputs, extra, vc.ctx.commandLine);
      const [head = '', ...evidence] = e.message.split('\n');
      return fail('access-matrix', `${head.replace(/:$/, '')} (${how})`, e.hint ?? '', { lines: [...evidence.map((l) => l.trim()), ...accessTable(rows)], data, code: e.code });
    }
    if (hasExtra(extra)) {
      return pass('access-matrix', `User ${k8sUser}: ${needed} needed permissions allowed; more accepted with --allow-extra-access (${how})`, {
        notes: [...extraLines(extra).map((l) => `accepted (--allow-extra-access): ${l}`), ...unknownNote],
        lines: accessTable(rows),
        data,
      });
    }
    return pass('access-matrix', `User ${k8sUser}: ${needed} needed permissions allowed, ${rows.length - needed} others denied (${how})`, { data, ...(unknownNote.length ? { notes: unknownNote } : {}) });
  } catch (err) {
    return failFromError('access-matrix', err, 'The identity you run verify with needs to create SubjectAccessReviews (or impersonate users).');
  }
}

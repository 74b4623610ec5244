// Stage 10: prove the whole chain from the cluster's side (seed: one `kubectl auth can-i create pods
// --as`): every verb EksPodOperator needs must be allowed for the Kubernetes user in the namespace,
// and the grants it must not have (pods elsewhere, secrets, cluster-scoped objects) must be denied.
// Read-only, so there is no check(): it runs every time and prints its table.
import type { Stage } from '../engine/stage.js';
import { roleBindingName } from '../desired.js';
import { StageFailedError } from '../errors.js';
import { accessMatrix, accessTable, caseLabel, missingRulesYaml, resourceLabel, runAccessChecks } from '../kube/access.js';

export const accessCheckStage: Stage<'access-check'> = {
  id: 'access-check',
  title: 'Check what the Kubernetes user may do',
  needs: ['role-binding', 'verify-mapping'],
  inputs: ['clusterName', 'namespace', 'k8sRole', 'k8sUser'],

  async run(ctx) {
    const { k8sUser, k8sRole, namespace } = ctx.inputs;
    const cases = accessMatrix(ctx.inputs);
    ctx.progress(`asking the API server ${cases.length} access questions about User ${k8sUser}`);
    const { method, rows, fallbackReason } = await runAccessChecks(ctx.kube(), k8sUser, cases);
    const missing = rows.filter((r) => r.expect === 'allowed' && !r.ok);
    const granted = rows.filter((r) => r.expect === 'denied' && !r.ok);
    // Quiet when everything matches (the stage's one line says so); the table when something
    // does not, or with --verbose.
    if (missing.length || granted.length || ctx.flags.verbose) {
      ctx.io.info(
        method === 'SubjectAccessReview'
          ? `Access of User ${k8sUser}, checked with SubjectAccessReview (kubectl auth can-i --as ${k8sUser}):`
          : `Access of User ${k8sUser}, checked with SelfSubjectAccessReview impersonating ${k8sUser} (we may not create SubjectAccessReviews: ${fallbackReason}):`,
      );
      // Only the rows that differ unless --verbose: short enough to read, narrow enough for 60 columns.
      const shown = ctx.flags.verbose ? rows : rows.filter((r) => !r.ok);
      if (shown.length < rows.length) ctx.io.info(`  (${shown.length} of ${rows.length} answers differ from what is expected; --verbose shows all)`);
      for (const line of accessTable(shown)) ctx.io.info(`  ${line}`);
    }

    const warnings = granted.map(
      (r) =>
        `User ${k8sUser} may ${caseLabel(r)}, which EksPodOperator does not need${r.reason ? ` (${r.reason})` : ''}: find the binding that grants it and narrow it.`,
    );
    if (missing.length) {
      for (const w of warnings) ctx.io.warn(w);
      const positives = rows.filter((r) => r.expect === 'allowed').length;
      const none =
        missing.length === positives
          ? `\nNone of them is allowed: check that RoleBinding ${roleBindingName(k8sRole)} binds User ${k8sUser} (apiGroup rbac.authorization.k8s.io) to Role ${k8sRole}, and that the identity mapping's username is ${k8sUser}.`
          : '';
      throw new StageFailedError(
        `User ${k8sUser} is missing ${missing.length} permission${missing.length > 1 ? 's' : ''} EksPodOperator needs: ${missing.map((m) => `${m.verb} ${resourceLabel(m)}`).join(', ')} in namespace ${namespace}.`,
        `Add to the rules of Role ${k8sRole} in namespace ${namespace}:\n${missingRulesYaml(missing)}\n` +
          `or run \`astro-remote-kpo init --from k8s-role\` to restore the Role.${none}`,
      );
    }
    const allowed = rows.filter((r) => r.actual === 'allowed').length;
    return {
      outputs: { method, allowed, denied: rows.length - allowed, warnings },
      // One short line (it must fit a 60-column terminal): the method is in the outputs.
      summary: `all ${rows.filter((r) => r.expect === 'allowed').length} needed permissions allowed, ${rows.filter((r) => r.expect === 'denied' && r.ok).length} others denied${ctx.flags.verbose ? '' : ' (--verbose: table)'}`,
      ...(warnings.length ? { warnings } : {}),
    };
  },

  async plan(ctx) {
    const cases = accessMatrix(ctx.inputs);
    const positives = cases.filter((c) => c.expect === 'allowed').length;
    const details = cases.map((c) => `${c.expect === 'allowed' ? 'allowed' : 'denied '}  ${caseLabel(c)}`).join('\n');
    return {
      items: [
        {
          action: `check with SubjectAccessReview that User ${ctx.inputs.k8sUser} has the ${positives} permissions EksPodOperator needs and not the ${cases.length - positives} it must not have`,
          details,
        },
      ],
    };
  },
};

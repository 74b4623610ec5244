// Stage 10: prove the whole chain from the cluster's side (seed: one `kubectl auth can-i create pods
// --as`): every verb EksPodOperator needs must be allowed for the Kubernetes user in the namespace,
// and nothing else: the grants it must not have (pods elsewhere, secrets, cluster-scoped objects)
// must be denied, and no RoleBinding or ClusterRoleBinding may give the user more than the needed
// set (src/kube/extra-access.ts, the rule verify applies too). More fails the stage unless
// --allow-extra-access says it is wanted; then it is reported. With --pod-policy-arn it also proves
// that the user may run a pod as the pods' ServiceAccount with no RBAC beyond the Role: RBAC alone
// cannot say so (no verb covers "use a ServiceAccount"), so a pod naming it is created with
// dryRun=All as the user, through the real admission chain, and nothing is stored. Read-only, so
// there is no check(): it runs every time and prints its table.
import { defineStage } from '../engine/stage.js';
import { roleBindingName } from '../desired.js';
import { KpoError } from '../errors.js';
import { accessMatrix, accessTable, caseLabel, missingRulesYaml, resourceLabel, runAccessChecks, subjectGroups } from '../kube/access.js';
import { bindingLine, extraAccessError, extraLines, findExtraAccess, hasExtra, listBindings, rowsByReason, unknownBindingsLine } from '../kube/extra-access.js';
import { proveServiceAccountUsable } from '../kube/service-account.js';

export const accessCheckStage = defineStage({
  id: 'access-check',
  title: 'Check what the Kubernetes user may do',
  // (Ordering: it asks once the binding, the mapping and the pods' ServiceAccount are in place.)
  // k8s-role: the Role as its check read it, handed on.
  needs: ['role-binding', 'verify-mapping', 'pod-service-account', 'k8s-role'],
  // profile, region, clusterName: the cluster it asks; podPolicyArns, podServiceAccount: the pods'.
  inputs: ['profile', 'region', 'clusterName', 'namespace', 'k8sRole', 'k8sUser', 'allowExtraAccess', 'podPolicyArns', 'podServiceAccount'],
  services: ['kube', 'commandLine'],
  flags: ['verbose'],

  async run(ctx) {
    const { k8sUser, k8sRole, namespace } = ctx.inputs;
    const cases = accessMatrix(ctx.inputs);
    const pods = ctx.inputs.podPolicyArns.length > 0;
    ctx.progress(
      `asking the API server ${cases.length} access questions about User ${k8sUser}, listing the bindings that name it` +
        (pods ? `, and whether it may run a pod as ServiceAccount ${ctx.inputs.podServiceAccount} (dry run)` : ''),
    );
    const groups = subjectGroups();
    // None of these depends on another's answer, so they go out together: the questions, the
    // bindings (listed, their roles read) and the ServiceAccount's dry run. (A refusal of the dry
    // run waits: missing RBAC, below, explains it first.)
    const listing = listBindings(ctx.kube(), ctx.inputs, groups, ctx.handoff('access-check')?.role);
    listing.catch(() => undefined);
    const proving = pods
      ? proveServiceAccountUsable(ctx.kube(), k8sUser, namespace, ctx.inputs.podServiceAccount).then((ok) => ({ ok }), (err: unknown) => ({ err }))
      : Promise.resolve(undefined);
    const { method, rows, fallbackReason } = await runAccessChecks(ctx.kube(), k8sUser, cases, groups);
    const missing = rows.filter((r) => r.expect === 'allowed' && !r.ok);
    const granted = rows.filter((r) => r.expect === 'denied' && !r.ok);
    const [extra, proof] = await Promise.all([findExtraAccess(ctx.kube(), ctx.inputs, rows, groups, listing), proving]);
    const sa = proof && 'ok' in proof ? proof.ok : undefined;
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

    // One line per reason the API server gave (usually one per binding), not one per question.
    const warnings = [
      ...rowsByReason(granted).map((g) => `User ${k8sUser} may ${g.rows.map(caseLabel).join(', ')}, which EksPodOperator does not need${g.reason ? ` (${g.reason})` : ''}.`),
      ...extra.bindings.map((b) => `User ${k8sUser} may do more than EksPodOperator needs: ${bindingLine(b)}.`),
      ...(extra.bindingsUnknown ? [`${unknownBindingsLine(extra)!}.`] : []),
      ...(sa?.note ? [`ServiceAccount ${ctx.inputs.podServiceAccount}: ${sa.note}.`] : []),
    ];
    if (missing.length) {
      for (const w of warnings) ctx.io.warn(w);
      const positives = rows.filter((r) => r.expect === 'allowed').length;
      const none =
        missing.length === positives
          ? `\nNone of them is allowed: check that RoleBinding ${roleBindingName(k8sRole)} binds User ${k8sUser} (apiGroup rbac.authorization.k8s.io) to Role ${k8sRole}, and that the identity mapping's username is ${k8sUser}.`
          : '';
      throw new KpoError(
        'RBAC_PERMISSIONS_MISSING',
        `User ${k8sUser} is missing ${missing.length} permission${missing.length > 1 ? 's' : ''} EksPodOperator needs: ${missing.map((m) => `${m.verb} ${resourceLabel(m)}`).join(', ')} in namespace ${namespace}.`,
        `Add to the rules of Role ${k8sRole} in namespace ${namespace}:\n${missingRulesYaml(missing)}\n` +
          `or run \`astro-remote-kpo init --from k8s-role\` to restore the Role.${none}`,
      );
    }
    if (proof && 'err' in proof) throw proof.err;
    // Nothing else, unless the user said more is wanted (recorded; shown by summary and status).
    if (hasExtra(extra) && !ctx.inputs.allowExtraAccess) throw extraAccessError(ctx.inputs, extra, ctx.commandLine);
    const allowed = rows.filter((r) => r.actual === 'allowed').length;
    const needed = rows.filter((r) => r.expect === 'allowed').length;
    // One short line (it must fit a 60-column terminal): the method is in the outputs, what was
    // accepted in the warnings printed above it.
    const summary = hasExtra(extra)
      ? `all ${needed} needed permissions allowed; more accepted (--allow-extra-access)`
      : `all ${needed} needed permissions allowed, ${rows.length - needed} others denied${ctx.flags.verbose ? '' : ' (--verbose: table)'}`;
    const acceptedExtra = extraLines(extra);
    const serviceAccountCheck = sa ? { serviceAccountCheck: { serviceAccount: ctx.inputs.podServiceAccount, as: sa.as, ...(sa.note ? { note: sa.note } : {}) } } : {};
    return {
      outputs: { method, allowed, denied: rows.length - allowed, warnings, ...(acceptedExtra.length ? { acceptedExtra } : {}), ...serviceAccountCheck },
      summary: sa ? `${summary}; may run pods as ServiceAccount ${ctx.inputs.podServiceAccount}` : summary,
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
          action:
            `check with SubjectAccessReview that User ${ctx.inputs.k8sUser} has the ${positives} permissions EksPodOperator needs and not the ${cases.length - positives} it must not have, ` +
            `and that no RoleBinding or ClusterRoleBinding gives it more (${ctx.inputs.allowExtraAccess ? 'more is reported, accepted with --allow-extra-access' : 'more fails the stage'})`,
          details,
        },
        ...(ctx.inputs.podPolicyArns.length
          ? [{ action: `check that User ${ctx.inputs.k8sUser} may run a pod as ServiceAccount ${ctx.inputs.podServiceAccount} without more RBAC: a pod naming it, created with dryRun=All as the user (the admission chain runs; nothing is stored)` }]
          : []),
      ],
    };
  },
});

// The task pods' ServiceAccount: read, written and compared like the Role and RoleBinding
// (reconcile.ts), on the one field init owns, the eks.amazonaws.com/role-arn annotation: IRSA
// wants it naming the pods' role, EKS Pod Identity wants none (its association is the link). A
// ServiceAccount this project did not create that differs (no annotation, another role) is never
// changed: init stops, names it, gives the fix. And the proof the access check makes: a pod naming
// the ServiceAccount, created with dryRun=All as the mapped user, passes the real admission chain.
import { ROLE_ARN_ANNOTATION, intentName, serviceAccountObject } from '../desired.js';
import { KpoError } from '../errors.js';
import type { CommandLine } from './takeover.js';
import { whose } from './takeover.js';
import type { Inputs, PodIdentityMode } from '../types.js';
import type { KubeApi, KubeObject } from './api.js';
import { KubeRequestError } from './errors.js';
import type { ReconcileOps } from './reconcile.js';

type Target = Pick<Inputs, 'namespace' | 'podServiceAccount'> & Partial<Pick<Inputs, 'workloadIdentities'>>;

/** What the annotation must be: the role's ARN for IRSA, absent for EKS Pod Identity. */
export function wantedAnnotation(mode: PodIdentityMode | undefined, roleArn: string | undefined): string | undefined {
  return mode === 'irsa' ? roleArn : undefined;
}

/** "annotation eks.amazonaws.com/role-arn is X, not Y" and the like; empty when it is as wanted. */
export function annotationFindings(current: KubeObject, want: string | undefined): string[] {
  const have = current.metadata?.annotations?.[ROLE_ARN_ANNOTATION];
  if (have === want) return [];
  if (want === undefined) return [`annotation ${ROLE_ARN_ANNOTATION} is ${have} (EKS Pod Identity needs none: the association names the role)`];
  return [have === undefined ? `annotation ${ROLE_ARN_ANNOTATION} is missing (IRSA needs it: ${want})` : `annotation ${ROLE_ARN_ANNOTATION} is ${have}, not ${want}`];
}

export function serviceAccountOps(kube: () => KubeApi, inputs: Target, want: string | undefined, projectId?: string): ReconcileOps {
  const { namespace, podServiceAccount: name } = inputs;
  const desired: KubeObject = serviceAccountObject(inputs, projectId, want);
  return {
    label: intentName.serviceAccount(namespace, name),
    desired,
    read: () => kube().readServiceAccount(namespace, name),
    create: (body, opts) => kube().createServiceAccount(namespace, body, opts),
    replace: (body, opts) => kube().replaceServiceAccount(namespace, name, body, opts),
    // As a change (what an update of ours would do); the refusal words it as a finding.
    diff: (current) => {
      const have = current.metadata?.annotations?.[ROLE_ARN_ANNOTATION];
      if (have === want) return [];
      return [want === undefined ? `annotation ${ROLE_ARN_ANNOTATION} removed (was ${have})` : `annotation ${ROLE_ARN_ANNOTATION} set to ${want}${have ? ` (was ${have})` : ''}`];
    },
    // Only our annotation changes; every other label and annotation stays as it is.
    merge: (current) => {
      const annotations = { ...(current.metadata?.annotations ?? {}) };
      if (want === undefined) delete annotations[ROLE_ARN_ANNOTATION];
      else annotations[ROLE_ARN_ANNOTATION] = want;
      return { ...current, metadata: { ...current.metadata, annotations } };
    },
  };
}

/** init's refusal for a ServiceAccount it did not create that differs (TAKEOVER_REFUSED, as for RBAC). */
export function serviceAccountRefusal(inputs: Target, commandLine: CommandLine, current: KubeObject, want: string | undefined): KpoError {
  const { namespace, podServiceAccount: name } = inputs;
  const found = annotationFindings(current, want);
  const alt = `${name}-2`.slice(0, 253);
  const edit =
    want === undefined
      ? `kubectl -n ${namespace} annotate serviceaccount ${name} ${ROLE_ARN_ANNOTATION}-`
      : `kubectl -n ${namespace} annotate --overwrite serviceaccount ${name} ${ROLE_ARN_ANNOTATION}=${want}`;
  return new KpoError(
    'TAKEOVER_REFUSED',
    `ServiceAccount ${name} in namespace ${namespace} exists, ${whose(current)}, and differs from what init would make: ${found.join('; ')}. ` +
      'init does not change what this project did not create: nothing was changed.',
    `Either let init make its own: pick a ServiceAccount name not in use in namespace ${namespace}, e.g.\n  ${commandLine({ podServiceAccount: alt })}\n` +
      `or, if ServiceAccount ${name} is meant for the task pods and nothing else relies on it, change it yourself, then run init again:\n  ${edit}`,
  );
}

/** The pod the access check creates with dryRun=All: it names the ServiceAccount and nothing else
 * that admission could object to. Nothing is stored. */
export function probePod(namespace: string, serviceAccount: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'astro-remote-kpo-sa-check', namespace },
    spec: { serviceAccountName: serviceAccount, restartPolicy: 'Never', containers: [{ name: 'check', image: 'public.ecr.aws/docker/library/busybox:1.36' }] },
  };
}

export interface ServiceAccountProof {
  /** Who the dry run ran as: the user (impersonated), or the caller when we may not impersonate. */
  as: 'user' | 'caller';
  note?: string;
}

/**
 * Creates the probe pod with dryRun=All as `user`: RBAC for the user and the whole admission chain
 * (the ServiceAccount admission plugin looks the ServiceAccount up) run as for a real create, and
 * nothing is stored. If we may not impersonate, the same dry run goes as the caller (admission is
 * the same; the user's RBAC is the access matrix's). Throws POD_SERVICE_ACCOUNT_REFUSED with the
 * server's own message when the pod would be refused.
 */
export async function proveServiceAccountUsable(kube: KubeApi, user: string, namespace: string, serviceAccount: string): Promise<ServiceAccountProof> {
  const pod = probePod(namespace, serviceAccount);
  const refused = (err: KubeRequestError, as: string) =>
    new KpoError(
      'POD_SERVICE_ACCOUNT_REFUSED',
      `The API server would not let ${as} run a pod as ServiceAccount ${serviceAccount} in namespace ${namespace} (dry run, nothing created): ${err.serverMessage ?? err.message}`,
      `If the ServiceAccount is missing, put it back: astro-remote-kpo init --from pod-service-account. Otherwise an admission policy of the cluster refuses the pod: read its message above.`,
      { cause: err },
    );
  try {
    await kube.dryRunPod(namespace, pod, user);
    return { as: 'user' };
  } catch (err) {
    if (!(err instanceof KubeRequestError) || err.status !== 403) throw err;
    // Only a refused impersonation is about us: any other 403 is the pod's (RBAC or admission).
    if (err.detailsKind !== 'users' && !/cannot impersonate/i.test(err.serverMessage ?? '')) throw refused(err, `User ${user}`);
    try {
      await kube.dryRunPod(namespace, pod);
    } catch (again) {
      if (again instanceof KubeRequestError && again.status === 403) throw refused(again, `the caller (we may not impersonate User ${user})`);
      throw again;
    }
    return { as: 'caller', note: `we may not impersonate User ${user} (${err.serverMessage ?? err.message}): the dry run went as the caller; the user's own RBAC is the access matrix's` };
  }
}

// The one place that says what the tool builds. Stages apply these objects, the dry-run plan
// prints them, project-files writes them to k8s/, and verify compares against them, so the
// manifests in the user's project are always exactly what was applied.
import { createHash } from 'node:crypto';
import type { Inputs } from './types.js';
// The SDK's partition() alone, not the rest of @aws-sdk/core (scripts/sdk-partition.mjs): this
// module is loaded for validation, before any SDK client.
import { partition } from '#aws-sdk-partition';

export const MANAGED_BY = 'astro-remote-kpo';
export const MANAGED_LABELS = { 'app.kubernetes.io/managed-by': MANAGED_BY } as const;
/** The marker label's key and value, as init checks it and destroy reports it. */
export const MARKER_LABEL = Object.entries(MANAGED_LABELS)[0]!;
export const IAM_TAGS = [{ Key: 'managed-by', Value: MANAGED_BY }] as const;
/** Which project created it (state.json's projectId): the annotation on Kubernetes objects and the
 * tag on AWS resources that init CREATES, never on what it finds. Another project that finds the
 * object sees a different id and records it as found. */
export const PROJECT_KEY = 'astro-remote-kpo/project-id';

/** A project's *use mark* on a shared object (src/use-marks.ts): one annotation or tag per project
 * that uses it. The name fits an annotation (≤ 63 after the `/`) and an IAM or EKS tag key (≤ 128):
 * project ids are UUIDs. */
export const USE_PREFIX = `${MANAGED_BY}/used-by-`;
export function useKey(projectId: string): string {
  return `${USE_PREFIX}${projectId}`;
}
/** A short fingerprint of a project's workload identities (sha256 of the sorted list). */
export function identityFingerprint(workloadIdentities: readonly string[]): string {
  return createHash('sha256').update([...new Set(workloadIdentities)].sort().join('\n'), 'utf8').digest('hex').slice(0, 12);
}

/** The mark's value: the day the project started using the object (for whoever reads it) and the
 * fingerprint of its workload identities, by which a destroy without state, given the same
 * --workload-identity values, knows the mark for its own project's. */
export function useValue(workloadIdentities: readonly string[], since = new Date().toISOString().slice(0, 10)): string {
  return `${since} wi:${identityFingerprint(workloadIdentities)}`;
}

/** What a create call carries: the creation marker (our managed-by plus the project's id) and the
 * creator's own use mark, in the same call, so nothing exists unmarked "for a moment". */
function creationKeys(projectId: string | undefined, workloadIdentities: readonly string[]): Record<string, string> {
  return projectId ? { [PROJECT_KEY]: projectId, [useKey(projectId)]: useValue(workloadIdentities) } : {};
}

/** The creation marker on a Kubernetes object: our label; the project id and use mark as annotations. */
export function creationMetadata(projectId: string | undefined, workloadIdentities: readonly string[] = []): { labels: Record<string, string>; annotations?: Record<string, string> } {
  return { labels: { ...MANAGED_LABELS }, ...(projectId ? { annotations: creationKeys(projectId, workloadIdentities) } : {}) };
}

/** The creation marker as AWS tags (IAM role, EKS access entry). */
export function creationTags(projectId: string | undefined, workloadIdentities: readonly string[] = []): Record<string, string> {
  return { [IAM_TAGS[0].Key]: MANAGED_BY, ...creationKeys(projectId, workloadIdentities) };
}

/**
 * Proof that THIS project created an object state has no record of: our creation marker (the
 * label or tag) with our project id next to it; or our marker with no other project's id while our
 * write-ahead intent for it stands (a run killed after the create, before its answer). One rule
 * for every kind: the caller reads `marked` (is our label/tag there) and the id next to it.
 */
export function provenOurs(marked: boolean, markedId: string | undefined, projectId: string | undefined, intended: boolean): boolean {
  if (!marked) return false;
  if (projectId !== undefined && markedId === projectId) return true;
  return intended && (markedId === undefined || markedId === projectId);
}

/** The write-ahead intents' names (engine/state.ts `intents`): init records them right before a
 * create, and destroy matches the one for the object it is looking at, never another's. */
export const intentName = {
  cluster: (clusterName: string, region: string) => `EKS cluster ${clusterName} in ${region}`,
  iamRole: (roleName: string) => `IAM role ${roleName}`,
  mapping: (kind: 'access-entry' | 'aws-auth', principalArn: string, username: string) =>
    kind === 'access-entry' ? `access entry ${principalArn}` : `aws-auth entry ${principalArn} → ${username}`,
  /** A principal about to be added to the trust policy of a role init did not create. */
  trustPrincipal: (roleName: string, principal: string) => `trust principal ${principal} on IAM role ${roleName}`,
  /** Our inline policy about to be put on a role init did not create. */
  inlinePolicy: (roleName: string, policy: string) => `inline policy ${policy} on IAM role ${roleName}`,
  /** A managed policy about to be attached to a pods' role init did not create. */
  attachedPolicy: (roleName: string, policyArn: string) => `policy ${policyArn} attached to IAM role ${roleName}`,
  oidcProvider: (arn: string) => `IAM OIDC provider ${arn}`,
  podIdentityAssociation: (clusterName: string, namespace: string, serviceAccount: string) => `EKS Pod Identity association ${namespace}/${serviceAccount} on cluster ${clusterName}`,
  /** The ServiceAccount's create (the label its reconcile ops carry, as for the other objects). */
  serviceAccount: (namespace: string, name: string) => `ServiceAccount ${name} in namespace ${namespace}`,
};

/** The annotation IRSA reads (the EKS Pod Identity webhook's): which role the ServiceAccount's pods assume. */
export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';

/** The seed's three managed policies, kept only for `--permissions seed`. */
export const SEED_POLICY_NAMES = [
  'AmazonEKSWorkerNodePolicy',
  'AmazonEKS_CNI_Policy',
  'AmazonEC2ContainerRegistryReadOnly',
] as const;

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** What EksPodOperator needs in its namespace (cncf.kubernetes provider RBAC docs). */
export const KPO_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
];

/** The AWS partition of a region (the ARN's second field: aws, aws-cn, aws-us-gov, aws-iso-b,
 * aws-eusc, …), from the AWS SDK's own partition table, the one its endpoint rules use. Validation
 * and every ARN the tool builds use this one function. A region no partition claims is `aws`, as
 * the SDK has it. */
export function partitionOf(region: string): string {
  return partition(region).name;
}

/** The DNS suffix of the region's partition (amazonaws.com, amazonaws.com.cn, c2s.ic.gov, …), from
 * the same table: the hosts the tool names itself (the STS host of an EKS token) use it. */
export function dnsSuffixOf(region: string): string {
  return partition(region).dnsSuffix;
}

export function roleBindingName(k8sRole: string): string {
  // "astro-remote-kpo-role" -> "astro-remote-kpo-rolebinding", the seed's name.
  return k8sRole.endsWith('-role') ? `${k8sRole}binding` : `${k8sRole}-rolebinding`;
}

export function inlinePolicyName(iamRole: string): string {
  return `${iamRole}-eks-describe`;
}

export function clusterArn(inputs: Pick<Inputs, 'region' | 'clusterName'>, accountId: string): string {
  return `arn:${partitionOf(inputs.region)}:eks:${inputs.region}:${accountId}:cluster/${inputs.clusterName}`;
}

export function seedPolicyArns(region: string): string[] {
  return SEED_POLICY_NAMES.map((n) => `arn:${partitionOf(region)}:iam::aws:policy/${n}`);
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Array<Record<string, unknown>>;
}

/** Trust policy: only the Deployments' workload identities may assume the role. */
export function trustPolicy(workloadIdentities: readonly string[]): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: [...workloadIdentities] }, Action: 'sts:AssumeRole' }],
  };
}

/** Permissions for `--permissions scoped`: the EKS token needs none, DescribeCluster is all. */
export function permissionsPolicy(inputs: Pick<Inputs, 'region' | 'clusterName'>, accountId: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: clusterArn(inputs, accountId) }],
  };
}

/** The builders below take the whole inputs at run time: the use mark needs the workload identities. */
type WithIdentities = Partial<Pick<Inputs, 'workloadIdentities'>>;

export function namespaceObject(inputs: Pick<Inputs, 'namespace'> & WithIdentities, projectId?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: inputs.namespace, ...creationMetadata(projectId, inputs.workloadIdentities) },
  };
}

export function roleObject(inputs: Pick<Inputs, 'namespace' | 'k8sRole'> & WithIdentities, projectId?: string) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: inputs.k8sRole, namespace: inputs.namespace, ...creationMetadata(projectId, inputs.workloadIdentities) },
    rules: KPO_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
  };
}

export function roleBindingObject(inputs: Pick<Inputs, 'namespace' | 'k8sRole' | 'k8sUser'> & WithIdentities, projectId?: string) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: roleBindingName(inputs.k8sRole), namespace: inputs.namespace, ...creationMetadata(projectId, inputs.workloadIdentities) },
    subjects: [{ kind: 'User', name: inputs.k8sUser, apiGroup: 'rbac.authorization.k8s.io' }],
    roleRef: { kind: 'Role', name: inputs.k8sRole, apiGroup: 'rbac.authorization.k8s.io' },
  };
}

/** The task pods' ServiceAccount; `roleArn` (IRSA) is its eks.amazonaws.com/role-arn annotation. */
export function serviceAccountObject(inputs: Pick<Inputs, 'namespace' | 'podServiceAccount'> & WithIdentities, projectId?: string, roleArn?: string) {
  const marker = creationMetadata(projectId, inputs.workloadIdentities);
  const annotations = { ...(marker.annotations ?? {}), ...(roleArn ? { [ROLE_ARN_ANNOTATION]: roleArn } : {}) };
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: inputs.podServiceAccount, namespace: inputs.namespace, labels: marker.labels, ...(Object.keys(annotations).length ? { annotations } : {}) },
  };
}

/** aws-auth and access entries need the role ARN without its IAM path. */
export function roleArnWithoutPath(roleArn: string): string {
  const m = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : roleArn;
}

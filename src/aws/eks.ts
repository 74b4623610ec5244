// EKS lookups shared by the cluster, identity-mapping and verify-mapping stages. Only SDK types are
// imported at the top; the client module loads on first use.
import type { AccessEntry, Cluster, EKSClient } from '@aws-sdk/client-eks';
import { creationTags } from '../desired.js';
import { KpoError } from '../errors.js';
import type { ClusterAuthMode, StageOutputs } from '../types.js';
import { endpointAccessOf } from './endpoint-access.js';
import { awsErrorCode, unlessNotFound } from './errors.js';
import { allItems } from './pages.js';
import { retryIamPropagation, type RetryDeps } from './retry.js';
import { sdk as awsSdk } from './clients.js';

const eksSdk = awsSdk.eks;

/** Bounded wait for a new cluster: EKS usually needs 10-15 minutes. */
export const CLUSTER_ACTIVE_MAX_WAIT_S = 30 * 60;

export async function describeCluster(eks: EKSClient, name: string): Promise<Cluster | undefined> {
  const { DescribeClusterCommand } = await eksSdk();
  return (await unlessNotFound(eks.send(new DescribeClusterCommand({ name }))))?.cluster;
}

/** accessConfig.authenticationMode; absent means CONFIG_MAP (older clusters and moto report none). */
export function authModeOf(cluster: Cluster): ClusterAuthMode {
  const m = cluster.accessConfig?.authenticationMode;
  return m === 'API' || m === 'API_AND_CONFIG_MAP' || m === 'CONFIG_MAP' ? m : 'CONFIG_MAP';
}

export function clusterOutputs(cluster: Cluster, createdByUs: boolean): StageOutputs['cluster'] {
  return {
    clusterArn: cluster.arn ?? '',
    endpoint: cluster.endpoint ?? '',
    certificateAuthority: cluster.certificateAuthority?.data ?? '',
    authenticationMode: authModeOf(cluster),
    createdByUs,
    endpointAccess: endpointAccessOf(cluster),
    // What the pods' identity is decided from (pod-identity stage): read here, not asked again.
    ...(cluster.identity?.oidc?.issuer ? { oidcIssuer: cluster.identity.oidc.issuer } : {}),
    ...(cluster.computeConfig?.enabled === true ? { autoMode: true } : {}),
  };
}

/** States that turn ACTIVE by themselves: worth waiting for. */
export const TRANSITIONAL_STATES = new Set(['CREATING', 'UPDATING', 'PENDING']);

export async function waitClusterActive(eks: EKSClient, name: string, signal?: AbortSignal, maxWaitTime = CLUSTER_ACTIVE_MAX_WAIT_S): Promise<Cluster> {
  const { waitUntilClusterActive } = await eksSdk();
  let last: Cluster | undefined;
  try {
    const r = await waitUntilClusterActive({ client: eks, maxWaitTime, minDelay: 5, maxDelay: 30, ...(signal ? { abortSignal: signal } : {}) }, { name });
    // On success the waiter's `reason` is the DescribeCluster answer that said ACTIVE: use it
    // rather than asking again (one round trip less on the critical path).
    last = (r.reason as { cluster?: Cluster } | undefined)?.cluster;
  } catch (err) {
    if (signal?.aborted) throw err;
    const reason = (err as { state?: string; reason?: unknown }).state ?? (err instanceof Error ? err.message : String(err));
    throw new KpoError(
      'CLUSTER_NOT_ACTIVE',
      `EKS cluster ${name} did not become ACTIVE (${reason}).`,
      `Look at the cluster in the EKS console or with \`aws eks describe-cluster --name ${name}\`, then run this command again.`,
      { cause: err },
    );
  }
  const c = last?.status === 'ACTIVE' ? last : await describeCluster(eks, name);
  if (!c) throw new KpoError('CLUSTER_DISAPPEARED', `EKS cluster ${name} disappeared while waiting for it to become ACTIVE.`);
  return c;
}

export async function describeAccessEntry(eks: EKSClient, clusterName: string, principalArn: string): Promise<AccessEntry | undefined> {
  const { DescribeAccessEntryCommand } = await eksSdk();
  return (await unlessNotFound(eks.send(new DescribeAccessEntryCommand({ clusterName, principalArn }))))?.accessEntry;
}

/** The access policies associated with an access entry (ARNs; the scope is in the description).
 * An entry that went away meanwhile grants nothing: []. */
export async function listAssociatedPolicies(eks: EKSClient, clusterName: string, principalArn: string): Promise<string[]> {
  const { paginateListAssociatedAccessPolicies } = await eksSdk();
  const pages = paginateListAssociatedAccessPolicies({ client: eks }, { clusterName, principalArn });
  const all = await unlessNotFound(
    allItems(`eks:ListAssociatedAccessPolicies on EKS cluster ${clusterName} (access entry ${principalArn})`, pages, (p) => p.associatedAccessPolicies, (p) => p.nextToken),
  );
  return (all ?? []).flatMap((p) => {
    if (!p.policyArn) return [];
    const scope = p.accessScope?.type === 'namespace' ? ` (namespaces ${(p.accessScope.namespaces ?? []).join(', ')})` : ' (cluster-wide)';
    return [`${p.policyArn}${scope}`];
  });
}

export interface CreateEntryHooks {
  progress: (text: string) => void;
  debug: (text: string) => void;
  signal?: AbortSignal;
  retryDeps?: RetryDeps;
  /** This project's id, tagged on the entry it creates (with its use mark for these identities). */
  projectId?: string;
  workloadIdentities?: readonly string[];
  /** Awaited right before CreateAccessEntry: the write-ahead intent. */
  beforeCreate?: () => Promise<void>;
}

/** CreateAccessEntry (STANDARD, with our tag). Returns undefined when someone else created it first. */
export async function createAccessEntry(
  eks: EKSClient,
  clusterName: string,
  principalArn: string,
  username: string,
  hooks: CreateEntryHooks,
): Promise<AccessEntry | undefined> {
  const { CreateAccessEntryCommand } = await eksSdk();
  await hooks.beforeCreate?.();
  try {
    const r = await retryIamPropagation(
      () =>
        eks.send(
          new CreateAccessEntryCommand({ clusterName, principalArn, username, type: 'STANDARD', tags: creationTags(hooks.projectId, hooks.workloadIdentities) }),
        ),
      {
        // A role created seconds ago may not be visible to EKS yet.
        afterCreate: false,
        progress: hooks.progress,
        debug: hooks.debug,
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        ...(hooks.retryDeps ? { deps: hooks.retryDeps } : {}),
      },
    );
    return r.accessEntry;
  } catch (err) {
    if (awsErrorCode(err) === 'ResourceInUse') return undefined;
    throw err;
  }
}

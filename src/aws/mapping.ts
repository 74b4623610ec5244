// Which identity mapping a cluster gets, and the access-entry side of it. aws-auth editing lives
// in src/kube/aws-auth.ts.
import type { AccessEntry, EKSClient } from '@aws-sdk/client-eks';
import { KpoError } from '../errors.js';
import type { ConfigMapObject } from '../kube/api.js';
import { together } from '../together.js';
import type { AuthModeFlag, ClusterAuthMode } from '../types.js';
import { createAccessEntry, describeAccessEntry, listAssociatedPolicies, type CreateEntryHooks } from './eks.js';
import { describeAwsError, isUnimplemented } from './errors.js';

export type MappingKind = 'access-entry' | 'aws-auth';

/** --auth-mode auto follows the cluster: API / API_AND_CONFIG_MAP → access entry, CONFIG_MAP → aws-auth.
 * An explicit choice the cluster would ignore is an error, not a silent no-op. */
export function resolveMappingKind(flag: AuthModeFlag, cluster: ClusterAuthMode, clusterName: string): MappingKind {
  const kind: MappingKind = flag === 'auto' ? (cluster === 'CONFIG_MAP' ? 'aws-auth' : 'access-entry') : flag;
  if (kind === 'access-entry' && cluster === 'CONFIG_MAP') {
    throw new KpoError(
      'AUTH_MODE_MISMATCH',
      `--auth-mode access-entry: cluster ${clusterName} uses authentication mode CONFIG_MAP, which ignores access entries.`,
      `Use --auth-mode aws-auth (or auto), or enable access entries first: aws eks update-cluster-config --name ${clusterName} --access-config authenticationMode=API_AND_CONFIG_MAP`,
    );
  }
  if (kind === 'aws-auth' && cluster === 'API') {
    throw new KpoError(
      'AUTH_MODE_MISMATCH',
      `--auth-mode aws-auth: cluster ${clusterName} uses authentication mode API, which ignores the aws-auth ConfigMap.`,
      'Use --auth-mode access-entry (or auto).',
    );
  }
  return kind;
}

/** What an entry grants on top of its user: Kubernetes groups and associated EKS access policies
 * (empty when nothing); `policiesUnknown`: why the policies could not be listed (an emulator
 * without the API). */
export interface EntryGrants {
  groups: string[];
  policies: string[];
  policiesUnknown?: string;
}
/** 'present': the entry maps the role to our username. 'other-username' carries the entry's
 * grants too, so a refusal names everything at once. */
export type EntryStatus =
  | ({ state: 'present' } & EntryGrants)
  | { state: 'absent' }
  | ({ state: 'other-username'; username: string | undefined } & EntryGrants);

/** An access entry as read (undefined: there is none) with the access policies associated with it. */
export interface EntryRead {
  entry: AccessEntry | undefined;
  policies: string[];
  policiesUnknown?: string;
}

/** The mapping as the identity-mapping stage read it: the access entry, or aws-auth (undefined
 * inside: no such ConfigMap). What it hands to verify-mapping when it found it as wanted. */
export type MappingRead =
  | { kind: 'access-entry'; principalArn: string; read: EntryRead }
  | { kind: 'aws-auth'; principalArn: string; configMap: ConfigMapObject | undefined };

async function policiesOf(eks: EKSClient, clusterName: string, principalArn: string): Promise<Omit<EntryRead, 'entry'>> {
  try {
    return { policies: await listAssociatedPolicies(eks, clusterName, principalArn) };
  } catch (err) {
    if (!isUnimplemented(err)) throw err;
    return { policies: [], policiesUnknown: describeAwsError(err) };
  }
}

/** The entry and its access policies in one round trip: the two reads do not depend on each other
 * (for a missing entry the list answers ResourceNotFound, read as none). */
export async function readAccessEntry(eks: EKSClient, clusterName: string, principalArn: string): Promise<EntryRead> {
  const [entry, grants] = await together([describeAccessEntry(eks, clusterName, principalArn), policiesOf(eks, clusterName, principalArn)]);
  return { entry, ...grants };
}

/** What a read says about our mapping to `username`. */
export function entryStatus(r: EntryRead, username: string): EntryStatus {
  const e = r.entry;
  if (!e) return { state: 'absent' };
  const grants: EntryGrants = { groups: [...(e.kubernetesGroups ?? [])], policies: r.policies, ...(r.policiesUnknown ? { policiesUnknown: r.policiesUnknown } : {}) };
  return e.username === username ? { state: 'present', ...grants } : { state: 'other-username', username: e.username, ...grants };
}

/** The warning when the access policies of our entry could not be listed. */
export function policiesUnknownWarning(principalArn: string, username: string, why: string): string {
  return `Could not list the EKS access policies of the access entry for ${principalArn} (${why}): not checked that it grants no more than user ${username}.`;
}

/** "groups system:masters and access policy arn:…/AmazonEKSClusterAdminPolicy (cluster-wide)". */
export function describeGrants(groups: readonly string[], policies: readonly string[] = []): string {
  const parts = [
    ...(groups.length ? [`Kubernetes group${groups.length > 1 ? 's' : ''} ${groups.join(', ')}`] : []),
    ...(policies.length ? [`EKS access polic${policies.length > 1 ? 'ies' : 'y'} ${policies.join(', ')}`] : []),
  ];
  return parts.join(' and ');
}

/**
 * The mapping for our role grants more than the user: whatever those groups or policies allow
 * (system:masters, AmazonEKSClusterAdminPolicy: the whole cluster, secrets included) would pass
 * every check of the user's own Role. Refused, never adopted.
 */
export function grantsMoreError(where: string, principalArn: string, username: string, grants: string, fix: string): KpoError {
  return new KpoError(
    'MAPPING_GRANTS_MORE',
    `${where} maps ${principalArn} to user ${username}, but also grants it ${grants}, so the role may do whatever that grants ` +
      `(system:masters or AmazonEKSClusterAdminPolicy: the whole cluster, secrets included), not only what the Role bound to ${username} allows. Nothing was changed.`,
    `${fix}; or pick another --iam-role, so this tool makes a mapping that grants only the user.`,
  );
}

/** How to take an access entry's groups and policies away: one step each. */
function grantFixes(clusterName: string, principalArn: string, s: Pick<EntryGrants, 'groups' | 'policies'>): string[] {
  return [
    ...(s.groups.length ? [`remove the Kubernetes groups from the access entry (EKS console: cluster ${clusterName} → Access → IAM access entries → ${principalArn} → Edit)`] : []),
    ...s.policies.map((p) => `aws eks disassociate-access-policy --cluster-name ${clusterName} --principal-arn ${principalArn} --policy-arn ${p.replace(/ \(.*\)$/, '')}`),
  ];
}

export function accessEntryGrantsMore(clusterName: string, principalArn: string, username: string, s: Pick<EntryGrants, 'groups' | 'policies'>): KpoError {
  return grantsMoreError(`The EKS access entry on cluster ${clusterName}`, principalArn, username, describeGrants(s.groups, s.policies), `Take them away: ${grantFixes(clusterName, principalArn, s).join('; ')}`);
}

/**
 * The access entry for our role names another username: refused, saying everything at once (the
 * username and whatever groups and policies it grants). --k8s-user alone fixes it only when the
 * entry grants nothing more; otherwise the fix is every change that leaves exactly our user.
 */
export function usernameConflict(clusterName: string, principalArn: string, existing: { username: string | undefined } & EntryGrants, wanted: string): KpoError {
  const grants = describeGrants(existing.groups, existing.policies);
  const unknown = existing.policiesUnknown ? ` (its access policies could not be listed: ${existing.policiesUnknown})` : '';
  const update = `aws eks update-access-entry --cluster-name ${clusterName} --principal-arn ${principalArn} --username ${wanted}`;
  const steps = [update, ...grantFixes(clusterName, principalArn, existing)];
  const lead = grants ? 'Change the entry yourself' : `Use --k8s-user ${existing.username ?? '<that username>'} to keep it, or change the entry yourself`;
  return new KpoError(
    'MAPPING_OTHER_USER',
    `Cluster ${clusterName} already has an access entry for ${principalArn} with username ${JSON.stringify(existing.username ?? '(none)')}${grants ? ` and ${grants}` : ''}, not ${JSON.stringify(wanted)} alone${unknown}. Nothing was changed.`,
    `${lead} if nothing else relies on it: ${steps.join('; ')}; or pick another --iam-role, so this tool makes an entry of its own.`,
  );
}

/**
 * Creates the entry unless it is there; refuses to change another username. `seen`: the entry as
 * the stage's check() just read it (not read again; a create it makes stale fails with
 * ResourceInUse, and the entry is read back). Says whether it created it, and the entry as created
 * or found.
 */
export async function ensureAccessEntry(
  eks: EKSClient,
  clusterName: string,
  principalArn: string,
  username: string,
  hooks: CreateEntryHooks,
  seen?: EntryRead,
): Promise<{ created: boolean; entry: AccessEntry | undefined }> {
  const read = seen ?? (await readAccessEntry(eks, clusterName, principalArn));
  const before = entryStatus(read, username);
  if (before.state === 'present') {
    if (before.groups.length || before.policies.length) throw accessEntryGrantsMore(clusterName, principalArn, username, before);
    return { created: false, entry: read.entry };
  }
  if (before.state === 'other-username') throw usernameConflict(clusterName, principalArn, before, username);
  const created = await createAccessEntry(eks, clusterName, principalArn, username, hooks);
  if (created) {
    if (created.username !== undefined && created.username !== username) {
      throw usernameConflict(clusterName, principalArn, { username: created.username, groups: [...(created.kubernetesGroups ?? [])], policies: [] }, username);
    }
    return { created: true, entry: created };
  }
  // Someone else created it in between: accept it only if it says the same thing.
  const again = await readAccessEntry(eks, clusterName, principalArn);
  const after = entryStatus(again, username);
  if (after.state === 'other-username') throw usernameConflict(clusterName, principalArn, after, username);
  if (after.state === 'absent') throw new KpoError('MAPPING_MISSING', `CreateAccessEntry for ${principalArn} reported it exists, but it cannot be read back.`);
  if (after.groups.length || after.policies.length) throw accessEntryGrantsMore(clusterName, principalArn, username, after);
  return { created: false, entry: again.entry };
}

// Which identity mapping a cluster gets, and the access-entry side of it. aws-auth editing lives
// in src/kube/aws-auth.ts.
import type { EKSClient } from '@aws-sdk/client-eks';
import { StageFailedError } from '../errors.js';
import type { AuthModeFlag, ClusterAuthMode } from '../types.js';
import { createAccessEntry, describeAccessEntry, type CreateEntryHooks } from './eks.js';

export type MappingKind = 'access-entry' | 'aws-auth';

/** --auth-mode auto follows the cluster: API / API_AND_CONFIG_MAP → access entry, CONFIG_MAP → aws-auth.
 * An explicit choice the cluster would ignore is an error, not a silent no-op. */
export function resolveMappingKind(flag: AuthModeFlag, cluster: ClusterAuthMode, clusterName: string): MappingKind {
  const kind: MappingKind = flag === 'auto' ? (cluster === 'CONFIG_MAP' ? 'aws-auth' : 'access-entry') : flag;
  if (kind === 'access-entry' && cluster === 'CONFIG_MAP') {
    throw new StageFailedError(
      `--auth-mode access-entry: cluster ${clusterName} uses authentication mode CONFIG_MAP, which ignores access entries.`,
      `Use --auth-mode aws-auth (or auto), or enable access entries first: aws eks update-cluster-config --name ${clusterName} --access-config authenticationMode=API_AND_CONFIG_MAP`,
    );
  }
  if (kind === 'aws-auth' && cluster === 'API') {
    throw new StageFailedError(
      `--auth-mode aws-auth: cluster ${clusterName} uses authentication mode API, which ignores the aws-auth ConfigMap.`,
      'Use --auth-mode access-entry (or auto).',
    );
  }
  return kind;
}

export type EntryStatus = { state: 'present' } | { state: 'absent' } | { state: 'other-username'; username: string | undefined };

export async function accessEntryStatus(eks: EKSClient, clusterName: string, principalArn: string, username: string): Promise<EntryStatus> {
  const e = await describeAccessEntry(eks, clusterName, principalArn);
  if (!e) return { state: 'absent' };
  return e.username === username ? { state: 'present' } : { state: 'other-username', username: e.username };
}

export function usernameConflict(clusterName: string, principalArn: string, existing: string | undefined, wanted: string): StageFailedError {
  return new StageFailedError(
    `Cluster ${clusterName} already has an access entry for ${principalArn} with username ${JSON.stringify(existing ?? '(none)')}, not ${JSON.stringify(wanted)}. Nothing was changed.`,
    `Use --k8s-user ${existing ?? '<that username>'} to keep it, or change the entry yourself (aws eks update-access-entry --cluster-name ${clusterName} --principal-arn ${principalArn} --username ${wanted}) if nothing else relies on it.`,
  );
}

/** Creates the entry unless it is there; refuses to change another username. Returns whether it created it. */
export async function ensureAccessEntry(
  eks: EKSClient,
  clusterName: string,
  principalArn: string,
  username: string,
  hooks: CreateEntryHooks,
): Promise<boolean> {
  const before = await accessEntryStatus(eks, clusterName, principalArn, username);
  if (before.state === 'present') return false;
  if (before.state === 'other-username') throw usernameConflict(clusterName, principalArn, before.username, username);
  const created = await createAccessEntry(eks, clusterName, principalArn, username, hooks);
  if (created) {
    if (created.username !== undefined && created.username !== username) throw usernameConflict(clusterName, principalArn, created.username, username);
    return true;
  }
  // Someone else created it in between: accept it only if it says the same thing.
  const after = await accessEntryStatus(eks, clusterName, principalArn, username);
  if (after.state === 'other-username') throw usernameConflict(clusterName, principalArn, after.username, username);
  if (after.state === 'absent') throw new StageFailedError(`CreateAccessEntry for ${principalArn} reported it exists, but it cannot be read back.`);
  return false;
}

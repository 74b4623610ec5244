// destroy's identity-mapping item: our EKS access entry (recorded in state, or tagged
// managed-by=astro-remote-kpo) or our kube-system/aws-auth entry (recorded in state only: entries
// carry no label). The aws-auth removal keeps every other entry byte-for-byte, backup first.
import path from 'node:path';
import { intentName, MANAGED_BY } from '../desired.js';
import type { State } from '../engine/state.js';
import type { StageContext } from '../engine/stage.js';
import type { KubeApi } from '../kube/api.js';
import type { ClusterAuthMode } from '../types.js';
import { gone, intendedIn, ownership, readMarker, type DestroyItem } from './items.js';
import { AWS_AUTH } from '../kube/aws-auth.js';
import { describeChange, findOurEntries, removeAwsAuthMapping } from '../kube/aws-auth-remove.js';
import { resolveMappingKind } from '../aws/mapping.js';
import { describeAccessEntry } from '../aws/eks.js';
import { callAws, isAwsNotFound } from '../aws/errors.js';
import { sdk as awsSdk } from '../aws/clients.js';

export interface MappingTarget {
  /** The role ARN without its path, as the mapping names it. */
  principalArn: string;
  clusterMode: ClusterAuthMode;
  kube?: KubeApi;
}

async function accessEntryItem(ctx: StageContext, t: MappingTarget, recorded: boolean | undefined, state: State | undefined): Promise<DestroyItem> {
  const { clusterName } = ctx.inputs;
  const name = `EKS access entry ${t.principalArn} on cluster ${clusterName}`;
  const eks = await ctx.aws.eks();
  const entry = await callAws(`reading the access entry for ${t.principalArn}`, ctx.aws.profile, () => describeAccessEntry(eks, clusterName, t.principalArn));
  if (!entry) return gone('identity-mapping', 'access-entry', name);
  const o = ownership(recorded, readMarker(entry.tags, entry.tags, 'managed-by', MANAGED_BY, 'tag'), 'no managed-by tag', state);
  return {
    stage: 'identity-mapping',
    kind: 'access-entry',
    name: `${name} (user ${entry.username ?? '?'})`,
    decision: o.ours ? 'delete' : 'keep',
    why: o.why,
    apply: async () => {
      await callAws(`deleting the access entry for ${t.principalArn}`, ctx.aws.profile, async () => {
        try {
          const { DeleteAccessEntryCommand } = await awsSdk.eks();
          await eks.send(new DeleteAccessEntryCommand({ clusterName, principalArn: t.principalArn }));
        } catch (err) {
          if (!isAwsNotFound(err)) throw err; // already gone is fine
        }
      });
      return undefined;
    },
  };
}

async function awsAuthItem(ctx: StageContext, t: MappingTarget, recorded: boolean | undefined, state: State | undefined): Promise<DestroyItem> {
  const m = { rolearn: t.principalArn, username: ctx.inputs.k8sUser };
  const name = `kube-system/aws-auth entry ${m.rolearn} → ${m.username}`;
  const kube = t.kube;
  if (!kube) return { stage: 'identity-mapping', kind: 'aws-auth-entry', name, decision: 'keep', why: 'the Kubernetes API is not reachable' };
  const cm = await kube.readConfigMap(AWS_AUTH.namespace, AWS_AUTH.name);
  const found = cm ? findOurEntries(cm.data?.mapRoles, m) : { exact: 0, changed: [] };
  // Entries for our role that someone changed (groups added, ...) are theirs now: kept, and said so.
  const changed = found.changed.map((e) => describeChange(e, m)).join('; ');
  if (found.exact === 0) {
    if (!changed) return gone('identity-mapping', 'aws-auth-entry', name, 'no such entry (rolearn and username only)');
    return { stage: 'identity-mapping', kind: 'aws-auth-entry', name, decision: 'keep', why: `changed (kept): the entry for ${m.rolearn} now has ${changed}; someone changed it, so it is theirs. Remove it by hand if nothing needs it` };
  }
  // An entry carries no marker: only state (its record, or the intent of an interrupted run) tells.
  const o = ownership(recorded, {}, 'aws-auth entries carry no label', state, recorded === undefined && intendedIn(state, 'identity-mapping', intentName.mapping('aws-auth', m.rolearn, m.username)));
  const extra = [
    ...(found.exact > 1 ? [`only one of its ${found.exact} identical copies is removed; the others are someone else's`] : []),
    ...(changed ? [`a changed entry for the role (${changed}) is kept`] : []),
  ].join('; ');
  return {
    stage: 'identity-mapping',
    kind: 'aws-auth-entry',
    name,
    decision: o.ours ? 'delete' : 'keep',
    why: `${o.ours ? `${o.why}; every other entry is kept as is, backup first` : o.why}${extra ? `; ${extra}` : ''}`,
    apply: async () => {
      const r = await removeAwsAuthMapping(kube, m, { backupDir: path.join(ctx.stateDir, 'backups'), debug: (l) => ctx.debug(l) });
      return r.backupFile ? `backup of aws-auth before the edit: ${r.backupFile}` : undefined;
    },
  };
}

export async function discoverMapping(ctx: StageContext, t: MappingTarget, state: State | undefined): Promise<DestroyItem> {
  const rec = state?.stages['identity-mapping']?.outputs;
  let kind = rec?.kind;
  if (!kind) {
    try {
      kind = resolveMappingKind(ctx.inputs.authMode, t.clusterMode, ctx.inputs.clusterName);
    } catch (err) {
      return { stage: 'identity-mapping', kind: 'access-entry', name: 'identity mapping', decision: 'keep', why: (err as Error).message };
    }
  }
  const principal = rec?.principalArn ?? t.principalArn;
  const target = { ...t, principalArn: principal };
  const recorded = rec?.kind === kind ? rec.createdByUs : undefined;
  return kind === 'access-entry' ? accessEntryItem(ctx, target, recorded, state) : awsAuthItem(ctx, target, recorded, state);
}

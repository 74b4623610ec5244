// destroy's identity-mapping items. The EKS access entry is shared like the role: it goes when a
// project of this tool made it and no one else uses it (its use marks), and it stays while the role
// it maps stays for others (sharedDecision); otherwise only this project's use mark goes. An entry
// in kube-system/aws-auth carries no metadata, so it follows the role it exists for: on a role a
// project made, it goes exactly when that role goes; on a role a person made, when state records
// that this project wrote it (or was about to). The removal gives back the bytes init found when
// nobody changed mapRoles since (else it cuts our entry out, every other byte kept), backup first.
import path from 'node:path';
import type { AccessEntry } from '@aws-sdk/client-eks';
import { intentName } from '../desired.js';
import type { State } from '../engine/state.js';
import type { FullContext } from '../engine/stage.js';
import type { KubeApi } from '../kube/api.js';
import type { ClusterAuthMode } from '../types.js';
import { gone, intendedIn, marked, ownership, sharedDecision, useMarkItem, whoAmI, withoutStateHint, type DestroyItem, type Kept } from './items.js';
import type { RoleFate } from './discover-iam.js';
import { AWS_AUTH } from '../kube/aws-auth.js';
import { describeChange, findOurEntries, removeAwsAuthMapping, type InitEdit } from '../kube/aws-auth-remove.js';
import { resolveMappingKind } from '../aws/mapping.js';
import { describeAccessEntry } from '../aws/eks.js';
import { accessEntryUseMarks, accessEntryUses } from '../aws/use-marks.js';
import { callAws, unlessNotFound } from '../aws/errors.js';
import { sdk as awsSdk } from '../aws/clients.js';

export interface MappingTarget {
  /** The role ARN without its path, as the mapping names it. */
  principalArn: string;
  clusterMode: ClusterAuthMode;
  kube?: KubeApi;
  /** What becomes of the role the mapping exists for (undefined: there is no role). */
  role?: RoleFate;
}

const MARKER = 'the tag managed-by=astro-remote-kpo';

async function accessEntryItems(ctx: FullContext, t: MappingTarget, recorded: boolean | undefined, state: State | undefined): Promise<DestroyItem[]> {
  const { clusterName } = ctx.inputs;
  const name = `EKS access entry ${t.principalArn} on cluster ${clusterName}`;
  const eks = await ctx.aws.eks();
  const read = () => callAws(`reading the access entry for ${t.principalArn}`, ctx.aws.profile, () => describeAccessEntry(eks, clusterName, t.principalArn));
  const entry = await read();
  if (!entry) return [gone('identity-mapping', 'access-entry', name)];
  const decide = (e: AccessEntry) => {
    const uses = accessEntryUses(e);
    return sharedDecision({ marker: MARKER, uses, recorded, me: whoAmI(state, uses, ctx.inputs.workloadIdentities), alsoUsedBy: t.role?.keptFor ?? [] });
  };
  const d = decide(entry);
  const item: DestroyItem = { stage: 'identity-mapping', kind: 'access-entry', name: `${name} (user ${entry.username ?? '?'})`, decision: d.last ? 'delete' : 'keep', why: d.why };
  if (d.last) {
    item.apply = async (): Promise<undefined | Kept> => {
      // Right before deleting: still nobody else's? (IAM and EKS have no conditional deletes.)
      const now = await read();
      if (!now) return undefined;
      const again = decide(now);
      if (!again.last) return { kept: `kept after all: ${again.why}` };
      const { DeleteAccessEntryCommand } = await awsSdk.eks();
      // Already gone is fine.
      await callAws(`deleting the access entry for ${t.principalArn}`, ctx.aws.profile, () =>
        unlessNotFound(eks.send(new DeleteAccessEntryCommand({ clusterName, principalArn: t.principalArn }))),
      );
      return undefined;
    };
    return [item];
  }
  const uses = accessEntryUses(entry);
  const me = whoAmI(state, uses, ctx.inputs.workloadIdentities);
  const marks = accessEntryUseMarks(eks, entry);
  item.why += withoutStateHint(d, uses, marks, me);
  const mark = marked(uses, me) ? [useMarkItem('identity-mapping', marks, uses, me)] : [];
  return [...mark, item];
}

async function awsAuthItem(ctx: FullContext, t: MappingTarget, recorded: boolean | undefined, state: State | undefined): Promise<DestroyItem> {
  const rec = state?.stages['identity-mapping']?.outputs;
  const edit: InitEdit | undefined = rec?.kind === 'aws-auth' && rec.awsAuthEdit ? { ...rec.awsAuthEdit, ...(rec.backupFile ? { backupFile: rec.backupFile } : {}) } : undefined;
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
  // An entry carries no marker. On a role a project made it follows the role; otherwise only state
  // (its record, or the intent of a run that stopped) tells.
  const intended = recorded !== true && intendedIn(state, 'identity-mapping', intentName.mapping('aws-auth', m.rolearn, m.username));
  const o = t.role?.madeByProject
    ? t.role.last
      ? { ours: true, why: 'the role it maps was made by an astro-remote-kpo project and goes now: the entry exists for it' }
      : { ours: false, why: `kept: the role it maps stays, still used by ${t.role.keptFor.join(', ') || 'others'}` }
    : ownership(recorded, {}, 'aws-auth entries carry no label', state, intended);
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
      const r = await removeAwsAuthMapping(kube, m, { backupDir: path.join(ctx.stateDir, 'backups'), debug: (l) => ctx.debug(l), ...(edit ? { edit } : {}) });
      const how = r.how === 'restored' ? 'gave back mapRoles as init found it' : r.how === 'deleted' ? 'deleted the ConfigMap init created, empty again' : 'cut out our entry';
      return r.backupFile ? `${how}; backup of aws-auth before the edit: ${r.backupFile}` : undefined;
    },
  };
}

export async function discoverMapping(ctx: FullContext, t: MappingTarget, state: State | undefined): Promise<DestroyItem[]> {
  const rec = state?.stages['identity-mapping']?.outputs;
  let kind = rec?.kind;
  if (!kind) {
    try {
      kind = resolveMappingKind(ctx.inputs.authMode, t.clusterMode, ctx.inputs.clusterName);
    } catch (err) {
      return [{ stage: 'identity-mapping', kind: 'access-entry', name: 'identity mapping', decision: 'keep', why: (err as Error).message }];
    }
  }
  const principal = rec?.principalArn ?? t.principalArn;
  const target = { ...t, principalArn: principal };
  const recorded = rec?.kind === kind ? rec.createdByUs : undefined;
  return kind === 'access-entry' ? accessEntryItems(ctx, target, recorded, state) : [await awsAuthItem(ctx, target, recorded, state)];
}

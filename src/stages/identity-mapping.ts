// Stage 7: let the role into the cluster as Kubernetes user --k8s-user: an EKS access entry
// (clusters in API or API_AND_CONFIG_MAP mode) or an entry appended to kube-system/aws-auth
// (CONFIG_MAP). Never a duplicate, never a changed or dropped entry. Ours only when this project
// made it: recorded in state, an access entry tagged with our project id, or our write-ahead intent
// (aws-auth entries carry no tag, so a run killed right after the append knows it by the intent).
import type { MappingKind } from '../aws/mapping.js';
import path from 'node:path';
import { defineStage, type HandoffsBy, type StageContext } from '../engine/stage.js';
import type { CheckResult, PlanItem, StageOutputs } from '../types.js';
import { accessEntryGrantsMore, ensureAccessEntry, entryStatus, policiesUnknownWarning, readAccessEntry, resolveMappingKind, type MappingRead } from '../aws/mapping.js';
import { AWS_AUTH, awsAuthGrantsMore, awsAuthMappingOf, ensureAwsAuthMapping, planAwsAuthChange, renderEntry } from '../kube/aws-auth.js';
import { errorMessage } from '../errors.js';
import { callAws } from '../aws/errors.js';
import { describeAccessEntry } from '../aws/eks.js';
import { accessEntryUseMarks, accessEntryUses } from '../aws/use-marks.js';
import type { AccessEntry } from '@aws-sdk/client-eks';
import { marksToAdd } from '../use-marks.js';
import { mapRolesDigest } from '../kube/aws-auth-remove.js';
import { IAM_TAGS, intentName, MANAGED_BY, PROJECT_KEY, provenOurs } from '../desired.js';

type Out = StageOutputs['identity-mapping'];
type Ctx = StageContext<{
  inputs: 'authMode' | 'k8sUser' | 'clusterName' | 'workloadIdentities';
  services: 'aws' | 'kube' | 'owner';
  needs: 'cluster';
}>;

async function kindOf(ctx: Ctx): Promise<MappingKind> {
  return resolveMappingKind(ctx.inputs.authMode, ctx.output('cluster').authenticationMode, ctx.inputs.clusterName);
}

function out(kind: MappingKind, principalArn: string, username: string, createdByUs: boolean, backupFile?: string, awsAuthEdit?: Out['awsAuthEdit']): Out {
  return { kind, principalArn, username, createdByUs, ...(backupFile ? { backupFile } : {}), ...(awsAuthEdit ? { awsAuthEdit } : {}) };
}

/** The record of an earlier aws-auth edit by this project, while it is the same kind of mapping. */
const previousEdit = (prev: Out | undefined, kind: MappingKind) => (prev?.kind === kind ? prev.awsAuthEdit : undefined);

/** An access entry another project created (as read: `entry`): the marks this project still has
 * to add (none on a person's entry, or when ours is there). */
function entryToMark(ctx: Ctx, entry: AccessEntry | undefined): { entry: AccessEntry; marks: Record<string, string> } | undefined {
  const marks = entry ? marksToAdd(accessEntryUses(entry), ctx.owner.projectId, ctx.inputs.workloadIdentities) : {};
  return entry && Object.keys(marks).length > 0 ? { entry, marks } : undefined;
}

const intentOf = intentName.mapping;

/** Whether the mapping that is there now is this project's (see the header); `entry`: the access
 * entry as read (read now when not given). */
async function ownedByUs(ctx: Ctx, kind: MappingKind, principalArn: string, recorded: boolean | undefined, read?: { entry: AccessEntry | undefined }): Promise<boolean> {
  // A record (created or found) stands; the proofs below are for a run that never recorded one.
  if (recorded !== undefined) return recorded;
  const intended = ctx.owner.intended(intentOf(kind, principalArn, ctx.inputs.k8sUser));
  if (kind === 'aws-auth') return intended;
  const eks = await ctx.aws.eks();
  const entry = read ? read.entry : await callAws(`reading the access entry for ${principalArn}`, ctx.aws.profile, () => describeAccessEntry(eks, ctx.inputs.clusterName, principalArn));
  return provenOurs(entry?.tags?.[IAM_TAGS[0].Key] === MANAGED_BY, entry?.tags?.[PROJECT_KEY], ctx.owner.projectId, intended);
}

/** The mapping as it is: the access entry with its policies (one round trip), or aws-auth. */
async function readMapping(ctx: Ctx, kind: MappingKind, principalArn: string): Promise<MappingRead> {
  if (kind === 'aws-auth') return { kind, principalArn, configMap: await ctx.kube().readConfigMap(AWS_AUTH.namespace, AWS_AUTH.name) };
  const eks = await ctx.aws.eks();
  return { kind, principalArn, read: await callAws(`reading the access entry for ${principalArn}`, ctx.aws.profile, () => readAccessEntry(eks, ctx.inputs.clusterName, principalArn)) };
}

/** Is the mapping there? 'grants-more': there, but it also grants groups or access policies
 * (refused by run(); the error says what and how to fix). */
function presence(ctx: Ctx, m: MappingRead): 'absent' | 'present' | { grantsMore: Error } {
  const username = ctx.inputs.k8sUser;
  const { principalArn } = m;
  if (m.kind === 'access-entry') {
    const s = entryStatus(m.read, username);
    if (s.state !== 'present') return 'absent';
    if (s.policiesUnknown) ctx.io.warn(policiesUnknownWarning(principalArn, username, s.policiesUnknown));
    return s.groups.length || s.policies.length ? { grantsMore: accessEntryGrantsMore(ctx.inputs.clusterName, principalArn, username, s) } : 'present';
  }
  const s = awsAuthMappingOf(m.configMap, { rolearn: principalArn, username });
  if (s.state !== 'present') return 'absent';
  return s.groups.length ? { grantsMore: awsAuthGrantsMore({ rolearn: principalArn, username }, s.groups) } : 'present';
}

export const identityMappingStage = defineStage({
  id: 'identity-mapping',
  title: 'Identity mapping',
  // context: the Kubernetes API (aws-auth); cluster: its authentication mode.
  needs: ['role-arn', 'context', 'cluster'],
  // profile, region, clusterName: which cluster (so which mapping) its record is about; iamRole:
  // named in the plan before the role exists. workloadIdentities: their fingerprint is in this
  // project's use mark on the access entry.
  inputs: ['authMode', 'k8sUser', 'iamRole', 'clusterName', 'region', 'profile', 'workloadIdentities'],
  services: ['aws', 'kube', 'owner', 'stateDir'],

  async check(ctx): Promise<CheckResult<Out, MappingRead, HandoffsBy<'identity-mapping'>>> {
    const kind = await kindOf(ctx);
    const principalArn = ctx.output('role-arn').mappingArn;
    const seen = await readMapping(ctx, kind, principalArn);
    const p = presence(ctx, seen);
    if (p === 'absent') return { done: false, seen };
    // Not done: run() refuses it with the full message (exit 1, nothing changed).
    if (p !== 'present') return { done: false, reason: p.grantsMore.message, seen };
    const entry = seen.kind === 'access-entry' ? seen.read.entry : undefined;
    if (entryToMark(ctx, entry)) {
      return { done: false, reason: `the access entry for ${principalArn} does not carry this project's use mark (for its workload identities) yet`, seen };
    }
    const prev = ctx.tryOutput('identity-mapping');
    const where = kind === 'access-entry' ? 'access entry' : 'kube-system/aws-auth';
    const createdByUs = await ownedByUs(ctx, kind, principalArn, prev?.kind === kind ? prev.createdByUs : undefined, { entry });
    return {
      done: true,
      reason: `${where} maps ${principalArn} to ${ctx.inputs.k8sUser}${createdByUs ? '' : ' (found: not created by this project; destroy deletes it only as the last project that uses it, never when a person made it)'}`,
      outputs: out(kind, principalArn, ctx.inputs.k8sUser, createdByUs, prev?.kind === kind ? prev.backupFile : undefined, previousEdit(prev, kind)),
      // Nothing was written: this read is the read-back verify-mapping would make a moment later.
      handoff: { 'verify-mapping': { mapping: seen } },
    };
  },

  async run(ctx, seen) {
    const kind = await kindOf(ctx);
    const principalArn = ctx.output('role-arn').mappingArn;
    const username = ctx.inputs.k8sUser;
    const prev = ctx.tryOutput('identity-mapping');
    if (kind === 'access-entry') {
      const eks = await ctx.aws.eks();
      const r = await callAws(`creating the access entry for ${principalArn}`, ctx.aws.profile, () =>
        ensureAccessEntry(
          eks,
          ctx.inputs.clusterName,
          principalArn,
          username,
          {
            progress: (t) => ctx.progress(t),
            debug: (t) => ctx.debug(t),
            signal: ctx.signal,
            projectId: ctx.owner.projectId,
            workloadIdentities: ctx.inputs.workloadIdentities,
            beforeCreate: () => ctx.owner.intend(intentOf(kind, principalArn, username)),
          },
          seen?.kind === 'access-entry' ? seen.read : undefined,
        ),
      );
      // Another project's entry: mark it as used by this one too, so its destroy keeps it for us.
      const toMark = r.created ? undefined : entryToMark(ctx, r.entry);
      if (toMark) await callAws(`marking the access entry for ${principalArn} as used`, ctx.aws.profile, () => accessEntryUseMarks(eks, toMark.entry).add(toMark.marks));
      return {
        outputs: out(kind, principalArn, username, r.created || (await ownedByUs(ctx, kind, principalArn, prev?.kind === kind ? prev.createdByUs : undefined, { entry: r.entry }))),
        summary: `${r.created ? 'created' : 'found'} EKS access entry ${principalArn} → user ${username}${toMark ? ' (marked as used by this project)' : ''}`,
      };
    }
    const r = await ensureAwsAuthMapping(ctx.kube(), { rolearn: principalArn, username }, {
      backupDir: path.join(ctx.stateDir, 'backups'),
      debug: (t) => ctx.debug(t),
      beforeWrite: () => ctx.owner.intend(intentOf(kind, principalArn, username)),
      projectId: ctx.owner.projectId,
      ...(seen?.kind === 'aws-auth' ? { first: { configMap: seen.configMap } } : {}),
    });
    const backupFile = r.backupFile ?? (prev?.kind === kind ? prev.backupFile : undefined);
    const edit = r.mapRolesWritten !== undefined
      ? { before: r.mapRolesBefore == null ? null : mapRolesDigest(r.mapRolesBefore), written: mapRolesDigest(r.mapRolesWritten), createdConfigMap: r.createdConfigMap }
      : previousEdit(prev, kind);
    return {
      outputs: out(kind, principalArn, username, r.changed || (await ownedByUs(ctx, kind, principalArn, prev?.kind === kind ? prev.createdByUs : undefined)), backupFile, edit),
      summary: r.createdConfigMap
        ? `created kube-system/aws-auth with ${principalArn} → user ${username}`
        : r.changed
          ? `appended ${principalArn} → user ${username} to kube-system/aws-auth (backup ${r.backupFile})`
          : `kube-system/aws-auth already maps ${principalArn} → user ${username}`,
    };
  },

  async plan(ctx) {
    const username = ctx.inputs.k8sUser;
    const roleArn = ctx.tryOutput('role-arn');
    const principalArn = roleArn?.mappingArn ?? `<ARN of role ${ctx.inputs.iamRole}, without path>`;
    const clusterMode = ctx.tryOutput('cluster')?.authenticationMode;
    let kind: MappingKind;
    try {
      kind = clusterMode ? resolveMappingKind(ctx.inputs.authMode, clusterMode, ctx.inputs.clusterName) : ctx.inputs.authMode === 'aws-auth' ? 'aws-auth' : 'access-entry';
    } catch (err) {
      return { items: [{ action: 'map the role to a Kubernetes user', unknown: errorMessage(err) }] };
    }
    const action =
      kind === 'access-entry'
        ? `create EKS access entry ${principalArn} → user ${username} (type STANDARD) unless present`
        : `append { rolearn: ${principalArn}, username: ${username} } to kube-system/aws-auth mapRoles unless present (backup first; every existing entry kept)`;
    const item: PlanItem = { action };
    if (kind === 'aws-auth') {
      item.details = renderEntry({ rolearn: principalArn, username });
    }
    if (!roleArn || !clusterMode) return { items: [{ ...item, unknown: 'the role ARN or the cluster is not known yet' }] };
    try {
      const read = await readMapping(ctx, kind, principalArn);
      const p = presence(ctx, read);
      if (p !== 'absent' && p !== 'present') return { items: [{ ...item, unknown: `init will refuse: ${p.grantsMore.message}` }] };
      if (p === 'present') {
        const mark = read.kind === 'access-entry' ? entryToMark(ctx, read.read.entry) : undefined;
        const items: PlanItem[] = mark
          ? [{ action: `mark the access entry for ${principalArn} as used by this project (tag ${Object.keys(mark.marks).join(', ')})` }]
          : [{ action: `exists: ${kind} mapping ${principalArn} → ${username} (skip)` }];
        return { items, outputs: out(kind, principalArn, username, false) };
      }
      if (kind === 'aws-auth') {
        // Prove the edit now (refusals and malformed YAML show up in the plan), without writing.
        planAwsAuthChange(read.kind === 'aws-auth' ? read.configMap : undefined, { rolearn: principalArn, username });
      }
    } catch (err) {
      return { items: [{ ...item, unknown: errorMessage(err) }], outputs: out(kind, principalArn, username, true) };
    }
    return { items: [item], outputs: out(kind, principalArn, username, true) };
  },
});

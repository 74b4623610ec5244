// The pod-role stage's logic: look at the task pods' IAM role as it is, work out what is missing,
// apply only that. The trust is exact (one statement for the pods' ServiceAccount, pod-trust.ts):
// a role this project created is set to it; any other role whose trust differs is never changed
// (the stage refuses, naming the difference). Policies: the given ones are attached; of the rest,
// only those this project attached are ever detached. Only SDK types are imported at the top.
import type { IAMClient, Role } from '@aws-sdk/client-iam';
import { MANAGED_BY, creationTags, type PolicyDocument } from '../desired.js';
import { KpoError } from '../errors.js';
import { marksToAdd } from '../use-marks.js';
import { sdk as awsSdk } from './clients.js';
import { awsErrorCode, unlessNotFound } from './errors.js';
import { getRole, listAttachedPolicyArns } from './iam-role.js';
import { trustDifferences } from './pod-trust.js';
import { realRetryDeps, retryIamPropagation, type RetryDeps } from './retry.js';
import { decodePolicyDocument, type LoosePolicy } from './trust-policy.js';
import { roleUseMarks, roleUses } from './use-marks.js';
import { together } from '../together.js';

export interface DesiredPodRole {
  roleName: string;
  /** undefined: the feature is off (only what this project attached is detached). */
  trust?: PolicyDocument;
  /** --pod-policy-arn. */
  policies: readonly string[];
  /** What this project attached in earlier runs: the only policies it may detach. */
  attachedByUsBefore: readonly string[];
  /** Said in the role's description. */
  serviceAccount: string;
  projectId?: string;
  workloadIdentities: readonly string[];
}

export interface PodRoleInspection {
  role?: Role;
  trust?: LoosePolicy;
  attached: string[];
}

export type PodRoleAction =
  | { kind: 'create-role' }
  | { kind: 'mark-use'; tags: Record<string, string> }
  | { kind: 'set-trust'; findings: string[] }
  | { kind: 'attach'; arn: string }
  | { kind: 'detach'; arn: string };

export function describePodRoleAction(a: PodRoleAction, d: DesiredPodRole): string {
  switch (a.kind) {
    case 'create-role':
      return `create IAM role ${d.roleName} for the task pods (tag managed-by=${MANAGED_BY})`;
    case 'mark-use':
      return `mark IAM role ${d.roleName} as used by this project (tag ${Object.keys(a.tags).join(', ')})`;
    case 'set-trust':
      return `set the trust policy of ${d.roleName} (made by this project) to the pods' ServiceAccount only: ${a.findings.join('; ')}`;
    case 'attach':
      return `attach ${a.arn} to ${d.roleName}`;
    case 'detach':
      return `detach ${a.arn} from ${d.roleName} (attached by this project, no longer given)`;
  }
}

/** GetRole and its attachments, asked together (a missing role lists nothing). */
export async function inspectPodRole(iam: IAMClient, roleName: string): Promise<PodRoleInspection> {
  const [role, attached] = await together([getRole(iam, roleName), unlessNotFound(listAttachedPolicyArns(iam, roleName))]);
  if (!role) return { attached: [] };
  return { role, trust: decodePolicyDocument(role.AssumeRolePolicyDocument), attached: attached ?? [] };
}

/** The differences of a found role's trust that init may not fix: empty when it is as wanted, or
 * when the role is this project's (`ours`) and so set anew. */
export function foreignTrust(i: PodRoleInspection, d: DesiredPodRole, ours: boolean): string[] {
  if (!i.role || !d.trust || ours) return [];
  return trustDifferences(i.trust, d.trust);
}

/** What would have to change (the caller has refused a foreign trust first). Empty: as wanted. */
export function pendingPodRoleActions(i: PodRoleInspection, d: DesiredPodRole): PodRoleAction[] {
  if (!i.role) return d.trust ? [{ kind: 'create-role' }, ...d.policies.map((arn) => ({ kind: 'attach', arn }) as const)] : [];
  const out: PodRoleAction[] = [];
  if (d.trust) {
    // First: a destroy of another project deciding right now whether it is the last one out sees us.
    const tags = marksToAdd(roleUses(i.role), d.projectId, d.workloadIdentities);
    if (Object.keys(tags).length) out.push({ kind: 'mark-use', tags });
    const findings = trustDifferences(i.trust, d.trust);
    if (findings.length) out.push({ kind: 'set-trust', findings });
  }
  const attached = new Set(i.attached);
  for (const arn of d.policies) if (!attached.has(arn)) out.push({ kind: 'attach', arn });
  for (const arn of d.attachedByUsBefore) if (!d.policies.includes(arn) && attached.has(arn)) out.push({ kind: 'detach', arn });
  return out;
}

export interface PodRoleHooks {
  progress: (text: string) => void;
  debug: (text: string) => void;
  signal?: AbortSignal;
  retryDeps?: RetryDeps;
  /** Write-ahead intents, awaited right before the call. */
  beforeCreate: () => Promise<void>;
  /** Before attaching to a role this project did not create (destroy detaches it whatever happens). */
  beforeAttach: (arn: string) => Promise<void>;
  /** A role someone else created between the caller's read and CreateRole: throws when it may not
   * be used as it is (never a takeover). */
  judgeFound: (insp: PodRoleInspection) => void;
}

export interface PodRoleResult {
  role?: Role;
  created: boolean;
  applied: PodRoleAction[];
  /** Policies this project attached, over all runs, that are attached now. */
  attachedByUs: string[];
}

/** Makes the role match `d` from `insp` (the caller's read), touching nothing else. */
export async function applyPodRole(iam: IAMClient, d: DesiredPodRole, first: PodRoleInspection, hooks: PodRoleHooks): Promise<PodRoleResult> {
  const sdk = await awsSdk.iam();
  let created = false;
  const retry = <T>(fn: () => Promise<T>) =>
    retryIamPropagation(fn, { afterCreate: created, progress: hooks.progress, debug: hooks.debug, ...(hooks.signal ? { signal: hooks.signal } : {}), deps: hooks.retryDeps ?? realRetryDeps });
  let insp = first;
  if (!insp.role && d.trust) {
    await hooks.beforeCreate();
    try {
      const r = await retry(() =>
        iam.send(
          new sdk.CreateRoleCommand({
            RoleName: d.roleName,
            AssumeRolePolicyDocument: JSON.stringify(d.trust),
            Description: `Assumed by the task pods of ServiceAccount ${d.serviceAccount} (managed by ${MANAGED_BY})`,
            Tags: Object.entries(creationTags(d.projectId, d.workloadIdentities)).map(([Key, Value]) => ({ Key, Value })),
          }),
        ),
      );
      if (!r.Role) throw new KpoError('AWS_UNUSABLE_ANSWER', `CreateRole ${d.roleName} returned no role`);
      created = true;
      insp = { role: r.Role, trust: d.trust as LoosePolicy, attached: [] };
    } catch (err) {
      // Made by someone else between our read and our create: judged like any role found.
      if (awsErrorCode(err) !== 'EntityAlreadyExists') throw err;
      insp = await inspectPodRole(iam, d.roleName);
      if (!insp.role) throw err;
      hooks.judgeFound(insp);
    }
  }
  const attachedByUs = new Set(d.attachedByUsBefore.filter((a) => insp.attached.includes(a)));
  const applied: PodRoleAction[] = created ? [{ kind: 'create-role' }] : [];
  for (const a of pendingPodRoleActions(insp, d)) {
    switch (a.kind) {
      case 'create-role':
        continue;
      case 'mark-use':
        await retry(() => roleUseMarks(iam, d.roleName).add(a.tags));
        break;
      case 'set-trust':
        await retry(() => iam.send(new sdk.UpdateAssumeRolePolicyCommand({ RoleName: d.roleName, PolicyDocument: JSON.stringify(d.trust) })));
        break;
      case 'attach':
        if (!created) await hooks.beforeAttach(a.arn);
        await retry(() => iam.send(new sdk.AttachRolePolicyCommand({ RoleName: d.roleName, PolicyArn: a.arn })));
        attachedByUs.add(a.arn);
        break;
      case 'detach':
        await unlessNotFound(iam.send(new sdk.DetachRolePolicyCommand({ RoleName: d.roleName, PolicyArn: a.arn })));
        attachedByUs.delete(a.arn);
        break;
    }
    applied.push(a);
  }
  return { ...(insp.role ? { role: insp.role } : {}), created, applied, attachedByUs: [...attachedByUs] };
}

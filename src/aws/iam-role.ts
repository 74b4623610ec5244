// The iam-role stage's logic: look at the role as it is, work out what is missing, and apply
// only that. Only the SDK's types are imported at the top; the client module loads on first use.
import type { IAMClient, Role } from '@aws-sdk/client-iam';
import { KpoError } from '../errors.js';
import { IAM_TAGS, MANAGED_BY, PROJECT_KEY, creationTags, provenOurs, type PolicyDocument } from '../desired.js';
import { marksToAdd } from '../use-marks.js';
import { hasManagedTag, roleUseMarks, roleUses, tagMap } from './use-marks.js';
import { awsErrorCode, unlessNotFound } from './errors.js';
import { allItems } from './pages.js';
import { realRetryDeps, retryIamPropagation, type RetryDeps } from './retry.js';
import { ensureTrustPrincipals, type ConvergeOptions } from './trust-converge.js';
import { decodePolicyDocument, jsonEqual, removeTrustPrincipal, trustIncludes, trustWith, type LoosePolicy } from './trust-policy.js';
import { sdk as awsSdk } from './clients.js';
import { together } from '../together.js';

export interface DesiredRole {
  roleName: string;
  /** Every principal the trust policy must name (workload identities, and the caller with --local-dev). */
  principals: readonly string[];
  /** Principals an earlier run added that must go now (the caller, after --local-dev is dropped). */
  revoke?: readonly string[];
  mode: 'scoped' | 'seed';
  inlineName: string;
  inlineDoc: PolicyDocument;
  seedArns: readonly string[];
  /** Seed policies an earlier run recorded attaching: the only ones a switch to scoped may detach. */
  attachedByUsBefore: readonly string[];
  clusterName: string;
  /** This project's id: tagged on the role only when init creates it. */
  projectId?: string;
  /** The Deployments' workload identities: their fingerprint is in this project's use mark. */
  workloadIdentities: readonly string[];
}

/** What a look at a role asks: the role, our inline policy, and (when the mode or history needs
 * them) its attached managed policies. */
export interface RoleQuery {
  roleName: string;
  inlineName: string;
  attached: boolean;
}

/** A look already taken (init's confirmation), with what it asked. */
export interface RoleRead {
  query: RoleQuery;
  inspection: RoleInspection;
}

export interface RoleInspection {
  role?: Role;
  trust?: LoosePolicy;
  /** Our inline policy as it is now, if present. */
  inline?: LoosePolicy;
  /** Attached managed policy ARNs (only looked up when the mode or history needs them). */
  attached?: string[];
}

export type RoleAction =
  | { kind: 'create-role' }
  | { kind: 'mark-use'; tags: Record<string, string> }
  | { kind: 'add-principal'; principal: string }
  | { kind: 'remove-principal'; principal: string }
  | { kind: 'put-inline' }
  | { kind: 'delete-inline' }
  | { kind: 'attach'; arn: string }
  | { kind: 'detach'; arn: string };

export function describeAction(a: RoleAction, d: DesiredRole): string {
  switch (a.kind) {
    case 'create-role':
      return `create IAM role ${d.roleName} (trust: ${d.principals.join(', ')}; tag ${IAM_TAGS.map((t) => `${t.Key}=${t.Value}`).join(', ')})`;
    case 'mark-use':
      return `mark IAM role ${d.roleName} as used by this project (tag ${Object.keys(a.tags).join(', ')}: its destroy then keeps the role while others use it)`;
    case 'add-principal':
      return `add ${a.principal} to the trust policy of ${d.roleName} (other principals kept)`;
    case 'remove-principal':
      return `remove ${a.principal} from the trust policy of ${d.roleName} (added by an earlier --local-dev run)`;
    case 'put-inline':
      return `put inline policy ${d.inlineName} on ${d.roleName}`;
    case 'delete-inline':
      return `delete our inline policy ${d.inlineName} from ${d.roleName} (--permissions seed)`;
    case 'attach':
      return `attach ${a.arn} to ${d.roleName}`;
    case 'detach':
      return `detach ${a.arn} from ${d.roleName} (attached by an earlier --permissions seed run)`;
  }
}

const iamSdk = awsSdk.iam;

export async function getRole(iam: IAMClient, roleName: string): Promise<Role | undefined> {
  const { GetRoleCommand } = await iamSdk();
  return (await unlessNotFound(iam.send(new GetRoleCommand({ RoleName: roleName }))))?.Role;
}

async function getInline(iam: IAMClient, roleName: string, policyName: string): Promise<LoosePolicy | undefined> {
  const { GetRolePolicyCommand } = await iamSdk();
  const r = await unlessNotFound(iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })));
  return r && decodePolicyDocument(r.PolicyDocument);
}

/** The managed policies attached to a role (ARNs), every page. */
export async function listAttachedPolicyArns(iam: IAMClient, roleName: string): Promise<string[]> {
  const { paginateListAttachedRolePolicies } = await iamSdk();
  const pages = paginateListAttachedRolePolicies({ client: iam }, { RoleName: roleName });
  const attached = await allItems(`iam:ListAttachedRolePolicies on IAM role ${roleName}`, pages, (p) => p.AttachedPolicies, (p) => p.Marker);
  return attached.flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : []));
}

/** The names of a role's inline policies, every page. */
export async function listInlinePolicyNames(iam: IAMClient, roleName: string): Promise<string[]> {
  const { paginateListRolePolicies } = await iamSdk();
  const pages = paginateListRolePolicies({ client: iam }, { RoleName: roleName });
  return allItems(`iam:ListRolePolicies on IAM role ${roleName}`, pages, (p) => p.PolicyNames, (p) => p.Marker);
}

/** What the iam-role stage looks at for `d`: the attachments only in seed mode or when an earlier
 * run recorded attaching some (a switch to scoped detaches those). */
export function roleQuery(d: Pick<DesiredRole, 'roleName' | 'inlineName' | 'mode' | 'attachedByUsBefore'>): RoleQuery {
  return { roleName: d.roleName, inlineName: d.inlineName, attached: d.mode === 'seed' || d.attachedByUsBefore.length > 0 };
}

/** Whether a look taken with `read.query` answers `wanted`: the same role and inline policy, and
 * the attachments if wanted. */
export function readAnswers(read: RoleRead, wanted: RoleQuery): boolean {
  const q = read.query;
  return q.roleName === wanted.roleName && q.inlineName === wanted.inlineName && (q.attached || !wanted.attached);
}

/** Read-only: the role, its trust policy, our inline policy and (when asked) its attachments, in
 * one round trip: the three reads do not depend on each other (on a missing role each answers
 * NoSuchEntity, and a first run pays one extra not-found answer for a re-run's round trip). */
export async function inspectRole(iam: IAMClient, q: RoleQuery): Promise<RoleInspection> {
  const [role, inline, attached] = await together([
    getRole(iam, q.roleName),
    getInline(iam, q.roleName, q.inlineName),
    q.attached ? unlessNotFound(listAttachedPolicyArns(iam, q.roleName)) : Promise.resolve(undefined),
  ]);
  if (!role) return {};
  return { role, trust: decodePolicyDocument(role.AssumeRolePolicyDocument), inline, ...(attached ? { attached } : {}) };
}

/** What would have to change. Empty means the role is exactly as wanted. */
export function pendingActions(i: RoleInspection, d: DesiredRole): RoleAction[] {
  if (!i.role) {
    return [
      { kind: 'create-role' },
      ...(d.mode === 'scoped' ? [{ kind: 'put-inline' } as const] : d.seedArns.map((arn) => ({ kind: 'attach', arn }) as const)),
    ];
  }
  const out: RoleAction[] = [];
  // First: a destroy of another project deciding right now whether it is the last one out sees us.
  const tags = marksToAdd(roleUses(i.role), d.projectId, d.workloadIdentities);
  if (Object.keys(tags).length > 0) out.push({ kind: 'mark-use', tags });
  for (const principal of d.principals) if (!trustIncludes(i.trust, principal)) out.push({ kind: 'add-principal', principal });
  for (const principal of d.revoke ?? []) if (!d.principals.includes(principal) && trustIncludes(i.trust, principal)) out.push({ kind: 'remove-principal', principal });
  const attached = new Set(i.attached ?? []);
  if (d.mode === 'scoped') {
    if (!i.inline || !jsonEqual(i.inline, d.inlineDoc)) out.push({ kind: 'put-inline' });
    for (const arn of d.attachedByUsBefore) if (attached.has(arn)) out.push({ kind: 'detach', arn });
  } else {
    for (const arn of d.seedArns) if (!attached.has(arn)) out.push({ kind: 'attach', arn });
    if (i.inline) out.push({ kind: 'delete-inline' });
  }
  return out;
}


/** The project id a role's creation tag names, if any. */
export function projectTagOf(role: Role | undefined): string | undefined {
  return tagMap(role)[PROJECT_KEY];
}

/** Tagged at creation by project `projectId`: proof that this project created it (with the intent
 * to create it: proof unless another project's id is there). */
export function createdByProject(role: Role | undefined, projectId: string | undefined, intended = false): boolean {
  return provenOurs(hasManagedTag(role), projectTagOf(role), projectId, intended);
}

export interface ApplyHooks {
  progress: (text: string) => void;
  debug: (text: string) => void;
  signal?: AbortSignal;
  retryDeps?: RetryDeps;
  /** Write-ahead intents, awaited right before the call: CreateRole, adding principals to the
   * trust policy of a role we found, putting our inline policy where it was missing. */
  beforeCreate?: () => Promise<void>;
  beforeAddPrincipals?: (principals: readonly string[]) => Promise<void>;
  beforePutInline?: () => Promise<void>;
  /** Timing of the re-read after a trust-policy write (tests of the logic pass zero). */
  trust?: ConvergeOptions;
}

export interface ApplyResult {
  role: Role;
  created: boolean;
  applied: RoleAction[];
  /** Seed policies this run attached plus those recorded before that are still attached. */
  attachedByUs: string[];
  /** Our inline policy was absent and this run put it (on a role it created or found). */
  inlineAdded: boolean;
  /** Principals this run wrote into the trust policy (all of them when it created the role). */
  trustAdded: string[];
}

/** Makes the role match `d`, touching nothing else. Mutating calls are made only for real
 * differences. `seen`: the role as the stage's check() just looked at it (not looked at again). */
export async function applyRole(iam: IAMClient, d: DesiredRole, hooks: ApplyHooks, seen?: RoleInspection): Promise<ApplyResult> {
  const sdk = await iamSdk();
  let created = false;
  const retry = <T>(fn: () => Promise<T>) =>
    retryIamPropagation(fn, {
      afterCreate: created,
      progress: hooks.progress,
      debug: hooks.debug,
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      ...(hooks.retryDeps ? { deps: hooks.retryDeps } : {}),
    });

  let insp = seen ?? (await inspectRole(iam, roleQuery(d)));
  const applied: RoleAction[] = [];
  let trustAdded: string[] = [];
  if (!insp.role) {
    await hooks.beforeCreate?.();
    try {
      const r = await retry(() =>
        iam.send(
          new sdk.CreateRoleCommand({
            RoleName: d.roleName,
            AssumeRolePolicyDocument: JSON.stringify(trustWith(undefined, d.principals)),
            Description: `Assumed by an Astro Deployment to reach EKS cluster ${d.clusterName} (managed by ${MANAGED_BY})`,
            Tags: Object.entries(creationTags(d.projectId, d.workloadIdentities)).map(([Key, Value]) => ({ Key, Value })),
          }),
        ),
      );
      if (!r.Role) throw new KpoError('AWS_UNUSABLE_ANSWER', `CreateRole ${d.roleName} returned no role`);
      created = true;
      applied.push({ kind: 'create-role' });
      // Made trusting every wanted principal: all of them are this project's to take out again.
      trustAdded = [...d.principals];
      insp = { role: r.Role, trust: decodePolicyDocument(r.Role.AssumeRolePolicyDocument), attached: [] };
    } catch (err) {
      // Someone created it between our GetRole and CreateRole: reconcile it like any existing role.
      if (awsErrorCode(err) !== 'EntityAlreadyExists') throw err;
      insp = await inspectRole(iam, roleQuery(d));
      if (!insp.role) throw err;
    }
  }

  const role = insp.role;
  if (!role) throw new Error(`internal: IAM role ${d.roleName} not found after create`);
  const attachedByUs = new Set(d.attachedByUsBefore.filter((a) => insp.attached === undefined || insp.attached.includes(a)));
  let inlineAdded = false;
  let converged = false;
  for (const action of pendingActions(insp, d)) {
    switch (action.kind) {
      case 'create-role':
        break;
      case 'mark-use':
        await retry(() => roleUseMarks(iam, d.roleName).add(action.tags));
        break;
      case 'add-principal': {
        // Every wanted principal at once, re-read and re-applied until all are there: IAM has no
        // conditional writes, and another run may be rewriting the same policy right now. So the
        // write starts from a read of its own, never from the look that found a principal missing
        // (check()'s, or init's confirmation's, taken while the user read it): a principal someone
        // added since is kept.
        if (converged) continue;
        converged = true;
        const deps = hooks.retryDeps ?? realRetryDeps;
        const r = await ensureTrustPrincipals(
          d.roleName,
          d.principals,
          {
            read: async () => decodePolicyDocument((await getRole(iam, d.roleName))?.AssumeRolePolicyDocument),
            write: async (doc, adding) => {
              if (!created) await hooks.beforeAddPrincipals?.(adding);
              await retry(() => iam.send(new sdk.UpdateAssumeRolePolicyCommand({ RoleName: d.roleName, PolicyDocument: JSON.stringify(doc) })));
            },
            sleep: (ms) => deps.sleep(ms, hooks.signal),
            random: deps.random,
          },
          undefined,
          hooks.trust,
        );
        if (r.writes === 0) continue;
        trustAdded = [...new Set([...trustAdded, ...r.added])];
        // What a removal below starts from: the policy as it now is.
        insp = { ...insp, trust: decodePolicyDocument((await getRole(iam, d.roleName))?.AssumeRolePolicyDocument) };
        break;
      }
      case 'remove-principal': {
        if (!insp.trust) continue;
        const cut = removeTrustPrincipal(insp.trust, action.principal);
        // IAM needs a trust policy: never leave none (the workload identities keep it non-empty).
        if (!cut.changed || cut.empty) continue;
        await retry(() => iam.send(new sdk.UpdateAssumeRolePolicyCommand({ RoleName: d.roleName, PolicyDocument: JSON.stringify(cut.doc) })));
        insp = { ...insp, trust: cut.doc };
        break;
      }
      case 'put-inline':
        inlineAdded ||= !insp.inline;
        if (!insp.inline && !created) await hooks.beforePutInline?.();
        await retry(() =>
          iam.send(new sdk.PutRolePolicyCommand({ RoleName: d.roleName, PolicyName: d.inlineName, PolicyDocument: JSON.stringify(d.inlineDoc) })),
        );
        break;
      case 'delete-inline':
        await unlessNotFound(iam.send(new sdk.DeleteRolePolicyCommand({ RoleName: d.roleName, PolicyName: d.inlineName })));
        break;
      case 'attach':
        await retry(() => iam.send(new sdk.AttachRolePolicyCommand({ RoleName: d.roleName, PolicyArn: action.arn })));
        attachedByUs.add(action.arn);
        break;
      case 'detach':
        await unlessNotFound(iam.send(new sdk.DetachRolePolicyCommand({ RoleName: d.roleName, PolicyArn: action.arn })));
        attachedByUs.delete(action.arn);
        break;
    }
    applied.push(action);
  }
  return { role, created, applied, attachedByUs: [...attachedByUs], inlineAdded, trustAdded };
}

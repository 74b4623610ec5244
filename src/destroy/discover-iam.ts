// destroy's IAM items. The role is shared: it goes (every inline policy and attachment first, since
// IAM refuses to delete a role that has any) only when a project of this tool made it and no one
// else uses it — no other project's use mark, no principal in its trust policy that this project
// did not add (sharedDecision). Otherwise it stays, and only what this project added goes: its
// principals, its use mark, and on a role a person made, the inline policy and seed policies it
// put there. What this project added is what state records, plus every write-ahead intent whatever
// became of its stage (a run stopped after UpdateAssumeRolePolicy or PutRolePolicy). Without state
// nothing is edited: the role goes only as an orphan trusting nothing but the given identities.
import type { IAMClient, Role } from '@aws-sdk/client-iam';
import { intentName, inlinePolicyName } from '../desired.js';
import type { State } from '../engine/state.js';
import type { FullContext } from '../engine/stage.js';
import { gone, intendedIn, marked, sharedDecision, useMarkItem, whoAmI, withoutStateHint, type DestroyItem, type Kept, type SharedDecision } from './items.js';
import { sdk as awsSdk } from '../aws/clients.js';
import { callAws, unlessNotFound } from '../aws/errors.js';
import { getRole, listAttachedPolicyArns, listInlinePolicyNames } from '../aws/iam-role.js';
import { roleUseMarks, roleUses } from '../aws/use-marks.js';
import { decodePolicyDocument, isDeletedPrincipal, removeTrustPrincipal, trustIncludes, trustedPrincipals, type LoosePolicy } from '../aws/trust-policy.js';
import { together } from '../together.js';

const iamSdk = awsSdk.iam;
const MARKER = 'the tag managed-by=astro-remote-kpo';

async function list(iam: IAMClient, roleName: string): Promise<{ inline: string[]; attached: string[] }> {
  const [inline, attached] = await together([listInlinePolicyNames(iam, roleName), listAttachedPolicyArns(iam, roleName)]);
  return { inline, attached };
}

/** Runs one IAM call; NoSuchEntity (already gone) is fine. */
async function idempotent(ctx: FullContext, what: string, fn: () => Promise<unknown>): Promise<undefined> {
  await callAws(what, ctx.aws.profile, () => unlessNotFound(fn()));
  return undefined;
}

/** What the role's fate means for what exists for it (its mapping, RoleBinding, Role). */
export interface RoleFate {
  /** A project of this tool made it. */
  madeByProject: boolean;
  /** This destroy deletes it. */
  last: boolean;
  /** Who else still uses it (other projects, principals this project did not add). */
  keptFor: string[];
}

export interface IamDiscovery {
  items: DestroyItem[];
  /** The role's ARN when it exists (the mapping names it without the path). */
  roleArn?: string;
  /** undefined: there is no role. */
  role?: RoleFate;
}

/** The principals that are this project's in the trust policy: recorded, intended (whatever became
 * of the stage), and for a role it made before that was recorded, its workload identities. Without
 * state: the --workload-identity values given. */
function ourPrincipals(ctx: FullContext, state: State | undefined, creator: string | undefined, live: readonly string[]): string[] {
  if (!state) return [...ctx.inputs.workloadIdentities];
  const rec = state.stages['iam-role']?.outputs;
  const intended = live.filter((p) => intendedIn(state, 'iam-role', intentName.trustPrincipal(ctx.inputs.iamRole, p)));
  const made = rec?.createdByUs === true || (creator !== undefined && creator === state.projectId);
  const legacy = made ? [...(state.inputs?.workloadIdentities ?? []), ...(rec?.localDevPrincipal ? [rec.localDevPrincipal] : [])] : [];
  return [...new Set([...(rec?.trustPrincipalsAdded ?? []), ...intended, ...legacy])];
}

/** The decision for the role as it is now: read at discovery, and again right before deleting. */
function decide(ctx: FullContext, state: State | undefined, role: Role): { d: SharedDecision; trust: LoosePolicy | undefined; mine: string[]; me: string | undefined } {
  const uses = roleUses(role);
  const me = whoAmI(state, uses, ctx.inputs.workloadIdentities);
  const trust = decodePolicyDocument(role.AssumeRolePolicyDocument);
  const live = trustedPrincipals(trust);
  const mine = ourPrincipals(ctx, state, uses.creator, live);
  const foreign = live.filter((p) => !mine.includes(p) && !isDeletedPrincipal(p)).map((p) => `principal ${p} (trusted by IAM role ${ctx.inputs.iamRole}, not added by this project)`);
  const d = sharedDecision({ marker: MARKER, uses, recorded: state?.stages['iam-role']?.outputs?.createdByUs, me, alsoUsedBy: foreign });
  return { d, trust, mine, me };
}

export async function discoverIam(ctx: FullContext, state: State | undefined): Promise<IamDiscovery> {
  const sdk = await iamSdk();
  const roleName = ctx.inputs.iamRole;
  const iam = await ctx.aws.iam();
  const role = await callAws(`reading IAM role ${roleName}`, ctx.aws.profile, () => getRole(iam, roleName));
  if (!role) return { items: [gone('iam-role', 'iam-role', `IAM role ${roleName}`)] };
  const { inline, attached } = await callAws(`listing the policies of IAM role ${roleName}`, ctx.aws.profile, () => list(iam, roleName));
  const rec = state?.stages['iam-role']?.outputs;
  const { d, trust, mine, me } = decide(ctx, state, role);
  const fate: RoleFate = { madeByProject: roleUses(role).created, last: d.last, keptFor: d.ofTool ? d.others : [] };
  const deleteInline = (name: string) => () =>
    idempotent(ctx, `deleting inline policy ${name} of ${roleName}`, () => iam.send(new sdk.DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name })));
  const detach = (arn: string) => () =>
    idempotent(ctx, `detaching ${arn} from ${roleName}`, () => iam.send(new sdk.DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn })));
  const items: DestroyItem[] = [];

  if (d.last) {
    // Right before each deletion: is it still nobody else's? (A project may have started using it.)
    const guarded = (fn: () => Promise<undefined>) => async (): Promise<undefined | Kept> => {
      const now = await callAws(`reading IAM role ${roleName}`, ctx.aws.profile, () => getRole(iam, roleName));
      if (!now) return undefined;
      const again = decide(ctx, state, now).d;
      if (!again.last) return { kept: `kept after all: ${again.why}. Run destroy again to take out only what this project added` };
      return fn();
    };
    const why = `on IAM role ${roleName}, which goes (${d.why}): deleting the role needs it gone`;
    for (const name of inline) items.push({ stage: 'iam-role', kind: 'inline-policy', name: `inline policy ${name} of IAM role ${roleName}`, decision: 'delete', why, apply: guarded(deleteInline(name)) });
    for (const arn of attached) items.push({ stage: 'iam-role', kind: 'attached-policy', name: `attachment of ${arn} to IAM role ${roleName}`, decision: 'delete', why, apply: guarded(detach(arn)) });
    items.push({
      stage: 'iam-role',
      kind: 'iam-role',
      name: `IAM role ${role.Arn ?? roleName}`,
      decision: 'delete',
      why: d.why,
      apply: guarded(() => idempotent(ctx, `deleting IAM role ${roleName}`, () => iam.send(new sdk.DeleteRoleCommand({ RoleName: roleName })))),
    });
    return { items, roleArn: role.Arn, role: fate };
  }

  if (!d.ofTool) {
    // A role a person made: what this project put on it (recorded, or intended by a run that stopped).
    const ourInline = inlinePolicyName(roleName);
    if (inline.includes(ourInline)) {
      const put = rec?.inlinePolicy === ourInline || intendedIn(state, 'iam-role', intentName.inlinePolicy(roleName, ourInline));
      items.push({
        stage: 'iam-role',
        kind: 'inline-policy',
        name: `inline policy ${ourInline} of IAM role ${roleName}`,
        decision: put ? 'delete' : 'keep',
        why: put ? (rec?.inlinePolicy === ourInline ? 'recorded in state as put by init' : 'state records that init was about to put it (a run that stopped)') : 'not recorded in state as put by init',
        apply: deleteInline(ourInline),
      });
    }
    for (const arn of rec?.attachedPolicies ?? []) {
      if (attached.includes(arn)) items.push({ stage: 'iam-role', kind: 'attached-policy', name: `attachment of ${arn} to IAM role ${roleName}`, decision: 'delete', why: 'recorded in state as attached by init', apply: detach(arn) });
    }
  }
  // Without state and no mark of the given identities, nothing proves which principal is this
  // project's: nothing is edited.
  if (me !== undefined || state) items.push(...trustItems(ctx, iam, trust, mine.filter((p) => trustIncludes(trust, p))));
  const uses = roleUses(role);
  if (marked(uses, me)) items.push(useMarkItem('iam-role', roleUseMarks(iam, roleName), uses, me));
  items.push({ stage: 'iam-role', kind: 'iam-role', name: `IAM role ${role.Arn ?? roleName}`, decision: 'keep', why: d.why + withoutStateHint(d, uses, roleUseMarks(iam, roleName), me) });
  return { items, roleArn: role.Arn, role: fate };
}

/** One item per principal of this project's that the trust policy names. IAM needs at least one
 * principal: the one that would leave none stays, and says so. */
function trustItems(ctx: FullContext, iam: IAMClient, trust: LoosePolicy | undefined, ours: readonly string[]): DestroyItem[] {
  const roleName = ctx.inputs.iamRole;
  const items: DestroyItem[] = [];
  let doc = trust;
  for (const principal of ours) {
    if (!doc) break;
    const name = `${principal} in the trust policy of IAM role ${roleName}`;
    const next = removeTrustPrincipal(doc, principal);
    if (next.empty) {
      items.push({ stage: 'iam-role', kind: 'trust-principal', name, decision: 'keep', why: 'added by init, but it is the only principal left and IAM needs one (delete the role yourself if nothing uses it)' });
      continue;
    }
    doc = next.doc;
    // Applied against the policy as it is then: others may have changed it since this was read.
    const apply = async (): Promise<undefined | Kept> => {
      const sdk = await iamSdk();
      let kept: Kept | undefined;
      await idempotent(ctx, `removing ${principal} from the trust policy of ${roleName}`, async () => {
        const now = decodePolicyDocument((await getRole(iam, roleName))?.AssumeRolePolicyDocument);
        if (!now) return;
        const cut = removeTrustPrincipal(now, principal);
        if (!cut.changed) return;
        if (cut.empty) {
          kept = { kept: 'it became the only principal left meanwhile, and IAM needs one' };
          return;
        }
        await iam.send(new sdk.UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: JSON.stringify(cut.doc) }));
      });
      return kept;
    };
    items.push({ stage: 'iam-role', kind: 'trust-principal', name, decision: 'delete', why: 'added to the trust policy by this project (recorded in state, or intended by a run that stopped)', apply });
  }
  return items;
}

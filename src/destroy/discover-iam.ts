// destroy's IAM items. A role we created (state, or our managed-by tag) goes entirely: every
// inline policy, every attachment, then the role (IAM refuses to delete a role that has any).
// A role we did not create stays; only what state records we added to it goes: our inline policy,
// the seed policies we attached, and the workload identity we added to its trust policy (unless it
// is the only principal left, since IAM needs one).
import type { IAMClient } from '@aws-sdk/client-iam';
import { IAM_TAGS, inlinePolicyName } from '../desired.js';
import type { State } from '../engine/state.js';
import type { StageContext } from '../engine/stage.js';
import { gone, ownership, readMarker, type DestroyItem } from './items.js';
import { sdk as awsSdk } from '../aws/clients.js';
import { callAws, isAwsNotFound } from '../aws/errors.js';
import { getRole, tagMap } from '../aws/iam-role.js';
import { decodePolicyDocument, removeTrustPrincipal, trustIncludes } from '../aws/trust-policy.js';

const iamSdk = awsSdk.iam;

async function list(iam: IAMClient, roleName: string): Promise<{ inline: string[]; attached: string[] }> {
  const sdk = await iamSdk();
  const inline: string[] = [];
  const attached: string[] = [];
  let marker: string | undefined;
  do {
    const r = await iam.send(new sdk.ListRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) }));
    inline.push(...(r.PolicyNames ?? []));
    marker = r.IsTruncated ? r.Marker : undefined;
  } while (marker);
  do {
    const r = await iam.send(new sdk.ListAttachedRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) }));
    attached.push(...(r.AttachedPolicies ?? []).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])));
    marker = r.IsTruncated ? r.Marker : undefined;
  } while (marker);
  return { inline, attached };
}

/** Runs one IAM call; NoSuchEntity (already gone) is fine. */
async function idempotent(ctx: StageContext, what: string, fn: () => Promise<unknown>): Promise<undefined> {
  await callAws(what, ctx.aws.profile, async () => {
    try {
      await fn();
    } catch (err) {
      if (!isAwsNotFound(err)) throw err;
    }
  });
  return undefined;
}

export interface IamDiscovery {
  items: DestroyItem[];
  /** The role's ARN when it exists (the mapping names it without the path). */
  roleArn?: string;
}

export async function discoverIam(ctx: StageContext, state: State | undefined): Promise<IamDiscovery> {
  const sdk = await iamSdk();
  const roleName = ctx.inputs.iamRole;
  const iam = await ctx.aws.iam();
  const role = await callAws(`reading IAM role ${roleName}`, ctx.aws.profile, () => getRole(iam, roleName));
  if (!role) return { items: [gone('iam-role', 'iam-role', `IAM role ${roleName}`)] };
  const { inline, attached } = await callAws(`listing the policies of IAM role ${roleName}`, ctx.aws.profile, () => list(iam, roleName));
  const rec = state?.stages['iam-role']?.outputs;
  const tags = tagMap(role);
  const o = ownership(rec?.createdByUs, readMarker(tags, tags, IAM_TAGS[0].Key, IAM_TAGS[0].Value, 'tag'), 'no managed-by tag', state);
  const deleteInline = (name: string) => () =>
    idempotent(ctx, `deleting inline policy ${name} of ${roleName}`, () => iam.send(new sdk.DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name })));
  const detach = (arn: string) => () =>
    idempotent(ctx, `detaching ${arn} from ${roleName}`, () => iam.send(new sdk.DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn })));
  const items: DestroyItem[] = [];

  if (o.ours) {
    const why = `on IAM role ${roleName}, which is ours (${o.why}): deleting the role needs it gone`;
    for (const name of inline) items.push({ stage: 'iam-role', kind: 'inline-policy', name: `inline policy ${name} of IAM role ${roleName}`, decision: 'delete', why, apply: deleteInline(name) });
    for (const arn of attached) items.push({ stage: 'iam-role', kind: 'attached-policy', name: `attachment of ${arn} to IAM role ${roleName}`, decision: 'delete', why, apply: detach(arn) });
    items.push({
      stage: 'iam-role',
      kind: 'iam-role',
      name: `IAM role ${role.Arn ?? roleName}`,
      decision: 'delete',
      why: o.why,
      apply: () => idempotent(ctx, `deleting IAM role ${roleName}`, () => iam.send(new sdk.DeleteRoleCommand({ RoleName: roleName }))),
    });
    return { items, roleArn: role.Arn };
  }

  // Not our role: only what state says we added to it.
  const ourInline = inlinePolicyName(roleName);
  if (inline.includes(ourInline)) {
    const recorded = rec?.inlinePolicy === ourInline;
    items.push({
      stage: 'iam-role',
      kind: 'inline-policy',
      name: `inline policy ${ourInline} of IAM role ${roleName}`,
      decision: recorded ? 'delete' : 'keep',
      why: recorded ? 'recorded in state as put by init' : 'not recorded in state as put by init',
      apply: deleteInline(ourInline),
    });
  }
  for (const arn of rec?.attachedPolicies ?? []) {
    if (attached.includes(arn)) items.push({ stage: 'iam-role', kind: 'attached-policy', name: `attachment of ${arn} to IAM role ${roleName}`, decision: 'delete', why: 'recorded in state as attached by init', apply: detach(arn) });
  }
  items.push(...(await trustItems(ctx, iam, role.AssumeRolePolicyDocument, rec?.trustPrincipalsAdded ?? [])));
  items.push({ stage: 'iam-role', kind: 'iam-role', name: `IAM role ${role.Arn ?? roleName}`, decision: 'keep', why: o.why });
  return { items, roleArn: role.Arn };
}

/** One item per principal state says init added to the trust policy and that is still there. */
async function trustItems(ctx: StageContext, iam: IAMClient, document: string | undefined, added: string[]): Promise<DestroyItem[]> {
  if (added.length === 0) return [];
  const sdk = await iamSdk();
  const roleName = ctx.inputs.iamRole;
  const trust = decodePolicyDocument(document);
  const items: DestroyItem[] = [];
  for (const principal of added) {
    if (!trust || !trustIncludes(trust, principal)) continue; // someone took it out already
    const name = `${principal} in the trust policy of IAM role ${roleName}`;
    if (removeTrustPrincipal(trust, principal).empty) {
      items.push({ stage: 'iam-role', kind: 'trust-principal', name, decision: 'keep', why: 'added by init, but it is the only principal left and IAM needs one (delete the role yourself if nothing uses it)' });
      continue;
    }
    // Applied against the policy as it is then: others may have changed it since this was read.
    const apply = () =>
      idempotent(ctx, `removing ${principal} from the trust policy of ${roleName}`, async () => {
        const now = decodePolicyDocument((await getRole(iam, roleName))?.AssumeRolePolicyDocument);
        if (!now) return;
        const next = removeTrustPrincipal(now, principal);
        if (!next.changed || next.empty) return;
        await iam.send(new sdk.UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: JSON.stringify(next.doc) }));
      });
    items.push({ stage: 'iam-role', kind: 'trust-principal', name, decision: 'delete', why: 'recorded in state as added to the trust policy by init', apply });
  }
  return items;
}

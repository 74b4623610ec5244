// destroy's items for the task pods' own AWS identity (issue #20): the Pod Identity association,
// the pods' IAM role (with what is attached to it) and the IAM OIDC provider (the ServiceAccount
// is a Kubernetes object: discover-kube.ts). Each is shared like the rest: it goes when a project of
// this tool made it and no one else uses it (sharedDecision: use marks), read again right before
// deleting; what a person (or eksctl) made is never deleted, and on a role a person made only the
// policies this project attached go. The OIDC provider goes only when, besides, no role of the
// account trusts it any more (a scan of ListRoles, made only then: a role trusting a deleted
// provider stops working). Looked for whenever this project may have set any of it up: the feature
// is on, state or an intent says so, or the pods' role exists and carries our creation tag.
import type { Cluster, PodIdentityAssociation } from '@aws-sdk/client-eks';
import type { IAMClient, Role } from '@aws-sdk/client-iam';
import { intentName } from '../desired.js';
import type { FullContext } from '../engine/stage.js';
import type { State } from '../engine/state.js';
import { callAws, unlessNotFound } from '../aws/errors.js';
import { getRole, listAttachedPolicyArns, listInlinePolicyNames } from '../aws/iam-role.js';
import { deleteOidcProvider, getOidcProvider, providerUses, rolesTrusting, type OidcProvider } from '../aws/oidc-provider.js';
import { deleteAssociation, findAssociation } from '../aws/pod-identity.js';
import { oidcProviderArn } from '../aws/pod-trust.js';
import { associationUseMarks, associationUses, oidcProviderUseMarks, roleUseMarks, roleUses } from '../aws/use-marks.js';
import { sdk as awsSdk } from '../aws/clients.js';
import type { StageId, StageOutputs } from '../types.js';
import type { UseMarks, Uses } from '../use-marks.js';
import { gone, intendedIn, marked, sharedDecision, useMarkItem, whoAmI, withoutStateHint, type DestroyItem, type Kept, type SharedDecision } from './items.js';
import { together } from '../together.js';

const MARKER = 'the tag managed-by=astro-remote-kpo';
const POD_STAGES: readonly StageId[] = ['pod-identity', 'pod-role', 'pod-service-account'];

/** Whether state says this project may have set up something for the pods (a record or an intent). */
export function podsInState(state: State | undefined): boolean {
  if (!state) return false;
  const rec = (id: StageId) => state.stages[id]?.outputs as { enabled?: boolean; roleArn?: string; oidcProviderArn?: string; association?: unknown; created?: boolean } | undefined;
  return POD_STAGES.some((id) => (state.intents?.[id]?.length ?? 0) > 0 || rec(id)?.enabled === true || Boolean(rec(id)?.roleArn || rec(id)?.oidcProviderArn || rec(id)?.association || rec(id)?.created));
}

interface Shared<T> {
  stage: StageId;
  kind: DestroyItem['kind'];
  name: string;
  current: T;
  read: () => Promise<T | undefined>;
  uses: (t: T) => Uses;
  marks: UseMarks;
  recorded: boolean | undefined;
  alsoUsedBy?: readonly string[];
  /** Even when nobody else uses it, a reason it stays (the provider: roles still trusting it). */
  hold?: (t: T, atApply: boolean) => Promise<string | undefined>;
  /** Everything that must go before the object itself (a role's policies), as items. */
  before?: DestroyItem[];
  del: () => Promise<void>;
}

/** One shared AWS object: delete (read and judged again right before), or keep with our mark out. */
async function sharedItems<T>(ctx: FullContext, state: State | undefined, o: Shared<T>): Promise<{ items: DestroyItem[]; d: SharedDecision; deleting: boolean }> {
  const meOf = (t: T) => whoAmI(state, o.uses(t), ctx.inputs.workloadIdentities);
  const decide = (t: T) => sharedDecision({ marker: MARKER, uses: o.uses(t), recorded: o.recorded, me: meOf(t), alsoUsedBy: o.alsoUsedBy ?? [] });
  const d = decide(o.current);
  const held = d.last ? await o.hold?.(o.current, false) : undefined;
  if (d.last && !held) {
    const apply = async (): Promise<undefined | Kept> => {
      const now = await o.read();
      if (!now) return undefined;
      const again = decide(now);
      const stays = again.last ? await o.hold?.(now, true) : again.why;
      if (stays) return { kept: `kept after all: ${stays}. Run destroy again to take out only this project's mark` };
      await o.del();
      return undefined;
    };
    // What goes first (a role's policies) is judged again too: a project that started to use the
    // object meanwhile keeps it whole.
    const before = (o.before ?? []).map((i): DestroyItem => ({
      ...i,
      apply: async () => {
        const now = await o.read();
        if (now && !decide(now).last) return { kept: `kept after all: ${decide(now).why}` };
        return i.apply?.();
      },
    }));
    return { items: [...before, { stage: o.stage, kind: o.kind, name: o.name, decision: 'delete', why: d.why, apply }], d, deleting: true };
  }
  const uses = o.uses(o.current);
  const me = meOf(o.current);
  const mark = marked(uses, me) ? [useMarkItem(o.stage, o.marks, uses, me)] : [];
  const why = (held ? `${d.why}, but kept: ${held}` : d.why) + withoutStateHint(d, uses, o.marks, me);
  return { items: [...mark, { stage: o.stage, kind: o.kind, name: o.name, decision: 'keep', why }], d, deleting: false };
}

export interface PodIamDiscovery {
  /** Whether anything of the pods is looked at at all. */
  relevant: boolean;
  role: DestroyItem[];
  provider: DestroyItem[];
  /** Who else uses the pods' role: its ServiceAccount and association stay for them. */
  roleKeptFor: string[];
}

const recordOf = <K extends 'pod-identity' | 'pod-role' | 'pod-service-account'>(state: State | undefined, id: K) => state?.stages[id]?.outputs as StageOutputs[K] | undefined;

/** The pods' role and the OIDC provider. `cluster`: for the issuer (else the one state recorded). */
export async function discoverPodIam(ctx: FullContext, state: State | undefined, identity: StageOutputs['preflight'], cluster: Cluster | undefined): Promise<PodIamDiscovery> {
  const { podRole } = ctx.inputs;
  const iam = await ctx.aws.iam();
  const profile = ctx.aws.profile;
  const role = await callAws(`reading IAM role ${podRole}`, profile, () => getRole(iam, podRole));
  const relevant = ctx.inputs.podPolicyArns.length > 0 || podsInState(state) || roleUses(role).created;
  if (!relevant) return { relevant, role: [], provider: [], roleKeptFor: [] };
  const r = await roleItems(ctx, state, iam, role);
  const issuer = cluster?.identity?.oidc?.issuer;
  const arn = recordOf(state, 'pod-identity')?.oidcProviderArn ?? (issuer ? oidcProviderArn(identity.partition, identity.accountId, issuer) : undefined);
  const provider = arn ? await providerItems(ctx, state, iam, arn, r.deleting ? role?.RoleName : undefined, r.keptFor) : [];
  return { relevant, role: r.items, provider, roleKeptFor: r.keptFor };
}

async function roleItems(ctx: FullContext, state: State | undefined, iam: IAMClient, role: Role | undefined): Promise<{ items: DestroyItem[]; deleting: boolean; keptFor: string[] }> {
  const { podRole } = ctx.inputs;
  const label = `the task pods' IAM role ${podRole}`;
  if (!role) return { items: [gone('pod-role', 'iam-role', label)], deleting: false, keptFor: [] };
  const sdk = await awsSdk.iam();
  const rec = recordOf(state, 'pod-role');
  const same = rec?.roleArn === role.Arn ? rec : undefined;
  const idem = (what: string, fn: () => Promise<unknown>) => async () => void (await callAws(what, ctx.aws.profile, () => unlessNotFound(fn())));
  const detach = (arn: string) => idem(`detaching ${arn} from ${podRole}`, () => iam.send(new sdk.DetachRolePolicyCommand({ RoleName: podRole, PolicyArn: arn })));
  const [attached, inline] = await callAws(`listing the policies of IAM role ${podRole}`, ctx.aws.profile, () => together([listAttachedPolicyArns(iam, podRole), listInlinePolicyNames(iam, podRole)]));
  const goes = `on ${label}, which goes: deleting the role needs it gone`;
  const before: DestroyItem[] = [
    ...attached.map((arn): DestroyItem => ({ stage: 'pod-role', kind: 'attached-policy', name: `attachment of ${arn} to IAM role ${podRole}`, decision: 'delete', why: goes, apply: detach(arn) })),
    ...inline.map((n): DestroyItem => ({ stage: 'pod-role', kind: 'inline-policy', name: `inline policy ${n} of IAM role ${podRole}`, decision: 'delete', why: goes, apply: idem(`deleting inline policy ${n} of ${podRole}`, () => iam.send(new sdk.DeleteRolePolicyCommand({ RoleName: podRole, PolicyName: n }))) })),
  ];
  const r = await sharedItems(ctx, state, {
    stage: 'pod-role',
    kind: 'iam-role',
    name: `${label} (${role.Arn ?? ''})`,
    current: role,
    read: () => getRole(iam, podRole),
    uses: roleUses,
    marks: roleUseMarks(iam, podRole),
    recorded: same?.createdByUs,
    before,
    del: idem(`deleting IAM role ${podRole}`, () => iam.send(new sdk.DeleteRoleCommand({ RoleName: podRole }))),
  });
  if (r.deleting || r.d.ofTool) return { items: r.items, deleting: r.deleting, keptFor: r.d.others };
  // A role a person made: what this project attached (recorded, or intended by a run that stopped).
  const ours = attached.filter((arn) => (same?.attachedByUs ?? []).includes(arn) || intendedIn(state, 'pod-role', intentName.attachedPolicy(podRole, arn)));
  const mine = ours.map((arn): DestroyItem => ({ stage: 'pod-role', kind: 'attached-policy', name: `attachment of ${arn} to IAM role ${podRole}`, decision: 'delete', why: 'attached by this project (recorded in state, or intended by a run that stopped)', apply: detach(arn) }));
  return { items: [...mine, ...r.items], deleting: false, keptFor: [] };
}

async function providerItems(ctx: FullContext, state: State | undefined, iam: IAMClient, arn: string, podRoleGoing: string | undefined, roleKeptFor: readonly string[]): Promise<DestroyItem[]> {
  const label = `IAM OIDC provider ${arn}`;
  const read = () => callAws(`reading ${label}`, ctx.aws.profile, () => getOidcProvider(iam, arn));
  const current = await read();
  if (!current) return [gone('pod-identity', 'oidc-provider', label)];
  const rec = recordOf(state, 'pod-identity');
  // Without our tag it is eksctl's (withOIDC) or a person's: never ours to delete. (An intent needs
  // no reading here: the create carries our tags, so a provider a killed run made is tagged ours.)
  const recorded = rec?.oidcProviderArn === arn ? rec.oidcProviderCreatedByUs : undefined;
  const hold = async (_p: OidcProvider, atApply: boolean): Promise<string | undefined> => {
    // At apply time the pods' role is gone already; at discovery it is about to go.
    const trusting = (await callAws('listing the IAM roles that trust it', ctx.aws.profile, () => rolesTrusting(iam, arn))).filter((n) => atApply || n !== podRoleGoing);
    return trusting.length ? `IAM role${trusting.length > 1 ? 's' : ''} ${trusting.join(', ')} still trust${trusting.length > 1 ? '' : 's'} it (IRSA): they would stop working` : undefined;
  };
  const r = await sharedItems(ctx, state, {
    stage: 'pod-identity',
    kind: 'oidc-provider',
    name: label,
    current,
    read,
    uses: providerUses,
    marks: oidcProviderUseMarks(iam, arn),
    recorded,
    alsoUsedBy: roleKeptFor,
    hold,
    del: () => callAws(`deleting ${label}`, ctx.aws.profile, () => deleteOidcProvider(iam, arn)),
  });
  const eksctl = current.tags['alpha.eksctl.io/cluster-name'];
  if (!r.d.ofTool && eksctl) for (const i of r.items) if (i.decision === 'keep') i.why = `${i.why}; eksctl made it for cluster ${eksctl} (eksctl delete cluster removes it)`;
  return r.items;
}

/** The Pod Identity association of the pods' ServiceAccount, if there is one. */
export async function discoverAssociation(ctx: FullContext, state: State | undefined, roleKeptFor: readonly string[]): Promise<DestroyItem[]> {
  const { clusterName, namespace, podServiceAccount } = ctx.inputs;
  const eks = await ctx.aws.eks();
  const read = () => callAws(`reading the EKS Pod Identity association of ${namespace}/${podServiceAccount}`, ctx.aws.profile, () => findAssociation(eks, clusterName, namespace, podServiceAccount));
  const current = await read();
  const label = `EKS Pod Identity association of ${namespace}/${podServiceAccount} on cluster ${clusterName}`;
  if (!current?.associationId) return [gone('pod-service-account', 'pod-association', label)];
  const rec = recordOf(state, 'pod-service-account')?.association;
  const r = await sharedItems<PodIdentityAssociation>(ctx, state, {
    stage: 'pod-service-account',
    kind: 'pod-association',
    name: `${label} (${current.associationId} → ${current.roleArn ?? '?'})`,
    current,
    read,
    uses: associationUses,
    marks: associationUseMarks(eks, current),
    recorded: rec?.id === current.associationId ? rec.createdByUs : undefined,
    alsoUsedBy: roleKeptFor,
    del: () => callAws(`deleting EKS Pod Identity association ${current.associationId}`, ctx.aws.profile, () => deleteAssociation(eks, clusterName, current.associationId!)),
  });
  return r.items;
}

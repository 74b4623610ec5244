// The task pods' IAM role trusts exactly one thing: its ServiceAccount, through the cluster's OIDC
// issuer (IRSA) or through EKS Pod Identity. Pure: the documents init writes, and "is the trust
// exactly this?" for a role that exists (one this project did not create is never changed, so a
// difference is named, not fixed).
//
// IRSA: the EKS User Guide's form (associate-service-account-role.adoc): Federated = the IAM OIDC
// provider of the issuer, sts:AssumeRoleWithWebIdentity, StringEquals on `<issuer host+path>:sub`
// (the ServiceAccount) and `:aud` (sts.amazonaws.com, the audience the webhook's token carries).
//
// Pod Identity: the EKS User Guide's trust (pod-id-role.adoc): Service pods.eks.amazonaws.com with
// sts:AssumeRole + sts:TagSession. AWS documents no aws:SourceAccount/aws:SourceArn for this
// principal; what it documents for narrowing are the session tags EKS Pod Identity sends with the
// AssumeRole request (eks-cluster-arn, kubernetes-namespace, kubernetes-service-account, ...),
// conditioned as aws:RequestTag/<tag> in the same statement. They hold while the association keeps
// session tags (disableSessionTags false, the default, which init never changes).
import { jsonEqual, type LoosePolicy } from './trust-policy.js';
import type { PolicyDocument } from '../desired.js';
import type { PodIdentityMode } from '../types.js';

export const POD_IDENTITY_PRINCIPAL = 'pods.eks.amazonaws.com';
/** The audience of the token the EKS Pod Identity webhook projects for IRSA. */
export const IRSA_AUDIENCE = 'sts.amazonaws.com';
export const POD_IDENTITY_AGENT = 'eks-pod-identity-agent';

/** The issuer without scheme and trailing slash: the provider ARN's tail and the condition keys' head. */
export function issuerHostPath(issuer: string): string {
  return issuer.replace(/^https:\/\//, '').replace(/\/+$/, '');
}

/** arn:<partition>:iam::<account>:oidc-provider/<host+path> (eksctl's and the EKS docs' form: no port). */
export function oidcProviderArn(partition: string, accountId: string, issuer: string): string {
  return `arn:${partition}:iam::${accountId}:oidc-provider/${issuerHostPath(issuer)}`;
}

/** `system:serviceaccount:<ns>:<sa>`: the `sub` of the ServiceAccount's projected token. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

export interface PodTrustTarget {
  namespace: string;
  serviceAccount: string;
}

/** A trust policy of exactly one Allow statement whose every value must match (StringEquals). */
function oneStatement(sid: string, principal: Record<string, string>, action: string | string[], equals: Record<string, string>): PolicyDocument {
  return { Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow', Principal: principal, Action: action, Condition: { StringEquals: equals } }] };
}

export function irsaTrust(providerArn: string, issuer: string, t: PodTrustTarget): PolicyDocument {
  const host = issuerHostPath(issuer);
  return oneStatement('TaskPodsServiceAccountViaIRSA', { Federated: providerArn }, 'sts:AssumeRoleWithWebIdentity', {
    [`${host}:sub`]: serviceAccountSubject(t.namespace, t.serviceAccount),
    [`${host}:aud`]: IRSA_AUDIENCE,
  });
}

export function podIdentityTrust(clusterArn: string, t: PodTrustTarget): PolicyDocument {
  return oneStatement('AllowEksAuthToAssumeRoleForPodIdentity', { Service: POD_IDENTITY_PRINCIPAL }, ['sts:AssumeRole', 'sts:TagSession'], {
    'aws:RequestTag/eks-cluster-arn': clusterArn,
    'aws:RequestTag/kubernetes-namespace': t.namespace,
    'aws:RequestTag/kubernetes-service-account': t.serviceAccount,
  });
}

export interface PodTrustSpec extends PodTrustTarget {
  mode: PodIdentityMode;
  clusterArn: string;
  /** IRSA only. */
  issuer?: string;
  oidcProviderArn?: string;
}

export function podTrust(s: PodTrustSpec): PolicyDocument {
  if (s.mode === 'pod-identity') return podIdentityTrust(s.clusterArn, s);
  if (!s.issuer || !s.oidcProviderArn) throw new Error('internal: IRSA trust without the OIDC issuer');
  return irsaTrust(s.oidcProviderArn, s.issuer, s);
}

type Loose = Record<string, unknown>;
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const sorted = (v: unknown) => list(v).map(String).sort();

/** A statement as IAM means it: single values and one-element lists alike, order of lists and
 * keys ignored, the Sid (a label) left out. */
function normalStatement(s: Loose): Loose {
  const principal = s.Principal;
  const p = principal && typeof principal === 'object' ? Object.fromEntries(Object.entries(principal as Loose).map(([k, v]) => [k, sorted(v)])) : principal;
  const condition = s.Condition && typeof s.Condition === 'object'
    ? Object.fromEntries(Object.entries(s.Condition as Loose).map(([op, keys]) => [op, Object.fromEntries(Object.entries((keys ?? {}) as Loose).map(([k, v]) => [k, sorted(v)]))]))
    : undefined;
  return {
    Effect: s.Effect,
    ...(p !== undefined ? { Principal: p } : {}),
    ...(s.NotPrincipal !== undefined ? { NotPrincipal: s.NotPrincipal } : {}),
    ...(s.Action !== undefined ? { Action: sorted(s.Action) } : {}),
    ...(s.NotAction !== undefined ? { NotAction: sorted(s.NotAction) } : {}),
    ...(condition ? { Condition: condition } : {}),
  };
}

const statementsOf = (doc: LoosePolicy | PolicyDocument | undefined): Loose[] => list((doc as Loose | undefined)?.Statement).filter((s): s is Loose => Boolean(s) && typeof s === 'object');

/** How `current` differs from `desired`, one finding a line; empty when the trust is exactly it. */
export function trustDifferences(current: LoosePolicy | undefined, desired: PolicyDocument): string[] {
  const have = statementsOf(current).map(normalStatement);
  const want = statementsOf(desired).map(normalStatement);
  if (have.length === want.length && have.every((s, i) => jsonEqual(s, want[i]))) return [];
  if (have.length !== 1) return [`it has ${have.length} statements, not exactly one: ${JSON.stringify(have)}`];
  const [h, w] = [have[0]!, want[0]!];
  const out: string[] = [];
  for (const key of ['Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Condition'] as const) {
    if (!jsonEqual(h[key], w[key])) out.push(`${key} is ${h[key] === undefined ? 'absent' : JSON.stringify(h[key])}, not ${w[key] === undefined ? 'absent' : JSON.stringify(w[key])}`);
  }
  return out;
}

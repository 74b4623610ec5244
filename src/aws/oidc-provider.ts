// The IAM OIDC provider of the cluster's issuer, which IRSA's trust names. IAM lists providers by
// ARN only, so the provider is looked up by the ARN it must have (eksctl's CheckProviderExists
// does the same). Created with the issuer URL as DescribeCluster gives it, the audience
// sts.amazonaws.com and no ThumbprintList: IAM fetches what it needs itself, so the tool makes no
// call to the issuer. Only SDK types are imported at the top; the client module loads on first use.
import type { IAMClient } from '@aws-sdk/client-iam';
import { creationTags } from '../desired.js';
import { sdk as awsSdk } from './clients.js';
import { awsErrorCode, unlessNotFound } from './errors.js';
import { allItems } from './pages.js';
import { IRSA_AUDIENCE } from './pod-trust.js';
import { decodePolicyDocument, trustedPrincipals } from './trust-policy.js';
import { iamTagUses, tagsToMap } from './use-marks.js';
import type { Uses } from '../use-marks.js';

export interface OidcProvider {
  arn: string;
  /** As IAM returns it: without https://. */
  url: string;
  clientIds: string[];
  tags: Record<string, string>;
}

export async function getOidcProvider(iam: IAMClient, arn: string): Promise<OidcProvider | undefined> {
  const { GetOpenIDConnectProviderCommand } = await awsSdk.iam();
  const r = await unlessNotFound(iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })));
  if (!r) return undefined;
  return { arn, url: r.Url ?? '', clientIds: r.ClientIDList ?? [], tags: tagsToMap(r.Tags) };
}

/** Our creation tag on it (some project of this tool made it; eksctl's and a person's carry none). */
export function providerUses(p: OidcProvider | undefined): Uses {
  return iamTagUses(p?.tags);
}

/** IRSA tokens carry the audience sts.amazonaws.com: a provider that does not list it refuses them. */
export function acceptsIrsa(p: OidcProvider): boolean {
  return p.clientIds.includes(IRSA_AUDIENCE);
}

/** CreateOpenIDConnectProvider with our creation tags; undefined when it exists already (someone
 * else created it between our read and our create). */
export async function createOidcProvider(iam: IAMClient, issuer: string, projectId: string | undefined, workloadIdentities: readonly string[]): Promise<string | undefined> {
  const { CreateOpenIDConnectProviderCommand } = await awsSdk.iam();
  try {
    const r = await iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: issuer,
        ClientIDList: [IRSA_AUDIENCE],
        Tags: Object.entries(creationTags(projectId, workloadIdentities)).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return r.OpenIDConnectProviderArn;
  } catch (err) {
    if (awsErrorCode(err) === 'EntityAlreadyExists') return undefined;
    throw err;
  }
}

/** Idempotent (IAM's own documented behaviour; NoSuchEntity is taken as gone all the same). */
export async function deleteOidcProvider(iam: IAMClient, arn: string): Promise<void> {
  const { DeleteOpenIDConnectProviderCommand } = await awsSdk.iam();
  await unlessNotFound(iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })));
}

/** Every role of the account whose trust policy names the provider (ListRoles returns the trust
 * policies): asked only when the provider is about to be deleted, since a role that trusts it
 * stops working without it. */
export async function rolesTrusting(iam: IAMClient, providerArn: string): Promise<string[]> {
  const { paginateListRoles } = await awsSdk.iam();
  const roles = await allItems('iam:ListRoles', paginateListRoles({ client: iam }, {}), (p) => p.Roles, (p) => p.Marker);
  const trusts = (doc: string | undefined): boolean => {
    try {
      return trustedPrincipals(decodePolicyDocument(doc)).includes(providerArn);
    } catch {
      return true; // a document we cannot read may name it: the safe side
    }
  };
  return roles.filter((r) => trusts(r.AssumeRolePolicyDocument)).map((r) => r.RoleName ?? r.Arn ?? '?');
}

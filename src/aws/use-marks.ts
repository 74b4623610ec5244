// Use marks (src/use-marks.ts) on AWS resources are tags, one key per project: IAM roles
// (TagRole / UntagRole), IAM OIDC providers (TagOpenIDConnectProvider / UntagOpenIDConnectProvider)
// and EKS access entries and Pod Identity associations (TagResource / UntagResource on their ARN).
// Each kind says only how to read its tags, add marks and take them out; src/use-marks.ts decides
// what they mean. Only SDK types are imported at the top; the client modules load on first use.
import type { AccessEntry, EKSClient, PodIdentityAssociation } from '@aws-sdk/client-eks';
import type { IAMClient, Role, Tag } from '@aws-sdk/client-iam';
import { IAM_TAGS, MANAGED_BY, USE_PREFIX } from '../desired.js';
import { LEFT, readUses, type UseMarks, type Uses } from '../use-marks.js';
import { sdk as awsSdk } from './clients.js';

/** The role carries our creation tag managed-by=astro-remote-kpo. */
export function hasManagedTag(role: Role | undefined): boolean {
  return (role?.Tags ?? []).some((t) => t.Key === IAM_TAGS[0].Key && t.Value === MANAGED_BY);
}

/** An IAM tag list as one map. */
export function tagsToMap(tags: readonly Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).flatMap((t) => (t.Key !== undefined && t.Value !== undefined ? [[t.Key, t.Value]] : [])));
}

/** The role's tags as one map. */
export function tagMap(role: Role | undefined): Record<string, string> {
  return tagsToMap(role?.Tags);
}

/** Who made an IAM resource from its tags (our creation tag) and which projects use it. */
export function iamTagUses(tags: Readonly<Record<string, string>> | undefined): Uses {
  return readUses(tags?.[IAM_TAGS[0].Key] === MANAGED_BY, tags);
}

/** Who made the role (our creation tag) and which projects use it (their use marks). */
export function roleUses(role: Role | undefined): Uses {
  return iamTagUses(tagMap(role));
}

/** Use marks on an IAM role are tags: TagRole adds, UntagRole takes out, other tags stay. */
export function roleUseMarks(iam: IAMClient, roleName: string): UseMarks {
  return {
    label: `IAM role ${roleName}`,
    async add(marks) {
      const { TagRoleCommand } = await awsSdk.iam();
      await iam.send(new TagRoleCommand({ RoleName: roleName, Tags: Object.entries(marks).map(([Key, Value]) => ({ Key, Value })) }));
    },
    async remove(ids) {
      const { UntagRoleCommand } = await awsSdk.iam();
      await iam.send(new UntagRoleCommand({ RoleName: roleName, TagKeys: ids.map((id) => `${USE_PREFIX}${id}`) }));
    },
    byHand: (ids) => `aws iam tag-role --role-name ${roleName} --tags ${ids.map((id) => `Key=${USE_PREFIX}${id},Value=${LEFT}`).join(' ')}`,
  };
}


/** Use marks on an IAM OIDC provider are tags, as on a role. */
export function oidcProviderUseMarks(iam: IAMClient, arn: string): UseMarks {
  return {
    label: `IAM OIDC provider ${arn}`,
    async add(marks) {
      const { TagOpenIDConnectProviderCommand } = await awsSdk.iam();
      await iam.send(new TagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, Tags: Object.entries(marks).map(([Key, Value]) => ({ Key, Value })) }));
    },
    async remove(ids) {
      const { UntagOpenIDConnectProviderCommand } = await awsSdk.iam();
      await iam.send(new UntagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, TagKeys: ids.map((id) => `${USE_PREFIX}${id}`) }));
    },
    byHand: (ids) => `aws iam tag-open-id-connect-provider --open-id-connect-provider-arn ${arn} --tags ${ids.map((id) => `Key=${USE_PREFIX}${id},Value=${LEFT}`).join(' ')}`,
  };
}

/** Who made the access entry (our creation tag) and which projects use it (their use marks). */
export function accessEntryUses(entry: AccessEntry | undefined): Uses {
  return iamTagUses(entry?.tags);
}

/** Who made a Pod Identity association, and who uses it: its tags, as on an access entry. */
export function associationUses(a: PodIdentityAssociation | undefined): Uses {
  return iamTagUses(a?.tags);
}

/** Use marks on an access entry are its tags: TagResource adds, UntagResource takes out. */
export function accessEntryUseMarks(eks: EKSClient, entry: AccessEntry): UseMarks {
  return eksResourceUseMarks(eks, entry.accessEntryArn ?? '', `EKS access entry ${entry.principalArn ?? ''}`);
}

/** Use marks on a Pod Identity association: tags on its ARN, as on an access entry. */
export function associationUseMarks(eks: EKSClient, a: PodIdentityAssociation): UseMarks {
  return eksResourceUseMarks(eks, a.associationArn ?? '', `EKS Pod Identity association ${a.associationId ?? ''} (${a.namespace ?? ''}/${a.serviceAccount ?? ''})`);
}

/** Tags on any EKS resource's ARN. */
function eksResourceUseMarks(eks: EKSClient, resourceArn: string, label: string): UseMarks {
  return {
    label,
    async add(marks) {
      const { TagResourceCommand } = await awsSdk.eks();
      await eks.send(new TagResourceCommand({ resourceArn, tags: { ...marks } }));
    },
    async remove(ids) {
      const { UntagResourceCommand } = await awsSdk.eks();
      await eks.send(new UntagResourceCommand({ resourceArn, tagKeys: ids.map((id) => `${USE_PREFIX}${id}`) }));
    },
    byHand: (ids) => `aws eks tag-resource --resource-arn ${resourceArn} --tags ${ids.map((id) => `${USE_PREFIX}${id}=${LEFT}`).join(',')}`,
  };
}

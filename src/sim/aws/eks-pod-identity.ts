// EKS Pod Identity associations and add-ons on a fake cluster (REST-JSON), shaped as the JS SDK
// (client-eks 3.1175) reads them (/work/wt/research-20.md §3): every association answer is
// `{"association": …}` with epoch-second timestamps, List gives summaries without roleArn, one
// association per namespace + ServiceAccount (409 ResourceInUseException "Association already
// exists: a-…"), clientRequestToken makes a retried create idempotent, and ListAddons gives names.
import { randomBytes, randomUUID } from 'node:crypto';
import { eksPage } from './paging.js';
import { AwsError, jsonReply, type Reply } from './xml.js';

export interface PodIdentityAssociation {
  associationId: string;
  associationArn: string;
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  tags: Record<string, string>;
  createdAt: Date;
  modifiedAt: Date;
  disableSessionTags: boolean;
  targetRoleArn?: string;
  /** Set when an EKS add-on owns the association. */
  ownerArn?: string;
  /** The create's idempotency token: a retry with the same token gets this association back. */
  clientRequestToken?: string;
}

export interface FakeAddon {
  addonName: string;
  clusterName: string;
  status: string;
  addonVersion: string;
  addonArn: string;
  createdAt: Date;
  modifiedAt: Date;
  tags: Record<string, string>;
}

/** What the pod identity and add-on handlers need of a cluster. */
export interface PodIdentityCluster {
  name: string;
  region: string;
  podIdentityAssociations: Map<string, PodIdentityAssociation>;
  addons: Map<string, FakeAddon>;
}

const epoch = (d: Date) => d.getTime() / 1000;
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** `a-` + 17 lowercase alphanumerics, like `a-8mvwvh57cu74mgcst` in the AWS CLI examples. */
const associationId = () => `a-${[...randomBytes(17)].map((b) => ALNUM[b % ALNUM.length]).join('')}`;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\x21-\x7e]*\/)?[\w+=,.@-]{1,64}$/;
/** Versions EKS offered for 1.30 clusters when this was written; any other add-on gets a generic one. */
const ADDON_VERSIONS: Record<string, string> = { 'eks-pod-identity-agent': 'v1.3.4-eksbuild.1', 'vpc-cni': 'v1.18.3-eksbuild.2', coredns: 'v1.11.1-eksbuild.9', 'kube-proxy': 'v1.30.0-eksbuild.3' };

export function addAddon(c: PodIdentityCluster, accountId: string, name: string, status = 'ACTIVE'): FakeAddon {
  const now = new Date();
  const a: FakeAddon = {
    addonName: name,
    clusterName: c.name,
    status,
    addonVersion: ADDON_VERSIONS[name] ?? 'v1.0.0-eksbuild.1',
    addonArn: `arn:aws:eks:${c.region}:${accountId}:addon/${c.name}/${name}/${randomUUID()}`,
    createdAt: now,
    modifiedAt: now,
    tags: {},
  };
  c.addons.set(name, a);
  return a;
}

function associationJson(a: PodIdentityAssociation) {
  return {
    clusterName: a.clusterName,
    namespace: a.namespace,
    serviceAccount: a.serviceAccount,
    roleArn: a.roleArn,
    associationArn: a.associationArn,
    associationId: a.associationId,
    tags: a.tags,
    createdAt: epoch(a.createdAt),
    modifiedAt: epoch(a.modifiedAt),
    ...(a.ownerArn ? { ownerArn: a.ownerArn } : {}),
    disableSessionTags: a.disableSessionTags,
    ...(a.targetRoleArn ? { targetRoleArn: a.targetRoleArn } : {}),
  };
}

function summaryJson(a: PodIdentityAssociation) {
  return { clusterName: a.clusterName, namespace: a.namespace, serviceAccount: a.serviceAccount, associationArn: a.associationArn, associationId: a.associationId, ...(a.ownerArn ? { ownerArn: a.ownerArn } : {}) };
}

function addonJson(a: FakeAddon) {
  return {
    addonName: a.addonName,
    clusterName: a.clusterName,
    status: a.status,
    addonVersion: a.addonVersion,
    health: { issues: [] },
    addonArn: a.addonArn,
    createdAt: epoch(a.createdAt),
    modifiedAt: epoch(a.modifiedAt),
    tags: a.tags,
  };
}

// The wording of these InvalidParameterException messages is not verified (EKS documents the
// exception, not its text).
const invalid = (message: string) => new AwsError(400, 'InvalidParameterException', message);

function text(body: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const v = body[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || !v) throw invalid(`${field} is required and must be a non-empty string`);
  return v;
}

function roleArn(body: Record<string, unknown>, required: boolean): string | undefined {
  const arn = text(body, 'roleArn', required);
  if (arn !== undefined && !ROLE_ARN.test(arn)) throw invalid(`The specified roleArn is invalid: ${arn}`);
  return arn;
}

function mustAssociation(c: PodIdentityCluster, id: string | undefined): PodIdentityAssociation {
  const a = id ? c.podIdentityAssociations.get(id) : undefined;
  // The message text is not verified.
  if (!a) throw new AwsError(404, 'ResourceNotFoundException', `No Pod Identity Association found for id: ${id ?? ''} in cluster: ${c.name}`);
  return a;
}

function create(c: PodIdentityCluster, accountId: string, body: Record<string, unknown>): Reply {
  const namespace = text(body, 'namespace', true)!;
  const serviceAccount = text(body, 'serviceAccount', true)!;
  const role = roleArn(body, true)!;
  const token = typeof body.clientRequestToken === 'string' ? body.clientRequestToken : undefined;
  const all = [...c.podIdentityAssociations.values()];
  // The same request retried (the SDK keeps its auto-filled token across retries) gets the same answer.
  const retried = token ? all.find((a) => a.clientRequestToken === token) : undefined;
  if (retried && retried.namespace === namespace && retried.serviceAccount === serviceAccount && retried.roleArn === role) return jsonReply({ association: associationJson(retried) });
  const taken = all.find((a) => a.namespace === namespace && a.serviceAccount === serviceAccount);
  if (taken) throw new AwsError(409, 'ResourceInUseException', `Association already exists: ${taken.associationId}`);
  const id = associationId();
  const now = new Date();
  const a: PodIdentityAssociation = {
    associationId: id,
    associationArn: `arn:aws:eks:${c.region}:${accountId}:podidentityassociation/${c.name}/${id}`,
    clusterName: c.name,
    namespace,
    serviceAccount,
    roleArn: role,
    tags: tagsOf(body),
    createdAt: now,
    modifiedAt: now,
    disableSessionTags: body.disableSessionTags === true,
    targetRoleArn: typeof body.targetRoleArn === 'string' ? body.targetRoleArn : undefined,
    clientRequestToken: token,
  };
  c.podIdentityAssociations.set(id, a);
  return jsonReply({ association: associationJson(a) });
}

export function tagsOf(body: Record<string, unknown>): Record<string, string> {
  const tags = body.tags;
  if (tags === undefined) return {};
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) throw new AwsError(400, 'BadRequestException', 'tags must be a map of strings');
  for (const k of Object.keys(tags)) if (!k || k.length > 128 || k.startsWith('aws:')) throw new AwsError(400, 'BadRequestException', `Invalid tag key: ${k}`);
  if (Object.keys(tags).length > 50) throw new AwsError(400, 'BadRequestException', 'Tags cannot exceed 50 per resource');
  return { ...(tags as Record<string, string>) };
}

/** The Pod Identity and add-on operations of one cluster; undefined for any other operation. */
export function handlePodIdentity(op: string, c: PodIdentityCluster, accountId: string, ids: { associationId?: string; addonName?: string }, query: URLSearchParams, body: Record<string, unknown>, pageSize: number): Reply | undefined {
  switch (op) {
    case 'CreatePodIdentityAssociation':
      return create(c, accountId, body);
    case 'ListPodIdentityAssociations': {
      const ns = query.get('namespace');
      const sa = query.get('serviceAccount');
      const matching = [...c.podIdentityAssociations.values()].filter((a) => (!ns || a.namespace === ns) && (!sa || a.serviceAccount === sa));
      const { items, ...more } = eksPage(matching.map(summaryJson), query, pageSize);
      return jsonReply({ associations: items, ...more });
    }
    case 'DescribePodIdentityAssociation':
      return jsonReply({ association: associationJson(mustAssociation(c, ids.associationId)) });
    case 'UpdatePodIdentityAssociation': {
      const a = mustAssociation(c, ids.associationId);
      // namespace and serviceAccount are not members of the update: they cannot change.
      const role = roleArn(body, false);
      if (role) a.roleArn = role;
      if (typeof body.disableSessionTags === 'boolean') a.disableSessionTags = body.disableSessionTags;
      if (typeof body.targetRoleArn === 'string') a.targetRoleArn = body.targetRoleArn || undefined;
      a.modifiedAt = new Date();
      return jsonReply({ association: associationJson(a) });
    }
    case 'DeletePodIdentityAssociation': {
      const a = mustAssociation(c, ids.associationId);
      c.podIdentityAssociations.delete(a.associationId);
      return jsonReply({ association: associationJson(a) });
    }
    case 'ListAddons': {
      const { items, ...more } = eksPage([...c.addons.keys()], query, pageSize);
      return jsonReply({ addons: items, ...more });
    }
    case 'DescribeAddon': {
      const a = ids.addonName ? c.addons.get(ids.addonName) : undefined;
      // AWS's text, as the EKS user guide prints it after an add-on is removed.
      if (!a) throw new AwsError(404, 'ResourceNotFoundException', `No addon: ${ids.addonName ?? ''} found in cluster: ${c.name}`);
      return jsonReply({ addon: addonJson(a) });
    }
    default:
      return undefined;
  }
}

// Fake EKS (REST-JSON): clusters whose endpoint is a fake Kubernetes API server, and access
// entries, which also feed that server's authenticator (principal → username + groups).
import { randomUUID } from 'node:crypto';
import { handlePodIdentity, tagsOf, type FakeAddon, type PodIdentityAssociation } from './eks-pod-identity.js';
import type { Principal } from './identity.js';
import { eksPage } from './paging.js';
import { AwsError, jsonReply, type Reply } from './xml.js';

export type AuthMode = 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP';
export const CLUSTER_ADMIN_POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy';

export interface AccessPolicyAssoc {
  policyArn: string;
  accessScope: { type: 'cluster' | 'namespace'; namespaces: string[] };
  associatedAt: Date;
  modifiedAt: Date;
}

export interface AccessEntry {
  clusterName: string;
  principalArn: string;
  kubernetesGroups: string[];
  accessEntryArn: string;
  createdAt: Date;
  modifiedAt: Date;
  tags: Record<string, string>;
  username: string;
  type: string;
  policies: AccessPolicyAssoc[];
}

export interface FakeCluster {
  name: string;
  region: string;
  arn: string;
  status: string;
  version: string;
  endpoint: string;
  /** certificateAuthority.data: base64 of the CA's PEM, as EKS gives it. */
  caData: string;
  authenticationMode: AuthMode;
  createdAt: Date;
  /** IAM ARN of whoever created it: the bootstrap cluster admin. */
  creatorArn: string;
  roleArn: string;
  tags: Record<string, string>;
  accessEntries: Map<string, AccessEntry>;
  /** EKS managed node groups (eksctl's unmanaged nodeGroups are CloudFormation/EC2 only, not here). */
  nodegroups: Map<string, FakeNodegroup>;
  fargateProfiles: string[];
  /** resourcesVpcConfig as DescribeCluster returns it; a key set to undefined is left out. */
  vpc: Partial<VpcConfig>;
  /** identity.oidc.issuer (https://oidc.eks.<region>.amazonaws.com/id/<32 hex>); undefined: left out of DescribeCluster. */
  oidcIssuer?: string;
  /** EKS add-ons by name (ListAddons, DescribeAddon). */
  addons: Map<string, FakeAddon>;
  /** EKS Pod Identity associations by associationId. */
  podIdentityAssociations: Map<string, PodIdentityAssociation>;
}

/** EKS's resourcesVpcConfig (the shape real EKS answers; moto 5.2.2 leaves out vpcId,
 * clusterSecurityGroupId and the three endpoint-access fields). */
export interface VpcConfig {
  subnetIds: string[];
  securityGroupIds: string[];
  clusterSecurityGroupId: string;
  vpcId: string;
  endpointPublicAccess: boolean;
  endpointPrivateAccess: boolean;
  /** Real EKS keeps reporting the list (["0.0.0.0/0"] by default) when public access is off. */
  publicAccessCidrs: string[];
}

/** Test-set keys over DEFAULT_VPC; undefined leaves a key out of the answer. */
export type VpcOverrides = { [K in keyof VpcConfig]?: VpcConfig[K] | undefined };

export interface FakeNodegroup {
  name: string;
  status: string;
  instanceType: string;
  desiredSize: number;
  nodeRole: string;
  createdAt: Date;
}

const epoch = (d: Date) => d.getTime() / 1000;
/** eksctl's defaults: a public endpoint open to every address, no private one. */
export const DEFAULT_VPC: VpcConfig = { subnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'], securityGroupIds: [], clusterSecurityGroupId: 'sg-0a1b2c3d4e5f60003', vpcId: 'vpc-0a1b2c3d4e5f60004', endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['0.0.0.0/0'] };

function clusterJson(c: FakeCluster) {
  const ready = c.status !== 'CREATING';
  return {
    name: c.name,
    arn: c.arn,
    createdAt: epoch(c.createdAt),
    version: c.version,
    // Real EKS has no endpoint or CA until the control plane is up.
    ...(ready ? { endpoint: c.endpoint } : {}),
    roleArn: c.roleArn,
    // JSON leaves out the keys a test set to undefined (moto's answer has none of the access fields).
    resourcesVpcConfig: { ...c.vpc },
    kubernetesNetworkConfig: { serviceIpv4Cidr: '172.20.0.0/16', ipFamily: 'ipv4' },
    logging: { clusterLogging: [{ types: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'], enabled: false }] },
    ...(ready && c.oidcIssuer ? { identity: { oidc: { issuer: c.oidcIssuer } } } : {}),
    status: c.status,
    certificateAuthority: ready ? { data: c.caData } : {},
    platformVersion: 'eks.8',
    tags: c.tags,
    accessConfig: { authenticationMode: c.authenticationMode },
  };
}

function nodegroupJson(c: FakeCluster, n: FakeNodegroup, accountId: string) {
  return {
    nodegroupName: n.name,
    nodegroupArn: `arn:aws:eks:${c.region}:${accountId}:nodegroup/${c.name}/${n.name}/${n.createdAt.getTime().toString(16)}`,
    clusterName: c.name,
    version: c.version,
    releaseVersion: '1.30.0-20240625',
    createdAt: epoch(n.createdAt),
    modifiedAt: epoch(n.createdAt),
    status: n.status,
    capacityType: 'ON_DEMAND',
    scalingConfig: { minSize: 1, maxSize: Math.max(3, n.desiredSize), desiredSize: n.desiredSize },
    instanceTypes: [n.instanceType],
    subnets: [...(c.vpc.subnetIds ?? DEFAULT_VPC.subnetIds)],
    amiType: 'AL2_x86_64',
    nodeRole: n.nodeRole,
    labels: { 'alpha.eksctl.io/cluster-name': c.name, 'alpha.eksctl.io/nodegroup-name': n.name },
    resources: { autoScalingGroups: [{ name: `eks-${n.name}-${n.createdAt.getTime().toString(16)}` }] },
    diskSize: 20,
    health: { issues: [] },
    tags: { 'alpha.eksctl.io/nodegroup-name': n.name },
  };
}

function entryJson(e: AccessEntry) {
  return {
    clusterName: e.clusterName,
    principalArn: e.principalArn,
    kubernetesGroups: e.kubernetesGroups,
    accessEntryArn: e.accessEntryArn,
    createdAt: epoch(e.createdAt),
    modifiedAt: epoch(e.modifiedAt),
    tags: e.tags,
    username: e.username,
    type: e.type,
  };
}

/** The IAM principal ARN of a role or user, without the path (what matching compares). */
export function principalKey(arn: string): string | undefined {
  const m = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(arn);
  return m ? `${m[1]}:${m[2]}/${m[3]}` : undefined;
}

const RESERVED_USER = /^(system:|eks:|aws:|amazon:|iam:)|^kubernetes-admin$/;

export interface EksRoute {
  operation: string;
  cluster?: string;
  principalArn?: string;
  policyArn?: string;
  nodegroupName?: string;
  /** TagResource and friends: the resource's ARN. */
  resourceArn?: string;
  associationId?: string;
  addonName?: string;
}

/** Maps a REST path to the EKS operation (needed before handling, for faults and the call log). */
export function eksRoute(method: string, path: string): EksRoute {
  const seg = path.split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg[0] === 'tags' && seg.length > 1) {
    const op = { POST: 'TagResource', DELETE: 'UntagResource', GET: 'ListTagsForResource' }[method] ?? 'Unknown';
    return { operation: op, resourceArn: seg.slice(1).join('/') };
  }
  if (seg[0] !== 'clusters') return { operation: `Unknown ${method} ${path}` };
  const [, cluster, sub, principalArn, sub2, policyArn] = seg;
  if (seg.length === 1) return { operation: method === 'GET' ? 'ListClusters' : method === 'POST' ? 'CreateCluster' : 'Unknown' };
  if (seg.length === 2) return { operation: method === 'GET' ? 'DescribeCluster' : method === 'DELETE' ? 'DeleteCluster' : 'Unknown', cluster };
  if (sub === 'update-config' && method === 'POST') return { operation: 'UpdateClusterConfig', cluster };
  if (sub === 'node-groups' && method === 'GET') return seg.length === 3 ? { operation: 'ListNodegroups', cluster } : { operation: 'DescribeNodegroup', cluster, nodegroupName: seg[3] };
  if (sub === 'fargate-profiles' && method === 'GET' && seg.length === 3) return { operation: 'ListFargateProfiles', cluster };
  if (sub === 'pod-identity-associations' && seg.length === 3) return { operation: { POST: 'CreatePodIdentityAssociation', GET: 'ListPodIdentityAssociations' }[method] ?? 'Unknown', cluster };
  if (sub === 'pod-identity-associations' && seg.length === 4) {
    return { operation: { GET: 'DescribePodIdentityAssociation', POST: 'UpdatePodIdentityAssociation', DELETE: 'DeletePodIdentityAssociation' }[method] ?? 'Unknown', cluster, associationId: seg[3] };
  }
  if (sub === 'addons' && method === 'GET' && seg.length <= 4) return seg.length === 3 ? { operation: 'ListAddons', cluster } : { operation: 'DescribeAddon', cluster, addonName: seg[3] };
  if (sub !== 'access-entries') return { operation: 'Unknown', cluster };
  if (seg.length === 3) return { operation: method === 'POST' ? 'CreateAccessEntry' : 'ListAccessEntries', cluster };
  if (seg.length === 4) {
    const op = { GET: 'DescribeAccessEntry', POST: 'UpdateAccessEntry', DELETE: 'DeleteAccessEntry' }[method] ?? 'Unknown';
    return { operation: op, cluster, principalArn };
  }
  if (sub2 === 'access-policies') {
    if (seg.length === 5) return { operation: method === 'POST' ? 'AssociateAccessPolicy' : 'ListAssociatedAccessPolicies', cluster, principalArn };
    return { operation: 'DisassociateAccessPolicy', cluster, principalArn, policyArn };
  }
  return { operation: 'Unknown', cluster };
}

export class FakeEks {
  readonly clusters = new Map<string, FakeCluster>();

  /** Called when a cluster is deleted (its API server forgets its objects). */
  onDeleted: (name: string) => void = () => {};
  /** Items per page of ListNodegroups / ListFargateProfiles / ListAssociatedAccessPolicies without
   * maxResults (EKS: 100). */
  pageSize = 100;

  constructor(
    readonly accountId: string,
    readonly region: string,
    /** Whether an IAM principal exists (EKS refuses access entries for unknown principals). */
    private readonly principalExists: (arn: string) => boolean,
  ) {}

  deleteCluster(name: string): boolean {
    const existed = this.clusters.delete(name);
    if (existed) this.onDeleted(name);
    return existed;
  }

  private mustCluster(name: string | undefined): FakeCluster {
    const c = name ? this.clusters.get(name) : undefined;
    if (!c) throw new AwsError(404, 'ResourceNotFoundException', `No cluster found for name: ${name}.`);
    return c;
  }

  private mustEntry(c: FakeCluster, principalArn: string | undefined): AccessEntry {
    const e = principalArn ? c.accessEntries.get(principalArn) : undefined;
    if (!e) throw new AwsError(404, 'ResourceNotFoundException', `The specified access entry resource is not found on this cluster.`);
    return e;
  }

  /** Adds an access entry (also used for the cluster creator's bootstrap admin entry). */
  addAccessEntry(c: FakeCluster, principalArn: string, opts: { username?: string; kubernetesGroups?: string[]; type?: string; tags?: Record<string, string>; admin?: boolean } = {}): AccessEntry {
    const kind = /:(role|user)\//.exec(principalArn)?.[1] ?? 'role';
    const now = new Date();
    const name = principalArn.slice(principalArn.lastIndexOf('/') + 1);
    const entry: AccessEntry = {
      clusterName: c.name,
      principalArn,
      kubernetesGroups: opts.kubernetesGroups ?? [],
      accessEntryArn: `arn:aws:eks:${c.region}:${this.accountId}:access-entry/${c.name}/${kind}/${this.accountId}/${name}/${randomUUID()}`,
      createdAt: now,
      modifiedAt: now,
      tags: opts.tags ?? {},
      username: opts.username ?? (kind === 'role' ? `arn:aws:sts::${this.accountId}:assumed-role/${name}/{{SessionName}}` : principalArn),
      type: opts.type ?? 'STANDARD',
      policies: opts.admin ? [{ policyArn: CLUSTER_ADMIN_POLICY, accessScope: { type: 'cluster', namespaces: [] }, associatedAt: now, modifiedAt: now }] : [],
    };
    c.accessEntries.set(principalArn, entry);
    return entry;
  }

  /** The access entry that applies to an IAM principal (roles match whatever their path). */
  entryFor(c: FakeCluster, iamArn: string): AccessEntry | undefined {
    const key = principalKey(iamArn);
    for (const e of c.accessEntries.values()) if (key && principalKey(e.principalArn) === key) return e;
    return undefined;
  }

  /** What TagResource can tag here: a cluster, an access entry, a Pod Identity association or an add-on, by its ARN. */
  private taggable(arn: string | undefined): { tags: Record<string, string> } {
    if (!arn || !arn.startsWith('arn:')) throw new AwsError(400, 'BadRequestException', `Invalid ARN: ${arn ?? ''}`);
    for (const c of this.clusters.values()) {
      if (c.arn === arn) return c;
      for (const e of c.accessEntries.values()) if (e.accessEntryArn === arn) return e;
      for (const a of c.podIdentityAssociations.values()) if (a.associationArn === arn) return a;
      for (const a of c.addons.values()) if (a.addonArn === arn) return a;
    }
    throw new AwsError(404, 'NotFoundException', 'Resource was not found');
  }

  handle(route: EksRoute, method: string, query: URLSearchParams, body: Record<string, unknown>, _caller: Principal): Reply {
    switch (route.operation) {
      case 'TagResource': {
        const r = this.taggable(route.resourceArn);
        const next = { ...r.tags, ...tagsOf(body) };
        if (Object.keys(next).length > 50) throw new AwsError(400, 'BadRequestException', 'Tags cannot exceed 50 per resource');
        r.tags = next;
        return jsonReply({});
      }
      case 'UntagResource': {
        const r = this.taggable(route.resourceArn);
        for (const k of query.getAll('tagKeys')) delete r.tags[k];
        return jsonReply({});
      }
      case 'ListTagsForResource':
        return jsonReply({ tags: { ...this.taggable(route.resourceArn).tags } });
      case 'ListClusters':
        return jsonReply({ clusters: [...this.clusters.keys()] });
      case 'DescribeCluster':
        return jsonReply({ cluster: clusterJson(this.mustCluster(route.cluster)) });
      case 'DeleteCluster': {
        const c = this.mustCluster(route.cluster);
        this.deleteCluster(c.name);
        return jsonReply({ cluster: { ...clusterJson(c), status: 'DELETING' } });
      }
      case 'UpdateClusterConfig':
        return this.updateConfig(this.mustCluster(route.cluster), body);
      case 'ListNodegroups': {
        const { items, ...more } = eksPage([...this.mustCluster(route.cluster).nodegroups.keys()], query, this.pageSize);
        return jsonReply({ nodegroups: items, ...more });
      }
      case 'DescribeNodegroup': {
        const c = this.mustCluster(route.cluster);
        const n = route.nodegroupName ? c.nodegroups.get(route.nodegroupName) : undefined;
        if (!n) throw new AwsError(404, 'ResourceNotFoundException', `No node group found for name: ${route.nodegroupName}.`);
        return jsonReply({ nodegroup: nodegroupJson(c, n, this.accountId) });
      }
      case 'ListFargateProfiles': {
        const { items, ...more } = eksPage([...this.mustCluster(route.cluster).fargateProfiles], query, this.pageSize);
        return jsonReply({ fargateProfileNames: items, ...more });
      }
      case 'ListAccessEntries': {
        const c = this.mustCluster(route.cluster);
        return jsonReply({ accessEntries: [...c.accessEntries.keys()] });
      }
      case 'CreateAccessEntry':
        return this.createEntry(this.mustCluster(route.cluster), body);
      case 'DescribeAccessEntry':
        return jsonReply({ accessEntry: entryJson(this.mustEntry(this.mustCluster(route.cluster), route.principalArn)) });
      case 'UpdateAccessEntry': {
        const e = this.mustEntry(this.mustCluster(route.cluster), route.principalArn);
        if (Array.isArray(body.kubernetesGroups)) e.kubernetesGroups = this.checkGroups(body.kubernetesGroups);
        if (typeof body.username === 'string') e.username = this.checkUsername(body.username);
        e.modifiedAt = new Date();
        return jsonReply({ accessEntry: entryJson(e) });
      }
      case 'DeleteAccessEntry': {
        const c = this.mustCluster(route.cluster);
        this.mustEntry(c, route.principalArn);
        c.accessEntries.delete(route.principalArn!);
        return jsonReply({});
      }
      case 'AssociateAccessPolicy': {
        const c = this.mustCluster(route.cluster);
        const e = this.mustEntry(c, route.principalArn);
        const policyArn = String(body.policyArn ?? '');
        if (!/^arn:aws[a-z-]*:eks::aws:cluster-access-policy\/\w+$/.test(policyArn)) throw new AwsError(400, 'InvalidParameterException', `The specified policyArn is invalid: ${policyArn}`);
        const scope = (body.accessScope ?? { type: 'cluster' }) as AccessPolicyAssoc['accessScope'];
        const now = new Date();
        e.policies = e.policies.filter((p) => p.policyArn !== policyArn);
        const assoc = { policyArn, accessScope: { type: scope.type, namespaces: scope.namespaces ?? [] }, associatedAt: now, modifiedAt: now };
        e.policies.push(assoc);
        return jsonReply({ clusterName: c.name, principalArn: e.principalArn, associatedAccessPolicy: { ...assoc, associatedAt: epoch(now), modifiedAt: epoch(now) } });
      }
      case 'ListAssociatedAccessPolicies': {
        const c = this.mustCluster(route.cluster);
        const e = this.mustEntry(c, route.principalArn);
        const list = e.policies.map((p) => ({ ...p, associatedAt: epoch(p.associatedAt), modifiedAt: epoch(p.modifiedAt) }));
        const { items, ...more } = eksPage(list, query, this.pageSize);
        return jsonReply({ clusterName: c.name, principalArn: e.principalArn, associatedAccessPolicies: items, ...more });
      }
      case 'DisassociateAccessPolicy': {
        const e = this.mustEntry(this.mustCluster(route.cluster), route.principalArn);
        e.policies = e.policies.filter((p) => p.policyArn !== route.policyArn);
        return jsonReply({});
      }
      default: {
        const reply = /PodIdentityAssociation|Addon/.test(route.operation) ? handlePodIdentity(route.operation, this.mustCluster(route.cluster), this.accountId, route, query, body, this.pageSize) : undefined;
        if (reply) return reply;
        throw new AwsError(404, 'UnknownOperationException', `No operation for ${method} on this path`);
      }
    }
  }

  private checkGroups(groups: unknown[]): string[] {
    for (const g of groups) {
      if (typeof g !== 'string' || !g) throw new AwsError(400, 'InvalidParameterException', 'kubernetesGroups must be non-empty strings');
      if (g.startsWith('system:')) throw new AwsError(400, 'InvalidParameterException', `The kubernetes group name ${g} is invalid, it cannot start with system:`);
    }
    return groups as string[];
  }

  private checkUsername(u: string): string {
    if (!u || RESERVED_USER.test(u)) throw new AwsError(400, 'InvalidParameterException', `The username ${u} is invalid, it cannot start with system:, eks:, aws:, amazon:, iam: or be kubernetes-admin`);
    return u;
  }

  private createEntry(c: FakeCluster, body: Record<string, unknown>): Reply {
    if (c.authenticationMode === 'CONFIG_MAP') {
      throw new AwsError(400, 'InvalidRequestException', "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.");
    }
    const principalArn = typeof body.principalArn === 'string' ? body.principalArn : '';
    if (!principalKey(principalArn)) throw new AwsError(400, 'InvalidParameterException', `The specified principalArn is invalid: invalid arn`);
    if (!this.principalExists(principalArn)) throw new AwsError(400, 'InvalidParameterException', `The specified principalArn is invalid: ${principalArn} does not exist.`);
    if (c.accessEntries.has(principalArn)) throw new AwsError(409, 'ResourceInUseException', 'The specified access entry resource is already in use on this cluster.');
    const type = typeof body.type === 'string' ? body.type : 'STANDARD';
    const groups = Array.isArray(body.kubernetesGroups) ? this.checkGroups(body.kubernetesGroups) : [];
    const username = typeof body.username === 'string' ? this.checkUsername(body.username) : undefined;
    if (type !== 'STANDARD' && (username || groups.length)) {
      throw new AwsError(400, 'InvalidParameterException', `username and kubernetesGroups cannot be specified for access entries of type ${type}`);
    }
    const e = this.addAccessEntry(c, principalArn, { username, kubernetesGroups: groups, type, tags: tagsOf(body) });
    return jsonReply({ accessEntry: entryJson(e) });
  }

  private updateConfig(c: FakeCluster, body: Record<string, unknown>): Reply {
    const mode = (body.accessConfig as { authenticationMode?: AuthMode } | undefined)?.authenticationMode;
    const order: AuthMode[] = ['CONFIG_MAP', 'API_AND_CONFIG_MAP', 'API'];
    if (mode) {
      if (!order.includes(mode)) throw new AwsError(400, 'InvalidParameterException', `Unsupported authentication mode ${mode}`);
      if (order.indexOf(mode) < order.indexOf(c.authenticationMode)) {
        throw new AwsError(400, 'InvalidParameterException', `Unsupported authentication mode update from ${c.authenticationMode} to ${mode}`);
      }
      if (mode === c.authenticationMode) throw new AwsError(400, 'InvalidParameterException', 'No changes needed');
      c.authenticationMode = mode;
    }
    const now = epoch(new Date());
    return jsonReply({
      update: { id: randomUUID(), status: 'Successful', type: 'AccessConfigUpdate', params: mode ? [{ type: 'AuthenticationMode', value: mode }] : [], createdAt: now, errors: [] },
    });
  }
}

export const EKS_MUTATING = /^(Create|Update|Delete|Associate|Disassociate|Tag|Untag)/;

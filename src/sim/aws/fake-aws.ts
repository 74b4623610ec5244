// What a test sees of the fake AWS account: IAM roles and their policies, EKS clusters and access
// entries, and credentials (issue keys for a principal, expire a key).
import type { AccessEntry, FakeCluster, FakeEks } from './eks.js';
import { addAddon } from './eks-pod-identity.js';
import type { FakeIam, FakeRole, Tag } from './iam.js';
import type { OidcProviderView } from './iam-oidc.js';
import { randomId, type Credentials, type KeyStore, type Principal } from './identity.js';

export type { AccessEntry, FakeCluster } from './eks.js';
export type { FakeRole } from './iam.js';
export type { OidcProviderView } from './iam-oidc.js';

/** A Pod Identity association as a test sees it (FakeAws.podIdentityAssociations()). */
export interface PodIdentityAssociationView {
  associationId: string;
  associationArn: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  tags: Record<string, string>;
}

export class FakeAws {
  /** When false, requests are accepted without checking their SigV4 signature (keys are still checked). */
  verifySignatures = true;

  constructor(
    readonly accountId: string,
    readonly region: string,
    readonly iam: FakeIam,
    readonly eks: FakeEks,
    readonly keys: KeyStore,
    /** The test admin identity the default credentials belong to. */
    readonly adminArn: string,
  ) {}

  get roles(): Map<string, FakeRole> {
    return this.iam.roles;
  }

  role(name: string): FakeRole | undefined {
    return this.iam.role(name);
  }

  createRole(opts: { name: string; path?: string; trustPolicy: object | string; description?: string; tags?: Tag[] }): FakeRole {
    return this.iam.createRole(opts);
  }

  /** The role's trust policy as a parsed object. */
  trustPolicy(roleName: string): { Statement: Array<Record<string, unknown>> } | undefined {
    const r = this.iam.role(roleName);
    return r ? (JSON.parse(r.trustPolicyRaw) as { Statement: Array<Record<string, unknown>> }) : undefined;
  }

  inlinePolicy(roleName: string, policyName: string): { Statement: Array<Record<string, unknown>> } | undefined {
    const raw = this.iam.role(roleName)?.inline.get(policyName);
    return raw === undefined ? undefined : (JSON.parse(raw) as { Statement: Array<Record<string, unknown>> });
  }

  inlinePolicyNames(roleName: string): string[] {
    return [...(this.iam.role(roleName)?.inline.keys() ?? [])];
  }

  attachedPolicies(roleName: string): string[] {
    return [...(this.iam.role(roleName)?.attached ?? [])];
  }

  tags(roleName: string): Record<string, string> {
    return Object.fromEntries((this.iam.role(roleName)?.tags ?? []).map((t) => [t.Key, t.Value]));
  }

  get clusters(): Map<string, FakeCluster> {
    return this.eks.clusters;
  }

  cluster(name: string): FakeCluster | undefined {
    return this.eks.clusters.get(name);
  }

  accessEntries(clusterName: string): AccessEntry[] {
    return [...(this.eks.clusters.get(clusterName)?.accessEntries.values() ?? [])];
  }

  accessEntry(clusterName: string, principalArn: string): AccessEntry | undefined {
    return this.eks.clusters.get(clusterName)?.accessEntries.get(principalArn);
  }

  addAccessEntry(clusterName: string, principalArn: string, opts: { username?: string; kubernetesGroups?: string[]; admin?: boolean } = {}): AccessEntry {
    const c = this.eks.clusters.get(clusterName);
    if (!c) throw new Error(`test cloud: no cluster ${clusterName}`);
    return this.eks.addAccessEntry(c, principalArn, opts);
  }

  /** The account's IAM OIDC providers; `url` as IAM keeps it (host and path: no https://, no port). */
  oidcProviders(): OidcProviderView[] {
    return this.iam.oidc.views();
  }

  /** An OIDC provider someone else registered (not tagged by this tool); `url` as the issuer, with https://. */
  createOidcProvider(o: { url: string; clientIds?: string[]; tags?: Record<string, string> }): { arn: string } {
    return { arn: this.iam.oidc.create({ url: o.url, clientIds: o.clientIds ?? ['sts.amazonaws.com'], tags: o.tags }).arn };
  }

  /** The cluster's EKS Pod Identity associations, in creation order ([] for an unknown cluster). */
  podIdentityAssociations(clusterName: string): PodIdentityAssociationView[] {
    return [...(this.eks.clusters.get(clusterName)?.podIdentityAssociations.values() ?? [])].map((a) => ({
      associationId: a.associationId,
      associationArn: a.associationArn,
      namespace: a.namespace,
      serviceAccount: a.serviceAccount,
      roleArn: a.roleArn,
      tags: { ...a.tags },
    }));
  }

  /** Installs an EKS add-on on the cluster (e.g. 'eks-pod-identity-agent'); status ACTIVE unless given. */
  addAddon(clusterName: string, name: string, status = 'ACTIVE'): void {
    const c = this.eks.clusters.get(clusterName);
    if (!c) throw new Error(`test cloud: no cluster ${clusterName}`);
    addAddon(c, this.accountId, name, status);
  }

  /**
   * IAM answers MalformedPolicyDocument "Invalid principal in policy" for a trust policy naming
   * `principalArn` the next `times` times (a principal IAM doesn't see yet: eventual consistency).
   */
  invalidPrincipal(principalArn: string, times = Number.POSITIVE_INFINITY): void {
    this.iam.invalidPrincipals.set(principalArn, times);
  }

  /**
   * Working credentials for `arn`: a role ARN gives an assumed-role session (as if the workload
   * identity had assumed it), a user ARN long-term keys. The role need not exist in this IAM.
   */
  issueCredentials(arn: string, sessionName = 'test-session'): Credentials {
    const role = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
    let principal: Principal;
    if (role) {
      const known = this.iam.roleByArn(arn);
      principal = { arn: `arn:aws:sts::${role[1]}:assumed-role/${role[2]}/${sessionName}`, userId: `${known?.roleId ?? randomId('AROA')}:${sessionName}`, iamArn: arn };
      const rec = this.keys.issue(principal);
      return { accessKeyId: rec.accessKeyId, secretAccessKey: rec.secretAccessKey, sessionToken: rec.sessionToken };
    }
    if (!/^arn:aws[a-z-]*:iam::\d{12}:user\/.+$/.test(arn)) throw new Error(`test cloud: cannot issue credentials for ${arn}`);
    principal = { arn, userId: randomId('AIDA'), iamArn: arn };
    const rec = this.keys.add({ accessKeyId: randomId('AKIA', 20), secretAccessKey: randomId('', 40), principal });
    return { accessKeyId: rec.accessKeyId, secretAccessKey: rec.secretAccessKey };
  }

  /** From now on AWS answers ExpiredToken for this key (an expired SSO session). */
  expireCredentials(accessKeyId: string): void {
    const rec = this.keys.get(accessKeyId);
    if (!rec) throw new Error(`test cloud: unknown access key ${accessKeyId}`);
    rec.expired = true;
  }

  /** Undoes expireCredentials (the user logged in again). */
  renewCredentials(accessKeyId: string): void {
    const rec = this.keys.get(accessKeyId);
    if (rec) rec.expired = false;
  }
}

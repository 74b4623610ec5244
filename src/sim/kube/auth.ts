// Authentication for the fake API server: a static admin bearer token (group system:masters) and
// EKS tokens, checked the way aws-iam-authenticator + STS would: "k8s-aws-v1." + unpadded
// base64url of a presigned STS GetCallerIdentity URL, host an STS endpoint, x-k8s-aws-id signed
// and equal to this cluster's name, at most 15 minutes after X-Amz-Date, signature valid for a
// key STS knows. The caller's IAM identity is then mapped to a Kubernetes user by access entries
// (API modes), kube-system/aws-auth (CONFIG_MAP modes) or the cluster-creator admin rule.
import { parse as parseYaml } from 'yaml';
import type { FakeCluster, FakeEks } from '../aws/eks.js';
import { CLUSTER_ADMIN_POLICY } from '../aws/eks.js';
import { parsePresigned, verifyPresignedUrl, type KeyStore, type Principal } from '../aws/identity.js';
import type { UserInfo } from './rbac.js';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
const TOKEN_LIFETIME_MS = 15 * 60_000;
const ALLOWED_QUERY = /^(action|version|x-amz-.*)$/i;

export interface AuthDeps {
  clusterName: string;
  adminToken: string;
  keys: KeyStore;
  eks: FakeEks;
  /** host:port values a token's URL may point at (the fake STS endpoint). */
  stsHosts(): string[];
  region: string;
  accountId: string;
  awsAuthData(): Record<string, string> | undefined;
}

export type AuthResult = { user: UserInfo; via: string } | { error: string };

const ADMIN: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
/** No credentials at all: EKS runs with anonymous auth on, so RBAC (not a 401) answers. */
const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

export async function authenticate(header: string | undefined, deps: AuthDeps): Promise<AuthResult> {
  if (!header) return { user: ANONYMOUS, via: 'anonymous' };
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) return { error: 'not a bearer token' };
  const token = m[1]!;
  if (token === deps.adminToken) return { user: ADMIN, via: 'static admin token' };
  if (!token.startsWith(TOKEN_PREFIX)) return { error: 'unknown token' };
  const id = await eksIdentity(token, deps);
  if ('error' in id) return id;
  return mapIdentity(id.principal, deps);
}

async function eksIdentity(token: string, deps: AuthDeps): Promise<{ principal: Principal } | { error: string }> {
  const encoded = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return { error: 'token is not unpadded base64url' };
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return { error: 'token does not decode to a URL' };
  }
  const realHosts = ['sts.amazonaws.com', `sts.${deps.region}.amazonaws.com`];
  const loopback = deps.stsHosts().includes(url.host);
  if (!(loopback || (realHosts.includes(url.host) && url.protocol === 'https:'))) return { error: `unexpected STS host ${url.host}` };
  if (url.pathname !== '/') return { error: `unexpected path ${url.pathname}` };
  for (const k of url.searchParams.keys()) if (!ALLOWED_QUERY.test(k)) return { error: `unexpected query parameter ${k}` };
  if (url.searchParams.get('Action') !== 'GetCallerIdentity') return { error: 'Action is not GetCallerIdentity' };
  if (url.searchParams.get('Version') !== '2011-06-15') return { error: 'Version is not 2011-06-15' };
  const p = parsePresigned(url);
  if (!p) return { error: 'missing or malformed X-Amz-* parameters' };
  if (p.service !== 'sts') return { error: `credential scope service ${p.service}` };
  if (!p.signedHeaders.includes('x-k8s-aws-id')) return { error: 'x-k8s-aws-id is not signed' };
  if (!p.signedHeaders.includes('host')) return { error: 'host is not signed' };
  const age = Date.now() - p.signingDate.getTime();
  if (age > TOKEN_LIFETIME_MS) return { error: 'X-Amz-Date parameter is expired (15 minute expiration)' };
  if (age < -TOKEN_LIFETIME_MS) return { error: 'X-Amz-Date parameter is in the future (15 minute expiration)' };
  const state = deps.keys.check(p.accessKeyId, p.sessionToken);
  if (state !== 'ok') return { error: `access key ${p.accessKeyId}: ${state}` };
  const rec = deps.keys.get(p.accessKeyId)!;
  const ok = await verifyPresignedUrl(rec, url, p, { 'x-k8s-aws-id': deps.clusterName });
  if (!ok) return { error: 'signature mismatch (wrong cluster, wrong secret or tampered URL)' };
  return { principal: rec.principal };
}

/** aws-iam-authenticator's canonical form: sessions become their role, without the role's path. */
function canonicalArn(p: Principal): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(p.arn);
  if (m) return `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`;
  return p.arn;
}

function sessionName(p: Principal): string {
  return p.arn.includes(':assumed-role/') ? p.arn.slice(p.arn.lastIndexOf('/') + 1) : '';
}

function template(s: string, p: Principal, accountId: string): string | undefined {
  if (s.includes('{{EC2PrivateDNSName}}')) return undefined;
  return s
    .replace(/\{\{AccountID\}\}/g, accountId)
    .replace(/\{\{SessionNameRaw\}\}/g, sessionName(p))
    .replace(/\{\{SessionName\}\}/g, sessionName(p).replace(/@/g, '-'));
}

interface AwsAuthEntry {
  rolearn?: string;
  userarn?: string;
  username?: string;
  groups?: string[];
}

function awsAuthEntries(data: Record<string, string> | undefined, field: 'mapRoles' | 'mapUsers'): AwsAuthEntry[] {
  const raw = data?.[field];
  if (!raw) return [];
  try {
    const parsed: unknown = parseYaml(raw);
    return Array.isArray(parsed) ? (parsed as AwsAuthEntry[]) : [];
  } catch {
    // aws-iam-authenticator logs and ignores a configmap it can't parse.
    return [];
  }
}

function withAuthenticated(groups: string[] | undefined): string[] {
  return [...new Set([...(groups ?? []), 'system:authenticated'])];
}

function mapIdentity(p: Principal, deps: AuthDeps): AuthResult {
  const cluster: FakeCluster | undefined = deps.eks.clusters.get(deps.clusterName);
  if (!cluster) return { error: `cluster ${deps.clusterName} does not exist in EKS` };
  const mode = cluster.authenticationMode;
  const canonical = canonicalArn(p);
  if (mode === 'CONFIG_MAP' && p.iamArn === cluster.creatorArn) return { user: ADMIN, via: 'cluster creator (bootstrap admin)' };
  if (mode !== 'CONFIG_MAP') {
    const entry = deps.eks.entryFor(cluster, p.iamArn);
    if (entry && entry.type === 'STANDARD') {
      const username = template(entry.username, p, deps.accountId);
      if (username) {
        const admin = entry.policies.some((x) => x.policyArn === CLUSTER_ADMIN_POLICY && x.accessScope.type === 'cluster');
        return { user: { username, groups: withAuthenticated(entry.kubernetesGroups), eksClusterAdmin: admin }, via: `access entry ${entry.principalArn}` };
      }
    }
  }
  if (mode !== 'API') {
    const data = deps.awsAuthData();
    const lower = canonical.toLowerCase();
    const match =
      awsAuthEntries(data, 'mapRoles').find((e) => e.rolearn?.toLowerCase() === lower) ??
      awsAuthEntries(data, 'mapUsers').find((e) => e.userarn?.toLowerCase() === lower);
    if (match) {
      const username = template(match.username ?? canonical, p, deps.accountId);
      if (username) return { user: { username, groups: withAuthenticated(match.groups) }, via: 'aws-auth ConfigMap' };
    }
  }
  return { error: `ARN is not mapped: ${canonical}` };
}

// EKS bearer tokens generated in-process, exactly as aws-iam-authenticator and `aws eks get-token`
// make them, so neither the aws CLI nor kubectl is needed: a presigned STS GetCallerIdentity URL
// whose signed headers include `x-k8s-aws-id: <cluster>`, encoded as
// "k8s-aws-v1." + base64url(url) without padding. The API server (or the test cloud) replays the
// URL against STS to learn who we are. STS honours a presigned GetCallerIdentity for 15 minutes
// after X-Amz-Date whatever X-Amz-Expires says (60 is sent for old authenticators); like
// aws-iam-authenticator we treat the token as good for 14 minutes.
import type { AwsCredentialIdentity } from '@smithy/types';
import { dnsSuffixOf } from '../desired.js';
import { sdk } from './clients.js';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** X-Amz-Expires; ignored by STS, checked to be 0..60 by authenticators 0.3.0 and older. */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** What the client reports (aws-iam-authenticator: the 15 minute validity minus one minute). */
export const TOKEN_LIFETIME_MS = 14 * 60_000;
/** Regenerate a cached token when less than this is left, so no request carries a dying token. */
export const REFRESH_MARGIN_MS = 60_000;

export interface EksToken {
  token: string;
  expiresAt: Date;
}

export interface EksTokenOptions {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>);
  /** The CLI's environment, for AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL (never process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** For tests: the signing time. */
  now?: () => Date;
}

/** The STS endpoint the token points at: the SDK's endpoint overrides first, else the regional host
 * in the region's partition (sts.us-iso-east-1.c2s.ic.gov, sts.cn-north-1.amazonaws.com.cn). */
export function stsEndpoint(region: string, env: Readonly<Record<string, string | undefined>> = {}): URL {
  const override = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL;
  if (override) {
    try {
      return new URL(override);
    } catch {
      // Fall through to the real endpoint: the SDK clients would reject the same value loudly.
    }
  }
  return new URL(`https://sts.${region}.${dnsSuffixOf(region)}/`);
}

/** RFC 3986 encoding, the one SigV4 canonicalises with. */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function base64UrlNoPad(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url').replace(/=+$/, '');
}

/** Presigns the GetCallerIdentity URL for `clusterName` and wraps it as an EKS token. */
export async function generateEksToken(opts: EksTokenOptions): Promise<EksToken> {
  const { SignatureV4, Sha256, HttpRequest } = await sdk.signer();
  const endpoint = stsEndpoint(opts.region, opts.env);
  const signingDate = opts.now?.() ?? new Date();
  const path = endpoint.pathname && endpoint.pathname !== '' ? endpoint.pathname : '/';
  const request = new HttpRequest({
    method: 'GET',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : undefined,
    path,
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    // Both are signed: host by SigV4 itself, the cluster id so a token for one cluster is useless
    // against another.
    headers: { host: endpoint.host, [CLUSTER_ID_HEADER]: opts.clusterName },
  });
  const credentials = opts.credentials;
  const signer = new SignatureV4({
    credentials: typeof credentials === 'function' ? credentials : async () => credentials,
    region: opts.region,
    service: 'sts',
    sha256: Sha256,
    uriEscapePath: true,
  });
  const signed = await signer.presign(request, { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate });
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x] as const) : v == null ? [] : [[k, v] as const]))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(String(v))}`)
    .join('&');
  const url = `${endpoint.protocol}//${endpoint.host}${path}?${query}`;
  return { token: TOKEN_PREFIX + base64UrlNoPad(url), expiresAt: new Date(signingDate.getTime() + TOKEN_LIFETIME_MS) };
}

/** A cached token that regenerates itself shortly before it expires. */
export interface TokenSource {
  get(): Promise<string>;
  /** For messages: where the token comes from. */
  readonly description: string;
}

export function eksTokenSource(opts: EksTokenOptions & { description?: string }): TokenSource {
  let current: EksToken | undefined;
  let pending: Promise<EksToken> | undefined;
  const now = () => (opts.now?.() ?? new Date()).getTime();
  return {
    description: opts.description ?? `in-process EKS token for cluster ${opts.clusterName}`,
    async get() {
      if (current && current.expiresAt.getTime() - now() > REFRESH_MARGIN_MS) return current.token;
      // Parallel requests (the access-check matrix) share one signing.
      pending ??= generateEksToken(opts).finally(() => {
        pending = undefined;
      });
      current = await pending;
      return current.token;
    },
  };
}

/** Decodes a token back to its presigned URL (for messages and tests). */
export function decodeEksToken(token: string): URL {
  if (!token.startsWith(TOKEN_PREFIX)) throw new Error(`not an EKS token: missing the ${TOKEN_PREFIX} prefix`);
  return new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
}

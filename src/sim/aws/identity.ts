// Who is calling: access keys the fake AWS knows (the test admin user's static key, keys a test
// issues for a principal, keys AssumeRole hands out) and SigV4 verification of requests and of
// presigned URLs (EKS tokens), done by re-signing with @smithy/signature-v4 and comparing.
import { randomBytes } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface Principal {
  /** As GetCallerIdentity answers: arn:aws:iam::<acct>:user/x or arn:aws:sts::<acct>:assumed-role/R/s. */
  arn: string;
  userId: string;
  /** The IAM entity behind it (the role ARN for an assumed-role session). */
  iamArn: string;
}

export interface KeyRecord {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  principal: Principal;
  expiresAt?: Date;
  /** Set by tests to simulate an expired SSO/STS session. */
  expired?: boolean;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export function randomId(prefix: string, length = 21): string {
  const bytes = randomBytes(length - prefix.length);
  let out = prefix;
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

export class KeyStore {
  private readonly keys = new Map<string, KeyRecord>();

  add(rec: KeyRecord): KeyRecord {
    this.keys.set(rec.accessKeyId, rec);
    return rec;
  }

  get(accessKeyId: string): KeyRecord | undefined {
    return this.keys.get(accessKeyId);
  }

  /** Temporary credentials (ASIA...) for `principal`, as STS would issue. */
  issue(principal: Principal, ttlSeconds = 3600): KeyRecord {
    return this.add({
      accessKeyId: randomId('ASIA', 20),
      secretAccessKey: randomBytes(30).toString('base64').slice(0, 40),
      sessionToken: randomBytes(96).toString('base64'),
      principal,
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
    });
  }

  /** Whether the key is usable now; undefined when unknown. */
  check(accessKeyId: string, sessionToken: string | undefined): 'ok' | 'unknown' | 'expired' | 'bad-token' {
    const rec = this.keys.get(accessKeyId);
    if (!rec) return 'unknown';
    if ((rec.sessionToken ?? undefined) !== (sessionToken || undefined)) return 'bad-token';
    if (rec.expired || (rec.expiresAt && rec.expiresAt.getTime() < Date.now())) return 'expired';
    return 'ok';
  }
}

export interface ParsedAuth {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/iam/aws4_request, SignedHeaders=..., Signature=...`. */
export function parseAuthorization(header: string | undefined): ParsedAuth | undefined {
  if (!header?.startsWith('AWS4-HMAC-SHA256 ')) return undefined;
  const parts = Object.fromEntries(
    header
      .slice('AWS4-HMAC-SHA256 '.length)
      .split(',')
      .map((p) => p.trim().split('=') as [string, string]),
  );
  const cred = String(parts.Credential ?? '').split('/');
  if (cred.length !== 5 || cred[4] !== 'aws4_request') return undefined;
  return {
    accessKeyId: cred[0] ?? '',
    date: cred[1] ?? '',
    region: cred[2] ?? '',
    service: cred[3] ?? '',
    signedHeaders: String(parts.SignedHeaders ?? '').split(';').filter(Boolean),
    signature: String(parts.Signature ?? ''),
  };
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function signer(rec: KeyRecord, region: string, service: string): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: rec.accessKeyId, secretAccessKey: rec.secretAccessKey, sessionToken: rec.sessionToken },
    region,
    service,
    sha256: Sha256,
    uriEscapePath: true,
  });
}

function splitPath(rawUrl: string): { path: string; query: Record<string, string | string[]> } {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1))) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { path, query };
}

/** Re-signs a header-signed request and compares signatures. */
export async function verifyRequestSignature(
  rec: KeyRecord,
  auth: ParsedAuth,
  req: { method: string; url: string; headers: Record<string, string | string[] | undefined>; host: string; body: Buffer },
): Promise<boolean> {
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) return false;
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const v = req.headers[name];
    if (v === undefined) return false;
    headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const bodyHash = new Sha256();
  bodyHash.update(req.body);
  const actualHash = Buffer.from(await bodyHash.digest()).toString('hex');
  const claimed = req.headers['x-amz-content-sha256'];
  // Like AWS: a payload hash that doesn't match the body fails, signed or not.
  if (typeof claimed === 'string' && claimed !== 'UNSIGNED-PAYLOAD' && claimed !== actualHash) return false;
  headers['x-amz-content-sha256'] ??= typeof claimed === 'string' ? claimed : actualHash;
  const { path, query } = splitPath(req.url);
  const [hostname, port] = req.host.split(':');
  const request = new HttpRequest({ method: req.method, protocol: 'http:', hostname, port: port ? Number(port) : undefined, path, query, headers, body: req.body });
  const signed = await signer(rec, auth.region, auth.service).sign(request, {
    signingDate,
    signableHeaders: new Set(auth.signedHeaders),
    // Sign exactly the headers the client listed: nothing more.
    unsignableHeaders: new Set(Object.keys(headers).filter((h) => !auth.signedHeaders.includes(h))),
  });
  const got = parseAuthorization(String(signed.headers.authorization ?? signed.headers.Authorization ?? ''));
  return got?.signature === auth.signature;
}

export interface PresignedCheck {
  accessKeyId: string;
  sessionToken?: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signingDate: Date;
  expires: number;
}

/** Pulls the SigV4 query parameters out of a presigned URL; undefined if any is missing or malformed. */
export function parsePresigned(url: URL): PresignedCheck | undefined {
  const q = url.searchParams;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return undefined;
  const cred = (q.get('X-Amz-Credential') ?? '').split('/');
  const signingDate = parseAmzDate(q.get('X-Amz-Date') ?? '');
  const expires = Number(q.get('X-Amz-Expires'));
  if (cred.length !== 5 || cred[4] !== 'aws4_request' || !signingDate || !q.get('X-Amz-Signature')) return undefined;
  if (!q.has('X-Amz-Expires') || !Number.isInteger(expires) || expires < 0) return undefined;
  return {
    accessKeyId: cred[0] ?? '',
    sessionToken: q.get('X-Amz-Security-Token') ?? undefined,
    region: cred[2] ?? '',
    service: cred[3] ?? '',
    signedHeaders: (q.get('X-Amz-SignedHeaders') ?? '').split(';').filter(Boolean),
    signingDate,
    expires,
  };
}

const PRESIGN_PARAMS = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);

/**
 * Re-presigns `url` with the key's secret and the given values for the signed headers (e.g. the
 * cluster name for x-k8s-aws-id) and compares signatures. Both payload hashes clients use for a
 * presigned GET are accepted: the empty-body hash (SDK v3, aws-sdk-go) and UNSIGNED-PAYLOAD (botocore).
 */
export async function verifyPresignedUrl(rec: KeyRecord, url: URL, p: PresignedCheck, headerValues: Record<string, string>): Promise<boolean> {
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!PRESIGN_PARAMS.has(k)) query[k] = v;
  const headers: Record<string, string> = {};
  for (const name of p.signedHeaders) {
    const v = name === 'host' ? url.host : headerValues[name];
    if (v === undefined) return false;
    headers[name] = v;
  }
  const want = url.searchParams.get('X-Amz-Signature');
  for (const payload of [undefined, 'UNSIGNED-PAYLOAD']) {
    const h = payload ? { ...headers, 'x-amz-content-sha256': payload } : headers;
    const request = new HttpRequest({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname || '/',
      query,
      headers: h,
    });
    const signed = await signer(rec, p.region, p.service).presign(request, {
      signingDate: p.signingDate,
      expiresIn: p.expires,
      unhoistableHeaders: new Set(['x-amz-content-sha256']),
      unsignableHeaders: new Set(['x-amz-content-sha256']),
    });
    if (signed.query?.['X-Amz-Signature'] === want && signed.query?.['X-Amz-SignedHeaders'] === p.signedHeaders.join(';')) return true;
  }
  return false;
}

// The in-process EKS token must be byte-for-byte the format aws-iam-authenticator produces and
// verifies (pkg/token/token.go): checked here with an independent SigV4 implementation.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  REFRESH_MARGIN_MS,
  TOKEN_LIFETIME_MS,
  decodeEksToken,
  eksTokenSource,
  generateEksToken,
  stsEndpoint,
} from '../../src/aws/eks-token.js';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const fixed = new Date('2026-03-01T12:34:56Z');

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Recomputes the presigned URL's signature from scratch, as STS does. */
function expectedSignature(url: URL, headers: Record<string, string>, secret: string): string {
  const params = [...url.searchParams.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  const canonicalQuery = params
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signedHeaders = url.searchParams.get('X-Amz-SignedHeaders')!.split(';');
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${headers[h]!.trim()}\n`).join('');
  const canonicalRequest = [
    'GET',
    url.pathname,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    createHash('sha256').update('').digest('hex'),
  ].join('\n');
  const date = url.searchParams.get('X-Amz-Date')!;
  const [, day, region, service] = url.searchParams.get('X-Amz-Credential')!.split('/');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const kDate = hmac(`AWS4${secret}`, day!);
  const kRegion = hmac(kDate, region!);
  const kService = hmac(kRegion, service!);
  const kSigning = hmac(kService, 'aws4_request');
  return createHmac('sha256', kSigning).update(stringToSign).digest('hex');
}

describe('generateEksToken', () => {
  it('produces k8s-aws-v1. + unpadded base64url of a presigned GetCallerIdentity URL', async () => {
    // Cluster names of several lengths, so some encodings would need '=' padding or '+'/'/'.
    for (const clusterName of ['remote-kpo-demo', 'a', 'ab', 'abc', 'c?>~']) {
      const { token } = await generateEksToken({ clusterName, region: 'us-east-1', credentials: creds, now: () => fixed });
      expect(token.startsWith('k8s-aws-v1.')).toBe(true);
      const body = token.slice('k8s-aws-v1.'.length);
      expect(body).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(body).not.toContain('=');
      // Go's base64.RawURLEncoding decodes it back to the URL.
      const url = Buffer.from(body, 'base64url').toString('utf8');
      expect(url.startsWith('https://sts.us-east-1.amazonaws.com/?')).toBe(true);
    }
  });

  it('carries exactly the query parameters aws-iam-authenticator whitelists, with the right values', async () => {
    const { token, expiresAt } = await generateEksToken({
      clusterName: 'remote-kpo-demo',
      region: 'eu-central-1',
      credentials: { ...creds, sessionToken: 'FwoGZXIvYXdzE+/session=' },
      now: () => fixed,
    });
    const url = decodeEksToken(token);
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.eu-central-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    const q = url.searchParams;
    const keys = [...q.keys()].map((k) => k.toLowerCase()).sort();
    expect(keys).toEqual(
      [
        'action',
        'version',
        'x-amz-algorithm',
        'x-amz-credential',
        'x-amz-date',
        'x-amz-expires',
        'x-amz-security-token',
        'x-amz-signature',
        'x-amz-signedheaders',
      ].sort(),
    );
    expect(q.get('Action')).toBe('GetCallerIdentity');
    expect(q.get('Version')).toBe('2011-06-15');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20260301/eu-central-1/sts/aws4_request');
    expect(q.get('X-Amz-Date')).toBe('20260301T123456Z');
    expect(q.get('X-Amz-Expires')).toBe('60');
    expect(q.get('X-Amz-Security-Token')).toBe('FwoGZXIvYXdzE+/session=');
    expect(q.get('X-Amz-SignedHeaders')!.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // The session token is part of the signed query.
    expect(expectedSignature(url, { host: url.host, 'x-k8s-aws-id': 'remote-kpo-demo' }, creds.secretAccessKey)).toBe(q.get('X-Amz-Signature'));
    // The client-side expiry is 14 minutes after signing (15 minute validity, one minute cushion).
    expect(expiresAt.getTime() - fixed.getTime()).toBe(TOKEN_LIFETIME_MS);
    expect(TOKEN_LIFETIME_MS).toBe(14 * 60_000);
  });

  it('signs the cluster id header: re-signing verifies, another cluster or secret does not', async () => {
    const { token } = await generateEksToken({ clusterName: 'remote-kpo-demo', region: 'us-east-1', credentials: creds, now: () => fixed });
    const url = decodeEksToken(token);
    const sig = url.searchParams.get('X-Amz-Signature');
    const headers = { host: url.host, 'x-k8s-aws-id': 'remote-kpo-demo' };
    expect(expectedSignature(url, headers, creds.secretAccessKey)).toBe(sig);
    expect(expectedSignature(url, { ...headers, 'x-k8s-aws-id': 'other-cluster' }, creds.secretAccessKey)).not.toBe(sig);
    expect(expectedSignature(url, headers, 'not-the-secret')).not.toBe(sig);
  });

  it('points at AWS_ENDPOINT_URL_STS (then AWS_ENDPOINT_URL) so an emulator can verify it', async () => {
    const env = { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL: 'http://127.0.0.1:9999' };
    const { token } = await generateEksToken({ clusterName: 'c1', region: 'us-east-1', credentials: creds, env, now: () => fixed });
    const url = decodeEksToken(token);
    expect(url.origin).toBe('http://127.0.0.1:4566');
    // The port is part of the signed host header.
    expect(expectedSignature(url, { host: '127.0.0.1:4566', 'x-k8s-aws-id': 'c1' }, creds.secretAccessKey)).toBe(
      url.searchParams.get('X-Amz-Signature'),
    );
    expect(stsEndpoint('us-east-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:9999' }).port).toBe('9999');
    expect(stsEndpoint('cn-north-1').host).toBe('sts.cn-north-1.amazonaws.com.cn');
    expect(stsEndpoint('us-west-2').host).toBe('sts.us-west-2.amazonaws.com');
  });

  it('accepts a credential provider function', async () => {
    const { token } = await generateEksToken({ clusterName: 'c1', region: 'us-east-1', credentials: async () => creds, now: () => fixed });
    expect(decodeEksToken(token).searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\//);
  });
});

describe('eksTokenSource', () => {
  it('reuses a token until it is within the refresh margin of expiry, then signs a new one', async () => {
    let t = fixed.getTime();
    let signings = 0;
    const source = eksTokenSource({
      clusterName: 'c1',
      region: 'us-east-1',
      credentials: async () => {
        signings++;
        return creds;
      },
      now: () => new Date(t),
    });
    const [a, b] = await Promise.all([source.get(), source.get()]);
    expect(a).toBe(b);
    expect(signings).toBe(1);
    t += TOKEN_LIFETIME_MS - REFRESH_MARGIN_MS - 1000;
    expect(await source.get()).toBe(a);
    expect(signings).toBe(1);
    t += 2000;
    const c = await source.get();
    expect(c).not.toBe(a);
    expect(signings).toBe(2);
    expect(decodeEksToken(c).searchParams.get('X-Amz-Date')).not.toBe(decodeEksToken(a).searchParams.get('X-Amz-Date'));
  });
});

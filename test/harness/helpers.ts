// Shared bits of the harness self-tests: real SDK clients pointed at a test cloud, and the wire
// samples the fakes are checked against.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type { TestCloud } from '../support/cloud.js';

export const WIRE_DIR = fileURLToPath(new URL('./wire-samples/', import.meta.url));

export interface WireSample {
  source: string;
  request: { method: string; path: string; query: Record<string, string>; headers: Record<string, string>; body: string };
  response: { status: number; headers: Record<string, string>; body: string };
}

export function sample(name: string): WireSample {
  return JSON.parse(readFileSync(`${WIRE_DIR}${name}.json`, 'utf8')) as WireSample;
}

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function clients(cloud: TestCloud, credentials: Creds = cloud.credentials, maxAttempts = 1) {
  const common = { region: cloud.region, endpoint: cloud.awsEndpoint, credentials, maxAttempts };
  return { sts: new STSClient(common), iam: new IAMClient(common), eks: new EKSClient(common) };
}

/** The element paths of an XML document (`A/B/C`), ignoring moto's lowercase `<message>` extra. */
export function xmlPaths(xml: string): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (close) {
      stack.pop();
      continue;
    }
    stack.push(name!);
    out.add(stack.join('/'));
    if (selfClose) stack.pop();
  }
  for (const p of [...out]) if (/\/message$/.test(p)) out.delete(p);
  return out;
}

/** Recursively, the key paths of a JSON value (`a.b`, arrays as `a[]`). */
export function jsonPaths(v: unknown, prefix = ''): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(v)) {
    for (const x of v) for (const p of jsonPaths(x, `${prefix}[]`)) out.add(p);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      for (const q of jsonPaths(x, p)) out.add(q);
    }
  }
  return out;
}

/** Sends one raw AWS request the way the wire sample did (body as recorded), signed by the SDK's signer. */
export async function rawAws(cloud: TestCloud, service: 'iam' | 'sts' | 'eks', method: string, path: string, body: string, contentType?: string): Promise<{ status: number; headers: Headers; body: string }> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const { HttpRequest } = await import('@smithy/protocol-http');
  const url = new URL(path, cloud.awsEndpoint);
  const req = new HttpRequest({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host, ...(contentType ? { 'content-type': contentType } : {}) },
    body: body || undefined,
  });
  const signer = new SignatureV4({ credentials: cloud.credentials, region: cloud.region, service, sha256: Sha256 });
  const signed = await signer.sign(req);
  const res = await fetch(url, { method, headers: signed.headers, body: body || undefined });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** One raw HTTPS request to a fake API server, trusting the CAs of this process's test clouds (for byte-level checks). */
export async function kubeRaw(
  server: string,
  method: string,
  path: string,
  opts: { token?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const https = await import('node:https');
  const { testCloudCas } = await import('../support/cloud.js');
  const url = new URL(path, server);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: testCloudCas(),
        headers: {
          Accept: 'application/json',
          ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body ? { 'Content-Type': 'application/json' } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** An EKS token built the way aws-iam-authenticator clients do, with @smithy/signature-v4. */
export async function eksToken(
  cloud: TestCloud,
  clusterName: string,
  opts: { credentials?: Creds; signingDate?: Date; host?: string; expiresIn?: number; pad?: boolean; signHeader?: boolean } = {},
): Promise<string> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const { HttpRequest } = await import('@smithy/protocol-http');
  const endpoint = new URL(opts.host ?? cloud.awsEndpoint);
  const request = new HttpRequest({
    method: 'GET',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : undefined,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: endpoint.host, ...(opts.signHeader === false ? {} : { 'x-k8s-aws-id': clusterName }) },
  });
  const signer = new SignatureV4({ credentials: opts.credentials ?? cloud.credentials, region: cloud.region, service: 'sts', sha256: Sha256 });
  const signed = await signer.presign(request, { expiresIn: opts.expiresIn ?? 60, signingDate: opts.signingDate ?? new Date() });
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = `${endpoint.protocol}//${endpoint.host}/?${query}`;
  const b64 = Buffer.from(url).toString('base64url');
  return `k8s-aws-v1.${opts.pad ? b64 + '='.repeat((4 - (b64.length % 4)) % 4 || 1) : b64}`;
}

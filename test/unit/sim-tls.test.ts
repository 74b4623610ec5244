// The simulation's TLS material is made at start (no key ships): it must be a CA and a server
// certificate that real TLS clients accept for 127.0.0.1 and localhost, and nothing else.
import { X509Certificate } from 'node:crypto';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSimTls } from '../../src/sim/tls.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function serve(tls: ReturnType<typeof makeSimTls>): Promise<number> {
  const server = http2.createSecureServer({ key: tls.keyPem, cert: tls.certPem, allowHTTP1: true }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

function get(url: string, ca: string, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, ...(servername ? { servername } : {}), agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
  });
}

describe('makeSimTls', () => {
  it('makes a CA and a server certificate that parse as X.509 v3 and chain', () => {
    const tls = makeSimTls(new Date('2026-12-03T12:00:00Z'));
    const ca = new X509Certificate(tls.caPem);
    const leaf = new X509Certificate(tls.certPem);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkHost('example.com')).toBeUndefined();
    expect(new Date(leaf.validFrom).getTime()).toBe(new Date('2026-12-03T11:59:00Z').getTime());
    expect(new Date(leaf.validTo).getTime()).toBe(new Date('2026-12-04T12:00:00Z').getTime());
    expect(tls.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('makes different keys every time (nothing to reuse)', () => {
    const a = makeSimTls();
    const b = makeSimTls();
    expect(a.keyPem).not.toBe(b.keyPem);
    expect(a.caPem).not.toBe(b.caPem);
    expect(new X509Certificate(a.certPem).checkIssued(new X509Certificate(b.caPem))).toBe(false);
  });

  it('a TLS client that trusts only the CA connects to 127.0.0.1 and localhost, over HTTP/1.1 and HTTP/2', async () => {
    const tls = makeSimTls();
    const port = await serve(tls);
    expect(await get(`https://127.0.0.1:${port}/`, tls.caPem)).toBe('ok');
    expect(await get(`https://localhost:${port}/`, tls.caPem)).toBe('ok');
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: tls.caPem });
    closers.push(() => new Promise((resolve) => session.close(() => resolve())));
    const body = await new Promise<string>((resolve, reject) => {
      const s = session.request({ ':path': '/' });
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    expect(body).toBe('ok');
  });

  it('is refused by a client trusting another CA, and for another host name', async () => {
    const tls = makeSimTls();
    const port = await serve(tls);
    await expect(get(`https://127.0.0.1:${port}/`, makeSimTls().caPem)).rejects.toMatchObject({ code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|CERT_SIGNATURE_FAILURE|UNABLE_TO_GET_ISSUER/) });
    await expect(get(`https://127.0.0.1:${port}/`, tls.caPem, 'kpo.example.com')).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});

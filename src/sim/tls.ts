// TLS material for the simulated cluster's API server, made when the simulation starts and kept
// in memory only: a throwaway certificate authority and a server certificate for 127.0.0.1 and
// localhost, both valid for a day. The package ships no private key (the demo must never carry a
// key someone could reuse), and node:crypto makes keys and signs but has no certificate builder,
// so the few DER structures an X.509 v3 certificate needs are written here (RFC 5280).
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** PEM texts for a TLS server (key + cert) and its clients (ca). */
export interface SimTls {
  /** The CA certificate clients trust (a kubeconfig's certificate-authority-data, base64 of this). */
  caPem: string;
  /** The server's certificate and private key (node:tls `cert` / `key`). */
  certPem: string;
  keyPem: string;
}

// --- DER, as little of it as a certificate needs ----------------------------------------------

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};

const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);

/** A non-negative INTEGER from big-endian bytes (a leading 0x00 when the top bit is set). */
function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i += 1;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const groups: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime for years before 2050, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

const name = (cn: string) => seq(set(seq(oid(OID.organization), utf8('astro-remote-kpo simulation'))), set(seq(oid(OID.commonName), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
const keyId = (spki: Buffer) => createHash('sha1').update(spki).digest();

interface CertSpec {
  subject: string;
  issuer: string;
  spki: Buffer;
  issuerSpki: Buffer;
  signer: KeyObject;
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
}

function certificate(c: CertSpec): Buffer {
  const sigAlg = seq(oid(OID.ecdsaWithSha256));
  const exts = [
    extension(OID.basicConstraints, true, c.ca ? seq(bool(true)) : seq()),
    // CA: keyCertSign + cRLSign (bits 5, 6); server: digitalSignature (bit 0).
    extension(OID.keyUsage, true, c.ca ? bits(Buffer.from([0x06]), 1) : bits(Buffer.from([0x80]), 7)),
    extension(OID.subjectKeyId, false, octets(keyId(c.spki))),
    extension(OID.authorityKeyId, false, seq(tlv(0x80, keyId(c.issuerSpki)))),
    ...(c.ca
      ? []
      : [
          extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
          // iPAddress 127.0.0.1 and dNSName localhost: the names a client checks the server by.
          extension(OID.subjectAltName, false, seq(tlv(0x87, Buffer.from([127, 0, 0, 1])), tlv(0x82, Buffer.from('localhost')))),
        ]),
  ];
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(randomBytes(16)),
    sigAlg,
    name(c.issuer),
    seq(time(c.notBefore), time(c.notAfter)),
    name(c.subject),
    c.spki,
    explicit(3, seq(...exts)),
  );
  // node:crypto signs ECDSA as DER (r, s) by default: exactly what X.509 carries.
  return seq(tbs, sigAlg, bits(sign('sha256', tbs, c.signer)));
}

const pem = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** A fresh CA and server certificate (P-256, SHA-256), valid from a minute ago for one day. */
export function makeSimTls(now = new Date()): SimTls {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const server = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caSpki = ca.publicKey.export({ type: 'spki', format: 'der' });
  const serverSpki = server.publicKey.export({ type: 'spki', format: 'der' });
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + 24 * 3600_000);
  const caCert = certificate({ subject: 'simulated cluster CA', issuer: 'simulated cluster CA', spki: caSpki, issuerSpki: caSpki, signer: ca.privateKey, ca: true, notBefore, notAfter });
  const serverCert = certificate({ subject: '127.0.0.1', issuer: 'simulated cluster CA', spki: serverSpki, issuerSpki: caSpki, signer: ca.privateKey, ca: false, notBefore, notAfter });
  return {
    caPem: pem('CERTIFICATE', caCert),
    certPem: pem('CERTIFICATE', serverCert),
    keyPem: server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

// The Kubernetes transport for EKS-style contexts: HTTP/2 when the server offers it (kube-apiserver
// does; see h2-session.ts), else HTTP/1.1 over node:https (node:http for a plain-HTTP server)
// with one keep-alive agent per client, so the stages reuse connections instead of opening one per
// request (each new one costs a TCP and a TLS round trip to a remote API server). TLS and auth come from the kubeconfig
// the way kubectl reads them: certificate-authority(-data), insecure-skip-tls-verify,
// tls-server-name, client-certificate(-data)/client-key(-data), token and tokenFile.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import { h2Sessions, type H2Sessions } from './h2-session.js';
import { str } from './kubeconfig.js';
import { kubeResponse, type KubeRequest, type KubeResponse, type RawMap, type Transport } from './transport.js';

/** HTTP/1.1 connections per API server (HTTP/2 needs one). The access check sends ~20 reviews at
 * once: queueing them behind a few sockets costs a round trip per batch, while a new connection
 * costs two (TCP and TLS 1.3) once, so each concurrent review gets its own, within a polite bound. */
const MAX_SOCKETS = 32;

async function fileOrData(file: unknown, data: unknown): Promise<Buffer | undefined> {
  const d = str(data);
  if (d) return Buffer.from(d, 'base64');
  const f = str(file);
  if (!f) return undefined;
  return readFile(f);
}

function collect(res: IncomingMessage): Promise<KubeResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => resolve(kubeResponse(res.statusCode ?? 0, res.headers, chunks)));
  });
}

export async function httpsTransport(server: string, cluster: RawMap, user: RawMap): Promise<Transport> {
  const url = new URL(server);
  const secure = url.protocol === 'https:';
  let agent: HttpAgent;
  let h2: H2Sessions | undefined;
  if (secure) {
    const [ca, cert, key] = await Promise.all([
      fileOrData(cluster['certificate-authority'], cluster['certificate-authority-data']),
      fileOrData(user['client-certificate'], user['client-certificate-data']),
      fileOrData(user['client-key'], user['client-key-data']),
    ]);
    const tlsOptions: ConnectionOptions = {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
      ...(str(cluster['tls-server-name']) ? { servername: str(cluster['tls-server-name']) } : {}),
    };
    agent = new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, ...tlsOptions });
    h2 = await h2Sessions(url, tlsOptions);
  } else {
    agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  }
  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  // The path prefix of a server URL like https://host/k8s/clusters/c (Rancher-style proxies).
  const prefix = url.pathname.replace(/\/+$/, '');

  const bearer = async (): Promise<string | undefined> => {
    if (token) return token;
    if (!tokenFile) return undefined;
    // Re-read each time: projected service-account tokens rotate in place.
    return (await readFile(tokenFile, 'utf8')).trim();
  };

  const http1 = (req: KubeRequest, target: URL, headers: Record<string, string>) => {
    const request = (secure ? https.request : http.request)(target, { method: req.method, headers, agent, signal: req.signal });
    const answer = new Promise<KubeResponse>((resolve, reject) => {
      request.on('response', (res) => collect(res).then(resolve, reject));
      request.on('error', reject);
    });
    request.end(req.body);
    return answer;
  };

  return {
    kind: 'node:https',
    async send(req: KubeRequest): Promise<KubeResponse> {
      const headers: Record<string, string> = { ...req.headers };
      if (!headers.Authorization) {
        const t = await bearer();
        if (t) headers.Authorization = `Bearer ${t}`;
      }
      if (req.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(Buffer.byteLength(req.body));
      }
      const target = new URL(prefix + req.path, url);
      const viaH2 = await h2?.send({ ...req, headers }, target.pathname + target.search);
      return viaH2 ?? http1(req, target, headers);
    },
    async close() {
      agent.destroy();
      await h2?.close();
    },
  };
}

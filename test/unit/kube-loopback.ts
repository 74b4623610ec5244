// A scripted loopback HTTP server for unit tests of the Kubernetes client code: each test says
// how to answer, the server records what was sent. Answers are usually real kube-apiserver
// responses from shared/wire-samples/kubernetes. (The full stateful test cloud is test/support/cloud.ts.)
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createKubeClient, type KubeClient, type KubeClientOptions } from '../../src/kube/client.js';

const SAMPLES = '/work/shared/wire-samples/kubernetes';

export interface Seen {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: unknown;
}

export type Answer = { status: number; body: string; headers?: Record<string, string> } | 'reset';

export function sample(name: string): { status: number; headers: Record<string, string>; body: string } {
  const s = JSON.parse(readFileSync(path.join(SAMPLES, `${name}.json`), 'utf8')) as { response: { status: number; headers: Record<string, string>; body: string } };
  return s.response;
}

/** A sample's body as an object, to edit and send back. */
export function sampleJson(name: string): Record<string, unknown> {
  return JSON.parse(sample(name).body) as Record<string, unknown>;
}

export function json(status: number, body: unknown): Answer {
  return { status, body: JSON.stringify(body) };
}

export function status(code: number, reason: string, message: string): Answer {
  return json(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

export interface Loopback {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
  client(extra?: Partial<KubeClientOptions>): Promise<KubeClient>;
}

export async function loopback(answer: (req: Seen, n: number) => Answer): Promise<Loopback> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      let parsed: unknown;
      try {
        parsed = body ? JSON.parse(body) : undefined;
      } catch {
        parsed = undefined;
      }
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body, json: parsed };
      seen.push(s);
      let a: Answer;
      try {
        a = answer(s, seen.length);
      } catch (err) {
        a = status(500, 'InternalError', `test server: ${String(err)}`);
      }
      if (a === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(a.status, { 'Content-Type': 'application/json', ...(a.headers ?? {}) });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
    client: (extra = {}) =>
      createKubeClient({
        server: url,
        kubeconfig: {
          clusters: [{ name: 'c', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'u', user: {} }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        },
        tokenSource: { description: 'test token', get: async () => 'tok' },
        authDescription: 'a test token',
        sleep: async () => undefined,
        ...extra,
      }),
  };
}

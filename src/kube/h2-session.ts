// HTTP/2 to the API server, as kubectl (client-go) does: kube-apiserver offers h2 by ALPN, and one
// TLS connection then carries every request, so the access check's ~20 concurrent reviews cost
// one handshake instead of twenty. The first request opens a TLS connection offering h2 and
// http/1.1; a server that picks http/1.1 gets HTTP/1.1 (https-transport.ts) from then on.
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import type { ConnectionOptions } from 'node:tls';
import { kubeResponse, type KubeRequest, type KubeResponse } from './transport.js';

export interface H2Sessions {
  /** Sends over h2, or returns undefined when the server does not speak it (use HTTP/1.1). */
  send(req: KubeRequest, path: string): Promise<KubeResponse | undefined>;
  /** Ends the session once its streams are done. */
  close(): Promise<void>;
}

export async function h2Sessions(url: URL, tlsOptions: ConnectionOptions): Promise<H2Sessions> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  let http1Only = false;
  let session: ClientHttp2Session | undefined;
  let opening: Promise<ClientHttp2Session | undefined> | undefined;
  let active = 0;

  const open = () =>
    new Promise<ClientHttp2Session | undefined>((resolve, reject) => {
      const socket = tls.connect({
        host,
        port,
        ...(net.isIP(host) ? {} : { servername: host }),
        ...tlsOptions,
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        if (socket.alpnProtocol !== 'h2') {
          http1Only = true;
          socket.destroy();
          resolve(undefined);
          return;
        }
        const s = http2.connect(url.origin, { createConnection: () => socket });
        // A session that goes away (GOAWAY, reset, idle close) is replaced on the next request;
        // requests it was carrying fail with ERR_HTTP2_* codes, which KubeClient retries.
        const forget = () => {
          if (session === s) session = undefined;
        };
        s.on('error', forget);
        s.on('goaway', forget);
        s.on('close', forget);
        s.unref(); // idle, it must not keep the process alive; ref'd while requests are in flight
        session = s;
        resolve(s);
      });
    });

  const current = async (): Promise<ClientHttp2Session | undefined> => {
    if (session && !session.closed && !session.destroyed) return session;
    opening ??= open().finally(() => {
      opening = undefined;
    });
    return opening;
  };

  return {
    async send(req, path) {
      if (http1Only) return undefined;
      const s = await current();
      if (!s) return undefined;
      const headers: Record<string, string> = { ':method': req.method, ':path': path };
      // HTTP/2 header names are lower case.
      for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
      if (active++ === 0) s.ref();
      try {
        return await new Promise<KubeResponse>((resolve, reject) => {
          const stream = s.request(headers, { signal: req.signal, endStream: req.body === undefined });
          let got: IncomingHttpHeaders = {};
          let ended = false;
          const chunks: Buffer[] = [];
          stream.on('response', (h) => (got = h));
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          // Reset by the server without an error event (RST_STREAM NO_ERROR, a GOAWAY that
          // dropped it): say so with a code KubeClient retries, rather than wait for the timeout.
          stream.on('close', () => {
            if (!ended) reject(Object.assign(new Error(`HTTP/2 stream closed before the answer (code ${stream.rstCode})`), { code: 'ERR_HTTP2_STREAM_ERROR' }));
          });
          stream.on('end', () => {
            ended = true;
            // A stream the server dropped can end without ever having answered.
            if (got[':status'] === undefined) {
              reject(Object.assign(new Error('HTTP/2 stream ended without an answer'), { code: 'ERR_HTTP2_STREAM_ERROR' }));
              return;
            }
            resolve(kubeResponse(Number(got[':status']), got, chunks));
          });
          if (req.body !== undefined) stream.end(req.body);
        });
      } finally {
        if (--active === 0 && !s.destroyed) s.unref();
      }
    },
    async close() {
      const s = session ?? (await opening?.catch(() => undefined));
      session = undefined;
      if (!s || s.closed || s.destroyed) return;
      // Held (ref) while it closes: an idle session is unref'd, and the process must not see an
      // empty event loop (and end mid-await) before the session is done.
      s.ref();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

// The Kubernetes transport for kubeconfigs node:https cannot serve alone (see needsClientNode):
// @kubernetes/client-node reads the user's exec plugin, auth provider or basic auth and the
// cluster's proxy-url, and sends the request with its own fetch. Loaded only for those contexts.
// Named imports, not `await import()` of the namespace: this module is itself loaded on demand
// (kube/client.ts), and named imports let the bundler leave out client-node's generated API
// classes, which are most of its size (docs/packaging.md).
//
// One connection pool for the run. client-node's applySecurityAuthentication() builds a new undici
// dispatcher on every call, so each request would open (and TLS-handshake) a connection of its own
// and leave it behind. Here the dispatcher is built once for the context's cluster and user and
// kept for the run: requests reuse its keep-alive connections, and close() ends them. Only when
// the TLS material itself changes (an exec plugin that hands out client certificates renewed
// them) is a new one built, and the old one closed once its requests are done.
import { createHash } from 'node:crypto';
import type { RequestOptions } from 'node:https';
import { IsomorphicFetchHttpLibrary, KubeConfig, RequestContext, type HttpMethod } from '@kubernetes/client-node';
import type { KubeRequest, KubeResponse, RawMap, Transport } from './transport.js';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** What client-node builds its dispatcher from (its applySecurityAuthentication copies exactly these). */
function tlsFingerprint(o: RequestOptions): string {
  const h = createHash('sha256');
  for (const v of [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername]) {
    const parts = Array.isArray(v) ? v : [v];
    for (const p of parts) h.update(p === undefined ? '\0u' : typeof p === 'object' && !Buffer.isBuffer(p) ? JSON.stringify(p) : `\0${String(p)}`);
    h.update('\0|');
  }
  return h.digest('hex');
}

export async function clientNodeTransport(server: string, kubeconfig: RawMap): Promise<Transport> {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(kubeconfig));
  const http = new IsomorphicFetchHttpLibrary();
  const base = server.replace(/\/+$/, '');
  // Set before its first await: concurrent first requests (the access check's reviews) share it.
  let kept: { key: string; dispatcher: Promise<Dispatcher | undefined> } | undefined;
  let closed = false;

  /** The run's dispatcher for this TLS material (undefined: client-node would use the global one). */
  const dispatcherFor = (key: string): Promise<Dispatcher | undefined> => {
    if (kept?.key === key) return kept.dispatcher;
    const old = kept?.dispatcher;
    // client-node's own construction (CA, client certificate, proxy-url, SOCKS), taken once.
    const probe = new RequestContext(`${base}/`, 'GET' as HttpMethod);
    const made = kc.applySecurityAuthentication(probe).then(
      () => probe.getDispatcher(),
      (err: unknown) => {
        if (kept?.dispatcher === made) kept = undefined; // the next request tries again
        throw err;
      },
    );
    kept = { key, dispatcher: made };
    // close() lets requests in flight finish; new ones go to the new dispatcher.
    void old?.then((d) => d?.close()).catch(() => undefined);
    return kept.dispatcher;
  };

  return {
    kind: 'client-node',
    async send(req: KubeRequest): Promise<KubeResponse> {
      if (closed) throw new Error('internal: the Kubernetes connection was closed');
      const ctx = new RequestContext(base + req.path, req.method as HttpMethod);
      ctx.setSignal(req.signal);
      if (req.body !== undefined) {
        ctx.setHeaderParam('Content-Type', 'application/json');
        ctx.setBody(req.body);
      }
      // The kubeconfig's credentials as client-node works them out (exec plugin, auth provider,
      // token, basic auth; its TLS material), set the way its applySecurityAuthentication sets them.
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      if (opts.auth) ctx.setHeaderParam('Authorization', `Basic ${Buffer.from(opts.auth).toString('base64')}`);
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) ctx.setHeaderParam(k, String(v));
      const dispatcher = await dispatcherFor(tlsFingerprint(opts));
      if (dispatcher) ctx.setDispatcher(dispatcher);
      // Then ours: an in-process EKS token set by the client replaces what the kubeconfig user would send.
      for (const [k, v] of Object.entries(req.headers)) ctx.setHeaderParam(k, v);
      const rsp = await http.send(ctx).toPromise();
      return { status: rsp.httpStatusCode, headers: rsp.headers, text: await rsp.body.text() };
    },
    async close() {
      closed = true;
      const d = kept?.dispatcher;
      kept = undefined;
      await d?.then((x) => x?.close()).catch(() => undefined);
    },
  };
}

// The Kubernetes transport for kubeconfigs node:https cannot serve alone (see needsClientNode):
// @kubernetes/client-node reads the user's exec plugin, auth provider or basic auth and the
// cluster's proxy-url, and sends the request with its own fetch. Loaded only for those contexts.
// Named imports, not `await import()` of the namespace: this module is itself loaded on demand
// (kube/client.ts), and named imports let the bundler leave out client-node's generated API
// classes, which are most of its size (docs/packaging.md).
import { IsomorphicFetchHttpLibrary, KubeConfig, RequestContext, type HttpMethod } from '@kubernetes/client-node';
import type { KubeRequest, KubeResponse, RawMap, Transport } from './transport.js';

export async function clientNodeTransport(server: string, kubeconfig: RawMap): Promise<Transport> {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(kubeconfig));
  const http = new IsomorphicFetchHttpLibrary();
  const base = server.replace(/\/+$/, '');
  return {
    kind: 'client-node',
    async send(req: KubeRequest): Promise<KubeResponse> {
      const ctx = new RequestContext(base + req.path, req.method as HttpMethod);
      ctx.setSignal(req.signal);
      if (req.body !== undefined) {
        ctx.setHeaderParam('Content-Type', 'application/json');
        ctx.setBody(req.body);
      }
      // The kubeconfig's credentials first, then ours: an in-process EKS token set by the client
      // replaces whatever the kubeconfig user would have sent.
      await kc.applySecurityAuthentication(ctx);
      for (const [k, v] of Object.entries(req.headers)) ctx.setHeaderParam(k, v);
      const rsp = await http.send(ctx).toPromise();
      return { status: rsp.httpStatusCode, headers: rsp.headers, text: await rsp.body.text() };
    },
  };
}

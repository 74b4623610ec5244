// How a KubeClient request reaches the API server. Two implementations: https-transport.ts speaks
// HTTP/1.1 over node:https with a keep-alive agent and does the kubeconfig auth we can do without a
// library (CA, client certificates, bearer tokens, our in-process EKS token); it covers EKS
// contexts and costs a handful of modules. client-node-transport.ts hands everything else (other
// exec plugins, auth providers, basic auth, proxy-url) to @kubernetes/client-node, which is ~870
// modules and most of a second to load, so we only pay that when a kubeconfig needs it.

import { str } from './kubeconfig.js';

export type KubeMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface KubeRequest {
  method: KubeMethod;
  /** Path and query, e.g. `/api/v1/namespaces?fieldManager=x`. */
  path: string;
  /** Request headers set by the client (User-Agent, Accept, Impersonate-User, Authorization). */
  headers: Record<string, string>;
  /** JSON text, when the request has a body. */
  body?: string;
  signal: AbortSignal;
}

export interface KubeResponse {
  status: number;
  text: string;
  headers: Record<string, string>;
}

export interface Transport {
  /** Which implementation, for the debug log. */
  readonly kind: 'node:https' | 'client-node';
  /** Resolves with any HTTP answer; rejects only when there is none (network, TLS, abort). */
  send(req: KubeRequest): Promise<KubeResponse>;
  /** Ends its connections (once the requests in flight are done); no request may follow. */
  close(): Promise<void>;
}

/** Kubeconfig maps as written in YAML (`certificate-authority-data`, `client-key`, ...). */
export type RawMap = Record<string, unknown>;


/** An answer as both node:https transports hand it back: headers flattened, HTTP/2's pseudo
 * headers (`:status`) left out, the body as UTF-8 text. */
export function kubeResponse(status: number, raw: Record<string, string | string[] | number | undefined>, chunks: Buffer[]): KubeResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (!k.startsWith(':') && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return { status, headers, text: Buffer.concat(chunks).toString('utf8') };
}

/**
 * Why this cluster/user pair needs client-node, or undefined when node:https can do it. An `exec`
 * left here is not an AWS token command (connect.ts replaces those with an in-process token).
 */
export function needsClientNode(cluster: RawMap, user: RawMap): string | undefined {
  if (str(cluster['proxy-url'])) return 'the cluster has a proxy-url';
  if (user.exec) return 'the user runs an exec credential plugin';
  if (user['auth-provider']) return 'the user has an auth provider';
  if (str(user.username) || str(user.password)) return 'the user has basic-auth credentials';
  return undefined;
}

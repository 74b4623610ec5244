// Turns a context Selection into a working KubeClient. Kubeconfig contexts keep their TLS settings
// and user; a user whose exec plugin is `aws eks get-token` / aws-iam-authenticator / eksctl gets
// the same token made in-process instead (no aws CLI needed). With no context at all, the
// connection is built in memory from DescribeCluster's endpoint and CA plus an in-process token.
import type { AwsClients } from '../aws/clients.js';
import { eksTokenSource, type TokenSource } from '../aws/eks-token.js';
import type { Inputs } from '../types.js';
import { createKubeClient, type KubeClient } from './client.js';
import { awsTokenExec, singleContextConfig, type LoadedKubeconfig, type RawMap } from './kubeconfig.js';
import type { Selection } from './select.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ConnectInput {
  selection: Selection;
  kc: LoadedKubeconfig;
  cluster?: { endpoint: string; certificateAuthority: string };
  inputs: Pick<Inputs, 'clusterName' | 'region'>;
  aws: AwsClients;
  env: Env;
  signal?: AbortSignal;
  /** Who we are (caller ARN), for 403 messages. */
  caller?: string;
  debug?: (line: string) => void;
}

export interface Connection {
  kube: KubeClient;
  server: string;
  /** For the stage output and messages, e.g. "in-process EKS token (replaces aws eks get-token)". */
  tokenSource: string;
}

/** Plain-HTTP servers have no TLS to verify; client-node insists the flag says so. */
function httpSafe(cluster: RawMap): RawMap {
  const server = typeof cluster.server === 'string' ? cluster.server : '';
  return server.startsWith('http:') ? { ...cluster, 'insecure-skip-tls-verify': true } : cluster;
}

function describeUser(user: RawMap): string {
  const exec = user.exec as { command?: unknown } | undefined;
  if (exec && typeof exec.command === 'string') return `exec plugin ${exec.command}`;
  if (user['auth-provider']) return 'auth provider';
  if (user['client-certificate'] || user['client-certificate-data']) return 'client certificate';
  if (user.token || user.tokenFile) return 'bearer token';
  if (user.username) return 'basic auth';
  return 'no credentials';
}

export async function connect(c: ConnectInput): Promise<Connection> {
  const common = { signal: c.signal, caller: c.caller, debug: c.debug };
  if (c.selection.source === 'in-memory') {
    if (!c.cluster) throw new Error('internal: an in-memory connection needs the cluster endpoint and CA');
    const server = c.cluster.endpoint;
    const tokenSource: TokenSource = eksTokenSource({
      clusterName: c.inputs.clusterName,
      region: c.inputs.region,
      credentials: () => c.aws.credentials(),
      env: c.env,
    });
    const cluster = httpSafe({ server, ...(c.cluster.certificateAuthority ? { 'certificate-authority-data': c.cluster.certificateAuthority } : {}) });
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: c.inputs.clusterName, cluster }],
      users: [{ name: 'astro-remote-kpo', user: {} }],
      contexts: [{ name: 'astro-remote-kpo', context: { cluster: c.inputs.clusterName, user: 'astro-remote-kpo' } }],
      'current-context': 'astro-remote-kpo',
    };
    const kube = await createKubeClient({
      ...common,
      server,
      kubeconfig,
      tokenSource,
      authDescription: `an in-process EKS token for cluster ${c.inputs.clusterName} (no kubeconfig context)`,
    });
    return { kube, server, tokenSource: 'in-process EKS token' };
  }

  const ctx = c.selection.context;
  const { config, user, cluster } = await singleContextConfig(c.kc, ctx.name);
  const server = String(cluster.server ?? '');
  const clusters = (config.clusters as Array<{ name: string; cluster: RawMap }>).map((e) => ({ ...e, cluster: httpSafe(e.cluster) }));
  const exec = awsTokenExec(user);
  if (exec) {
    const { exec: _dropped, ...rest } = user;
    const users = [{ name: ctx.userName || 'user', user: rest }];
    const tokenSource = eksTokenSource({
      clusterName: exec.clusterName,
      region: exec.region ?? c.inputs.region,
      // The context's plugin may name another profile: sign with that one, as the plugin would have.
      credentials: () => c.aws.credentials(exec.profile),
      env: c.env,
      description: `in-process EKS token for cluster ${exec.clusterName}${exec.profile ? ` (profile ${exec.profile})` : ''}`,
    });
    const kube = await createKubeClient({
      ...common,
      server,
      kubeconfig: { ...config, clusters, users },
      tokenSource,
      authDescription: `kubeconfig context "${ctx.name}" (user ${ctx.userName}, an in-process EKS token in place of \`${exec.tool}\`)`,
    });
    return { kube, server, tokenSource: `in-process EKS token (replaces ${exec.tool})` };
  }
  const how = describeUser(user);
  const kube = await createKubeClient({
    ...common,
    server,
    kubeconfig: { ...config, clusters },
    authDescription: `kubeconfig context "${ctx.name}" (user ${ctx.userName}, ${how})`,
  });
  return { kube, server, tokenSource: `kubeconfig user ${ctx.userName}: ${how}` };
}

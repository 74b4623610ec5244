// Which kubeconfig context talks to our cluster: --kube-context if given, else the context whose
// cluster server is the EKS endpoint DescribeCluster reported. None → the caller builds an
// in-memory connection from DescribeCluster instead. Several → interactive mode asks; otherwise
// the current context wins if it is one of them, else the first.
import { KpoError } from '../errors.js';
import type { Io } from '../io.js';
import { contextsForServer, listContexts, normaliseServer, type ContextInfo, type LoadedKubeconfig } from './kubeconfig.js';

export type Selection =
  | { source: 'kubeconfig'; context: ContextInfo; reason: string; warning?: string }
  | { source: 'in-memory'; reason: string };

export interface SelectInput {
  kc: LoadedKubeconfig;
  clusterName: string;
  /** The EKS endpoint; undefined when the cluster does not exist yet (dry run). */
  endpoint?: string;
  kubeContext?: string;
  io: Io;
}

function where(kc: LoadedKubeconfig): string {
  return kc.files.length ? kc.files.join(', ') : 'no kubeconfig file found';
}

export async function selectContext(s: SelectInput): Promise<Selection> {
  const all = listContexts(s.kc);
  if (s.kubeContext) {
    const chosen = all.find((c) => c.name === s.kubeContext);
    if (!chosen) {
      const names = all.map((c) => c.name);
      throw new KpoError(
        'KUBE_CONTEXT_NOT_FOUND',
        `--kube-context ${JSON.stringify(s.kubeContext)} is not a context in your kubeconfig (${where(s.kc)}): ` +
          (names.length ? `expected one of: ${names.join(', ')}.` : 'it has no contexts at all.'),
        'Leave out --kube-context to pick the context whose server is the cluster endpoint, or to connect without one.',
      );
    }
    if (!chosen.server) {
      throw new KpoError('KUBE_CONTEXT_INVALID', `--kube-context ${JSON.stringify(s.kubeContext)} refers to cluster "${chosen.clusterName}", which has no server in your kubeconfig.`);
    }
    const mismatch =
      s.endpoint && normaliseServer(chosen.server) !== normaliseServer(s.endpoint)
        ? `kubeconfig context "${chosen.name}" points at ${chosen.server}, not at cluster ${s.clusterName}'s endpoint ${s.endpoint}: make sure it reaches the same cluster (a tunnel or proxy), or drop --kube-context.`
        : undefined;
    return { source: 'kubeconfig', context: chosen, reason: 'chosen with --kube-context', ...(mismatch ? { warning: mismatch } : {}) };
  }
  if (!s.endpoint) return { source: 'in-memory', reason: `cluster ${s.clusterName} has no endpoint yet` };
  const matches = contextsForServer(s.kc, s.endpoint);
  if (matches.length === 0) {
    return {
      source: 'in-memory',
      reason: `no kubeconfig context points at ${s.endpoint} (${where(s.kc)}), so one is built in memory from DescribeCluster`,
    };
  }
  if (matches.length === 1) {
    return { source: 'kubeconfig', context: matches[0]!, reason: `its server is cluster ${s.clusterName}'s endpoint` };
  }
  const current = matches.find((c) => c.name === s.kc.currentContext);
  const fallback = current ?? matches[0]!;
  if (s.io.interactive) {
    const name = await s.io.select({
      flag: '--kube-context',
      message: `${matches.length} kubeconfig contexts point at cluster ${s.clusterName}; which one should be used?`,
      choices: matches.map((c) => ({ value: c.name, name: `${c.name} (user ${c.userName})${c.name === s.kc.currentContext ? ' — current' : ''}` })),
      default: fallback.name,
    });
    const picked = matches.find((c) => c.name === name) ?? fallback;
    return { source: 'kubeconfig', context: picked, reason: `chosen from the ${matches.length} contexts whose server is the cluster endpoint` };
  }
  return {
    source: 'kubeconfig',
    context: fallback,
    reason:
      `${matches.length} contexts point at the cluster endpoint (${matches.map((c) => c.name).join(', ')}); using ` +
      `${current ? 'the current context' : 'the first'} — pass --kube-context to pick another`,
  };
}

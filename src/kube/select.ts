// Which kubeconfig context talks to our cluster: --kube-context if given, else the context whose
// cluster server is the EKS endpoint DescribeCluster reported. None → the caller builds an
// in-memory connection from DescribeCluster instead. Several → the one the user picked in init's
// question phase (contextQuestion, asked before the first change); without an answer the current
// context wins if it is one of them, else the first. Never a prompt here: the context stage runs
// while other stages do.
import { KpoError } from '../errors.js';
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
  /** The context picked in the question phase among several pointing at the endpoint. */
  chosen?: string;
}

/** The choice to offer when several contexts point at the endpoint and no --kube-context names
 * one: they, and the default (the current context if it is one of them, else the first). */
export interface ContextChoice {
  matches: ContextInfo[];
  fallback: ContextInfo;
}

export function contextQuestion(s: Pick<SelectInput, 'kc' | 'endpoint' | 'kubeContext'>): ContextChoice | undefined {
  if (s.kubeContext || !s.endpoint) return undefined;
  const matches = contextsForServer(s.kc, s.endpoint);
  if (matches.length < 2) return undefined;
  return { matches, fallback: matches.find((c) => c.name === s.kc.currentContext) ?? matches[0]! };
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
  const { fallback } = contextQuestion(s)!;
  const picked = s.chosen ? matches.find((c) => c.name === s.chosen) : undefined;
  if (picked) return { source: 'kubeconfig', context: picked, reason: `chosen from the ${matches.length} contexts whose server is the cluster endpoint` };
  return {
    source: 'kubeconfig',
    context: fallback,
    reason:
      `${matches.length} contexts point at the cluster endpoint (${matches.map((c) => c.name).join(', ')}); using ` +
      `${fallback.name === s.kc.currentContext ? 'the current context' : 'the first'} — pass --kube-context to pick another`,
  };
}

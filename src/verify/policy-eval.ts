// A small IAM identity-policy evaluator for verify's fallback when the caller may not call
// iam:SimulatePrincipalPolicy: does a set of policy documents allow one action on one resource?
// Explicit Deny beats Allow; statements with a Condition are not evaluated (reported instead),
// and permission boundaries / SCPs are out of reach, which the row says.
import type { LoosePolicy } from '../aws/trust-policy.js';

export type Decision = 'allowed' | 'explicitDeny' | 'implicitDeny';

export interface SourcePolicy {
  /** e.g. "inline AstroRemoteKPO-eks-describe" or "managed arn:aws:iam::aws:policy/X". */
  name: string;
  doc: LoosePolicy;
}

export interface Evaluation {
  decision: Decision;
  /** Names of the policies whose statements decided it. */
  matchedBy: string[];
  /** Policies with conditional statements that could matter (not evaluated). */
  conditional: string[];
}

function list(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** IAM wildcards: `*` any run of characters, `?` one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'i' : '').test(value);
}

function matches(stmt: Record<string, unknown>, action: string, resource: string): boolean {
  // Action names are case-insensitive; resource ARNs are not.
  const actionOk =
    stmt.Action !== undefined
      ? list(stmt.Action).some((a) => wildcardMatch(a, action, true))
      : stmt.NotAction !== undefined && !list(stmt.NotAction).some((a) => wildcardMatch(a, action, true));
  if (!actionOk) return false;
  if (stmt.Resource !== undefined) return list(stmt.Resource).some((r) => wildcardMatch(r, resource, false));
  if (stmt.NotResource !== undefined) return !list(stmt.NotResource).some((r) => wildcardMatch(r, resource, false));
  return false;
}

export function evaluatePolicies(policies: readonly SourcePolicy[], action: string, resource: string): Evaluation {
  const allows: string[] = [];
  const denies: string[] = [];
  const conditional = new Set<string>();
  for (const p of policies) {
    const raw = p.doc.Statement;
    const statements = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Record<string, unknown>[];
    for (const s of statements) {
      if (!matches(s, action, resource)) continue;
      if (s.Condition !== undefined) {
        conditional.add(p.name);
        continue;
      }
      if (s.Effect === 'Deny') denies.push(p.name);
      else if (s.Effect === 'Allow') allows.push(p.name);
    }
  }
  const uniq = (a: string[]) => [...new Set(a)];
  if (denies.length) return { decision: 'explicitDeny', matchedBy: uniq(denies), conditional: [...conditional] };
  if (allows.length) return { decision: 'allowed', matchedBy: uniq(allows), conditional: [...conditional] };
  return { decision: 'implicitDeny', matchedBy: [], conditional: [...conditional] };
}

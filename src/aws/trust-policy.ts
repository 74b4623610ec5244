// Pure policy-document helpers for the iam-role stage: decode what IAM returns, decide whether a
// trust policy already lets the workload identity assume the role, and add it WITHOUT dropping any
// other principal or statement (other Deployments or people may rely on them); destroy takes out
// again exactly the principal init added, the same way.
import { KpoError } from '../errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Statement = { [k: string]: Json };
export interface LoosePolicy {
  Version?: string;
  Statement?: Statement | Statement[];
  [k: string]: Json | undefined;
}

/** IAM returns policy documents URL-encoded (moto leaves "/" alone; decoding handles both). */
export function decodePolicyDocument(doc: string | undefined): LoosePolicy | undefined {
  if (doc === undefined || doc === '') return undefined;
  let text = doc;
  if (!text.trimStart().startsWith('{')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      // not URL-encoded after all; parse as is
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new KpoError('AWS_UNUSABLE_ANSWER', 'the policy document AWS returned is not a JSON object');
  return parsed as LoosePolicy;
}

function asArray(v: Json | undefined): Json[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function statements(doc: LoosePolicy): Statement[] {
  const s = doc.Statement;
  if (s === undefined) return [];
  return Array.isArray(s) ? s : [s];
}

function allowsAssumeRole(s: Statement): boolean {
  if (s.Effect !== 'Allow' || s.Condition !== undefined || s.NotPrincipal !== undefined || s.NotAction !== undefined) return false;
  return asArray(s.Action).some((a) => a === 'sts:AssumeRole' || a === 'sts:*' || a === '*');
}

function awsPrincipals(s: Statement): Json[] {
  const p = s.Principal;
  if (!p || typeof p !== 'object' || Array.isArray(p)) return [];
  return asArray(p.AWS);
}

/** True when an unconditional Allow statement lets `principal` call sts:AssumeRole. */
export function trustIncludes(doc: LoosePolicy | undefined, principal: string): boolean {
  if (!doc) return false;
  return statements(doc).some((s) => allowsAssumeRole(s) && awsPrincipals(s).includes(principal));
}

/**
 * Adds `principal` to the trust policy. Prefers the first unconditional Allow sts:AssumeRole
 * statement with AWS principals (turning a single-string Principal.AWS into an array); otherwise
 * appends a statement of its own. Every other statement, principal and key is kept as is.
 */
export function mergeTrustPrincipal(doc: LoosePolicy | undefined, principal: string): { doc: LoosePolicy; changed: boolean } {
  if (!doc) {
    return {
      doc: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [principal] }, Action: 'sts:AssumeRole' }] },
      changed: true,
    };
  }
  if (trustIncludes(doc, principal)) return { doc, changed: false };
  const copy = structuredClone(doc);
  const list = statements(copy);
  const target = list.find(
    (s) => allowsAssumeRole(s) && s.Principal && typeof s.Principal === 'object' && !Array.isArray(s.Principal) && s.Principal.AWS !== undefined,
  );
  if (target) {
    const p = target.Principal as { [k: string]: Json };
    p.AWS = [...asArray(p.AWS), principal];
  } else {
    list.push({ Effect: 'Allow', Principal: { AWS: [principal] }, Action: 'sts:AssumeRole' });
  }
  copy.Statement = list;
  copy.Version ??= '2012-10-17';
  return { doc: copy, changed: true };
}

/**
 * Takes `principal` out of every unconditional Allow sts:AssumeRole statement (the undo of
 * mergeTrustPrincipal). A statement left with no principal at all goes; everything else stays as
 * it is. `empty`: no statement would be left, which IAM refuses (a role needs a trust policy).
 */
export function removeTrustPrincipal(doc: LoosePolicy, principal: string): { doc: LoosePolicy; changed: boolean; empty: boolean } {
  if (!trustIncludes(doc, principal)) return { doc, changed: false, empty: statements(doc).length === 0 };
  const copy = structuredClone(doc);
  const kept: Statement[] = [];
  for (const s of statements(copy)) {
    if (allowsAssumeRole(s) && awsPrincipals(s).includes(principal)) {
      const p = s.Principal as { [k: string]: Json };
      const rest = awsPrincipals(s).filter((a) => a !== principal);
      if (rest.length > 0) p.AWS = Array.isArray(p.AWS) || rest.length > 1 ? rest : rest[0]!;
      else delete p.AWS;
      if (Object.keys(p).length === 0) continue; // nothing left for this statement to trust
    }
    kept.push(s);
  }
  copy.Statement = kept;
  return { doc: copy, changed: true, empty: kept.length === 0 };
}

/** Structural equality for parsed JSON: object key order does not matter, array order does. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

/** `doc` with every principal in it (others kept); a new document when there is none. */
export function trustWith(doc: LoosePolicy | undefined, principals: readonly string[]): LoosePolicy {
  let out = doc;
  for (const p of principals) out = mergeTrustPrincipal(out, p).doc;
  if (!out) throw new Error('internal: a trust policy needs at least one principal');
  return out;
}

/** Every principal an Allow statement of the trust policy names (AWS ARNs, services, federated
 * providers, "*"): who may use the role. destroy keeps a role that names any it did not add. */
export function trustedPrincipals(doc: LoosePolicy | undefined): string[] {
  if (!doc) return [];
  const out = new Set<string>();
  for (const s of statements(doc)) {
    if (s.Effect !== 'Allow') continue;
    const p = s.Principal;
    if (typeof p === 'string') out.add(p);
    else if (p && typeof p === 'object' && !Array.isArray(p)) for (const v of Object.values(p)) for (const x of asArray(v)) if (typeof x === 'string') out.add(x);
  }
  return [...out];
}

/** IAM shows a trusted role or user that was deleted as its unique id (AROA…, AIDA…): it can no
 * longer assume anything, so it is nobody's use. */
export function isDeletedPrincipal(p: string): boolean {
  return /^A(ROA|IDA)[A-Z0-9]{12,}$/.test(p);
}

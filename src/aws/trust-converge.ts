// IAM has no conditional writes: two runs that each read a role's trust policy, add their own
// principal and write it back can erase each other's principal (last writer wins). So after writing
// we wait a jittered moment (long enough for a concurrent writer's read-then-write to land), read
// the policy again, and re-apply on top of what is there NOW, until every principal this run wants
// is present on a read taken after our last write. Bounded: a policy that keeps losing principals
// is someone else rewriting it, and that is reported rather than fought forever.
import { KpoError } from '../errors.js';
import { trustIncludes, trustWith, type LoosePolicy } from './trust-policy.js';

export interface TrustAccess {
  /** The trust policy as IAM has it now (GetRole). */
  read(): Promise<LoosePolicy | undefined>;
  /** UpdateAssumeRolePolicy; `adding`: the principals this write puts back in. */
  write(doc: LoosePolicy, adding: readonly string[]): Promise<void>;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export interface ConvergeOptions {
  /** How many writes at most. */
  maxWrites?: number;
  /** Wait after each write before checking: uniformly random in [min, max) ms. */
  settleMs?: readonly [number, number];
}

export const TRUST_SETTLE_MS: readonly [number, number] = [400, 1000];

export interface ConvergeResult {
  /** Principals this run wrote into the policy (each was missing when it wrote). */
  added: string[];
  writes: number;
}

/**
 * Makes `wanted` (every principal this run needs) present in the trust policy, keeping every
 * other principal. `first` is a read already made (saves a GetRole); undefined reads afresh.
 */
export async function ensureTrustPrincipals(
  roleName: string,
  wanted: readonly string[],
  access: TrustAccess,
  first?: LoosePolicy,
  o: ConvergeOptions = {},
): Promise<ConvergeResult> {
  const maxWrites = o.maxWrites ?? 6;
  const [lo, hi] = o.settleMs ?? TRUST_SETTLE_MS;
  const added = new Set<string>();
  let doc = first ?? (await access.read());
  for (let writes = 0; ; writes++) {
    const missing = wanted.filter((p) => !trustIncludes(doc, p));
    if (missing.length === 0) return { added: [...added], writes };
    if (writes === maxWrites) {
      throw new KpoError(
        'KEEPS_CHANGING',
        `The trust policy of IAM role ${roleName} lost ${missing.join(', ')} again after ${maxWrites} writes: something else keeps rewriting it.`,
        'Another run or tool is replacing the trust policy (IAM has no conditional writes). Let it finish, then re-run this command.',
      );
    }
    await access.write(trustWith(doc, missing), missing);
    for (const p of missing) added.add(p);
    await access.sleep(lo + Math.floor(access.random() * Math.max(0, hi - lo)));
    doc = await access.read();
  }
}

// Input validation. Every rule names the flag, the value and what is allowed, so a bad value
// is one clear exit-2 message before anything runs.
import { KpoError } from './errors.js';
import { partitionOf } from './desired.js';
import { STAGE_IDS, type StageId } from './types.js';

export interface Rule {
  test: (v: string) => boolean;
  allowed: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** EKS access entries refuse usernames with these prefixes (docs: "Set a custom username for EKS
 * access entries"); Kubernetes reserves `system:` for its own components. */
export const RESERVED_USER_PREFIXES = ['system:', 'eks:', 'aws:', 'amazon:', 'iam:'] as const;
/** The name EKS gives the cluster creator's admin identity. */
export const RESERVED_USER_NAMES = ['kubernetes-admin'] as const;

export function isReservedK8sUser(v: string): boolean {
  const lower = v.toLowerCase();
  return RESERVED_USER_PREFIXES.some((p) => lower.startsWith(p)) || (RESERVED_USER_NAMES as readonly string[]).includes(lower);
}

/** Namespaces the control plane and node lifecycle live in: granting pod create/exec there (and
 * labelling them) would hand out far more than EksPodOperator needs. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

// <area>[-gov|-iso…]-<direction>-<n>: every AWS region name has this shape (us-east-1,
// ap-southeast-7, cn-northwest-1, us-gov-west-1, us-isob-east-1, eu-isoe-west-1, mx-central-1,
// eusc-de-east-1). A typo guard only: which partition a region is in comes from the SDK's table
// (partitionOf).
const REGION_SHAPE = /^(us|eu|ap|sa|ca|me|af|il|mx|cn|eusc-de)(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}$/;

/** A problem when `arn` lives in another partition than `region` (an identity in aws-cn can never
 * be trusted by a role in us-east-1); one ARN at a time, so a list of identities checks each. */
export function partitionProblem(flag: string, arn: string, region: string): string | undefined {
  const partition = /^arn:([^:]+):/.exec(arn)?.[1];
  const want = partitionOf(region);
  if (partition === undefined || partition === want) return undefined;
  return `${flag} ${JSON.stringify(arn)} is in partition ${partition}, but region ${JSON.stringify(region)} is in partition ${want}: expected an ARN starting arn:${want}: (or a region of partition ${partition}).`;
}

export const RULES = {
  clusterName: {
    test: (v) => v.length >= 1 && v.length <= 100 && /^[0-9A-Za-z][A-Za-z0-9_-]*$/.test(v),
    allowed: '1-100 characters: letters, digits, hyphens and underscores, starting with a letter or digit',
  },
  iamRole: {
    test: (v) => /^[\w+=,.@-]{1,64}$/.test(v),
    allowed: "1-64 characters: letters, digits and '+=,.@_-'",
  },
  namespace: {
    test: (v) => v.length <= 63 && DNS1123_LABEL.test(v) && !SYSTEM_NAMESPACES.includes(v),
    allowed: `a DNS-1123 label: at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit, and not a system namespace (${SYSTEM_NAMESPACES.join(', ')})`,
  },
  k8sRole: {
    test: (v) => v.length <= 253 && DNS1123_SUBDOMAIN.test(v),
    allowed: "a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.'",
  },
  k8sUser: {
    // Kubernetes user names are free-form, but aws-auth and access entries reject odd ones, and
    // EKS refuses the reserved ones (its custom-username rules) only when the mapping is created,
    // long after the IAM role and RBAC exist: refuse them here instead.
    test: (v) => /^[A-Za-z0-9][A-Za-z0-9_.@:=+-]{0,127}$/.test(v) && !isReservedK8sUser(v),
    allowed: `1-128 characters: letters, digits and '_.@:=+-', not starting with ${RESERVED_USER_PREFIXES.map((p) => `'${p}'`).join(', ')} and not ${RESERVED_USER_NAMES.map((n) => `'${n}'`).join(', ')} (reserved by EKS and Kubernetes)`,
  },
  region: {
    test: (v) => REGION_SHAPE.test(v),
    allowed: 'an AWS region such as us-east-1, eu-central-1, cn-north-1 or us-gov-west-1',
  },
  workloadIdentity: {
    // Any partition's shape (aws, aws-cn, aws-iso-b, aws-eusc, …): partitionProblem checks it is the region's.
    test: (v) => /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/.test(v) && !v.includes('*'),
    allowed: 'an IAM role ARN like arn:aws:iam::123456789012:role/my-deployment-identity (no spaces or wildcards)',
  },
  connId: {
    test: (v) => /^[A-Za-z0-9_.-]{1,250}$/.test(v),
    allowed: "1-250 characters: letters, digits and '_.-'",
  },
  profile: {
    test: (v) => /^[\w+=,.@:/-]{1,128}$/.test(v),
    allowed: 'an AWS profile name from ~/.aws/config',
  },
  kubeContext: {
    test: (v) => v.length > 0 && v.length <= 512 && !/[\s]/.test(v),
    allowed: 'a kubeconfig context name (no spaces)',
  },
  podPolicyArn: {
    // AWS managed (account "aws") or customer managed (12 digits), any path; partitionProblem checks
    // the partition is the region's. IAM's own rules: path segments and name of [\w+=,.@-].
    test: (v) => /^arn:aws(-[a-z]+)*:iam::(aws|\d{12}):policy\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,128}$/.test(v),
    allowed: 'an IAM managed policy ARN: arn:aws:iam::aws:policy/<name> (AWS managed) or arn:aws:iam::<12-digit account>:policy/<name> (customer managed)',
  },
  podServiceAccount: {
    // A ServiceAccount's name is a DNS-1123 subdomain; IRSA's trust names it in the `sub` claim.
    test: (v) => v.length <= 253 && DNS1123_SUBDOMAIN.test(v),
    allowed: "a Kubernetes ServiceAccount name (DNS-1123 subdomain): at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
  },
  astroDeploymentId: {
    test: (v) => /^[a-z0-9]{10,40}$/.test(v),
    allowed: 'an Astro Deployment ID (lowercase letters and digits, e.g. clx1abc2d000008l4ezw5ofno)',
  },
} satisfies Record<string, Rule>;

export type RuleName = keyof typeof RULES;

/** The value is quoted whole as given (JSON: a tab or newline shows), and whitespace in it named,
 * since it is the mistake nobody sees in a terminal (a pasted ARN with a space or a line break). */
export function validateValue(rule: RuleName, flag: string, value: string): string | undefined {
  const r: Rule = RULES[rule];
  if (r.test(value)) return undefined;
  return `${flag} ${JSON.stringify(value)} is not valid${/\s/.test(value) ? ' (it contains whitespace)' : ''}: expected ${r.allowed}.`;
}

export function assertValid(rule: RuleName, flag: string, value: string): void {
  const problem = validateValue(rule, flag, value);
  if (problem) throw new KpoError('INPUT_INVALID', problem);
}

/**
 * The --workload-identity values, each validated whole (problems go to `problems`). Only
 * ASTRO_WORKLOAD_IDENTITY (`listed`) may list several, separated by whitespace (an ARN has none; a
 * role name may have ','): commander hands it over as the flag's one value, so a value equal to it
 * is the variable's. A list with a part that is no ARN is refused quoting the whole variable and
 * the part, so "…:role/a b" is never taken for the ARN "…:role/a" and a stray "b".
 */
export function workloadIdentityValues(given: readonly string[] | undefined, listed: string | undefined, problems: string[]): string[] {
  const values = given ?? (listed !== undefined ? [listed] : []);
  if (listed !== undefined && values.length === 1 && values[0] === listed) {
    const parts = listed.split(/\s+/).filter(Boolean);
    const bad = parts.filter((v) => !RULES.workloadIdentity.test(v)).map((b) => JSON.stringify(b));
    if (bad.length) {
      problems.push(
        `ASTRO_WORKLOAD_IDENTITY ${JSON.stringify(listed)} is not valid: ${bad.join(', ')} ${bad.length > 1 ? 'are not IAM role ARNs' : 'is not an IAM role ARN'}; expected ${RULES.workloadIdentity.allowed}, several separated by spaces.`,
      );
    }
    return [...new Set(parts)];
  }
  for (const v of values) {
    const problem = validateValue('workloadIdentity', '--workload-identity', v);
    if (problem) problems.push(problem);
  }
  return [...new Set(values.filter(Boolean))];
}

/** `--from`/`--only` take a stage id or the seed's step number (0-12). */
export function parseStageRef(flag: string, value: string): StageId {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    const id = STAGE_IDS[Number(trimmed)];
    if (id) return id;
  }
  if ((STAGE_IDS as readonly string[]).includes(trimmed)) return trimmed as StageId;
  throw new KpoError(
    'INPUT_INVALID',
    `${flag} ${JSON.stringify(value)} is not a stage: expected a stage id or its number (${STAGE_IDS.map((s, i) => `${i}=${s}`).join(', ')}).`,
  );
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new KpoError('INPUT_INVALID', `${flag} ${JSON.stringify(value)} is not valid: expected one of ${choices.join(', ')}.`);
}

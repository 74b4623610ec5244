// Input validation. Every rule names the flag, the value and what is allowed, so a bad value
// is one clear exit-2 message before anything runs.
import { UsageError } from './errors.js';
import { STAGE_IDS, type StageId } from './types.js';

export interface Rule {
  test: (v: string) => boolean;
  allowed: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

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
    test: (v) => v.length <= 63 && DNS1123_LABEL.test(v),
    allowed: 'a DNS-1123 label: at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
  },
  k8sRole: {
    test: (v) => v.length <= 253 && DNS1123_SUBDOMAIN.test(v),
    allowed: "a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.'",
  },
  k8sUser: {
    // Kubernetes user names are free-form, but aws-auth and access entries reject odd ones;
    // "system:" names are reserved for Kubernetes components and would be a privilege trap.
    test: (v) => /^[A-Za-z0-9][A-Za-z0-9_.@:=+-]{0,127}$/.test(v) && !v.startsWith('system:'),
    allowed: "1-128 characters: letters, digits and '_.@:=+-', not starting with 'system:'",
  },
  region: {
    test: (v) => /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/.test(v),
    allowed: 'an AWS region such as us-east-1 or eu-central-1',
  },
  workloadIdentity: {
    test: (v) => /^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/.test(v) && !v.includes('*'),
    allowed: 'an IAM role ARN like arn:aws:iam::123456789012:role/my-deployment-identity (no wildcards)',
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
  astroDeploymentId: {
    test: (v) => /^[a-z0-9]{10,40}$/.test(v),
    allowed: 'an Astro Deployment ID (lowercase letters and digits, e.g. clx1abc2d000008l4ezw5ofno)',
  },
} satisfies Record<string, Rule>;

export type RuleName = keyof typeof RULES;

export function validateValue(rule: RuleName, flag: string, value: string): string | undefined {
  const r: Rule = RULES[rule];
  return r.test(value) ? undefined : `${flag} ${JSON.stringify(value)} is not valid: expected ${r.allowed}.`;
}

export function assertValid(rule: RuleName, flag: string, value: string): void {
  const problem = validateValue(rule, flag, value);
  if (problem) throw new UsageError(problem);
}

/** `--from`/`--only` take a stage id or the seed's step number (0-12). */
export function parseStageRef(flag: string, value: string): StageId {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    const id = STAGE_IDS[Number(trimmed)];
    if (id) return id;
  }
  if ((STAGE_IDS as readonly string[]).includes(trimmed)) return trimmed as StageId;
  throw new UsageError(
    `${flag} ${JSON.stringify(value)} is not a stage: expected a stage id or its number (${STAGE_IDS.map((s, i) => `${i}=${s}`).join(', ')}).`,
  );
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} ${JSON.stringify(value)} is not valid: expected one of ${choices.join(', ')}.`);
}

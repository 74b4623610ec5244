// The audit trail: one line in logs/debug.log for every call that changes something in AWS or
// in the cluster (service, operation, target, outcome), written where the call is made (an AWS
// SDK middleware, the Kubernetes client) so no stage can forget it. Never a secret: names and
// ARNs only, no request bodies.

export interface AuditEntry {
  service: 'iam' | 'eks' | 'sts' | 'kube' | 'eksctl' | 'astro';
  operation: string;
  target: string;
  /** "ok", an HTTP status, or an error code. */
  outcome: string;
}

/** The fixed, greppable shape: `audit <service> <operation> <target> -> <outcome>`. */
export function auditLine(e: AuditEntry): string {
  return `audit ${e.service} ${e.operation} ${e.target || '-'} -> ${e.outcome}`;
}

/** AWS operations that change something (the read-only ones are Get/List/Describe/Simulate). */
export const AWS_MUTATING = /^(Create|Update|Delete|Put|Attach|Detach|Associate|Disassociate|Tag|Untag|Add|Remove)/;

/** The resource an AWS call is about, from its input (role, policy, cluster, principal). */
export function awsTarget(input: unknown): string {
  if (!input || typeof input !== 'object') return '';
  const i = input as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of ['RoleName', 'PolicyName', 'PolicyArn', 'name', 'clusterName', 'principalArn', 'policyArn', 'nodegroupName', 'OpenIDConnectProviderArn', 'Url', 'namespace', 'serviceAccount', 'associationId', 'roleArn']) {
    const v = i[key];
    if (typeof v === 'string' && v) parts.push(`${key}=${v}`);
  }
  return parts.join(' ');
}

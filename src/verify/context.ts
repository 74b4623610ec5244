// What verify's checks share: the stage context (clients, inputs, project dir) and what earlier
// checks found out (identity, cluster, role), so no lookup is made twice.
import type { Cluster } from '@aws-sdk/client-eks';
import type { Role } from '@aws-sdk/client-iam';
import type { ContextBase } from '../engine/context.js';
import type { FullContext } from '../engine/stage.js';
import type { KubeApi } from '../kube/api.js';
import type { StageOutputs } from '../types.js';

export interface VerifyContext {
  ctx: FullContext;
  /** What `ctx` was made from: the stages verify runs (preflight, context) get their own context from it. */
  base: ContextBase;
  identity?: StageOutputs['preflight'];
  cluster?: Cluster;
  clusterOut?: StageOutputs['cluster'];
  /** The role as GetRole returned it; undefined when it does not exist (or could not be read). */
  role?: Role;
  /** The role's ARN: the real one, else the one it would have (arn:…:role/<name>). */
  roleArn?: string;
  kube?: KubeApi;
  /** Kubernetes groups the identity mapping grants the role (set by the mapping row): the access
   * matrix asks about the user WITH them, as the API server will see it. */
  mappingGroups?: string[];
}

/** arn:<partition>:iam::<account>:role/<name>: what the role's ARN is when it has no path. */
export function predictedRoleArn(vc: VerifyContext): string | undefined {
  if (!vc.identity) return undefined;
  return `arn:${vc.identity.partition}:iam::${vc.identity.accountId}:role/${vc.ctx.inputs.iamRole}`;
}

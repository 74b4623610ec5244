// Runs every verify check, in dependency order where one needs another's findings and in
// parallel otherwise, and returns one row per check in CHECK_IDS order. Read-only throughout:
// the stages' read paths (preflight, context) and the helpers' read functions only.
import { makeStageContext, type ContextBase } from '../engine/context.js';
import type { FullContext } from '../engine/stage.js';
import type { StageOutputs } from '../types.js';
import { checkCluster, checkCredentials, checkEndpointAccess, checkTrust } from './aws-checks.js';
import { checkConnection } from './connection-check.js';
import { predictedRoleArn, type VerifyContext } from './context.js';
import { checkDags } from './dags-check.js';
import { checkAccessMatrix, checkNamespace, checkRole, checkRoleBinding } from './kube-checks.js';
import { checkMapping } from './mapping-check.js';
import { checkPermissions } from './permissions.js';
import { checkPods, POD_CHECKS } from './pod-checks.js';
import { CHECK_IDS, failFromError, pass, skip, type CheckId, type CheckRow } from './row.js';
import { contextStage } from '../stages/context.js';

export interface VerifyOptions {
  /** The full context; its outputs object is `outputs` (filled here as checks learn things). */
  ctx: FullContext;
  /** What `ctx` was made from. */
  base: ContextBase;
  outputs: Partial<StageOutputs>;
  /** From state, when there is one: whether init's eksctl created the cluster. */
  clusterCreatedByUs: boolean;
}

/** The kube-api row: the context stage's own choice of context and connection probe. */
async function connectKube(vc: VerifyContext, outputs: Partial<StageOutputs>): Promise<CheckRow> {
  try {
    if (vc.identity) outputs.preflight = vc.identity;
    if (vc.clusterOut) outputs.cluster = vc.clusterOut;
    const r = await contextStage.run(makeStageContext(contextStage, vc.base, { outputs }));
    vc.kube = r.kube;
    const how = r.outputs.source === 'kubeconfig' ? `kubeconfig context "${r.outputs.contextName ?? ''}"` : 'an in-memory connection';
    return pass('kube-api', `${r.outputs.server} via ${how}, authenticating with ${r.outputs.tokenSource}`, r.warnings?.length ? { notes: r.warnings } : {});
  } catch (err) {
    return failFromError('kube-api', err, 'Check the kubeconfig context (--kube-context) and that your AWS identity may use the cluster.');
  }
}

export async function runVerify(o: VerifyOptions): Promise<CheckRow[]> {
  const vc: VerifyContext = { ctx: o.ctx, base: o.base };
  try {
    return await checkAll(o, vc);
  } finally {
    // The Kubernetes connection the kube-api row made ends with verify.
    await vc.kube?.close();
  }
}

async function checkAll(o: VerifyOptions, vc: VerifyContext): Promise<CheckRow[]> {
  const rows = new Map<CheckId, CheckRow>();
  const set = (r: CheckRow) => rows.set(r.id, r);
  const ok = (id: CheckId) => rows.get(id)?.status === 'pass';
  // The pods' rows exist only with --pod-policy-arn: without it there is no such link to check.
  const all = () => CHECK_IDS.flatMap((id) => rows.get(id) ?? []);
  const pods = o.ctx.inputs.podPolicyArns.length > 0;

  // The project files need no cloud: check them while the rest runs.
  const dags = checkDags(vc).then(set);

  set(await checkCredentials(vc));
  if (!ok('credentials')) {
    for (const id of ['cluster', 'endpoint-access', 'kube-api', 'iam-trust', 'iam-permissions', 'mapping', 'namespace', 'k8s-role', 'role-binding', 'access-matrix', 'connection', ...(pods ? POD_CHECKS : [])] as const) {
      set(skip(id, 'credentials', 'no working AWS credentials'));
    }
    await dags;
    return all();
  }

  const iamBranch = async () => {
    set(await checkTrust(vc));
    set(vc.role ? await checkPermissions(vc) : skip('iam-permissions', 'iam-trust', `IAM role ${o.ctx.inputs.iamRole} does not exist`));
    vc.roleArn ??= predictedRoleArn(vc);
    set(await checkConnection(vc));
  };

  // The access matrix waits for the mapping row: it asks with the groups the mapping grants.
  let matrixReady = false;
  const clusterBranch = async () => {
    set(await checkCluster(vc, o.clusterCreatedByUs));
    if (!vc.clusterOut) {
      for (const id of ['endpoint-access', 'kube-api', 'namespace', 'k8s-role', 'role-binding', 'access-matrix'] as const) set(skip(id, 'cluster', 'the cluster was not found'));
      return;
    }
    set(checkEndpointAccess(vc));
    set(await connectKube(vc, o.outputs));
    if (!vc.kube) {
      for (const id of ['namespace', 'k8s-role', 'role-binding', 'access-matrix'] as const) set(skip(id, 'kube-api', 'no connection to the Kubernetes API'));
      return;
    }
    set(await checkNamespace(vc));
    if (!ok('namespace')) {
      for (const id of ['k8s-role', 'role-binding', 'access-matrix'] as const) set(skip(id, 'namespace', `namespace ${o.ctx.inputs.namespace} is not usable`));
      return;
    }
    const [role, binding] = await Promise.all([checkRole(vc), checkRoleBinding(vc)]);
    set(role);
    set(binding);
    // A missing or drifted Role/RoleBinding already explains a failing matrix: one cause, one row.
    if (!ok('k8s-role')) set(skip('access-matrix', 'k8s-role', `Role ${o.ctx.inputs.k8sRole} is not as desired`));
    else if (!ok('role-binding')) set(skip('access-matrix', 'role-binding', 'the RoleBinding is not as desired'));
    else matrixReady = true;
  };

  await Promise.all([iamBranch(), clusterBranch(), dags]);

  // The mapping needs the role's ARN (real or predicted), the cluster's mode and, for aws-auth, the API.
  const chain = async () => {
    if (!vc.clusterOut) set(skip('mapping', 'cluster', 'the cluster was not found'));
    else set(await checkMapping(vc));
    if (matrixReady) set(await checkAccessMatrix(vc));
  };
  // The pods' rows need only the cluster's findings and the connection: alongside the mapping.
  await Promise.all([chain(), checkPods(vc).then((r) => r.forEach(set))]);
  return all();
}

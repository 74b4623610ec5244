// verify row: may the IAM role call eks:DescribeCluster on this cluster? Asked of IAM's policy
// simulator when the caller may use it; otherwise answered by reading the role's inline and
// attached policies and evaluating them here. The row says which method answered.
import { initCommandLine } from '../resume-command.js';
import type { IAMClient } from '@aws-sdk/client-iam';
import { clusterArn } from '../desired.js';
import { decodePolicyDocument } from '../aws/trust-policy.js';
import { listAttachedPolicyArns, listInlinePolicyNames } from '../aws/iam-role.js';
import { evaluatePolicies, type Evaluation, type SourcePolicy } from './policy-eval.js';
import { fail, failFromError, pass, type CheckRow } from './row.js';
import type { VerifyContext } from './context.js';
import { sdk as awsSdk } from '../aws/clients.js';
import { awsErrorCode, describeAwsError, nonAwsResponse } from '../aws/errors.js';
import { together } from '../together.js';

const ACTION = 'eks:DescribeCluster';
const iamSdk = awsSdk.iam;

/** The simulator answered, but not about our action (an emulator's empty EvaluationResults). */
class NoSimulation extends Error {}

interface Simulation {
  allowed: boolean;
  decision: string;
  matched: string[];
}

/** The simulator's answer, or undefined when it gave none for our action (an emulator's empty reply). */
async function simulate(iam: IAMClient, roleArn: string, resource: string): Promise<Simulation | undefined> {
  const { SimulatePrincipalPolicyCommand } = await iamSdk();
  const r = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: roleArn, ActionNames: [ACTION], ResourceArns: [resource] }));
  const res = r.EvaluationResults?.find((x) => x.EvalActionName === undefined || x.EvalActionName.toLowerCase() === ACTION.toLowerCase());
  const decision = res?.EvalDecision;
  if (!decision) return undefined;
  return { allowed: decision === 'allowed', decision, matched: (res.MatchedStatements ?? []).map((m) => m.SourcePolicyId ?? '?') };
}

/** Why the simulator's answer could not be used, for the row's "method" note. */
async function whyNoSimulation(err: unknown): Promise<string> {
  const code = awsErrorCode(err);
  if (code === 'AccessDenied' || code === 'UnauthorizedOperation') return 'you may not call iam:SimulatePrincipalPolicy';
  if (nonAwsResponse(err)) return `iam:SimulatePrincipalPolicy gave no usable answer: ${describeAwsError(err)}`;
  return `iam:SimulatePrincipalPolicy failed: ${describeAwsError(err)}`;
}

/** Inline policies plus attached managed policies' default versions; unreadable ones are listed. */
export async function readRolePolicies(iam: IAMClient, roleName: string): Promise<{ policies: SourcePolicy[]; unreadable: string[] }> {
  const sdk = await iamSdk();
  const [inline, attached] = await together([listInlinePolicyNames(iam, roleName), listAttachedPolicyArns(iam, roleName)]);
  const policies: SourcePolicy[] = [];
  const unreadable: string[] = [];
  for (const name of inline) {
    const p = await iam.send(new sdk.GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
    const doc = decodePolicyDocument(p.PolicyDocument);
    if (doc) policies.push({ name: `inline ${name}`, doc });
  }
  for (const arn of attached) {
    try {
      const pol = await iam.send(new sdk.GetPolicyCommand({ PolicyArn: arn }));
      const version = pol.Policy?.DefaultVersionId;
      const v = await iam.send(new sdk.GetPolicyVersionCommand({ PolicyArn: arn, VersionId: version }));
      const doc = decodePolicyDocument(v.PolicyVersion?.Document);
      if (doc) policies.push({ name: `managed ${arn}`, doc });
      else unreadable.push(arn);
    } catch {
      unreadable.push(arn);
    }
  }
  return { policies, unreadable };
}

function fixFor(vc: VerifyContext, resource: string): string {
  const { iamRole } = vc.ctx.inputs;
  return `Restore the inline policy: ${initCommandLine(vc.ctx.inputs)} --from iam-role; or allow ${ACTION} on ${resource} in a policy of role ${iamRole}.`;
}

function fromEvaluation(vc: VerifyContext, e: Evaluation, resource: string, unreadable: string[], why: string): CheckRow {
  const method = `read the role's policies (${why}; permission boundaries and SCPs are not evaluated)`;
  const notes = [
    ...(e.conditional.length ? [`statements with a Condition were not evaluated: ${e.conditional.join(', ')}`] : []),
    ...(unreadable.length ? [`could not read managed policies: ${unreadable.join(', ')}`] : []),
  ];
  const data = { method: 'policy-read', decision: e.decision, matchedBy: e.matchedBy };
  if (e.decision === 'allowed') return pass('iam-permissions', `allowed on ${resource} by ${e.matchedBy.join(', ')}; method: ${method}`, { notes, data });
  const detail =
    e.decision === 'explicitDeny'
      ? `explicitly denied on ${resource} by ${e.matchedBy.join(', ')}; method: ${method}`
      : `no policy of the role allows ${ACTION} on ${resource}; method: ${method}`;
  return fail('iam-permissions', detail, fixFor(vc, resource), { notes, data });
}

export async function checkPermissions(vc: VerifyContext): Promise<CheckRow> {
  const { inputs } = vc.ctx;
  const roleArn = vc.role?.Arn;
  if (!roleArn || !vc.identity) return fail('iam-permissions', `IAM role ${inputs.iamRole} does not exist`, fixFor(vc, inputs.clusterName));
  const resource = vc.cluster?.arn ?? clusterArn(inputs, vc.identity.accountId);
  try {
    const iam = await vc.ctx.aws.iam();
    let why: string;
    // Any answer the simulator cannot give (AccessDenied, an emulator without the API, an empty
    // result) falls back to reading the role's policies: the row then says which method answered.
    try {
      const s = await simulate(iam, roleArn, resource);
      if (!s) throw new NoSimulation();
      const data = { method: 'SimulatePrincipalPolicy', decision: s.decision, matchedBy: s.matched };
      if (s.allowed) return pass('iam-permissions', `allowed on ${resource}${s.matched.length ? ` by ${s.matched.join(', ')}` : ''}; method: iam:SimulatePrincipalPolicy`, { data });
      return fail('iam-permissions', `${s.decision} for ${ACTION} on ${resource}; method: iam:SimulatePrincipalPolicy`, fixFor(vc, resource), { data });
    } catch (err) {
      why = err instanceof NoSimulation ? 'iam:SimulatePrincipalPolicy returned no evaluation result' : await whyNoSimulation(err);
    }
    const { policies, unreadable } = await readRolePolicies(iam, inputs.iamRole);
    return fromEvaluation(vc, evaluatePolicies(policies, ACTION, resource), resource, unreadable, why);
  } catch (err) {
    return failFromError('iam-permissions', err, 'The identity you run verify with needs iam:SimulatePrincipalPolicy, or iam:ListRolePolicies/GetRolePolicy/ListAttachedRolePolicies.');
  }
}

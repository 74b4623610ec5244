// IAM policy documents: the validation IAM does on write (MalformedPolicyDocument), a small
// evaluator (Allow/Deny, Action/NotAction, Resource/NotResource, wildcards; conditions ignored)
// for SimulatePrincipalPolicy, and trust-policy matching for AssumeRole.
import { AwsError } from './xml.js';

export interface Statement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: unknown;
}
export interface PolicyDoc {
  Version?: string;
  Statement: Statement[];
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function malformed(message: string): AwsError {
  return new AwsError(400, 'MalformedPolicyDocument', message);
}

/** Parses and checks a policy as IAM does on PutRolePolicy (kind 'identity') or CreateRole/UpdateAssumeRolePolicy ('trust'). */
export function parsePolicy(raw: string, kind: 'identity' | 'trust'): PolicyDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw malformed('Syntax errors in policy.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw malformed('Syntax errors in policy.');
  const d = doc as { Version?: unknown; Statement?: unknown };
  if (d.Version !== undefined && d.Version !== '2012-10-17' && d.Version !== '2008-10-17') {
    throw malformed('The policy failed legacy parsing');
  }
  if (d.Statement === undefined) throw malformed('Syntax errors in policy.');
  const statements = (Array.isArray(d.Statement) ? d.Statement : [d.Statement]) as Statement[];
  for (const s of statements) {
    if (typeof s !== 'object' || s === null) throw malformed('Syntax errors in policy.');
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed('Syntax errors in policy.');
    if (s.Action === undefined && s.NotAction === undefined) throw malformed('Policy statement must contain actions.');
    if (kind === 'identity') {
      if (s.Principal !== undefined || s.NotPrincipal !== undefined) throw malformed('Policy document should not specify a principal.');
      if (s.Resource === undefined && s.NotResource === undefined) throw malformed('Policy statement must contain resources.');
      for (const a of [...list(s.Action), ...list(s.NotAction)]) {
        if (a !== '*' && !/^[a-zA-Z0-9-]+:[a-zA-Z0-9*?]+$/.test(a)) throw malformed(`Action vendor must be specified in the action: ${a}`);
      }
    } else {
      if (s.Resource !== undefined || s.NotResource !== undefined) throw malformed('Has prohibited field Resource');
      if (s.Principal === undefined && s.NotPrincipal === undefined) throw malformed('AssumeRolepolicy contained an invalid principal: "".');
      for (const a of list(s.Action)) {
        if (!/^sts:/i.test(a) && a !== '*') throw malformed('AssumeRole policy may only specify STS AssumeRole actions.');
      }
      for (const p of principals(s.Principal)) {
        // IAM's own words for a Federated value that is neither a provider ARN nor a domain name.
        if (p.type === 'Federated' && !validFederated(p.value)) throw malformed('Federated principals must be valid domain names or SAML metadata ARNs');
        if (!validPrincipal(p)) throw malformed(`Invalid principal in policy: "${p.type}":"${p.value}"`);
      }
    }
  }
  return { Version: d.Version as string | undefined, Statement: statements };
}

interface PrincipalRef {
  type: string;
  value: string;
}

export function principals(p: unknown): PrincipalRef[] {
  if (p === '*') return [{ type: 'AWS', value: '*' }];
  if (typeof p !== 'object' || p === null) return [];
  const out: PrincipalRef[] = [];
  for (const [type, v] of Object.entries(p as Record<string, unknown>)) {
    for (const value of Array.isArray(v) ? v : [v]) out.push({ type, value: String(value) });
  }
  return out;
}

/** An identity provider ARN (OIDC or SAML; IAM checks it exists), or a web identity domain (accounts.google.com). */
function validFederated(v: string): boolean {
  return /^arn:aws[a-z-]*:iam::\d{12}:(oidc-provider|saml-provider)\/.+$/.test(v) || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v);
}

function validPrincipal(p: PrincipalRef): boolean {
  if (p.type !== 'AWS') return p.type === 'Service' || p.type === 'Federated' || p.type === 'CanonicalUser';
  if (p.value === '*' || /^\d{12}$/.test(p.value)) return true;
  return /^arn:aws[a-z-]*:(iam::\d{12}:(root|user\/.+|role\/.+)|sts::\d{12}:assumed-role\/.+\/.+)$/.test(p.value);
}

/** IAM-style wildcard match: `*` any run, `?` one character. */
export function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const re = '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$';
  return new RegExp(re, ignoreCase ? 'i' : '').test(value);
}

export type Decision = 'allowed' | 'explicitDeny' | 'implicitDeny';

export interface NamedPolicy {
  id: string;
  type: 'IAM Policy' | 'role';
  doc: PolicyDoc;
}

export interface Evaluation {
  decision: Decision;
  matched: Array<{ id: string; type: string }>;
}

function statementMatches(s: Statement, action: string, resource: string): boolean {
  const actionOk = s.Action !== undefined ? list(s.Action).some((a) => wildcard(a, action, true)) : !list(s.NotAction).some((a) => wildcard(a, action, true));
  if (!actionOk) return false;
  return s.Resource !== undefined ? list(s.Resource).some((r) => wildcard(r, resource)) : !list(s.NotResource).some((r) => wildcard(r, resource));
}

/** The decision IAM's simulator gives for one action on one resource, over the principal's policies. */
export function evaluate(policies: NamedPolicy[], action: string, resource: string): Evaluation {
  const allows: Evaluation['matched'] = [];
  const denies: Evaluation['matched'] = [];
  for (const p of policies) {
    for (const s of p.doc.Statement) {
      if (!statementMatches(s, action, resource)) continue;
      (s.Effect === 'Deny' ? denies : allows).push({ id: p.id, type: p.type });
    }
  }
  if (denies.length) return { decision: 'explicitDeny', matched: denies };
  if (allows.length) return { decision: 'allowed', matched: allows };
  return { decision: 'implicitDeny', matched: [] };
}

/** Whether a trust policy lets `caller` (the IAM ARN behind the session) call `action` (sts:AssumeRole). */
export function trustAllows(doc: PolicyDoc, callerIamArn: string, accountId: string, action = 'sts:AssumeRole'): boolean {
  const callerAccount = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(callerIamArn)?.[1];
  const matchesCaller = (s: Statement) =>
    principals(s.Principal).some(
      (p) =>
        p.type === 'AWS' &&
        (p.value === '*' ||
          p.value === callerIamArn ||
          p.value === callerAccount ||
          p.value === `arn:aws:iam::${callerAccount ?? accountId}:root`),
    );
  const actionOk = (s: Statement) => list(s.Action).some((a) => wildcard(a, action, true));
  if (doc.Statement.some((s) => s.Effect === 'Deny' && actionOk(s) && matchesCaller(s))) return false;
  return doc.Statement.some((s) => s.Effect === 'Allow' && actionOk(s) && matchesCaller(s));
}

/** The AWS managed policies tests use (the seed's three and a few common ones), abridged. */
export const MANAGED_POLICIES: Record<string, PolicyDoc> = {
  AmazonEKSWorkerNodePolicy: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'ec2:DescribeInstances',
          'ec2:DescribeInstanceTypes',
          'ec2:DescribeRouteTables',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSubnets',
          'ec2:DescribeVolumes',
          'ec2:DescribeVolumesModifications',
          'ec2:DescribeVpcs',
          'eks:DescribeCluster',
          'eks-auth:AssumeRoleForPodIdentity',
        ],
        Resource: '*',
      },
    ],
  },
  AmazonEKS_CNI_Policy: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'ec2:AssignPrivateIpAddresses',
          'ec2:AttachNetworkInterface',
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeInstances',
          'ec2:DescribeTags',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeInstanceTypes',
          'ec2:DescribeSubnets',
          'ec2:DetachNetworkInterface',
          'ec2:ModifyNetworkInterfaceAttribute',
          'ec2:UnassignPrivateIpAddresses',
        ],
        Resource: '*',
      },
      { Effect: 'Allow', Action: ['ec2:CreateTags'], Resource: ['arn:aws:ec2:*:*:network-interface/*'] },
    ],
  },
  AmazonEC2ContainerRegistryReadOnly: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'ecr:GetAuthorizationToken',
          'ecr:BatchCheckLayerAvailability',
          'ecr:GetDownloadUrlForLayer',
          'ecr:GetRepositoryPolicy',
          'ecr:DescribeRepositories',
          'ecr:ListImages',
          'ecr:DescribeImages',
          'ecr:BatchGetImage',
          'ecr:GetLifecyclePolicy',
          'ecr:GetLifecyclePolicyPreview',
          'ecr:ListTagsForResource',
          'ecr:DescribeImageScanFindings',
        ],
        Resource: '*',
      },
    ],
  },
  AmazonEKSClusterPolicy: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['autoscaling:DescribeAutoScalingGroups', 'ec2:Describe*', 'elasticloadbalancing:Describe*', 'kms:DescribeKey'], Resource: '*' }],
  },
  ReadOnlyAccess: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['eks:Describe*', 'eks:List*', 'iam:Get*', 'iam:List*', 'ec2:Describe*'], Resource: '*' }] },
  AdministratorAccess: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
};

/** `arn:aws:iam::aws:policy/Name` (or with a path) → the managed policy, if known. */
export function managedPolicy(arn: string): { name: string; doc: PolicyDoc } | undefined {
  const m = /^arn:aws[a-z-]*:iam::aws:policy\/(?:.*\/)?([^/]+)$/.exec(arn);
  const doc = m ? MANAGED_POLICIES[m[1]!] : undefined;
  return m && doc ? { name: m[1]!, doc } : undefined;
}

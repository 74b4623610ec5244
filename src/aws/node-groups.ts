// "A cluster is done when it can run pods." eksctl makes the control plane and the node groups in
// separate CloudFormation stacks; stopped in between (Ctrl-C, a network drop) it leaves an ACTIVE
// cluster without nodes, where EksPodOperator's pods stay Pending forever. Here: which node groups
// a ClusterConfig asks for, and which of them EKS has.
//
// Managed node groups (managedNodeGroups) are EKS objects: ListNodegroups/DescribeNodegroup see
// them. eksctl's self-managed `nodeGroups` are only a CloudFormation stack and EC2 instances,
// invisible to the EKS API; this tool has no CloudFormation client (least privilege), so those are
// not checked: the stage says so rather than guessing.
import { parse } from 'yaml';
import type { EKSClient, Nodegroup } from '@aws-sdk/client-eks';
import { unlessNotFound } from './errors.js';
import { allItems } from './pages.js';
import { together } from '../together.js';
import { sdk as awsSdk } from './clients.js';

export interface NodeGroupSpec {
  name: string;
  managed: boolean;
  instanceType?: string;
  desiredCapacity?: number;
}

const eksSdk = awsSdk.eks;

/** The node groups of an eksctl ClusterConfig (YAML text); [] when it has none or is unreadable. */
export async function nodeGroupsOf(text: string): Promise<NodeGroupSpec[]> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return [];
  }
  if (!doc || typeof doc !== 'object') return [];
  const d = doc as { managedNodeGroups?: unknown; nodeGroups?: unknown };
  const read = (list: unknown, managed: boolean): NodeGroupSpec[] =>
    (Array.isArray(list) ? list : []).flatMap((g: unknown) => {
      const o = (g ?? {}) as { name?: unknown; instanceType?: unknown; desiredCapacity?: unknown };
      if (typeof o.name !== 'string' || !o.name) return [];
      return [
        {
          name: o.name,
          managed,
          ...(typeof o.instanceType === 'string' ? { instanceType: o.instanceType } : {}),
          ...(typeof o.desiredCapacity === 'number' ? { desiredCapacity: o.desiredCapacity } : {}),
        },
      ];
    });
  return [...read(d.managedNodeGroups, true), ...read(d.nodeGroups, false)];
}

/** "node group kpo-workers: 2 × t3.medium" (what the confirmation and plan say). */
export function describeNodeGroups(specs: readonly NodeGroupSpec[]): string {
  if (!specs.length) return 'no node group';
  return specs
    .map((g) => `${g.managed ? 'managed ' : 'self-managed '}node group ${g.name}${g.instanceType ? `: ${g.desiredCapacity ?? 2} × ${g.instanceType}` : ''}`)
    .join(', ');
}

export async function listNodegroups(eks: EKSClient, clusterName: string): Promise<string[]> {
  const { paginateListNodegroups } = await eksSdk();
  return allItems(`eks:ListNodegroups on EKS cluster ${clusterName}`, paginateListNodegroups({ client: eks }, { clusterName }), (p) => p.nodegroups, (p) => p.nextToken);
}

export async function describeNodegroup(eks: EKSClient, clusterName: string, nodegroupName: string): Promise<Nodegroup | undefined> {
  const { DescribeNodegroupCommand } = await eksSdk();
  return (await unlessNotFound(eks.send(new DescribeNodegroupCommand({ clusterName, nodegroupName }))))?.nodegroup;
}

export async function listFargateProfiles(eks: EKSClient, clusterName: string): Promise<string[]> {
  const { paginateListFargateProfiles } = await eksSdk();
  return allItems(`eks:ListFargateProfiles on EKS cluster ${clusterName}`, paginateListFargateProfiles({ client: eks }, { clusterName }), (p) => p.fargateProfileNames, (p) => p.nextToken);
}

export interface NodeGroupCheck {
  /** Managed node groups the config asks for that EKS does not have. */
  missing: string[];
  /** Managed ones that exist but are not ACTIVE/UPDATING (CREATING, CREATE_FAILED, DEGRADED …). */
  unhealthy: Array<{ name: string; status: string }>;
  /** Self-managed ones: not visible to EKS, so not checked. */
  unchecked: string[];
}

/** Compares the ClusterConfig's node groups with what EKS has: one Describe per group, all at
 * once (one round trip; a missing group answers ResourceNotFound, so no list is needed). */
export async function checkNodeGroups(eks: EKSClient, clusterName: string, specs: readonly NodeGroupSpec[]): Promise<NodeGroupCheck> {
  const managed = specs.filter((s) => s.managed);
  const result: NodeGroupCheck = { missing: [], unhealthy: [], unchecked: specs.filter((s) => !s.managed).map((s) => s.name) };
  const found = await together(managed.map((g) => describeNodegroup(eks, clusterName, g.name)));
  managed.forEach((g, i) => {
    const ng = found[i];
    if (!ng) result.missing.push(g.name);
    else if (ng.status !== 'ACTIVE' && ng.status !== 'UPDATING') result.unhealthy.push({ name: g.name, status: ng.status ?? 'unknown' });
  });
  return result;
}

/** The SDK's waiter until node group `nodegroupName` is ACTIVE (up to 30 min); throws if it fails. */
export async function waitNodegroupActive(eks: EKSClient, clusterName: string, nodegroupName: string, signal?: AbortSignal): Promise<void> {
  const { waitUntilNodegroupActive } = await eksSdk();
  await waitUntilNodegroupActive({ client: eks, maxWaitTime: 30 * 60, minDelay: 5, maxDelay: 30, ...(signal ? { abortSignal: signal } : {}) }, { clusterName, nodegroupName });
}

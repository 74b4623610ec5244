// Helpers for the tests of shared setups (several projects on one cluster and role): run init,
// verify and destroy as a project would, and list what any project of this tool left behind.
import { expect } from 'vitest';
import { sleep } from '../support/cloud.js';
import type { TestCloud } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';

export const NS = 'astro-remote-kpo';
export const ROLE = 'AstroRemoteKPO';
export const ROLE_ARN = `arn:aws:iam::123456789012:role/${ROLE}`;
export const CLUSTER = 'remote-kpo-demo';
export const POD_ROLE = 'AstroRemoteKPOPods';
export const POD_SA = 'astro-remote-kpo-pods';
export const LABEL = 'app.kubernetes.io/managed-by';
export const PROJECT = 'astro-remote-kpo/project-id';
export const USED_BY = 'astro-remote-kpo/used-by-';

export interface Item {
  stage: string;
  kind: string;
  name: string;
  decision: 'delete' | 'keep' | 'gone';
  why: string;
  result?: 'deleted' | 'failed' | 'kept';
  note?: string;
}

export async function init(cloud: TestCloud, dir: string, wi: string, extra: string[] = []) {
  return runCli(['init', '--non-interactive', '--workload-identity', wi, '--project-dir', dir, ...extra], { env: cloud.env, cwd: dir });
}

/** destroy --json --yes (with --delete-namespace unless `keepNamespace`); asserts exit 0. */
export async function destroy(cloud: TestCloud, dir: string, extra: string[] = [], o: { keepNamespace?: boolean } = {}): Promise<Item[]> {
  const r = await runCli(['destroy', '--json', '--yes', ...(o.keepNamespace ? [] : ['--delete-namespace']), '--project-dir', dir, ...extra], { env: cloud.env, cwd: dir });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { items: Item[] }).items;
}

/** verify --json: the exit code and the failing rows. */
export async function verify(cloud: TestCloud, dir: string): Promise<{ code: number; failed: string[] }> {
  const r = await runCli(['verify', '--json', '--project-dir', dir], { env: cloud.env, cwd: dir });
  const doc = JSON.parse(r.stdout) as { checks?: Array<{ id?: string; name?: string; status?: string; detail?: string }> };
  const failed = (doc.checks ?? []).filter((c) => c.status === 'fail').map((c) => `${c.id ?? c.name}: ${c.detail ?? ''}`);
  return { code: r.code, failed };
}

export const byKind = (items: Item[], kind: string) => items.find((i) => i.kind === kind);

/** The use marks (project ids) on a Kubernetes object's annotations or an AWS resource's tags. */
export function marksOf(meta: Record<string, string> | undefined): string[] {
  return Object.keys(meta ?? {}).filter((k) => k.startsWith(USED_BY)).map((k) => k.slice(USED_BY.length)).sort();
}

/** Everything any project of this tool created or marked that is still there: empty after the
 * last destroy. */
export function leftovers(cloud: TestCloud): string[] {
  const out: string[] = [];
  const role = cloud.aws.role(ROLE);
  if (role) out.push(`IAM role ${ROLE} (trusts ${JSON.stringify(cloud.aws.trustPolicy(ROLE))}, inline ${cloud.aws.inlinePolicyNames(ROLE).join(',')})`);
  if (cloud.aws.accessEntry(CLUSTER, ROLE_ARN)) out.push('access entry for the role');
  const ns = cloud.kube.namespace(NS);
  if (ns?.metadata?.labels?.[LABEL] || marksOf(ns?.metadata?.annotations).length) out.push(`namespace ${NS}`);
  for (const kind of ['Role', 'RoleBinding']) for (const o of ns ? cloud.kube.list(kind, NS) : []) out.push(`${kind} ${o.metadata?.name}`);
  if (cloud.kube.awsAuth().some((e) => e.rolearn === ROLE_ARN)) out.push('aws-auth entry for the role');
  const cm = cloud.kube.configMap('kube-system', 'aws-auth');
  if (cm?.metadata?.labels?.[LABEL]) out.push('aws-auth ConfigMap made by init');
  // The task pods' identity (issue #20): their role, OIDC provider, association, ServiceAccount.
  if (cloud.aws.role(POD_ROLE)) out.push(`IAM role ${POD_ROLE} (attached ${cloud.aws.attachedPolicies(POD_ROLE).join(',')})`);
  for (const p of cloud.aws.oidcProviders()) if (p.tags['managed-by'] || marksOf(p.tags).length) out.push(`IAM OIDC provider ${p.arn}`);
  for (const a of cloud.aws.podIdentityAssociations(CLUSTER)) out.push(`Pod Identity association ${a.namespace}/${a.serviceAccount}`);
  if (ns && cloud.kube.serviceAccount(NS, POD_SA)) out.push(`ServiceAccount ${POD_SA}`);
  return out;
}

/** What must never change: the node role's own mapping (aws-auth entry and access entry). */
export function nodeMappings(cloud: TestCloud): unknown {
  const entries = cloud.aws.accessEntries(CLUSTER).filter((e) => e.principalArn !== ROLE_ARN).map((e) => ({ arn: e.principalArn, user: e.username, groups: e.kubernetesGroups, tags: e.tags }));
  return { awsAuth: cloud.kube.awsAuth().filter((e) => e.rolearn !== ROLE_ARN), entries };
}

/** Resolves once the cloud has made `operation` of `service` (its `nth` since the log was reset;
 * answered 2xx, or holding the answer under the `hold` fault): the change is made, whatever the
 * CLI hears of it. */
export async function madeByCloud(cloud: TestCloud, service: string, operation: string, timeoutMs = 90_000, nth = 1): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (cloud.calls.filter((c) => c.service === service && c.operation === operation && c.status >= 200 && c.status < 300).length < nth) {
    if (Date.now() > until) throw new Error(`${service} ${operation} never reached the cloud`);
    await sleep(10);
  }
}

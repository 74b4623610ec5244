// The simulation's stand-in eksctl (bundled as dist/sim-eksctl.js: the demo's shim and the test
// suite's test/support/bin/eksctl run it). Reads a ClusterConfig like eksctl (strict fields),
// prints eksctl-like progress over the configured duration, registers the cluster in the
// simulated EKS through the simulation's control endpoint ($KPO_TESTCLOUD_CONTROL) — CREATING at
// once, ACTIVE when "CloudFormation" finishes — and writes the kubeconfig context the way eksctl
// does. Behaviour (duration, failure) comes from the control endpoint, or KPO_EKSCTL_DURATION_MS /
// KPO_EKSCTL_FAIL="code:message". It talks to nothing but that endpoint.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

const VERSION = '0.210.0';
const argv = process.argv.slice(2);
const control = process.env.KPO_TESTCLOUD_CONTROL;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stamp = () => new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
const info = (msg: string) => process.stdout.write(`${stamp()} [ℹ]  ${msg}\n`);
const ok = (msg: string) => process.stdout.write(`${stamp()} [✔]  ${msg}\n`);

class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
const fail = (message: string, code = 1): never => {
  throw new Exit(code, message);
};

/** What the control endpoint answers: loosely typed JSON, read field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> {
  if (!control) fail('KPO_TESTCLOUD_CONTROL is not set: this stand-in eksctl only works inside the test cloud');
  const res = await fetch(`${control}${route}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json: Json = await res.json().catch(() => ({}));
  return { status: res.status, body: json };
}

function flag(name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === name) return argv[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

const TOP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'iam', 'identityProviders', 'accessConfig', 'vpc', 'addons', 'addonsConfig', 'privateCluster', 'nodeGroups', 'managedNodeGroups', 'fargateProfiles', 'availabilityZones', 'localZones', 'cloudWatch', 'secretsEncryption', 'status', 'gitops', 'karpenter', 'outpost', 'zonalShiftConfig', 'kubernetesNetworkConfig', 'autoModeConfig', 'remoteNetworkConfig']);
const META_FIELDS = new Set(['name', 'region', 'version', 'tags', 'annotations', 'accountID']);
const MODES = ['API', 'API_AND_CONFIG_MAP', 'CONFIG_MAP'];

function loadConfig() {
  const file = flag('-f') ?? flag('--config-file');
  let cfg: Json = {};
  if (file) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      fail(`reading config file "${file}": open ${file}: no such file or directory`);
    }
    try {
      cfg = parse(text) ?? {};
    } catch (e) {
      fail(`loading config file "${file}": error converting YAML to JSON: ${(e as Error).message}`);
    }
    if (cfg.apiVersion !== 'eksctl.io/v1alpha5' || cfg.kind !== 'ClusterConfig') {
      fail(`loading config file "${file}": no kind "${cfg.kind}" is registered for version "${cfg.apiVersion}" in scheme`);
    }
    for (const k of Object.keys(cfg)) if (!TOP_FIELDS.has(k)) fail(`loading config file "${file}": error unmarshaling JSON: while decoding JSON: json: unknown field "${k}"`);
    for (const k of Object.keys(cfg.metadata ?? {})) if (!META_FIELDS.has(k)) fail(`loading config file "${file}": error unmarshaling JSON: while decoding JSON: json: unknown field "${k}"`);
  }
  const name = cfg.metadata?.name ?? flag('--name') ?? flag('--cluster');
  if (!name) fail(file ? 'metadata.name must be set' : '--name must be set');
  const region = cfg.metadata?.region ?? flag('--region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-west-2';
  const mode = cfg.accessConfig?.authenticationMode;
  if (mode !== undefined && !MODES.includes(mode)) fail(`invalid value "${mode}" for accessConfig.authenticationMode, must be one of ${MODES.join(', ')}`);
  const spec = (managed: boolean) => (g: Json) => ({ name: g.name, managed, instanceType: g.instanceType, desiredCapacity: g.desiredCapacity });
  const nodeGroups = [...(cfg.managedNodeGroups ?? []).map(spec(true)), ...(cfg.nodeGroups ?? []).map(spec(false))];
  const addons: string[] = (cfg.addons ?? []).map((a: Json, i: number) => {
    if (!a?.name) fail(`addons[${i}].name must be set`);
    return a.name;
  });
  return { name, region, mode, nodeGroups, tags: cfg.metadata?.tags ?? {}, version: cfg.metadata?.version ?? '1.30', withOIDC: cfg.iam?.withOIDC === true, addons };
}

function kubeconfigPath() {
  const explicit = flag('--kubeconfig');
  if (explicit) return explicit;
  const first = process.env.KUBECONFIG?.split(path.delimiter).find(Boolean);
  if (first) return first;
  return path.join(process.env.HOME ?? os.homedir(), '.kube', 'config');
}

async function behaviour(creates: boolean) {
  const out: { durationMs: number; fail: { exitCode: number; message: string } | null; stopAfterControlPlane: boolean } = { durationMs: Number(process.env.KPO_EKSCTL_DURATION_MS ?? 400), fail: null, stopAfterControlPlane: false };
  const envFail = process.env.KPO_EKSCTL_FAIL;
  if (envFail) {
    const i = envFail.indexOf(':');
    out.fail = { exitCode: Number(envFail.slice(0, i)) || 1, message: envFail.slice(i + 1) };
  }
  if (control) {
    const cfg = await call('GET', '/eksctl');
    out.durationMs = cfg.body.durationMs ?? out.durationMs;
    out.stopAfterControlPlane = cfg.body.stopAfterControlPlane === true;
    const inv = await call('POST', '/eksctl', { argv, creates });
    out.fail = inv.body.fail ?? out.fail;
  }
  return out;
}

async function identity() {
  const key = process.env.AWS_ACCESS_KEY_ID ?? '';
  if (!key) fail('checking AWS STS access – cannot get role ARN for current session: operation error STS: GetCallerIdentity, failed to refresh cached credentials, no EC2 IMDS role found');
  const res = await call('GET', `/identity?accessKeyId=${encodeURIComponent(key)}`);
  if (res.status !== 200) fail(`checking AWS STS access – cannot get role ARN for current session: operation error STS: GetCallerIdentity, https response error StatusCode: 403, api error InvalidClientTokenId: ${res.body.message}`);
  return res.body.arn;
}

async function writeKubeconfig(name: string, setCurrent = true) {
  const file = kubeconfigPath();
  const res = await call('POST', `/clusters/${encodeURIComponent(name)}/kubeconfig`, { path: file, accessKeyId: process.env.AWS_ACCESS_KEY_ID, setCurrent });
  if (res.status !== 200) fail(`writing kubeconfig: ${res.body.message}`);
  return file;
}

async function createCluster() {
  const cfg = loadConfig();
  const b = await behaviour(true);
  await identity();
  info(`eksctl version ${VERSION}`);
  info(`using region ${cfg.region}`);
  info(`setting availability zones to [${cfg.region}a ${cfg.region}b]`);
  info(`using Kubernetes version ${cfg.version}`);
  info(`creating EKS cluster "${cfg.name}" in "${cfg.region}" region with ${cfg.nodeGroups.length ? 'managed nodes' : 'no nodes'}`);
  const step = Math.max(1, Math.floor(b.durationMs / 4));
  if (b.fail) {
    await sleep(step);
    info(`deploying stack "eksctl-${cfg.name}-cluster"`);
    await sleep(step);
    process.stderr.write(`${stamp()} [✖]  ${b.fail.message}\n`);
    fail(`failed to create cluster "${cfg.name}"`, b.fail.exitCode);
  }
  info(`will create 2 separate CloudFormation stacks for cluster itself and the initial managed nodegroup`);
  info(`building cluster stack "eksctl-${cfg.name}-cluster"`);
  const reg = await call('POST', '/clusters', { name: cfg.name, region: cfg.region, authenticationMode: cfg.mode, accessKeyId: process.env.AWS_ACCESS_KEY_ID, nodeGroups: cfg.nodeGroups, tags: cfg.tags });
  if (reg.status !== 200) fail(`creating CloudFormation stack "eksctl-${cfg.name}-cluster": operation error CloudFormation: CreateStack, https response error StatusCode: 400, ${reg.body.message}`);
  info(`deploying stack "eksctl-${cfg.name}-cluster"`);
  for (;;) {
    await sleep(step);
    const c = await call('GET', `/clusters/${encodeURIComponent(cfg.name)}`);
    if (c.status !== 200) fail(`waiting for CloudFormation stack "eksctl-${cfg.name}-cluster": ResourceNotReady: failed waiting for successful resource state`);
    if (c.body.status === 'ACTIVE') break;
    info(`waiting for CloudFormation stack "eksctl-${cfg.name}-cluster"`);
  }
  // eksctl's post-control-plane tasks: "associate IAM OIDC provider" (iam.withOIDC), then the add-ons.
  if (cfg.withOIDC) {
    info(`will create IAM Open ID Connect provider for cluster "${cfg.name}" in "${cfg.region}"`);
    const r = await call('POST', `/clusters/${encodeURIComponent(cfg.name)}/oidc`);
    if (r.status !== 200) {
      process.stderr.write(`${stamp()} [✖]  ${r.body.message}\n`);
      fail(`failed to create cluster "${cfg.name}"`);
    }
    ok(`created IAM Open ID Connect provider for cluster "${cfg.name}" in "${cfg.region}"`);
  }
  if (cfg.addons.length) {
    for (const a of cfg.addons) info(`creating addon "${a}"`);
    const r = await call('POST', `/clusters/${encodeURIComponent(cfg.name)}/addons`, { names: cfg.addons });
    if (r.status !== 200) fail(`creating addons: ${r.body.message}`);
    for (const a of cfg.addons) info(`successfully created addon "${a}"`);
  }
  if (b.stopAfterControlPlane) {
    // What a real eksctl stopped here leaves: the control plane stack done, no node group stack.
    info(`building managed nodegroup stack "eksctl-${cfg.name}-nodegroup-${cfg.nodeGroups[0]?.name ?? 'ng-1'}"`);
    process.stderr.write(`${stamp()} [✖]  context canceled\n`);
    fail(`failed to create cluster "${cfg.name}"`, 1);
  }
  if (cfg.nodeGroups.length) info(`waiting for the control plane to become ready`);
  const write = flag('--write-kubeconfig') !== 'false';
  const file = write ? await writeKubeconfig(cfg.name, flag('--set-kubeconfig-context') !== 'false') : undefined;
  if (file) ok(`saved kubeconfig as "${file}"`);
  ok(`all EKS cluster resources for "${cfg.name}" have been created`);
  if (file) info(`kubectl command should work with "${file}", try 'kubectl get nodes'`);
  ok(`EKS cluster "${cfg.name}" in "${cfg.region}" region is ready`);
}

async function createNodegroup() {
  const cfg = loadConfig();
  const b = await behaviour(true);
  await identity();
  if (b.fail) {
    process.stderr.write(`${stamp()} [✖]  ${b.fail.message}\n`);
    fail(`failed to create nodegroups for cluster "${cfg.name}"`, b.fail.exitCode);
  }
  const c = await call('GET', `/clusters/${encodeURIComponent(cfg.name)}`);
  if (c.status !== 200) fail(`getting existing configuration for cluster "${cfg.name}": operation error EKS: DescribeCluster, ResourceNotFoundException: No cluster found for name: ${cfg.name}.`);
  info(`nodegroup "${cfg.nodeGroups.map((g) => g.name).join(', ')}" will use "" [AmazonLinux2/${cfg.version}]`);
  info(`${cfg.nodeGroups.length} nodegroup(s) (${cfg.nodeGroups.map((g) => g.name).join(', ')}) were included`);
  for (const g of cfg.nodeGroups) info(`building ${g.managed ? 'managed ' : ''}nodegroup stack "eksctl-${cfg.name}-nodegroup-${g.name}"`);
  await sleep(Math.max(1, Math.floor(b.durationMs / 4)));
  const r = await call('POST', `/clusters/${encodeURIComponent(cfg.name)}/nodegroups`, { nodeGroups: cfg.nodeGroups });
  if (r.status !== 200) fail(`creating nodegroups: ${r.body.message}`);
  ok(`created ${cfg.nodeGroups.length} nodegroup(s) in cluster "${cfg.name}"`);
}

async function main() {
  const [verb, noun] = argv;
  if (verb === 'version') {
    if (flag('-o') === 'json' || flag('--output') === 'json') process.stdout.write(JSON.stringify({ Version: VERSION, PreReleaseID: '', Metadata: { BuildDate: '2025-06-01T00:00:00Z', GitCommit: 'testcloud' } }) + '\n');
    else process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (verb === 'create' && noun === 'cluster') return createCluster();
  if (verb === 'create' && (noun === 'nodegroup' || noun === 'ng')) return createNodegroup();
  if (verb === 'delete' && noun === 'cluster') {
    const cfg = loadConfig();
    await behaviour(false);
    info(`deleting EKS cluster "${cfg.name}"`);
    const res = await call('DELETE', `/clusters/${encodeURIComponent(cfg.name)}`);
    if (res.status !== 200) fail(`unable to describe cluster control plane: operation error EKS: DescribeCluster, https response error StatusCode: 404, ResourceNotFoundException: ${res.body.message}`);
    ok(`all cluster resources were deleted`);
    return;
  }
  if (verb === 'get' && (noun === 'cluster' || noun === 'clusters')) {
    await behaviour(false);
    const name = flag('--name');
    const res = name ? await call('GET', `/clusters/${encodeURIComponent(name)}`) : { status: 200, body: null };
    if (name && res.status !== 200) fail(`unable to describe control plane "${name}": operation error EKS: DescribeCluster, ResourceNotFoundException: ${res.body.message}`);
    if (flag('-o') === 'json' || flag('--output') === 'json') process.stdout.write(JSON.stringify(res.body ? [{ Name: res.body.name, Region: res.body.region, EksctlCreated: 'True' }] : []) + '\n');
    else if (res.body) process.stdout.write(`NAME\tREGION\tEKSCTL CREATED\n${res.body.name}\t${res.body.region}\tTrue\n`);
    return;
  }
  if (verb === 'utils' && noun === 'write-kubeconfig') {
    const name = flag('--cluster') ?? flag('--name') ?? fail('--cluster must be set');
    await behaviour(false);
    const file = await writeKubeconfig(name, flag('--set-kubeconfig-context') !== 'false');
    ok(`saved kubeconfig as "${file}"`);
    return;
  }
  fail(`unknown command "${argv.join(' ')}" for "eksctl"\nRun 'eksctl --help' for usage.`);
}

main().catch((e: unknown) => {
  if (e instanceof Exit) {
    process.stderr.write(`Error: ${e.message}\n`);
    process.exitCode = e.code;
    return;
  }
  process.stderr.write(`Error: ${e instanceof Error && e.stack ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});

// Writes kubeconfig entries the way eksctl does (`<user>@<cluster>.<region>.eksctl.io`, exec
// plugin `aws eks get-token`), merging into an existing file and keeping everything else.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';

interface Named {
  name: string;
  [k: string]: unknown;
}

export interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  contexts?: Named[];
  users?: Named[];
  'current-context'?: string;
  preferences?: Record<string, unknown>;
  [k: string]: unknown;
}

export async function readKubeconfig(file: string): Promise<KubeconfigDoc> {
  try {
    const doc = parse(await readFile(file, 'utf8')) as KubeconfigDoc | null;
    return doc ?? {};
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
}

function upsert(list: Named[] | undefined, entry: Named): Named[] {
  const out = (list ?? []).filter((x) => x.name !== entry.name);
  out.push(entry);
  return out;
}

export interface ContextSpec {
  contextName: string;
  clusterEntry: string;
  userEntry: string;
  server: string;
  caData: string;
  user: Record<string, unknown>;
  setCurrent: boolean;
}

export async function mergeContext(file: string, spec: ContextSpec): Promise<void> {
  const doc = await readKubeconfig(file);
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  doc.preferences ??= {};
  doc.clusters = upsert(doc.clusters, { cluster: { 'certificate-authority-data': spec.caData, server: spec.server }, name: spec.clusterEntry });
  doc.contexts = upsert(doc.contexts, { context: { cluster: spec.clusterEntry, user: spec.userEntry }, name: spec.contextName });
  doc.users = upsert(doc.users, { name: spec.userEntry, user: spec.user });
  if (spec.setCurrent || !doc['current-context']) doc['current-context'] = spec.contextName;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, stringify(doc), { mode: 0o600 });
}

/** eksctl's names: the IAM user (or session) name from the caller ARN. */
export function eksctlContextName(clusterName: string, region: string, callerArn: string): string {
  return `${callerArn.slice(callerArn.lastIndexOf('/') + 1)}@${clusterName}.${region}.eksctl.io`;
}

export function eksctlExecUser(clusterName: string, region: string): Record<string, unknown> {
  return {
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      args: ['eks', 'get-token', '--output', 'json', '--cluster-name', clusterName, '--region', region],
      command: 'aws',
      env: [{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }],
      interactiveMode: 'IfAvailable',
      provideClusterInfo: false,
    },
  };
}

export async function writeEksctlContext(
  file: string,
  opts: { clusterName: string; region: string; server: string; caData: string; callerArn: string; setCurrent?: boolean },
): Promise<string> {
  const contextName = eksctlContextName(opts.clusterName, opts.region, opts.callerArn);
  await mergeContext(file, {
    contextName,
    clusterEntry: `${opts.clusterName}.${opts.region}.eksctl.io`,
    userEntry: contextName,
    server: opts.server,
    caData: opts.caData,
    user: eksctlExecUser(opts.clusterName, opts.region),
    setCurrent: opts.setCurrent ?? true,
  });
  return contextName;
}

/** A context using the cluster's static admin token (no exec plugin). */
export async function writeTokenContext(
  file: string,
  opts: { contextName: string; server: string; caData: string; token: string; setCurrent?: boolean },
): Promise<string> {
  await mergeContext(file, {
    contextName: opts.contextName,
    clusterEntry: opts.contextName,
    userEntry: opts.contextName,
    server: opts.server,
    caData: opts.caData,
    user: { token: opts.token },
    setCurrent: opts.setCurrent ?? true,
  });
  return opts.contextName;
}

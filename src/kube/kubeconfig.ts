// Kubeconfig handling without kubectl: load the files KUBECONFIG names (merged as kubectl merges
// them: for each cluster, user or context name the FIRST file that defines it wins, and the first
// current-context set wins), list contexts, and find the one that points at our EKS endpoint.
// Everything reads the CLI's env (KUBECONFIG, HOME), never process.env. The user's files are only
// ever written by switchCurrentContext, and only the current-context line changes.
import * as fs from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KpoError } from '../errors.js';
import { programName } from '../platform.js';
import { parse, parseDocument } from 'yaml';
import { writeFileAtomic } from '../write-files.js';

type Env = Readonly<Record<string, string | undefined>>;
export type RawMap = Record<string, unknown>;

interface Entry {
  raw: RawMap;
  /** The file that defined it (relative paths inside are relative to this file's directory). */
  file: string;
}

export interface LoadedKubeconfig {
  /** Files that exist, in precedence order. */
  files: string[];
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
  currentContext?: string;
}

export interface ContextInfo {
  name: string;
  clusterName: string;
  userName: string;
  namespace?: string;
  /** The cluster's server URL, when the context's cluster entry exists. */
  server?: string;
  file: string;
}

/** The files kubectl would read: KUBECONFIG's list (missing ones skipped) or ~/.kube/config. */
export async function kubeconfigPaths(env: Env): Promise<string[]> {
  const list = env.KUBECONFIG
    ? env.KUBECONFIG.split(path.delimiter).filter((p) => p.length > 0)
    : (() => {
        const home = env.HOME || env.USERPROFILE;
        return home ? [path.join(home, '.kube', 'config')] : [];
      })();
  return [...new Set(list.map((p) => path.resolve(p)))];
}

function asMap(v: unknown): RawMap | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as RawMap) : undefined;
}

/** A non-empty string kubeconfig value, else undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Reads and merges the kubeconfig files. A file that cannot be parsed is KUBECONFIG_INVALID, naming it. */
export async function loadKubeconfig(env: Env): Promise<LoadedKubeconfig> {
  const out: LoadedKubeconfig = { files: [], clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of await kubeconfigPaths(env)) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KpoError('KUBECONFIG_INVALID', `cannot read kubeconfig ${file}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (err) {
      throw new KpoError(
        'KUBECONFIG_INVALID',
        `kubeconfig ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
        'Fix or remove the file, or point KUBECONFIG at a valid one.',
      );
    }
    out.files.push(file);
    const root = asMap(doc) ?? {};
    const section = (key: 'clusters' | 'users' | 'contexts', inner: 'cluster' | 'user' | 'context', into: Map<string, Entry>) => {
      const list = root[key];
      if (list == null) return;
      if (!Array.isArray(list)) throw new KpoError('KUBECONFIG_INVALID', `kubeconfig ${file}: "${key}" must be a list, found ${typeof list}.`);
      for (const item of list) {
        const m = asMap(item);
        const name = str(m?.name);
        if (!m || !name) continue;
        if (!into.has(name)) into.set(name, { raw: asMap(m[inner]) ?? {}, file });
      }
    };
    section('clusters', 'cluster', out.clusters);
    section('users', 'user', out.users);
    section('contexts', 'context', out.contexts);
    const current = str(root['current-context']);
    if (current && out.currentContext === undefined) out.currentContext = current;
  }
  return out;
}

export function listContexts(kc: LoadedKubeconfig): ContextInfo[] {
  return [...kc.contexts.entries()].map(([name, e]) => {
    const clusterName = str(e.raw.cluster) ?? '';
    return {
      name,
      clusterName,
      userName: str(e.raw.user) ?? '',
      namespace: str(e.raw.namespace),
      server: str(kc.clusters.get(clusterName)?.raw.server),
      file: e.file,
    };
  });
}

/** Compares API server URLs the way a human would: case, default port and trailing slash aside. */
export function normaliseServer(url: string): string {
  try {
    const u = new URL(url.trim());
    const port = u.port && !((u.protocol === 'https:' && u.port === '443') || (u.protocol === 'http:' && u.port === '80')) ? `:${u.port}` : '';
    const path = u.pathname.replace(/\/+$/, '');
    return `${u.protocol}//${u.hostname.toLowerCase()}${port}${path}`;
  } catch {
    return url.trim().toLowerCase().replace(/\/+$/, '');
  }
}

export function contextsForServer(kc: LoadedKubeconfig, endpoint: string): ContextInfo[] {
  const want = normaliseServer(endpoint);
  return listContexts(kc).filter((c) => c.server !== undefined && normaliseServer(c.server) === want);
}

/** The arguments of an exec credential plugin that produces an EKS token we can make ourselves. */
export interface AwsTokenExec {
  /** "aws eks get-token", "aws-iam-authenticator token" or "eksctl". */
  tool: string;
  clusterName: string;
  region?: string;
  profile?: string;
}

function argValue(args: string[], names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const n of names) {
      if (a === n) return args[i + 1];
      if (a.startsWith(`${n}=`)) return a.slice(n.length + 1);
    }
  }
  return undefined;
}

/**
 * Recognises `aws eks get-token`, `aws-iam-authenticator token` and eksctl's token command in a
 * kubeconfig user's exec block. Returns undefined for anything else, and for variants we cannot
 * reproduce faithfully in-process (an extra --role-arn to assume): those keep spawning the plugin.
 */
export function awsTokenExec(user: RawMap | undefined): AwsTokenExec | undefined {
  const exec = asMap(user?.exec);
  const command = str(exec?.command);
  if (!exec || !command) return undefined;
  const args = Array.isArray(exec.args) ? exec.args.filter((a): a is string => typeof a === 'string') : [];
  const envList = Array.isArray(exec.env) ? exec.env : [];
  const execEnv = new Map<string, string>();
  for (const e of envList) {
    const m = asMap(e);
    if (str(m?.name) && typeof m?.value === 'string') execEnv.set(m.name as string, m.value);
  }
  const base = programName(command);
  let tool: string;
  let clusterName: string | undefined;
  if (base === 'aws' && args.includes('eks') && args.includes('get-token')) {
    if (argValue(args, ['--role-arn'])) return undefined;
    tool = 'aws eks get-token';
    clusterName = argValue(args, ['--cluster-name', '--cluster-id']);
  } else if (base === 'aws-iam-authenticator' && args[0] === 'token') {
    if (argValue(args, ['-r', '--role'])) return undefined;
    tool = 'aws-iam-authenticator token';
    clusterName = argValue(args, ['-i', '--cluster-id', '--cluster-name']);
  } else if (base === 'eksctl' && (args.includes('token') || args.includes('get-token'))) {
    if (argValue(args, ['--role-arn', '--authenticator-role-arn'])) return undefined;
    tool = 'eksctl token';
    clusterName = argValue(args, ['--cluster-name', '--cluster', '--name', '-i']);
  } else {
    return undefined;
  }
  if (!clusterName) return undefined;
  return {
    tool,
    clusterName,
    region: argValue(args, ['--region']) ?? execEnv.get('AWS_REGION') ?? execEnv.get('AWS_DEFAULT_REGION'),
    profile: argValue(args, ['--profile']) ?? execEnv.get('AWS_PROFILE'),
  };
}

/**
 * A single-context kubeconfig object (kubeconfig YAML shape) for the chosen context, with file
 * paths made absolute relative to the file each entry came from, ready for client-node.
 */
export async function singleContextConfig(kc: LoadedKubeconfig, contextName: string): Promise<{ config: RawMap; user: RawMap; cluster: RawMap }> {
  const ctx = kc.contexts.get(contextName);
  if (!ctx) throw new Error(`internal: context ${contextName} not loaded`);
  const clusterName = str(ctx.raw.cluster) ?? '';
  const userName = str(ctx.raw.user) ?? '';
  const clusterEntry = kc.clusters.get(clusterName);
  if (!clusterEntry) {
    throw new KpoError('KUBE_CONTEXT_INVALID', `kubeconfig context "${contextName}" refers to cluster "${clusterName}", which no kubeconfig file defines.`);
  }
  const abs = (e: Entry, keys: string[]) => {
    const copy: RawMap = { ...e.raw };
    for (const k of keys) {
      const v = str(copy[k]);
      if (v && !path.isAbsolute(v)) copy[k] = path.join(path.dirname(e.file), v);
    }
    return copy;
  };
  const cluster = abs(clusterEntry, ['certificate-authority']);
  const userEntry = kc.users.get(userName);
  const user = userEntry ? abs(userEntry, ['client-certificate', 'client-key', 'tokenFile']) : {};
  return {
    cluster,
    user,
    config: {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: clusterName, cluster }],
      users: [{ name: userName || 'user', user }],
      contexts: [{ name: contextName, context: { cluster: clusterName, user: userName || 'user' } }],
      'current-context': contextName,
    },
  };
}

/**
 * Sets current-context, as `kubectl config use-context` does: in the first file that sets one,
 * else the first file. Only that key changes (comments and layout are kept); the write is atomic
 * (temp file beside it, then rename) and keeps the file mode. Returns the file written.
 */
export async function switchCurrentContext(env: Env, contextName: string): Promise<string> {
  const files: string[] = [];
  for (const f of await kubeconfigPaths(env)) {
    try {
      await fs.access(f);
      files.push(f);
    } catch {
      // kubectl skips files that do not exist
    }
  }
  if (files.length === 0) throw new KpoError('KUBECONFIG_MISSING', '--switch-context: no kubeconfig file exists to write current-context to.');
  let target = files[0]!;
  for (const f of files) {
    const doc = asMap(parse(await fs.readFile(f, 'utf8')));
    if (str(doc?.['current-context'])) {
      target = f;
      break;
    }
  }
  const real = await fs.realpath(target);
  const text = await fs.readFile(real, 'utf8');
  if (asMap(parse(text))?.['current-context'] === contextName) return real;
  const next = withCurrentContext(text, contextName, parse) ?? (() => {
    // Unusual layout (e.g. a flow mapping at the top): let the YAML library rewrite it.
    const doc = parseDocument(text);
    doc.set('current-context', contextName);
    return doc.toString();
  })();
  // Atomic, the file's mode kept (its temp copy has it from the start), and tracked so Ctrl-C
  // waits for it (src/write-files.ts).
  await writeFileAtomic(real, next);
  return real;
}

/**
 * Rewrites only the value of the top-level `current-context:` line (adding the line when there is
 * none), keeping every other byte, comments included. Undefined when the result would not parse
 * to exactly that change.
 */
export function withCurrentContext(text: string, contextName: string, parse: (s: string) => unknown): string | undefined {
  const value = /^[A-Za-z0-9][\w.@:/-]*$/.test(contextName) ? contextName : JSON.stringify(contextName);
  const line = /^current-context:[ \t]*(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#][^#\r\n]*?)?([ \t]+#[^\r\n]*)?[ \t]*$/m;
  let next: string;
  if (line.test(text)) {
    next = text.replace(line, (_m, comment: string | undefined) => `current-context: ${value}${comment ?? ''}`);
  } else {
    next = `${text}${text.length && !text.endsWith('\n') ? '\n' : ''}current-context: ${value}\n`;
  }
  try {
    const before = asMap(parse(text)) ?? {};
    const after = asMap(parse(next));
    if (!after || after['current-context'] !== contextName) return undefined;
    if (JSON.stringify({ ...after, 'current-context': before['current-context'] }) !== JSON.stringify({ ...before, 'current-context': before['current-context'] })) {
      return undefined;
    }
    return next;
  } catch {
    return undefined;
  }
}

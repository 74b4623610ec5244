// Creating a cluster with eksctl: which ClusterConfig file to use, and running
// `eksctl create cluster -f` with every line going to a log file and the latest one to the spinner.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { auditLine } from '../audit.js';
import { KpoError } from '../errors.js';
import type { Exec } from '../exec.js';
import type { ClusterAuthMode, Inputs } from '../types.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE, writeFileAtomic } from '../write-files.js';
import { renderClusterConfig } from './cluster-config.js';
import { parse } from 'yaml';

export const EKSCTL_LOG = 'eksctl-create-cluster.log';
export const LOG_TAIL_LINES = 15;

export interface ClusterConfigSummary {
  name?: string;
  region?: string;
  authenticationMode?: ClusterAuthMode;
}

/** The parts of an eksctl ClusterConfig this tool cares about; throws on unparseable YAML. */
export async function summarizeClusterConfig(text: string): Promise<ClusterConfigSummary & { kind?: string }> {
  const doc = parse(text) as unknown;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return {};
  const d = doc as { kind?: unknown; metadata?: { name?: unknown; region?: unknown }; accessConfig?: { authenticationMode?: unknown } };
  const mode = d.accessConfig?.authenticationMode;
  return {
    ...(typeof d.kind === 'string' ? { kind: d.kind } : {}),
    ...(typeof d.metadata?.name === 'string' ? { name: d.metadata.name } : {}),
    ...(typeof d.metadata?.region === 'string' ? { region: d.metadata.region } : {}),
    // eksctl's default for new clusters is API_AND_CONFIG_MAP.
    authenticationMode: mode === 'API' || mode === 'CONFIG_MAP' || mode === 'API_AND_CONFIG_MAP' ? mode : 'API_AND_CONFIG_MAP',
  };
}

/** Rejects a ClusterConfig that would create some other cluster than the one the run waits for. */
export async function checkClusterConfigFile(
  file: string,
  inputs: Pick<Inputs, 'clusterName' | 'region'>,
  flag: string,
): Promise<ClusterConfigSummary> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KpoError('CLUSTER_CONFIG_UNREADABLE', `${flag} ${JSON.stringify(file)} cannot be read (${(err as Error).message}): expected an eksctl ClusterConfig YAML file.`);
  }
  let s: Awaited<ReturnType<typeof summarizeClusterConfig>>;
  try {
    s = await summarizeClusterConfig(text);
  } catch (err) {
    throw new KpoError('CLUSTER_CONFIG_INVALID', `${flag} ${JSON.stringify(file)} is not valid YAML (${(err as Error).message.split('\n')[0]}): expected an eksctl ClusterConfig.`);
  }
  if (s.kind !== 'ClusterConfig') {
    throw new KpoError('CLUSTER_CONFIG_INVALID', `${flag} ${JSON.stringify(file)} has kind ${JSON.stringify(s.kind ?? null)}: expected an eksctl file with kind: ClusterConfig.`);
  }
  if (s.name !== inputs.clusterName || s.region !== inputs.region) {
    throw new KpoError(
      'CLUSTER_CONFIG_MISMATCH',
      `${flag} ${JSON.stringify(file)} describes cluster ${JSON.stringify(s.name ?? null)} in region ${JSON.stringify(s.region ?? null)}, but this run is for cluster ${JSON.stringify(inputs.clusterName)} in ${JSON.stringify(inputs.region)}: metadata.name and metadata.region must match --cluster-name and --region.`,
    );
  }
  return s;
}

/**
 * The ClusterConfig to hand eksctl: --cluster-config as given, else <project>/k8s/cluster.yaml.
 * An existing k8s/cluster.yaml for this cluster is used as is (the user may have edited it); one
 * for another cluster is an error rather than overwritten.
 */
export async function prepareClusterConfig(
  projectDir: string,
  inputs: Pick<Inputs, 'clusterName' | 'region' | 'clusterConfig'>,
): Promise<{ file: string; rendered: boolean; summary: ClusterConfigSummary }> {
  if (inputs.clusterConfig) {
    return { file: inputs.clusterConfig, rendered: false, summary: await checkClusterConfigFile(inputs.clusterConfig, inputs, '--cluster-config') };
  }
  const file = path.join(projectDir, 'k8s', 'cluster.yaml');
  try {
    // exclusive: never overwrite. project-files may be writing the same rendered text right now.
    await writeFileAtomic(file, renderClusterConfig(inputs), { exclusive: true });
    return { file, rendered: true, summary: await checkClusterConfigFile(file, inputs, 'k8s/cluster.yaml') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const summary = await checkClusterConfigFile(file, inputs, 'k8s/cluster.yaml (delete it to have it rendered again, or pass --cluster-config)');
  return { file, rendered: false, summary };
}

/** eksctl prefixes lines with a timestamp and a level tag; the spinner only needs the message. */
export function eksctlMessage(line: string): string {
  return line.replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+/, '').replace(/^\[[^\]]*\]\s+/, '').trim();
}

export async function eksctlVersion(exec: Exec, opts: { onSpawn?: () => void } = {}): Promise<{ path: string; version: string } | undefined> {
  const bin = await exec.which('eksctl');
  if (!bin) return undefined;
  const r = await exec.run(bin, ['version'], opts);
  if (r.exitCode !== 0) {
    throw new KpoError('EKSCTL_BROKEN', `\`eksctl version\` failed (exit ${r.exitCode}): ${r.output.trim().split('\n').slice(-3).join(' ')}`, 'Reinstall eksctl: https://eksctl.io/installation/');
  }
  return { path: bin, version: r.output.trim().split('\n')[0]?.trim() ?? 'unknown' };
}

export function eksctlMissing(clusterName: string): KpoError {
  return new KpoError(
    'EKSCTL_MISSING',
    `eksctl is needed to create cluster ${clusterName}, and it is not on PATH.`,
    'Install it (https://eksctl.io/installation/), or pass --cluster-name of an existing EKS cluster, then run this command again.',
  );
}

export interface CreateClusterOptions {
  exec: Exec;
  configFile: string;
  stateDir: string;
  inputs: Pick<Inputs, 'clusterName' | 'region' | 'profile'>;
  /** Let eksctl make the new context current (--switch-context); otherwise it only adds it. */
  switchContext: boolean;
  progress: (text: string) => void;
  signal?: AbortSignal;
  /** Where the audit line of the call goes (logs/debug.log): every eksctl call that changes AWS. */
  audit?: (line: string) => void;
}

type EksctlRun = Omit<CreateClusterOptions, 'configFile' | 'switchContext'>;

/** Runs eksctl with every line going to `logFile` and the latest one to the spinner; returns the
 * exit code and the last LOG_TAIL_LINES lines for the error message. Each call is audited here,
 * where every eksctl call passes, like AWS and Kubernetes calls in their clients. */
async function runEksctlLogged(bin: string, o: EksctlRun, args: string[], logFile: string, what: { operation: string; target: string }): Promise<{ exitCode: number; tail: string[] }> {
  const audit = (outcome: string) => o.audit?.(auditLine({ service: 'eksctl', ...what, outcome }));
  // Our log, private: 0600 in .astro-remote-kpo/logs (0700), also when an older run left it 0644.
  await ensurePrivateDir(path.dirname(logFile));
  await ensurePrivateDir(path.dirname(path.dirname(logFile)));
  const log = createWriteStream(logFile, { flags: 'w', mode: PRIVATE_FILE_MODE });
  await once(log, 'open');
  await chmod(logFile, PRIVATE_FILE_MODE);
  const closed = new Promise<void>((resolve, reject) => {
    log.on('close', resolve);
    log.on('error', reject);
  });
  log.write(`# ${new Date().toISOString()} eksctl ${args.join(' ')}\n`);
  const tail: string[] = [];
  let result: { exitCode: number; output: string };
  try {
    result = await o.exec.run(bin, args, {
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.inputs.profile ? { env: { AWS_PROFILE: o.inputs.profile } } : {}),
      onLine: (line) => {
        log.write(`${line}\n`);
        tail.push(line);
        if (tail.length > LOG_TAIL_LINES) tail.shift();
        const msg = eksctlMessage(line);
        if (msg) o.progress(`eksctl: ${msg}`);
      },
    });
  } catch (err) {
    audit(o.signal?.aborted ? 'interrupted (CloudFormation goes on in AWS)' : 'failed');
    throw err;
  } finally {
    log.end();
    await closed;
  }
  audit(result.exitCode === 0 ? 'ok' : o.signal?.aborted ? 'interrupted (CloudFormation goes on in AWS)' : `failed (exit ${result.exitCode})`);
  return { exitCode: result.exitCode, tail };
}

function logTail(tail: string[]): string {
  return tail.length > 0 ? tail.map((l) => `    ${l}`).join('\n') : '    (no output)';
}

/** Runs `eksctl create cluster -f`; returns the log path. Non-zero exit → EKSCTL_FAILED with the log tail. */
export async function eksctlCreateCluster(o: CreateClusterOptions): Promise<string> {
  const bin = await o.exec.which('eksctl');
  if (!bin) throw eksctlMissing(o.inputs.clusterName);
  const logFile = path.join(o.stateDir, 'logs', EKSCTL_LOG);
  // Never let eksctl switch the user's current kubeconfig context unless asked (DESIGN.md).
  const args = ['create', 'cluster', '-f', o.configFile, ...(o.switchContext ? [] : ['--set-kubeconfig-context=false'])];
  const { exitCode, tail } = await runEksctlLogged(bin, o, args, logFile, { operation: 'create cluster', target: `${o.inputs.clusterName} -f ${o.configFile}` });
  if (exitCode !== 0) {
    throw new KpoError(
      'EKSCTL_FAILED',
      `eksctl create cluster exited with code ${exitCode}. Last lines of ${logFile}:\n${logTail(tail)}`,
      `Full log: ${logFile}. Fix the cause and run the same command again: it resumes at the cluster stage. If eksctl left a half-made CloudFormation stack, remove it first with \`eksctl delete cluster --name ${o.inputs.clusterName} --region ${o.inputs.region}\`.`,
    );
  }
  return logFile;
}

export const EKSCTL_NODEGROUP_LOG = 'eksctl-create-nodegroup.log';

/** `eksctl create nodegroup --config-file` (node groups that already exist are skipped by eksctl). */
export async function eksctlCreateNodegroup(o: CreateClusterOptions): Promise<string> {
  const bin = await o.exec.which('eksctl');
  const command = `eksctl create nodegroup --config-file ${o.configFile}`;
  if (!bin) {
    throw new KpoError(
      'EKSCTL_MISSING',
      `cluster ${o.inputs.clusterName} has no node group (eksctl stopped before making it?), and eksctl is not on PATH to create it.`,
      `Install eksctl (https://eksctl.io/installation/) and run this command again, or run \`${command}\` yourself.`,
    );
  }
  const logFile = path.join(o.stateDir, 'logs', EKSCTL_NODEGROUP_LOG);
  const args = ['create', 'nodegroup', '--config-file', o.configFile];
  const { exitCode, tail } = await runEksctlLogged(bin, o, args, logFile, { operation: 'create nodegroup', target: `${o.inputs.clusterName} -f ${o.configFile}` });
  if (exitCode !== 0) {
    throw new KpoError(
      'EKSCTL_FAILED',
      `${command} exited with code ${exitCode}. Last lines of ${logFile}:\n${logTail(tail)}`,
      `Full log: ${logFile}. Fix the cause and run the same command again: it resumes at the cluster stage.`,
    );
  }
  return logFile;
}

export const EKSCTL_DELETE_LOG = 'eksctl-delete-cluster.log';

/** `eksctl delete cluster --name --region --wait` (destroy); returns the log path. */
export async function eksctlDeleteCluster(o: EksctlRun): Promise<string> {
  const bin = await o.exec.which('eksctl');
  if (!bin) {
    throw new KpoError(
      'EKSCTL_MISSING',
      `eksctl is needed to delete cluster ${o.inputs.clusterName}, and it is not on PATH.`,
      'Install it (https://eksctl.io/installation/) and run destroy again, or delete the cluster in the EKS console.',
    );
  }
  const logFile = path.join(o.stateDir, 'logs', EKSCTL_DELETE_LOG);
  const args = ['delete', 'cluster', '--name', o.inputs.clusterName, '--region', o.inputs.region, '--wait'];
  const { exitCode, tail } = await runEksctlLogged(bin, o, args, logFile, { operation: 'delete cluster', target: o.inputs.clusterName });
  if (exitCode !== 0) {
    throw new KpoError(
      'EKSCTL_FAILED',
      `eksctl delete cluster exited with code ${exitCode}. Last lines of ${logFile}:\n${logTail(tail)}`,
      `Full log: ${logFile}. Fix the cause and run destroy again (what is already gone stays gone).`,
    );
  }
  return logFile;
}

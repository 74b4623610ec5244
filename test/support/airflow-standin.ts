// Runs a DAG file with the Airflow stand-in (test/support/airflow-standin/, see its README) under
// /usr/bin/python3 with Debian's boto3/botocore/kubernetes, as a Deployment's workload identity.
// Which providers are "installed" is which stand-in roots are on PYTHONPATH.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestCloud, type TestCloud } from './cloud.js';
import { runCli } from './run-cli.js';

export const STANDIN = fileURLToPath(new URL('./airflow-standin', import.meta.url));
const PY_PATH = '/usr/bin:/bin';

/** Why the DAG logic tests cannot run here (python3 or a module missing), or undefined. */
export function standinPrerequisiteMissing(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import boto3, botocore, kubernetes'], { env: { PATH: PY_PATH }, encoding: 'utf8' });
  if (probe.error) return `python3 not found (${probe.error.message})`;
  return probe.status !== 0 ? probe.stderr.trim().split('\n').at(-1) : undefined;
}

export const STANDIN_INSTALL = 'apt-get install -y python3-boto3 python3-botocore python3-kubernetes (.ci/run does it)';

/** A Runtime 3.x project set up by the built CLI's `init` on a fresh test cloud, for every case of
 * a file (useTempProjects would remove it after the first test); stop() removes both. */
export async function initRuntime3Project(prefix: string, workloadIdentity: string): Promise<{ cloud: TestCloud; dir: string; stop(): Promise<void> }> {
  const cloud = await startTestCloud();
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const stop = async () => {
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  };
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM astrocrpublic.azurecr.io/runtime:3.1-2\n');
  const r = await runCli(['init', '--non-interactive', '--workload-identity', workloadIdentity, '--project-dir', dir], { env: cloud.env, cwd: dir, timeoutMs: 90_000 });
  if (r.code !== 0) {
    await stop();
    throw new Error(`init exited ${r.code}:\n${r.stderr}${r.stdout}`);
  }
  return { cloud, dir, stop };
}

/** A copy of a DAG file, beside it, with some `KEY = value` lines set (each must be there exactly
 * once): as init fills them (POD_SERVICE_ACCOUNT), or a test shortens a timeout. */
export async function dagVariant(dagFile: string, name: string, values: Record<string, string | number>): Promise<string> {
  let text = await readFile(dagFile, 'utf8');
  for (const [key, value] of Object.entries(values)) {
    const line = new RegExp(`^${key} = .*$`, 'gm');
    const hits = text.match(line)?.length ?? 0;
    if (hits !== 1) throw new Error(`${dagFile} has ${hits} "${key} = ..." lines, expected 1`);
    text = text.replace(line, () => `${key} = ${JSON.stringify(value)}`);
  }
  const out = path.join(path.dirname(dagFile), name);
  await writeFile(out, text);
  return out;
}

export type Provider = 'amazon' | 'cncf-kubernetes';

export interface StandinRun {
  /** Task id → success | failed | upstream_failed. */
  state: Record<string, string>;
  /** Every task's failure line from run_dag.py: "task X failed: <ExceptionType>: ...". */
  failures: string[];
  log: string;
}

export interface StandinOptions {
  /** The connection, and where it is stored: in the metadata DB (what `astro deployment
   * connection create` does) or an AIRFLOW_CONN_ variable. Undefined: none at all. */
  conn?: { extra: Record<string, unknown>; store: 'metadata-db' | 'env' };
  /** Installed providers (default both). Without cncf-kubernetes the kubernetes client is gone too. */
  providers?: Provider[];
  /** Run every task even after a failure (as `airflow tasks test` runs one task alone). */
  all?: boolean;
  env?: Record<string, string>;
}

/** The PYTHONPATH of an image with these providers. */
function pythonPath(providers: Provider[]): string {
  const roots = providers.includes('cncf-kubernetes') ? [] : ['no-kubernetes-client'];
  return [...roots, 'core', ...providers].map((r) => path.join(STANDIN, r)).join(':');
}

/** A task as `run_dag.py --list` shows it; a pod operator with the ServiceAccount its pod runs as (null: the default). */
export interface ListedTask {
  task_id: string;
  operator: string;
  service_account_name?: string | null;
}

/** Loads a DAG file without running it: the tasks and their operator classes, or the import error. */
export function listDag(dagFile: string, providers: Provider[], env: Record<string, string> = {}): { tasks?: ListedTask[]; error: string } {
  const r = spawnSync('python3', [path.join(STANDIN, 'run_dag.py'), dagFile, '--list'], {
    env: { PATH: PY_PATH, PYTHONPATH: pythonPath(providers), PYTHONDONTWRITEBYTECODE: '1', ...env },
    encoding: 'utf8',
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('TASKS '));
  return { tasks: line ? (JSON.parse(line.slice('TASKS '.length)) as ListedTask[]) : undefined, error: r.stderr };
}

/** Runs the DAG's tasks. Asynchronous: the test cloud answers from this same process. */
export async function runStandinDag(cloud: TestCloud, workloadIdentity: string, dagFile: string, opts: StandinOptions = {}): Promise<StandinRun> {
  const creds = cloud.aws.issueCredentials(workloadIdentity);
  const conn = opts.conn && { conn_type: 'aws', extra: { endpoint_url: cloud.awsEndpoint, ...opts.conn.extra } };
  const db = path.join(cloud.env.TMPDIR!, `metadata-db-${process.hrtime.bigint()}.json`);
  await writeFile(db, JSON.stringify(conn && opts.conn?.store === 'metadata-db' ? { aws_eks: conn } : {}));
  const args = [path.join(STANDIN, 'run_dag.py'), dagFile, ...(opts.all ? ['--all'] : [])];
  const child = spawn('python3', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: PY_PATH,
      HOME: cloud.home,
      TMPDIR: cloud.env.TMPDIR!,
      PYTHONPATH: pythonPath(opts.providers ?? ['amazon', 'cncf-kubernetes']),
      PYTHONDONTWRITEBYTECODE: '1',
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      AWS_SESSION_TOKEN: creds.sessionToken ?? '',
      AWS_DEFAULT_REGION: cloud.region,
      AWS_EC2_METADATA_DISABLED: 'true',
      STANDIN_METADATA_DB: db,
      ...(conn && opts.conn?.store === 'env' ? { AIRFLOW_CONN_AWS_EKS: JSON.stringify(conn) } : {}),
      ...opts.env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const log = `${stdout}${stderr}`;
  const result = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!result) throw new Error(`run_dag.py gave no RESULT (exit ${code}):\n${log}`);
  const failures = stdout.split('\n').filter((l) => /^ERROR run_dag: task \S+ failed: /.test(l));
  return { state: JSON.parse(result.slice('RESULT '.length)) as Record<string, string>, failures, log };
}

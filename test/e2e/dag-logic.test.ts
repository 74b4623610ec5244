// The test DAG's pass/fail logic, run for real: `init` (the built CLI) sets the chain up on the
// test cloud and writes dags/test_eks_connectivity.py; then python3 runs that file's tasks with
// only the Airflow pieces replaced (test/support/airflow-standin/), as the Deployment's workload
// identity. Link 3 goes through a kubeconfig whose exec plugin mints a real EKS token, which the
// cloud's API server validates and maps like EKS does.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../support/cloud.js';
import { runCli } from '../support/run-cli.js';

const WI = 'arn:aws:iam::210987654321:role/astro-dep-abc123';
const STANDIN = fileURLToPath(new URL('../support/airflow-standin', import.meta.url));
const PY_PATH = '/usr/bin:/bin';

// Airflow cannot be installed here; boto3, botocore and the Kubernetes client can (.ci/run
// installs them). Without them locally, say so and skip; CI always has them.
const probe = spawnSync('python3', ['-c', 'import boto3, botocore, kubernetes'], { env: { PATH: PY_PATH }, encoding: 'utf8' });
const missing = probe.error ? `python3 not found (${probe.error.message})` : probe.status !== 0 ? probe.stderr.trim().split('\n').at(-1) : undefined;
const INSTALL = 'apt-get install -y python3-boto3 python3-botocore python3-kubernetes (.ci/run does it)';
// CI must run them: there a missing module is a failure, not a skip.
const skip = missing !== undefined && !process.env.CI;
if (skip) console.warn(`dag-logic tests SKIPPED: ${missing}. Install: ${INSTALL}`);

describe.runIf(missing !== undefined && !skip)('test_eks_connectivity prerequisites in CI', () => {
  it('python3 with boto3, botocore and kubernetes is installed', () => {
    expect.fail(`${missing}. Install: ${INSTALL}`);
  });
});

interface DagRun {
  state: Record<string, string>;
  log: string;
}

describe.skipIf(missing !== undefined)('test_eks_connectivity on the test cloud', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let dir: string;
  let roleArn: string;

  beforeAll(async () => {
    cloud = await startTestCloud();
    // One project for every case (useTempProjects would remove it after the first test).
    dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-dag-logic-'));
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM astrocrpublic.azurecr.io/runtime:3.1-2\n');
    const r = await runCli(['init', '--non-interactive', '--workload-identity', WI, '--project-dir', dir], { env: cloud.env, cwd: dir, timeoutMs: 90_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    roleArn = cloud.aws.role('AstroRemoteKPO')!.arn;
  }, 120_000);
  afterAll(async () => {
    await cloud?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the DAG as the workload identity would; `conn` undefined: no connection at all.
   * Asynchronous: the test cloud answers from this same process. */
  async function runDag(conn: Record<string, unknown> | undefined, env: Record<string, string> = {}): Promise<DagRun> {
    const creds = cloud.aws.issueCredentials(WI);
    const child = spawn('python3', [path.join(STANDIN, 'run_dag.py'), path.join(dir, 'dags', 'test_eks_connectivity.py')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: PY_PATH,
        HOME: cloud.home,
        TMPDIR: cloud.env.TMPDIR!,
        PYTHONPATH: STANDIN,
        PYTHONDONTWRITEBYTECODE: '1',
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_SESSION_TOKEN: creds.sessionToken ?? '',
        AWS_DEFAULT_REGION: cloud.region,
        AWS_EC2_METADATA_DISABLED: 'true',
        ...(conn ? { AIRFLOW_CONN_AWS_EKS: JSON.stringify({ conn_type: 'aws', extra: { endpoint_url: cloud.awsEndpoint, ...conn } }) } : {}),
        ...env,
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
    return { state: JSON.parse(result.slice('RESULT '.length)) as Record<string, string>, log };
  }

  const everyPermission = ['create pods', 'get pods', 'list pods', 'watch pods', 'patch pods', 'delete pods', 'get pods/log', 'create pods/exec', 'get pods/exec', 'list events', 'watch events'];

  it('everything right (provider 9.13+ kubeconfig: credentials file sourced by the exec plugin) → PASS on every link', async () => {
    cloud.resetCalls();
    const run = await runDag({ region_name: cloud.region, role_arn: roleArn }, { STANDIN_AIRFLOW_SDK: '1', STANDIN_AIRFLOW_VERSION: '3.1.0', STANDIN_AMAZON_VERSION: '9.30.0' });
    expect(run.state, run.log).toEqual({ check_versions: 'success', assume_role: 'success', describe_cluster: 'success', kubernetes_access: 'success' });
    expect(run.log).toMatch(/\[PASS\] assume_role: caller is arn:aws:sts::\d{12}:assumed-role\/AstroRemoteKPO\//);
    expect(run.log).toContain('[PASS] describe_cluster: cluster remote-kpo-demo is ACTIVE');
    expect(run.log).toContain('[PASS] kubernetes_access: listed 0 pod(s) in namespace astro-remote-kpo');
    for (const p of everyPermission) expect(run.log).toContain(`[PASS] can ${p} in astro-remote-kpo`);
    expect(run.log).toContain('[PASS] kubernetes_permissions: every permission KubernetesPodOperator needs is granted');
    expect(run.log).not.toContain('[WARN]');
    expect(run.log).toContain('versions: airflow 3.1.0, apache-airflow-providers-amazon 9.30.0');
    expect(run.log).toContain("stand-in Task SDK: get_connection('aws_eks')");
    // The API server saw the EKS token of the assumed role, mapped to the tool's Kubernetes user.
    const kubeCalls = cloud.calls.filter((c) => c.service === 'kube' && c.operation.startsWith('GET pods'));
    expect(kubeCalls.map((c) => [c.status, c.caller])).toEqual([[200, 'AstroRemoteKPO']]);
  });

  it('everything right with the older generate_config_file (the plugin assumes the role itself) → PASS; Airflow 3 with provider 9.12 is warned about', async () => {
    const run = await runDag({ region_name: cloud.region, role_arn: roleArn }, { STANDIN_EKS_API: 'legacy', STANDIN_AIRFLOW_VERSION: '3.0.6', STANDIN_AMAZON_VERSION: '9.12.0' });
    expect(run.log).not.toContain('stand-in Task SDK');
    expect(run.state, run.log).toEqual({ check_versions: 'success', assume_role: 'success', describe_cluster: 'success', kubernetes_access: 'success' });
    expect(run.log).toContain('[WARN] apache-airflow-providers-amazon 9.12.0 is below 9.30.0: on Airflow 3.0.6');
    expect(run.log).toContain('apache-airflow-providers-amazon>=9.30.0');
  });

  it('no connection → FAIL at link 1, naming the connection and the command that creates it; nothing after runs', async () => {
    const run = await runDag(undefined);
    expect(run.state).toEqual({ check_versions: 'success', assume_role: 'failed', describe_cluster: 'upstream_failed', kubernetes_access: 'upstream_failed' });
    expect(run.log).toContain("[FAIL] assume_role: connection 'aws_eks' does not exist here");
    const extra = JSON.stringify({ region_name: cloud.region, role_arn: `arn:aws:iam::${cloud.accountId}:role/AstroRemoteKPO` });
    expect(run.log).toContain(`astro deployment connection create --deployment-id "$DEPLOYMENT_ID" --conn-id aws_eks --conn-type aws --extra '${extra}'`);
    // The workload identity's own session is an assumed role too: the old check passed here.
    expect(run.log).not.toContain('[PASS] assume_role');
  });

  it('a connection without role_arn → FAIL at link 1 (the session would be the workload identity itself)', async () => {
    const run = await runDag({ region_name: cloud.region }, { ASTRO_DEPLOYMENT_ID: 'clx1abc2d000008l4ezw5ofno' });
    expect(run.state.assume_role).toBe('failed');
    expect(run.log).toContain("[FAIL] assume_role: connection 'aws_eks' has no role_arn in its extra");
    expect(run.log).toContain('astro deployment connection update --deployment-id clx1abc2d000008l4ezw5ofno --conn-id aws_eks');
  });

  it('a role_arn of another role → FAIL at link 1 (AssumeRole refused by its trust policy)', async () => {
    const run = await runDag({ region_name: cloud.region, role_arn: `arn:aws:iam::${cloud.accountId}:role/SomeoneElses` });
    expect(run.state.assume_role).toBe('failed');
    expect(run.log).toContain(`[FAIL] assume_role: connection 'aws_eks' could not assume arn:aws:iam::${cloud.accountId}:role/SomeoneElses`);
  });

  it('the RoleBinding gone → FAIL at link 3 with the 403 and where to look', async () => {
    const binding = cloud.kube.list('rolebindings', 'astro-remote-kpo')[0] as { metadata: { name: string } };
    cloud.kube.delete('rolebindings', 'astro-remote-kpo', binding.metadata.name);
    const run = await runDag({ region_name: cloud.region, role_arn: roleArn });
    expect(run.state).toMatchObject({ assume_role: 'success', describe_cluster: 'success', kubernetes_access: 'failed' });
    expect(run.log).toContain("[FAIL] kubernetes_access: listing pods in namespace 'astro-remote-kpo' failed");
    expect(run.log).toContain('403: the mapped Kubernetes user may not list pods here');
  });
});

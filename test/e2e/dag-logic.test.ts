// The test DAG's pass/fail logic, run for real: `init` (the built CLI) sets the chain up on the
// test cloud and writes dags/test_eks_connectivity.py; then python3 runs that file's tasks with
// only Airflow and its providers replaced (test/support/airflow-standin/), as the Deployment's
// workload identity. Link 3 goes through a kubeconfig whose exec plugin runs the token command in
// the shape each Amazon provider version builds it and mints a real EKS token, which the cloud's
// API server validates and maps like EKS does. Each case expects what that provider version does
// (docs/test-dag.md lists the source each expectation comes from).
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCloud } from '../support/cloud.js';
import { dagVariant, initRuntime3Project, runStandinDag, standinPrerequisiteMissing, STANDIN_INSTALL, type StandinOptions } from '../support/airflow-standin.js';

const WI = 'arn:aws:iam::210987654321:role/astro-dep-abc123';
const AMAZON_LINE = 'apache-airflow-providers-amazon>=9.30.0';
const AF3 = { STANDIN_AIRFLOW_SDK: '1', STANDIN_AIRFLOW_VERSION: '3.1.0' };

// Airflow cannot be installed here; boto3, botocore and the Kubernetes client can (.ci/run
// installs them). Without them locally, say so and skip; CI always has them.
const missing = standinPrerequisiteMissing();
const skip = missing !== undefined && !process.env.CI;
if (skip) console.warn(`dag-logic tests SKIPPED: ${missing}. Install: ${STANDIN_INSTALL}`);

describe.runIf(missing !== undefined && !skip)('test_eks_connectivity prerequisites in CI', () => {
  it('python3 with boto3, botocore and kubernetes is installed', () => {
    expect.fail(`${missing}. Install: ${STANDIN_INSTALL}`);
  });
});

describe.skipIf(missing !== undefined)('test_eks_connectivity on the test cloud', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let dir: string;
  let roleArn: string;
  let dagFile: string;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ cloud, dir, stop } = await initRuntime3Project('kpo-dag-logic-', WI));
    roleArn = cloud.aws.role('AstroRemoteKPO')!.arn;
    dagFile = path.join(dir, 'dags', 'test_eks_connectivity.py');
  }, 120_000);
  afterAll(async () => stop?.());

  /** The connection as `astro deployment connection create` leaves it: in the metadata DB. */
  const inDb = () => ({ store: 'metadata-db' as const, extra: { region_name: cloud.region, role_arn: roleArn } });
  const run = (opts: StandinOptions, file = dagFile) => runStandinDag(cloud, WI, file, opts);
  const kubeListCalls = () => cloud.calls.filter((c) => c.service === 'kube' && c.operation.startsWith('GET pods'));
  const everyPermission = ['create pods', 'get pods', 'list pods', 'watch pods', 'patch pods', 'delete pods', 'get pods/log', 'create pods/exec', 'get pods/exec', 'list events', 'watch events'];
  // pod_identity passes as "skipped": init gave the pods no AWS identity (dag-pod-identity.test.ts runs it).
  const allPass = { check_providers: 'success', assume_role: 'success', describe_cluster: 'success', kubernetes_access: 'success', pod_identity: 'success' };

  it('Airflow 3.1, provider 9.30 (credentials file, stderr kept out of the token), connection in the metadata DB → PASS on every link', async () => {
    cloud.resetCalls();
    const r = await run({ conn: inDb(), env: { ...AF3, STANDIN_AMAZON_VERSION: '9.30.0' } });
    expect(r.state, r.log).toEqual(allPass);
    expect(r.log).toContain('[PASS] check_providers: EksHook, EksPodOperator, KubernetesPodOperator, KubernetesHook and the kubernetes client import');
    expect(r.log).toMatch(/\[PASS\] assume_role: caller is arn:aws:sts::\d{12}:assumed-role\/AstroRemoteKPO\//);
    expect(r.log).toContain('[PASS] describe_cluster: cluster remote-kpo-demo is ACTIVE');
    expect(r.log).toContain('[PASS] kubernetes_access: listed 0 pod(s) in namespace astro-remote-kpo');
    for (const p of everyPermission) expect(r.log).toContain(`[PASS] can ${p} in astro-remote-kpo`);
    expect(r.log).toContain('[PASS] kubernetes_permissions: every permission KubernetesPodOperator needs is granted');
    expect(r.log).not.toContain('[WARN]');
    expect(r.log).toContain('versions: airflow 3.1.0, apache-airflow-providers-amazon 9.30.0, apache-airflow-providers-cncf-kubernetes');
    expect(r.log).toContain("stand-in Task SDK: get_connection('aws_eks')");
    // The API server saw the EKS token of the assumed role, mapped to the tool's Kubernetes user.
    expect(kubeListCalls().map((c) => [c.status, c.caller])).toEqual([[200, 'AstroRemoteKPO']]);
  });

  it('Airflow 3.0 with provider 9.12: its token helper cannot read the connection from the metadata DB (#53578), so the token is the workload identity’s → 401 at link 3, naming the fix', async () => {
    cloud.resetCalls();
    const r = await run({ conn: inDb(), env: { STANDIN_AIRFLOW_SDK: '1', STANDIN_AIRFLOW_VERSION: '3.0.6', STANDIN_AMAZON_VERSION: '9.12.0' } });
    expect(r.state, r.log).toEqual({ ...allPass, kubernetes_access: 'failed', pod_identity: 'upstream_failed' });
    expect(r.log).toContain('[WARN] apache-airflow-providers-amazon 9.12.0 on Airflow 3.0.6: before 9.13.0 the token helper cannot read a connection stored in the metadata DB (apache/airflow#53578)');
    expect(r.log).toContain("[FAIL] kubernetes_access: listing pods in namespace 'astro-remote-kpo' failed");
    expect(r.log).toContain('401: the cluster did not accept the token the exec plugin minted.');
    expect(r.log).toContain(`Add \`${AMAZON_LINE}\` to requirements.txt.`);
    // What the API server saw: a valid token, of the workload identity, which nothing maps.
    expect(kubeListCalls().map((c) => [c.status, c.note])).toEqual([[401, `ARN is not mapped: ${WI}`]]);
  });

  it('Airflow 2.10 with provider 9.12: the helper reads the connection itself (Airflow 2 reaches the DB) → PASS, with a warning that the 401 fix needs Airflow 2.11', async () => {
    const r = await run({ conn: inDb(), env: { STANDIN_AIRFLOW_VERSION: '2.10.5', STANDIN_AMAZON_VERSION: '9.12.0' } });
    expect(r.log).not.toContain('stand-in Task SDK');
    expect(r.state, r.log).toEqual(allPass);
    expect(r.log).toContain('[WARN] apache-airflow-providers-amazon 9.12.0 on Airflow 2.10.5: before 9.30.0 the exec plugin reads the token');
    expect(r.log).toContain('Astro Runtime 13 (Airflow 2.11) or 3.x brings it.');
    expect(r.log).not.toContain('#53578');
  });

  it('a token helper that writes to stderr after its token: 9.29’s command merges it into the token → 401 (#64657); 9.30’s keeps it out → PASS', async () => {
    const noisy = { STANDIN_TOKEN_HELPER_STDERR: 'UserWarning: a warning at interpreter exit' };
    cloud.resetCalls();
    const old = await run({ conn: inDb(), env: { ...AF3, ...noisy, STANDIN_AMAZON_VERSION: '9.29.0' } });
    expect(old.state.kubernetes_access, old.log).toBe('failed');
    expect(old.log).toContain('401: the cluster did not accept the token the exec plugin minted.');
    expect(old.log).toContain('before 9.30.0 the exec plugin reads the token from the helper\'s output with its stderr merged in: cross-account 401 (apache/airflow#64657)');
    expect(kubeListCalls().map((c) => [c.status, c.note])).toEqual([[401, 'not a bearer token']]);
    const fixed = await run({ conn: inDb(), env: { ...AF3, ...noisy, STANDIN_AMAZON_VERSION: '9.30.0' } });
    expect(fixed.state, fixed.log).toEqual(allPass);
  });

  it('the API server does not answer (endpoint not reachable from the Deployment) → FAIL at link 3 within the bounded timeout, with the reachability fix', async () => {
    // A server that accepts TCP and never speaks: what a filtered endpoint looks like from the worker.
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const cluster = cloud.aws.cluster('remote-kpo-demo')!;
    const real = cluster.endpoint;
    cluster.endpoint = `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    // The same DAG with a 2 s connect timeout instead of 10 (only that line differs).
    expect(await readFile(dagFile, 'utf8')).toMatch(/^KUBE_CONNECT_TIMEOUT = 10$/m);
    const fast = await dagVariant(dagFile, 'fast_timeout.py', { KUBE_CONNECT_TIMEOUT: 2 });
    try {
      const started = Date.now();
      const r = await run({ conn: inDb(), env: { ...AF3, STANDIN_AMAZON_VERSION: '9.30.0' } }, fast);
      const seconds = (Date.now() - started) / 1000;
      expect(r.state, r.log).toEqual({ ...allPass, kubernetes_access: 'failed', pod_identity: 'upstream_failed' });
      expect(r.log).toContain(`[FAIL] kubernetes_access: the API server at the cluster's endpoint ${cluster.endpoint} did not answer from this Deployment within 2 s.`);
      for (const s of ['over its public endpoint unless a network connection', 'publicAccessCidrs', 'https://www.astronomer.io/docs/astro/connect-aws', 'aws eks update-cluster-config --region us-east-1 --name remote-kpo-demo']) {
        expect(r.log).toContain(s);
      }
      // Bounded: far below a task timeout, whatever the load on this machine.
      expect(seconds).toBeLessThan(60);
    } finally {
      cluster.endpoint = real;
      for (const s of held) s.destroy();
      silent.close();
      await rm(fast, { force: true });
    }
  });

  it('no connection → FAIL at link 1, naming the connection and the command that creates it; nothing after runs', async () => {
    const r = await run({ env: AF3 });
    expect(r.state).toEqual({ check_providers: 'success', assume_role: 'failed', describe_cluster: 'upstream_failed', kubernetes_access: 'upstream_failed', pod_identity: 'upstream_failed' });
    expect(r.log).toContain("[FAIL] assume_role: connection 'aws_eks' does not exist here");
    const extra = JSON.stringify({ region_name: cloud.region, role_arn: `arn:aws:iam::${cloud.accountId}:role/AstroRemoteKPO` });
    expect(r.log).toContain(`astro deployment connection create --deployment-id "$DEPLOYMENT_ID" --conn-id aws_eks --conn-type aws --extra '${extra}'`);
    // The workload identity's own session is an assumed role too: the old check passed here.
    expect(r.log).not.toContain('[PASS] assume_role');
  });

  it('a connection without role_arn → FAIL at link 1 (the session would be the workload identity itself)', async () => {
    const r = await run({ conn: { store: 'env', extra: { region_name: cloud.region } }, env: { ASTRO_DEPLOYMENT_ID: 'clx1abc2d000008l4ezw5ofno' } });
    expect(r.state.assume_role).toBe('failed');
    expect(r.log).toContain("[FAIL] assume_role: connection 'aws_eks' has no role_arn in its extra");
    expect(r.log).toContain('astro deployment connection update --deployment-id clx1abc2d000008l4ezw5ofno --conn-id aws_eks');
  });

  it('a role_arn of another role → FAIL at link 1 (AssumeRole refused by its trust policy)', async () => {
    const r = await run({ conn: { store: 'env', extra: { region_name: cloud.region, role_arn: `arn:aws:iam::${cloud.accountId}:role/SomeoneElses` } } });
    expect(r.state.assume_role).toBe('failed');
    expect(r.log).toContain(`[FAIL] assume_role: connection 'aws_eks' could not assume arn:aws:iam::${cloud.accountId}:role/SomeoneElses`);
  });

  it('the RoleBinding gone → FAIL at link 3 with the 403 and where to look', async () => {
    const binding = cloud.kube.list('rolebindings', 'astro-remote-kpo')[0] as { metadata: { name: string } };
    cloud.kube.delete('rolebindings', 'astro-remote-kpo', binding.metadata.name);
    const r = await run({ conn: inDb(), env: AF3 });
    expect(r.state).toMatchObject({ assume_role: 'success', describe_cluster: 'success', kubernetes_access: 'failed' });
    expect(r.log).toContain("[FAIL] kubernetes_access: listing pods in namespace 'astro-remote-kpo' failed");
    expect(r.log).toContain('403: the mapped Kubernetes user may not list pods here');
  });
});

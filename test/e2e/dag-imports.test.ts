// The two DAGs against what the Deployment's image has installed: both import on Airflow 3 with
// the providers init adds; without them remote_kpo cannot import (the real operator module imports
// the cncf.kubernetes provider at its top) and the test DAG says which requirements.txt line to
// add, in every task, without an ImportError. The files are the ones the built CLI writes.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCloud } from '../support/cloud.js';
import { dagVariant, initRuntime3Project, listDag, runStandinDag, standinPrerequisiteMissing } from '../support/airflow-standin.js';

const WI = 'arn:aws:iam::210987654321:role/astro-dep-abc123';
const AF3 = { STANDIN_AIRFLOW_SDK: '1', STANDIN_AIRFLOW_VERSION: '3.1.0', STANDIN_AMAZON_VERSION: '9.30.0' };
const AMAZON_LINE = 'apache-airflow-providers-amazon>=9.30.0';
const CNCF_LINE = 'apache-airflow-providers-cncf-kubernetes>=7.2.0';

// dag-logic.test.ts reports the missing prerequisites (and fails in CI); here they only skip.
describe.skipIf(standinPrerequisiteMissing() !== undefined)('the DAGs against the providers installed', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let dags: string;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const p = await initRuntime3Project('kpo-dag-imports-', WI);
    ({ cloud, stop } = p);
    dags = path.join(p.dir, 'dags');
  }, 120_000);
  afterAll(async () => stop?.());

  const conn = () => ({ store: 'metadata-db' as const, extra: { region_name: cloud.region, role_arn: cloud.aws.role('AstroRemoteKPO')!.arn } });

  it('with both providers, remote_kpo.py and test_eks_connectivity.py import on Airflow 3 and 2', () => {
    for (const env of [AF3, { STANDIN_AIRFLOW_VERSION: '2.11.0' }]) {
      const kpo = listDag(path.join(dags, 'remote_kpo.py'), ['amazon', 'cncf-kubernetes'], env);
      expect(kpo.tasks, kpo.error).toEqual([{ task_id: 'hello_remote_pod', operator: 'EksPodOperator', service_account_name: null }]);
      const test = listDag(path.join(dags, 'test_eks_connectivity.py'), ['amazon', 'cncf-kubernetes'], env);
      expect(test.tasks?.map((t) => t.task_id), test.error).toEqual(['check_providers', 'assume_role', 'describe_cluster', 'kubernetes_access', 'pod_identity']);
    }
  });

  it('remote_kpo runs its pod as the pods’ ServiceAccount when init gave the pods an AWS identity, and leaves the default otherwise', async () => {
    // As init writes it with --pod-policy-arn: the two constants filled (the test DAG gets the same).
    const on = await dagVariant(path.join(dags, 'remote_kpo.py'), 'remote_kpo_pod_identity.py', { POD_SERVICE_ACCOUNT: 'astro-remote-kpo-pods', POD_ROLE_NAME: 'AstroRemoteKPOPods' });
    for (const env of [AF3, { STANDIN_AIRFLOW_VERSION: '2.11.0' }]) {
      const set = listDag(on, ['amazon', 'cncf-kubernetes'], env);
      expect(set.tasks, set.error).toEqual([{ task_id: 'hello_remote_pod', operator: 'EksPodOperator', service_account_name: 'astro-remote-kpo-pods' }]);
      // Unset: the argument is not passed at all, so the operator keeps its default (None: the
      // namespace's default ServiceAccount), exactly as before the feature.
      const unset = listDag(path.join(dags, 'remote_kpo.py'), ['amazon', 'cncf-kubernetes'], env);
      expect(unset.tasks?.[0]?.service_account_name, unset.error).toBeNull();
    }
    expect(await readFile(path.join(dags, 'remote_kpo.py'), 'utf8')).toMatch(/^POD_SERVICE_ACCOUNT = ""$/m);
  });

  it('without cncf.kubernetes (and so without the kubernetes client): remote_kpo cannot import; the test DAG FAILs naming the line, every task without an ImportError', async () => {
    const kpo = listDag(path.join(dags, 'remote_kpo.py'), ['amazon'], AF3);
    expect(kpo.tasks).toBeUndefined();
    expect(kpo.error).toContain("ModuleNotFoundError: No module named 'airflow.providers.cncf'");

    const stops = await runStandinDag(cloud, WI, path.join(dags, 'test_eks_connectivity.py'), { conn: conn(), providers: ['amazon'], env: AF3 });
    expect(stops.state, stops.log).toEqual({ check_providers: 'failed', assume_role: 'upstream_failed', describe_cluster: 'upstream_failed', kubernetes_access: 'upstream_failed', pod_identity: 'upstream_failed' });
    expect(stops.log).toContain('[FAIL] check_providers: EksPodOperator cannot run in this image: missing');
    expect(stops.log).toContain(`Add to requirements.txt: \`${CNCF_LINE}\`, then \`astro deploy\`.`);
    expect(stops.log).not.toContain(AMAZON_LINE);

    // Each task alone (`airflow tasks test`): the links that need only the Amazon provider pass;
    // link 3 says what it lacks, and so does link 4 when it runs (the pods have an identity). No
    // task ends in an ImportError.
    const withPods = await dagVariant(path.join(dags, 'test_eks_connectivity.py'), 'test_pod_identity.py', { POD_SERVICE_ACCOUNT: 'astro-remote-kpo-pods', POD_ROLE_NAME: 'AstroRemoteKPOPods' });
    const each = await runStandinDag(cloud, WI, withPods, { conn: conn(), providers: ['amazon'], env: AF3, all: true });
    expect(each.state, each.log).toEqual({ check_providers: 'failed', assume_role: 'success', describe_cluster: 'success', kubernetes_access: 'failed', pod_identity: 'failed' });
    expect(each.log).toContain(`[FAIL] kubernetes_access: cannot import airflow.providers.cncf.kubernetes.hooks.kubernetes.KubernetesHook`);
    expect(each.log).toContain(`add \`${CNCF_LINE}\` to requirements.txt, then \`astro deploy\``);
    expect(each.log).toContain(`[FAIL] pod_identity: cannot import airflow.providers.cncf.kubernetes.hooks.kubernetes.KubernetesHook`);
    expect(each.failures).toHaveLength(3);
    for (const f of each.failures) expect(f).toMatch(/failed: LinkFailed: \[FAIL\]/);
    expect(each.log).not.toContain('Traceback');
  });

  it('without either provider: every task FAILs with the lines to add, none with an ImportError', async () => {
    const r = await runStandinDag(cloud, WI, path.join(dags, 'test_eks_connectivity.py'), { conn: conn(), providers: [], env: AF3, all: true });
    // pod_identity imports nothing when the pods have no identity of their own: it only says it skipped.
    expect(r.state, r.log).toEqual({ check_providers: 'failed', assume_role: 'failed', describe_cluster: 'failed', kubernetes_access: 'failed', pod_identity: 'success' });
    expect(r.log).toContain(`Add to requirements.txt: \`${AMAZON_LINE}\`, \`${CNCF_LINE}\`, then \`astro deploy\`.`);
    expect(r.log).toContain(`[FAIL] assume_role: cannot import airflow.providers.amazon.aws.hooks.base_aws.AwsBaseHook`);
    expect(r.log).toContain(`[FAIL] describe_cluster: cannot import airflow.providers.amazon.aws.hooks.eks.EksHook`);
    expect(r.failures).toHaveLength(4);
    for (const f of r.failures) expect(f).toMatch(/failed: LinkFailed: \[FAIL\]/);
    expect(r.log).not.toContain('Traceback');
  });

  it('on Airflow 2.10 (which cannot install the 9.30.0 floor) the Amazon line to add is the name alone, as init writes it there', async () => {
    const r = await runStandinDag(cloud, WI, path.join(dags, 'test_eks_connectivity.py'), { conn: conn(), providers: [], env: { STANDIN_AIRFLOW_VERSION: '2.10.5' } });
    expect(r.state.check_providers).toBe('failed');
    expect(r.log).toContain(`Add to requirements.txt: \`apache-airflow-providers-amazon\`, \`${CNCF_LINE}\`, then \`astro deploy\`.`);
  });
});

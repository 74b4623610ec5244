// A changed input re-runs exactly the stages that read it. One cloud, one project: init, then one
// input changed per run, for every key of Inputs, each run reading state.json afterwards.
//
// What "re-run" means: a stage whose record is invalidated (an input it reads changed) is taken up
// again under the new inputs: its check() runs against them, and its run() when the check says not
// done. A check that finds it done again (the namespace is the same whatever --profile says) is a
// re-check, and that is what it should be. Its record then carries `invalidatedBy` (the inputs
// that changed) and the hash of the new inputs. Every other stage is checked too, as on every run
// (a finished stage is verified cheaply), but its record stands: no `invalidatedBy`, the same hash.
//
// EXPECTED below is written by hand from what each stage's code reads, not computed from the
// declarations, so a declaration that says too much or too little fails here.
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Inputs, StageId } from '../../src/types.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { readState, requireBuild, WI } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-inputs-');
beforeAll(requireBuild);

const ALL: StageId[] = ['preflight', 'cluster', 'context', 'namespace', 'k8s-role', 'iam-role', 'role-arn', 'identity-mapping', 'verify-mapping', 'role-binding', 'access-check', 'connection', 'project-files', 'deployment-connection', 'pod-identity', 'pod-role', 'pod-service-account'];
const PODS: StageId[] = ['pod-identity', 'pod-role', 'pod-service-account'];

/** input → the stages that read it (by hand, from each stage's code). */
const EXPECTED: Record<keyof Inputs, StageId[]> = {
  // Every stage in the account or the cluster: which cluster (and what in it) a record is about.
  clusterName: ['preflight', 'cluster', 'context', 'namespace', 'k8s-role', 'iam-role', 'identity-mapping', 'verify-mapping', 'role-binding', 'access-check', 'project-files', ...PODS],
  // The AWS clients' region, the cluster's region, the connection's region_name, the DAGs' REGION.
  region: ALL,
  // The AWS clients' account (every AWS or cluster stage), and the --local-dev compose override.
  profile: ALL.filter((s) => s !== 'connection' && s !== 'deployment-connection'),
  kubeContext: ['context'],
  // context probes whether it may create RoleBindings there.
  // (and the pods' role trusts a ServiceAccount of that namespace, which is made there).
  namespace: ['context', 'namespace', 'k8s-role', 'role-binding', 'access-check', 'project-files', 'pod-role', 'pod-service-account'],
  k8sRole: ['k8s-role', 'role-binding', 'access-check', 'project-files'],
  k8sUser: ['identity-mapping', 'verify-mapping', 'role-binding', 'access-check', 'project-files'],
  // The test DAG names the role's ARN (project-files); identity-mapping names the role in its plan.
  iamRole: ['iam-role', 'role-arn', 'identity-mapping', 'connection', 'project-files', 'deployment-connection'],
  // The trust policy, and the use marks' fingerprint on the namespace, Role, RoleBinding and access entry.
  workloadIdentities: ['namespace', 'k8s-role', 'iam-role', 'identity-mapping', 'role-binding', 'project-files', ...PODS],
  authMode: ['identity-mapping'],
  permissions: ['iam-role', 'project-files'],
  connId: ['connection', 'project-files', 'deployment-connection'],
  clusterConfig: ['cluster', 'project-files'],
  astroDeploymentIds: ['deployment-connection'],
  localDev: ['iam-role', 'project-files'],
  allowExtraAccess: ['access-check'],
  // On or off for every pods' stage; access-check's dry run as the ServiceAccount; the DAGs' constants.
  podPolicyArns: ['preflight', 'access-check', 'project-files', ...PODS],
  podIdentity: ['pod-identity'],
  // The role the ServiceAccount is linked to; the DAGs' POD_ROLE_NAME.
  podRole: ['project-files', 'pod-role', 'pod-service-account'],
  // The ServiceAccount the role trusts and the access check runs a pod as; the DAGs' POD_SERVICE_ACCOUNT.
  podServiceAccount: ['access-check', 'project-files', 'pod-role', 'pod-service-account'],
};

const WI_B = 'arn:aws:iam::123456789012:role/astro-dep-b';
const DEP = 'clx1abc2d000008l4ezw5ofno';

describe('a changed input re-runs exactly the stages that read it', () => {
  it('every input, one at a time', { timeout: 300_000 }, async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    // The cluster --cluster-name changes to exists already (a new one would need its own ClusterConfig).
    await cloud.addCluster({ name: 'kpo-other', withKubeconfigContext: true, setCurrentContext: false });
    // Profile "kpo" holds the test cloud's keys (the same caller).
    const creds = path.join(dir, 'aws-credentials');
    await writeFile(creds, `[kpo]\naws_access_key_id = ${cloud.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${cloud.env.AWS_SECRET_ACCESS_KEY}\n`);
    const env = { ...cloud.env, AWS_CONFIG_FILE: path.join(dir, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: creds };

    const args: string[] = ['--workload-identity', WI];
    const init = async () => {
      const r = await runCli(['init', '--non-interactive', '--project-dir', dir, ...args], { env, cwd: dir });
      expect(r.code, `init ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
      return readState(dir);
    };
    let before = await init();
    for (const id of ALL) expect(before.stages[id].invalidatedBy, id).toBeUndefined();

    // Each step changes one input (the flags given so far stay) and may prepare the world for it.
    const steps: Array<[keyof Inputs, string[], (() => Promise<void>)?]> = [
      ['clusterName', ['--cluster-name', 'kpo-other']],
      ['region', ['--region', 'us-west-2']],
      ['profile', ['--profile', 'kpo']],
      ['kubeContext', ['--kube-context', 'test-admin@kpo-other.us-east-1.eksctl.io']],
      // Before the namespace, Role and user change: the binding made for the old ones still names
      // the user, and access-check would refuse that extra access without it.
      ['allowExtraAccess', ['--allow-extra-access']],
      ['namespace', ['--namespace', 'team-pods']],
      ['k8sRole', ['--k8s-role', 'kpo-role-2']],
      // init never renames the user of a mapping it finds (it refuses, by design): the mapping
      // goes first, so the run can make it with the new user.
      ['k8sUser', ['--k8s-user', 'KpoUser2'], async () => void cloud.aws.cluster('kpo-other')!.accessEntries.delete(`arn:aws:iam::${cloud.accountId}:role/AstroRemoteKPO`)],
      ['iamRole', ['--iam-role', 'AstroRemoteKPO2']],
      ['workloadIdentities', ['--workload-identity', WI_B]],
      ['authMode', ['--auth-mode', 'access-entry']],
      ['permissions', ['--permissions', 'seed']],
      ['connId', ['--conn-id', 'aws_eks_2']],
      // The very ClusterConfig init rendered, now given as the user's own file.
      ['clusterConfig', ['--cluster-config', path.join(dir, 'my-cluster.yaml')], () => copyFile(path.join(dir, 'k8s', 'cluster.yaml'), path.join(dir, 'my-cluster.yaml'))],
      ['astroDeploymentIds', ['--astro-deployment-id', DEP]],
      // The task pods' identity (issue #20): on (IRSA on this cluster: no agent add-on), then each of its names.
      ['podPolicyArns', ['--pod-policy-arn', 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly']],
      ['podIdentity', ['--pod-identity', 'irsa']],
      ['podRole', ['--pod-role', 'KpoPods2']],
      ['podServiceAccount', ['--pod-service-account', 'kpo-pods-2']],
      ['localDev', ['--local-dev']],
    ];
    const seen: Partial<Record<keyof Inputs, StageId[]>> = {};
    for (const [input, flags, prepare] of steps) {
      await prepare?.();
      args.push(...flags);
      const after = await init();
      const invalidated = ALL.filter((id) => after.stages[id].invalidatedBy !== undefined);
      seen[input] = invalidated;
      for (const id of ALL) {
        const reads = EXPECTED[input].includes(id);
        expect(after.stages[id].status, `${input}: ${id}`).toMatch(/^(done|skipped)$/);
        expect(after.stages[id].invalidatedBy, `${input}: ${id}`).toEqual(reads ? [input] : undefined);
        // A stage that reads it is recorded under the new inputs; any other keeps its hash.
        expect(after.stages[id].inputsHash !== before.stages[id].inputsHash, `${input}: ${id}'s hash`).toBe(reads);
      }
      before = after;
    }
    expect(seen).toEqual(EXPECTED);
    // status says it too: the last run (localDev) took up iam-role and project-files again.
    const status = await runCli(['status', '--project-dir', dir], { env, cwd: dir });
    const again = status.stdout.split('\n').filter((l) => l.includes('(checked again:'));
    expect(again.map((l) => /\d+·([a-z0-9-]+)/.exec(l)?.[1])).toEqual(['iam-role', 'project-files']);
    expect(again.every((l) => l.includes('(checked again: localDev changed)'))).toBe(true);
    // Every key of Inputs was changed once (all are set now, the optional ones too).
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(before.inputs).sort());
  });
});

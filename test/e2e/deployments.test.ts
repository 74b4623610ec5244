// E2E: several Astro Deployments by id (workload identities read with the stand-in astro CLI, the
// connection set on each), the closing next steps (the deploy path), and --local-dev (the caller
// trusted, and exactly that taken out again by destroy).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { astroWorld } from '../support/astro.js';
import { expectFailure } from '../support/failure.js';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { readState, requireBuild } from './aws-helpers.js';

const ROLE = 'AstroRemoteKPO';
const ROLE_ARN = `arn:aws:iam::123456789012:role/${ROLE}`;
const DEP_A = 'clx1abc2d000008l4ezw5ofno';
const DEP_B = 'clx9zyx8w000007k3dyv4nemp';
const WI_A = 'arn:aws:iam::123456789012:role/astro-dep-a';
const WI_B = 'arn:aws:iam::123456789012:role/astro-dep-b';
const CALLER = 'arn:aws:iam::123456789012:user/test-admin';
const OTHER = 'arn:aws:iam::123456789012:role/someone-else';

const cloudProject = useCloudProjects('kpo-e2e-deployments-');
beforeAll(requireBuild);

const world = (dir: string, loggedIn = true) =>
  astroWorld(dir, {
    loggedIn,
    deployments: { [DEP_A]: { name: 'prod', workloadIdentity: WI_A }, [DEP_B]: { name: 'staging', workloadIdentity: WI_B } },
  });

const trustedBy = (doc: unknown): string[] =>
  ((doc as { Statement: Array<{ Principal?: { AWS?: string | string[] } }> }).Statement ?? []).flatMap((s) => [s.Principal?.AWS ?? []].flat());

describe('several Deployments', { timeout: 180_000 }, () => {
  it('two Deployment ids, no --workload-identity: both identities trusted, the connection created on both, next steps are the deploy path', async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true }, astroCli: true });
    const astro = world(dir);
    const env = { ...cloud.env, ...astro.env };
    const r = await runCli(['init', '--non-interactive', '--astro-deployment-id', DEP_A, '--astro-deployment-id', DEP_B, '--project-dir', dir], { env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);

    expect(trustedBy(cloud.aws.trustPolicy(ROLE)).sort()).toEqual([WI_A, WI_B]);
    const w = astro.read();
    const inspects = w.invocations!.filter((a) => a[1] === 'inspect');
    expect(inspects).toEqual([
      ['deployment', 'inspect', DEP_A, '--show-workload-identity', '--key', 'configuration.workload_identity'],
      ['deployment', 'inspect', DEP_B, '--show-workload-identity', '--key', 'configuration.workload_identity'],
    ]);
    for (const id of [DEP_A, DEP_B]) {
      const c = w.deployments[id]!.connections!['aws_eks']!;
      expect(c.conn_type).toBe('aws');
      expect(JSON.parse(c.extra)).toEqual({ region_name: 'us-east-1', role_arn: ROLE_ARN });
    }
    const state = await readState(dir);
    expect(state.inputs.workloadIdentities).toEqual([WI_A, WI_B]);
    expect(state.inputs.astroDeploymentIds).toEqual([DEP_A, DEP_B]);
    expect(state.stages['deployment-connection'].outputs.deployments).toEqual([DEP_A, DEP_B]);
    // The connection on each Deployment is in the audit trail like every other change.
    const log = await readFile(path.join(dir, '.astro-remote-kpo', 'logs', 'debug.log'), 'utf8');
    for (const id of [DEP_A, DEP_B]) expect(log).toContain(`audit astro deployment connection create ${id} aws_eks -> ok`);
    expect(JSON.parse(await readFile(path.join(dir, 'k8s', 'iam-assume-role-policy.json'), 'utf8'))).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: [WI_A, WI_B] }, Action: 'sts:AssumeRole' }],
    });

    // The closing next steps: connection (done), astro deploy with each id, the test DAG, verify; in that order.
    const next = r.stdout.slice(r.stdout.indexOf('Next, to see a pod start'));
    const order = [`Connection aws_eks is set on Deployment ${DEP_A}, ${DEP_B}`, `astro deploy ${DEP_A}`, `astro deploy ${DEP_B}`, 'trigger test_eks_connectivity', 'npx astro-remote-kpo verify'];
    const at = order.map((s) => next.indexOf(s));
    expect(at.every((i) => i >= 0), next).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(r.stdout).not.toContain('astro dev start');
    expect(r.stdout).not.toMatch(/<[a-z-]+>/); // nothing a shell would read as a redirection

    // A re-run reads the identities again but changes nothing and does not run connection create again.
    const again = await runCli(['init', '--non-interactive', '--astro-deployment-id', DEP_A, '--astro-deployment-id', DEP_B, '--project-dir', dir], { env, cwd: dir });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(astro.read().invocations!.filter((a) => a[2] === 'create')).toHaveLength(2);

    // verify takes everything from state: both identities checked.
    const v = await runCli(['verify', '--project-dir', dir, '--json'], { env, cwd: dir });
    const trustRow = (JSON.parse(v.stdout) as { checks: Array<{ id: string; status: string; detail: string }> }).checks.find((x) => x.id === 'iam-trust')!;
    expect(trustRow).toMatchObject({ status: 'pass' });
    expect(trustRow.detail).toContain(`${WI_A}, ${WI_B}`);
  });

  it('--dry-run with two ids: the plan trusts both and runs the connection command on each; nothing changes', async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true }, astroCli: true });
    const astro = world(dir);
    const r = await runCli(['init', '--dry-run', '--non-interactive', '--astro-deployment-id', DEP_A, '--astro-deployment-id', DEP_B, '--project-dir', dir], { env: { ...cloud.env, ...astro.env }, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`create IAM role ${ROLE} (trust: ${WI_A}, ${WI_B};`);
    expect(r.stdout).toContain(`run: astro deployment connection create --deployment-id ${DEP_A} `);
    expect(r.stdout).toContain(`run: astro deployment connection create --deployment-id ${DEP_B} `);
    expect(cloud.mutatingCalls()).toEqual([]);
    expect(astro.read().invocations!.every((a) => a[1] === 'inspect')).toBe(true);
  });

  it('--astro-deployment-id with astro not logged in: exit 3 naming astro login and --workload-identity; nothing changed', async () => {
    const { cloud, dir } = await cloudProject({ astroCli: true });
    const astro = world(dir, false);
    const r = await runCli(['init', '--non-interactive', '--astro-deployment-id', DEP_A, '--project-dir', dir], { env: { ...cloud.env, ...astro.env }, cwd: dir });
    expectFailure(r, 'ASTRO_NOT_LOGGED_IN');
    expect(r.stderr).toContain('astro login');
    expect(r.stderr).toContain('--workload-identity');
    expect(cloud.mutatingCalls()).toEqual([]);
  });

  it('--astro-deployment-id without the astro CLI and without --workload-identity: exit 3', async () => {
    const { cloud, dir } = await cloudProject();
    const r = await runCli(['init', '--non-interactive', '--astro-deployment-id', DEP_A, '--project-dir', dir], { env: cloud.env, cwd: dir });
    expectFailure(r, 'ASTRO_CLI_MISSING');
    expect(r.stderr).toContain('--workload-identity');
  });

  it('repeated --workload-identity without ids: all trusted; the printed commands are paste-safe', async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    const r = await runCli(['init', '--non-interactive', '--workload-identity', WI_A, '--workload-identity', WI_B, '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(trustedBy(cloud.aws.trustPolicy(ROLE)).sort()).toEqual([WI_A, WI_B]);
    expect(r.stdout).toContain('DEPLOYMENT_ID=your-deployment-id');
    expect(r.stdout).toContain(`astro deployment connection create --deployment-id "$DEPLOYMENT_ID" --conn-id aws_eks --conn-type aws --extra '{"region_name":"us-east-1","role_arn":"${ROLE_ARN}"}'`);
    expect(r.stdout).toContain(`astro deployment variable create --deployment-id "$DEPLOYMENT_ID" --secret AIRFLOW_CONN_AWS_EKS='{"conn_type":"aws","extra":{"region_name":"us-east-1","role_arn":"${ROLE_ARN}"}}'`);
    expect(r.stdout).toContain('astro deploy "$DEPLOYMENT_ID"');
    expect(r.stdout).not.toMatch(/<[a-z-]+>/);
  });
});

describe('history across runs', { timeout: 180_000 }, () => {
  it("one more identity later on someone else's role: both recorded as added, destroy takes out both and keeps the other principal", async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    cloud.aws.createRole({ name: ROLE, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] } });
    const base = ['init', '--non-interactive', '--project-dir', dir, '--workload-identity', WI_A];
    expect((await runCli(base, { env: cloud.env, cwd: dir })).code).toBe(0);
    const r = await runCli([...base, '--workload-identity', WI_B], { env: cloud.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(trustedBy(cloud.aws.trustPolicy(ROLE)).sort()).toEqual([OTHER, WI_A, WI_B].sort());
    expect((await readState(dir)).stages['iam-role'].outputs.trustPrincipalsAdded).toEqual([WI_A, WI_B]);
    const d = await runCli(['destroy', '--yes', '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(trustedBy(cloud.aws.trustPolicy(ROLE))).toEqual([OTHER]);
  });

  it('a state file of the previous version (one workloadIdentity) is read: the re-run changes nothing', async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    const args = ['init', '--non-interactive', '--project-dir', dir, '--workload-identity', WI_A];
    expect((await runCli(args, { env: cloud.env, cwd: dir })).code).toBe(0);
    // Rewrite state.json as the previous version wrote it.
    const file = path.join(dir, '.astro-remote-kpo', 'state.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { inputs: Record<string, unknown> };
    const { workloadIdentities, astroDeploymentIds: _d, localDev: _l, ...rest } = doc.inputs;
    doc.inputs = { ...rest, workloadIdentity: (workloadIdentities as string[])[0] };
    await writeFile(file, JSON.stringify(doc));
    const st = await runCli(['status', '--project-dir', dir], { env: cloud.env, cwd: dir });
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain(WI_A);
    cloud.resetCalls();
    const r = await runCli(args, { env: cloud.env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(cloud.mutatingCalls()).toEqual([]);
    expect((await readState(dir)).inputs.workloadIdentities).toEqual([WI_A]);
  });
});

describe('--local-dev', { timeout: 180_000 }, () => {
  it('trusts exactly the caller, gives astro dev ~/.aws read-only keeping the override file, and destroy removes exactly the principals it added', async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    // A role someone else made, trusting someone else: init adds, destroy takes out only what it added.
    cloud.aws.createRole({ name: ROLE, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] } });
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM astrocrpublic.azurecr.io/runtime:3.0-7\n');
    const before = '# mine\nservices:\n  postgres:\n    ports:\n      - 127.0.0.1:5433:5432\n  scheduler:\n    environment:\n      MY_VAR: "1"\n';
    await writeFile(path.join(dir, 'docker-compose.override.yml'), before);
    // Profile "dev" holds the test cloud's keys (the caller is IAM user test-admin).
    const creds = path.join(dir, 'aws-credentials');
    await writeFile(creds, `[dev]\naws_access_key_id = ${cloud.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${cloud.env.AWS_SECRET_ACCESS_KEY}\n`);
    const { AWS_ACCESS_KEY_ID: _k, AWS_SECRET_ACCESS_KEY: _s, ...rest } = cloud.env;
    const env = { ...rest, AWS_CONFIG_FILE: path.join(dir, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: creds };
    const r = await runCli(['init', '--non-interactive', '--workload-identity', WI_A, '--local-dev', '--profile', 'dev', '--project-dir', dir], { env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(trustedBy(cloud.aws.trustPolicy(ROLE)).sort()).toEqual([OTHER, WI_A, CALLER].sort());
    const state = await readState(dir);
    expect(state.stages['iam-role'].outputs.localDevPrincipal).toBe(CALLER);
    expect(state.stages['iam-role'].outputs.trustPrincipalsAdded?.sort()).toEqual([CALLER, WI_A].sort());

    const text = await readFile(path.join(dir, 'docker-compose.override.yml'), 'utf8');
    expect(text.startsWith('# mine\n')).toBe(true);
    const compose = parse(text) as { services: Record<string, { volumes?: string[]; environment?: Record<string, string>; ports?: string[] }> };
    expect(compose.services.postgres).toEqual({ ports: ['127.0.0.1:5433:5432'] });
    expect(Object.keys(compose.services).sort()).toEqual(['api-server', 'dag-processor', 'postgres', 'scheduler', 'triggerer']);
    for (const svc of ['scheduler', 'dag-processor', 'api-server', 'triggerer']) {
      expect(compose.services[svc]!.volumes).toEqual(['${HOME}/.aws:/usr/local/airflow/.aws:ro']);
      expect(compose.services[svc]!.environment).toMatchObject({
        AWS_PROFILE: 'dev',
        AWS_CONFIG_FILE: '/usr/local/airflow/.aws/config',
        AWS_SHARED_CREDENTIALS_FILE: '/usr/local/airflow/.aws/credentials',
      });
    }
    expect(compose.services.scheduler!.environment!.MY_VAR).toBe('1');
    // The local path is offered, and the summary names the caller.
    expect(r.stdout).toContain('astro dev restart');
    expect(r.stdout).toContain(CALLER);

    // verify shows the extra principal.
    const v = await runCli(['verify', '--project-dir', dir, '--json'], { env, cwd: dir });
    const trustRow = (JSON.parse(v.stdout) as { checks: Array<{ id: string; status: string; detail: string }> }).checks.find((x) => x.id === 'iam-trust')!;
    expect(trustRow).toMatchObject({ status: 'pass' });
    expect(trustRow.detail).toContain(`--local-dev: also your own ${CALLER}`);

    const d = await runCli(['destroy', '--yes', '--project-dir', dir], { env, cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(trustedBy(cloud.aws.trustPolicy(ROLE))).toEqual([OTHER]);
  });

  it('dropping --local-dev on a later run takes the caller out of the trust policy again', async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: true } });
    const base = ['init', '--non-interactive', '--project-dir', dir, '--workload-identity', WI_A];
    const r1 = await runCli([...base, '--local-dev'], { env: cloud.env, cwd: dir });
    expect(r1.code, r1.stdout + r1.stderr).toBe(0);
    expect(trustedBy(cloud.aws.trustPolicy(ROLE)).sort()).toEqual([CALLER, WI_A].sort());
    const r2 = await runCli(base, { env: cloud.env, cwd: dir });
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(trustedBy(cloud.aws.trustPolicy(ROLE))).toEqual([WI_A]);
    expect((await readState(dir)).stages['iam-role'].outputs.localDevPrincipal).toBeUndefined();
    expect(r2.stdout).not.toContain('astro dev restart');
  });

  it('an SSO session (assumed role with a path): the trust policy names the role by its real ARN, path included', async () => {
    const { cloud, dir } = await cloudProject({ cluster: { name: 'remote-kpo-demo', withKubeconfigContext: 'token' } });
    const sso = cloud.aws.createRole({
      name: 'AWSReservedSSO_Admin_0123456789abcdef',
      path: '/aws-reserved/sso.amazonaws.com/',
      trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Federated: 'arn:aws:iam::123456789012:saml-provider/AWSSSO' }, Action: 'sts:AssumeRoleWithSAML' }] },
    });
    cloud.aws.iam.roles.get(sso.name)!.inline.set('all', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }));
    const keys = cloud.aws.issueCredentials(sso.arn, 'me@example.com');
    const env = { ...cloud.env, AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey, AWS_SESSION_TOKEN: keys.sessionToken! };
    const r = await runCli(['init', '--non-interactive', '--workload-identity', WI_A, '--local-dev', '--project-dir', dir], { env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(sso.arn).toBe('arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef');
    expect(trustedBy(cloud.aws.trustPolicy(ROLE)).sort()).toEqual([WI_A, sso.arn].sort());
    expect((await readState(dir)).stages['iam-role'].outputs.localDevPrincipal).toBe(sso.arn);
  });
});

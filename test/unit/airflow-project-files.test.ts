// The project-files stage and its helpers: manifests are exactly the applied objects, the DAGs
// compile with the chosen names, and a file the user changed is never overwritten silently.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { namespaceObject, permissionsPolicy, roleBindingObject, roleObject, trustPolicy } from '../../src/desired.js';
import { unifiedDiff } from '../../src/airflow/diff.js';
import { classify, dagDefaults, DAG_FILES, desiredProjectFiles, dockerignoreWithState, gitignoreWithState, renderDag } from '../../src/airflow/project-files.js';
import { AMAZON_FLOOR_AIRFLOW, AMAZON_REQUIREMENT, CNCF_REQUIREMENT, planProviderFloor } from '../../src/airflow/provider-floor.js';
import { sha256 } from '../../src/airflow/files.js';
import { projectFilesStage } from '../../src/stages/project-files.js';
import { ACCOUNT, defaultInputs, stageContext, tempProject } from './airflow-ctx.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const CHOSEN = { clusterName: 'kpo-prod', region: 'eu-central-1', namespace: 'airflow-pods', connId: 'aws_eks_prod' };
const DEFAULT_KEYS = ['CLUSTER_NAME', 'REGION', 'NAMESPACE', 'CONN_ID'];

const read = (dir: string, rel: string) => readFile(path.join(dir, rel), 'utf8');
const text = (dir: string, dag: string) => readFileSync(path.join(dir, 'dags', dag), 'utf8');

describe('DAG rendering', () => {
  for (const name of DAG_FILES) {
    it(`${name}: only the defaults lines change, and it compiles with the chosen values`, async () => {
      const template = await readFile(path.join(repo, 'dags', name), 'utf8');
      const out = renderDag(template, dagDefaults(defaultInputs(CHOSEN)), name);
      const tl = template.split('\n');
      const ol = out.split('\n');
      expect(ol).toHaveLength(tl.length);
      const changed = tl.flatMap((l, i) => (l === ol[i] ? [] : [i]));
      expect(changed).toHaveLength(4);
      for (const i of changed) expect(DEFAULT_KEYS).toContain(tl[i]!.split(' = ')[0]);
      expect(out).toContain('CLUSTER_NAME = "kpo-prod"\n');
      expect(out).toContain('REGION = "eu-central-1"\n');
      expect(out).toContain('NAMESPACE = "airflow-pods"\n');
      expect(out).toContain('CONN_ID = "aws_eks_prod"\n');
      // The rendered file is valid Python.
      const dir = await tempProject('kpo-dag-');
      await writeFile(path.join(dir, name), out);
      execFileSync('python3', ['-m', 'py_compile', path.join(dir, name)], { stdio: 'pipe' });
      // Rendering the defaults back gives the shipped template: nothing else was touched.
      expect(renderDag(out, dagDefaults(defaultInputs()), name)).toBe(template);
    });
  }

  for (const name of DAG_FILES) {
    it(`${name}: POD_SERVICE_ACCOUNT and POD_ROLE_NAME are "" (the pods' identity off) in the defaults block, and fill like the others`, async () => {
      const template = await readFile(path.join(repo, 'dags', name), 'utf8');
      const block = /^# --- astro-remote-kpo defaults .*$([\s\S]*?)^# --- end of astro-remote-kpo defaults ---$/m.exec(template)?.[1] ?? '';
      expect(block).toMatch(/^POD_SERVICE_ACCOUNT = ""$/m);
      expect(block).toMatch(/^POD_ROLE_NAME = ""$/m);
      const out = renderDag(template, { POD_SERVICE_ACCOUNT: 'astro-remote-kpo-pods', POD_ROLE_NAME: 'AstroRemoteKPOPods' }, name);
      expect(out).toContain('POD_SERVICE_ACCOUNT = "astro-remote-kpo-pods"\nPOD_ROLE_NAME = "AstroRemoteKPOPods"\n');
    });
  }

  it('remote_kpo calls EksPodOperator with the real argument names and Airflow 3/2 imports', () => {
    // Python's own parser lists the imports and the operator's keyword arguments.
    const script = [
      'import ast, json, sys',
      'tree = ast.parse(open(sys.argv[1]).read())',
      'imports = sorted({f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names})',
      'calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "EksPodOperator"]',
      'kw = {k.arg: (ast.unparse(k.value)) for c in calls for k in c.keywords}',
      'print(json.dumps({"imports": imports, "calls": len(calls), "kw": kw}))',
    ].join('\n');
    const r = JSON.parse(execFileSync('python3', ['-c', script, path.join(repo, 'dags', 'remote_kpo.py')], { encoding: 'utf8' })) as {
      imports: string[];
      calls: number;
      kw: Record<string, string>;
    };
    expect(r.calls).toBe(1);
    expect(r.imports).toEqual(expect.arrayContaining(['airflow.providers.amazon.aws.operators.eks.EksPodOperator', 'airflow.sdk.dag', 'airflow.decorators.dag']));
    expect(r.kw).toMatchObject({ cluster_name: 'CLUSTER_NAME', region: 'REGION', aws_conn_id: 'CONN_ID', namespace: 'NAMESPACE', get_logs: 'True', on_finish_action: "'delete_pod'" });
    expect(r.kw.image).toBe('IMAGE');
    expect(Object.keys(r.kw)).toEqual(expect.arrayContaining(['pod_name', 'cmds', 'task_id']));
    // service_account_name (KubernetesPodOperator's name) only when the pods have a ServiceAccount.
    expect(r.kw.null).toBe('POD_IDENTITY');
    expect(text(repo, 'remote_kpo.py')).toContain('POD_IDENTITY = {"service_account_name": POD_SERVICE_ACCOUNT} if POD_SERVICE_ACCOUNT else {}');
  });

  it('test_eks_connectivity checks the providers, then the three links with the provider hooks', async () => {
    const text = await readFile(path.join(repo, 'dags', 'test_eks_connectivity.py'), 'utf8');
    expect(text).toContain('_import(link, "airflow.providers.amazon.aws.hooks.base_aws", "AwsBaseHook")');
    expect(text).toContain('get_caller_identity()');
    expect(text).toContain('describe_cluster(name=CLUSTER_NAME)');
    expect(text).toContain('list_namespaced_pod(NAMESPACE');
    expect(text).toContain('create_self_subject_access_review');
    // Link 3 goes the operator's way (its kubeconfig and token helper), not a token of its own;
    // test/e2e/dag-logic.test.ts runs it.
    expect(text).toContain('hook.generate_config_file(');
    expect(text).not.toContain('generate_presigned_url');
    for (const task of ['providers', 'assume_role', 'describe_cluster', 'kubernetes_access', 'pod_identity']) expect(text).toContain(`def ${task}()`);
    // Link 4 goes through link 3's client path, and pins an AWS CLI with Pod Identity (2.15.0+).
    expect(text).toContain('with _kube_api(link) as (k8s, api):');
    expect(text).toMatch(/^AWS_CLI_IMAGE = "public\.ecr\.aws\/aws-cli\/aws-cli:2\.(1[5-9]|[2-9]\d)\.\d+"$/m);
    // Only core Airflow at the top: every provider and the kubernetes client are imported inside a task.
    const topLevel = text.split('\n').filter((l) => /^(from|import) /.test(l));
    expect(topLevel.filter((l) => /providers|kubernetes|boto/.test(l))).toEqual([]);
    // Both timeouts bound every request link 3 makes.
    expect(text).toContain('_request_timeout=timeout');
    expect(text).toMatch(/^KUBE_CONNECT_TIMEOUT = \d+$/m);
    expect(text).toMatch(/^KUBE_READ_TIMEOUT = \d+$/m);
  });
});

describe('helpers', () => {
  it('classify tells ours from the user\'s', () => {
    expect(classify(undefined, 'a', undefined)).toBe('create');
    expect(classify('a', 'a', undefined)).toBe('same');
    expect(classify('old', 'new', sha256('old'))).toBe('update');
    expect(classify('edited', 'new', sha256('old'))).toBe('changed');
    expect(classify('pre-existing', 'new', undefined)).toBe('changed');
  });

  it('dockerignoreWithState appends once and keeps the rest', () => {
    expect(dockerignoreWithState(undefined)).toBe('# astro-remote-kpo state (never ship it in the image)\n.astro-remote-kpo/\n');
    const mine = 'astro\n.git\n.env';
    const next = dockerignoreWithState(mine)!;
    expect(next.startsWith('astro\n.git\n.env\n')).toBe(true);
    expect(next.endsWith('.astro-remote-kpo/\n')).toBe(true);
    expect(dockerignoreWithState(next)).toBeUndefined();
    expect(dockerignoreWithState('/.astro-remote-kpo\n')).toBeUndefined();
  });

  it('gitignoreWithState appends once, keeping every byte and the file\'s CRLF line endings', () => {
    const crlf = '.env\r\nlogs/';
    expect(gitignoreWithState(crlf)).toBe('.env\r\nlogs/\r\n# astro-remote-kpo state, logs and backups (local to this machine)\r\n.astro-remote-kpo/\r\n');
    expect(gitignoreWithState(gitignoreWithState(crlf))).toBeUndefined();
    expect(gitignoreWithState('.astro-remote-kpo/**\n')).toBeUndefined();
  });

  it('unifiedDiff shows the change with context and line numbers', () => {
    const a = 'l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n';
    const b = 'l1\nl2\nl3\nL4\nl5\nl6\nl7\nl8\nl9\n';
    expect(unifiedDiff(a, b, 'k8s/x.yaml')).toBe(
      ['--- k8s/x.yaml (yours)', '+++ k8s/x.yaml (astro-remote-kpo)', '@@ -1,8 +1,9 @@', ' l1', ' l2', ' l3', '-l4', '+L4', ' l5', ' l6', ' l7', ' l8', '+l9', ''].join('\n'),
    );
    expect(unifiedDiff(a, a, 'x')).toBe('');
    const far = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    const farB = far.map((l, i) => (i === 2 || i === 25 ? `${l}!` : l));
    const d = unifiedDiff(far.join('\n') + '\n', farB.join('\n') + '\n', 'f');
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(d).toContain('@@ -1,6 +1,6 @@');
    expect(d).toContain('@@ -23,7 +23,7 @@');
  });
});

describe('project-files stage', () => {
  const ALL = [
    'k8s/cluster.yaml',
    'k8s/namespace.yaml',
    'k8s/role.yaml',
    'k8s/role-binding.yaml',
    'k8s/iam-assume-role-policy.json',
    'k8s/iam-permissions-policy.json',
    'dags/remote_kpo.py',
    'dags/test_eks_connectivity.py',
  ];

  it('writes every file with the chosen names, exactly the applied objects; a second run is a no-op', async () => {
    const dir = await tempProject();
    await writeFile(path.join(dir, '.dockerignore'), 'astro\n.git\n.env\n');
    const ctx = stageContext({ projectDir: dir, inputs: CHOSEN });
    expect((await projectFilesStage.check!(ctx)).done).toBe(false);
    const r = await projectFilesStage.run(ctx);
    expect(r.outputs.written.sort()).toEqual([...ALL, '.dockerignore', '.gitignore'].sort());
    expect(r.outputs.kept).toEqual([]);
    expect(r.outputs.astroProject).toBe(false);
    expect(r.warnings?.join('\n')).toMatch(/is not an Astro project .* writing the files anyway/);
    const inputs = defaultInputs(CHOSEN);
    expect(parse(await read(dir, 'k8s/namespace.yaml'))).toEqual(namespaceObject(inputs));
    expect(parse(await read(dir, 'k8s/role.yaml'))).toEqual(roleObject(inputs));
    expect(parse(await read(dir, 'k8s/role-binding.yaml'))).toEqual(roleBindingObject(inputs));
    expect(JSON.parse(await read(dir, 'k8s/iam-assume-role-policy.json'))).toEqual(trustPolicy(inputs.workloadIdentities));
    expect(JSON.parse(await read(dir, 'k8s/iam-permissions-policy.json'))).toEqual(permissionsPolicy(inputs, ACCOUNT));
    expect(parse(await read(dir, 'k8s/cluster.yaml'))).toMatchObject({ kind: 'ClusterConfig', metadata: { name: 'kpo-prod', region: 'eu-central-1' } });
    expect(await read(dir, 'dags/remote_kpo.py')).toContain('NAMESPACE = "airflow-pods"');
    expect(await read(dir, '.dockerignore')).toBe('astro\n.git\n.env\n# astro-remote-kpo state (never ship it in the image)\n.astro-remote-kpo/\n');
    expect(await read(dir, '.gitignore')).toBe('# astro-remote-kpo state, logs and backups (local to this machine)\n.astro-remote-kpo/\n');
    for (const f of ALL) expect(r.outputs.hashes?.[f]).toBe(sha256(await read(dir, f)));

    const again = await projectFilesStage.check!(stageContext({ projectDir: dir, inputs: CHOSEN }));
    expect(again.done).toBe(true);
  });

  it('a user-edited manifest is kept non-interactively (with a warning), and overwritten with --force', async () => {
    const dir = await tempProject();
    await projectFilesStage.run(stageContext({ projectDir: dir }));
    const edited = (await read(dir, 'k8s/role.yaml')).replace('- watch', '- watch\n      - deletecollection');
    await writeFile(path.join(dir, 'k8s/role.yaml'), edited);

    const ctx = stageContext({ projectDir: dir });
    expect(await projectFilesStage.check!(ctx)).toMatchObject({ done: false, reason: expect.stringContaining('k8s/role.yaml (changed by you)') });
    const kept = await projectFilesStage.run(ctx);
    expect(kept.outputs.kept).toEqual(['k8s/role.yaml']);
    expect(kept.outputs.written).toEqual([]);
    expect(kept.warnings?.join('\n')).toContain('kept k8s/role.yaml');
    expect(await read(dir, 'k8s/role.yaml')).toBe(edited);

    const forced = await projectFilesStage.run(stageContext({ projectDir: dir, flags: { force: true } }));
    expect(forced.outputs.written).toEqual(['k8s/role.yaml']);
    expect(parse(await read(dir, 'k8s/role.yaml'))).toEqual(roleObject(defaultInputs()));
  });

  it('the question phase\'s answer decides, per file; a file without an answer is kept', async () => {
    const dir = await tempProject();
    await projectFilesStage.run(stageContext({ projectDir: dir }));
    const edited = (await read(dir, 'dags/remote_kpo.py')).replace('date -u', 'date -u; sleep 5');
    await writeFile(path.join(dir, 'dags/remote_kpo.py'), edited);
    const role = `${await read(dir, 'k8s/role.yaml')}# mine\n`;
    await writeFile(path.join(dir, 'k8s/role.yaml'), role);

    // (The diff and the question are init's, before the first change: src/commands/init-questions.ts.)
    const no = await projectFilesStage.run(stageContext({ projectDir: dir, flags: { interactive: true }, answers: { overwrite: { 'dags/remote_kpo.py': false } } }));
    expect(no.outputs.kept.sort()).toEqual(['dags/remote_kpo.py', 'k8s/role.yaml']);
    expect(await read(dir, 'dags/remote_kpo.py')).toBe(edited);

    const yes = await projectFilesStage.run(stageContext({ projectDir: dir, flags: { interactive: true }, answers: { overwrite: { 'dags/remote_kpo.py': true } } }));
    expect(yes.outputs.written).toEqual(['dags/remote_kpo.py']);
    expect(yes.outputs.kept).toEqual(['k8s/role.yaml']);
    expect(await read(dir, 'dags/remote_kpo.py')).not.toBe(edited);
    expect(await read(dir, 'k8s/role.yaml')).toBe(role);
  });

  it('new names update the files it wrote, even after the stage record is gone; user edits stay', async () => {
    const dir = await tempProject();
    await projectFilesStage.run(stageContext({ projectDir: dir }));
    const edited = `${await read(dir, 'k8s/namespace.yaml')}# my note\n`;
    await writeFile(path.join(dir, 'k8s/namespace.yaml'), edited);
    // No recorded outputs (the engine drops them when inputs change): the hash store decides.
    const r = await projectFilesStage.run(stageContext({ projectDir: dir, inputs: { namespace: 'team-pods' } }));
    expect(r.outputs.kept).toEqual(['k8s/namespace.yaml']);
    expect(r.outputs.written.sort()).toEqual(['dags/remote_kpo.py', 'dags/test_eks_connectivity.py', 'k8s/role-binding.yaml', 'k8s/role.yaml']);
    expect(await read(dir, 'k8s/namespace.yaml')).toBe(edited);
    expect(await read(dir, 'dags/test_eks_connectivity.py')).toContain('NAMESPACE = "team-pods"');
  });

  it('files that existed before the tool (never written by it) count as the user\'s', async () => {
    const dir = await tempProject();
    await mkdir(path.join(dir, 'dags'));
    await writeFile(path.join(dir, 'dags/remote_kpo.py'), '# the seed project\'s own DAG\n');
    const r = await projectFilesStage.run(stageContext({ projectDir: dir }));
    expect(r.outputs.kept).toEqual(['dags/remote_kpo.py']);
    expect(await read(dir, 'dags/remote_kpo.py')).toBe('# the seed project\'s own DAG\n');
  });

  it('recognises an Astro project by its Dockerfile or .astro/ folder', async () => {
    const a = await tempProject();
    await writeFile(path.join(a, 'Dockerfile'), 'FROM quay.io/astronomer/astro-runtime:12.8.0\n');
    expect((await projectFilesStage.run(stageContext({ projectDir: a }))).outputs.astroProject).toBe(true);
    const b = await tempProject();
    await writeFile(path.join(b, 'Dockerfile'), '# comment\nFROM astrocrpublic.azurecr.io/runtime:3.0-1\n');
    expect((await projectFilesStage.run(stageContext({ projectDir: b }))).warnings ?? []).toEqual([]);
    const c = await tempProject();
    await mkdir(path.join(c, '.astro'));
    expect((await projectFilesStage.run(stageContext({ projectDir: c }))).outputs.astroProject).toBe(true);
    const d = await tempProject();
    await writeFile(path.join(d, 'Dockerfile'), 'FROM python:3.12\n');
    expect((await projectFilesStage.run(stageContext({ projectDir: d }))).outputs.astroProject).toBe(false);
  });

  it('--permissions seed writes no inline policy; --cluster-config is copied as is', async () => {
    const dir = await tempProject();
    const own = path.join(dir, 'my-cluster.yaml');
    await writeFile(own, 'apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: remote-kpo-demo, region: us-east-1}\n');
    const r = await projectFilesStage.run(stageContext({ projectDir: dir, inputs: { permissions: 'seed', clusterConfig: own } }));
    expect(r.outputs.written).not.toContain('k8s/iam-permissions-policy.json');
    await expect(stat(path.join(dir, 'k8s/iam-permissions-policy.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await read(dir, 'k8s/cluster.yaml')).toBe(await readFile(own, 'utf8'));
  });

  it('dry run lists what it would do and writes nothing', async () => {
    const dir = await tempProject();
    const p = await projectFilesStage.plan(stageContext({ projectDir: dir, outputs: { preflight: undefined } }));
    const actions = p.items.map((i) => i.action);
    for (const f of ALL) expect(actions).toContain(`create ${f}`);
    expect(actions).toContain('add .astro-remote-kpo/ to .dockerignore');
    expect(p.items.find((i) => i.action === 'create k8s/iam-permissions-policy.json')?.unknown).toContain('account id');
    await expect(stat(path.join(dir, 'k8s'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(path.join(dir, '.astro-remote-kpo'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the test DAG and the provider lines', () => {
  it('names the very lines provider-floor.ts writes to requirements.txt, and the role', async () => {
    const files = await desiredProjectFiles(defaultInputs(), ACCOUNT, '');
    const dag = files.find((f) => f.path === 'dags/test_eks_connectivity.py')!.content;
    const line = (key: string, value: string) => new RegExp(`^${key} = ${JSON.stringify(value).replace(/[.[\]]/g, '\\$&')}$`, 'm');
    expect(dag).toMatch(line('AMAZON_REQUIREMENT', AMAZON_REQUIREMENT));
    expect(dag).toMatch(line('AMAZON_FLOOR_AIRFLOW', AMAZON_FLOOR_AIRFLOW));
    expect(dag).toMatch(line('CNCF_REQUIREMENT', CNCF_REQUIREMENT));
    expect(planProviderFloor('FROM astrocrpublic.azurecr.io/runtime:3.1-2\n', '').text).toBe(`${AMAZON_REQUIREMENT}\n${CNCF_REQUIREMENT}\n`);
    expect(dag).toMatch(new RegExp(`^ROLE_ARN = "arn:aws:iam::${ACCOUNT}:role/AstroRemoteKPO"$`, 'm'));
  });
});

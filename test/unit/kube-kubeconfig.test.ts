// Kubeconfig loading/merging (as kubectl does), context selection and the one write we allow
// (--switch-context), on real files in a temp directory.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expectCode } from '../support/failure.js';
import {
  awsTokenExec,
  contextsForServer,
  kubeconfigPaths,
  listContexts,
  loadKubeconfig,
  normaliseServer,
  singleContextConfig,
  switchCurrentContext,
  withCurrentContext,
} from '../../src/kube/kubeconfig.js';
import { contextQuestion, selectContext } from '../../src/kube/select.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-kubeconfig-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EKS = 'https://ABCDEF0123456789.gr7.us-east-1.eks.amazonaws.com';

const FIRST = `# my clusters
apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster:
    server: ${EKS.toLowerCase()}/
    certificate-authority: certs/ca.crt
- name: other
  cluster:
    server: https://other.example.com
contexts:
- name: demo-ctx
  context: {cluster: demo, user: demo-user}
- name: other-ctx
  context: {cluster: other, user: plain}
users:
- name: demo-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [--region, us-east-1, eks, get-token, --cluster-name, remote-kpo-demo, --output, json]
      env:
      - {name: AWS_PROFILE, value: dev}
- name: plain
  user:
    client-certificate: me.crt
    client-key: /abs/me.key
current-context: other-ctx   # keep this comment
`;

const SECOND = `apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster: {server: https://shadowed.example.com}
- name: second
  cluster: {server: "${EKS}:443"}
contexts:
- name: demo-ctx
  context: {cluster: second, user: nobody}
- name: second-ctx
  context: {cluster: second, user: tok, namespace: team}
users:
- name: tok
  user: {token: abc}
current-context: second-ctx
`;

async function twoFiles() {
  const a = path.join(dir, 'a.yaml');
  const b = path.join(dir, 'sub', 'b.yaml');
  await mkdir(path.dirname(b), { recursive: true });
  await writeFile(a, FIRST);
  await writeFile(b, SECOND);
  return { a, b, env: { KUBECONFIG: `${a}${path.delimiter}${path.join(dir, 'missing.yaml')}${path.delimiter}${b}`, HOME: dir } };
}

describe('loadKubeconfig', () => {
  it('merges KUBECONFIG files as kubectl does: first definition and first current-context win, missing files skipped', async () => {
    const { a, b, env } = await twoFiles();
    const kc = await loadKubeconfig(env);
    expect(kc.files).toEqual([a, b]);
    expect(kc.currentContext).toBe('other-ctx');
    const ctxs = listContexts(kc);
    expect(ctxs.map((c) => c.name)).toEqual(['demo-ctx', 'other-ctx', 'second-ctx']);
    // demo-ctx from the first file wins over the second file's, and so does cluster "demo".
    expect(ctxs[0]).toMatchObject({ clusterName: 'demo', userName: 'demo-user', file: a, server: `${EKS.toLowerCase()}/` });
    expect(ctxs[2]).toMatchObject({ clusterName: 'second', namespace: 'team', file: b });
  });

  it('reads the env it is given, not process.env: HOME/.kube/config when KUBECONFIG is unset', async () => {
    await mkdir(path.join(dir, '.kube'));
    await writeFile(path.join(dir, '.kube', 'config'), SECOND);
    expect(await kubeconfigPaths({ HOME: dir })).toEqual([path.join(dir, '.kube', 'config')]);
    const kc = await loadKubeconfig({ HOME: dir });
    expect(kc.currentContext).toBe('second-ctx');
    expect(await kubeconfigPaths({})).toEqual([]);
    expect((await loadKubeconfig({ HOME: path.join(dir, 'nowhere') })).contexts.size).toBe(0);
  });

  it('rejects a file that is not YAML with KUBECONFIG_INVALID naming it', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'clusters: [\n  - {name: x\n');
    const err = await expectCode(loadKubeconfig({ KUBECONFIG: bad }), 'KUBECONFIG_INVALID');
    expect(err.message).toContain(bad);
  });

  it('matches contexts by server, ignoring case, trailing slash and the default port', async () => {
    const { env } = await twoFiles();
    const kc = await loadKubeconfig(env);
    expect(contextsForServer(kc, EKS).map((c) => c.name)).toEqual(['demo-ctx', 'second-ctx']);
    expect(normaliseServer('HTTPS://Example.COM:443/')).toBe('https://example.com');
    expect(normaliseServer('https://example.com:6443')).toBe('https://example.com:6443');
    expect(normaliseServer('https://127.0.0.1:6443/')).not.toBe(normaliseServer('https://127.0.0.1:6444'));
  });

  it('makes relative certificate paths absolute against the file that defined them', async () => {
    const { env } = await twoFiles();
    const kc = await loadKubeconfig(env);
    const demo = await singleContextConfig(kc, 'demo-ctx');
    expect(demo.cluster['certificate-authority']).toBe(path.join(dir, 'certs', 'ca.crt'));
    const other = await singleContextConfig(kc, 'other-ctx');
    expect(other.user['client-certificate']).toBe(path.join(dir, 'me.crt'));
    expect(other.user['client-key']).toBe('/abs/me.key');
    expect(other.config['current-context']).toBe('other-ctx');
  });
});

describe('awsTokenExec', () => {
  const exec = (command: string, args: string[], env?: Array<{ name: string; value: string }>) => ({ exec: { command, args, ...(env ? { env } : {}) } });
  it('recognises aws eks get-token, aws-iam-authenticator and eksctl token plugins', () => {
    expect(awsTokenExec(exec('aws', ['--region', 'eu-west-1', 'eks', 'get-token', '--cluster-name', 'c1'], [{ name: 'AWS_PROFILE', value: 'dev' }]))).toEqual({
      tool: 'aws eks get-token',
      clusterName: 'c1',
      region: 'eu-west-1',
      profile: 'dev',
    });
    expect(awsTokenExec(exec('/usr/local/bin/aws', ['eks', 'get-token', '--cluster-name=c2', '--profile=p']))).toMatchObject({ clusterName: 'c2', profile: 'p' });
    expect(awsTokenExec(exec('aws-iam-authenticator', ['token', '-i', 'c3']))).toMatchObject({ tool: 'aws-iam-authenticator token', clusterName: 'c3' });
    expect(awsTokenExec(exec('eksctl', ['get-token', '--cluster-name', 'c4', '--region', 'us-west-2']))).toMatchObject({ clusterName: 'c4', region: 'us-west-2' });
  });
  it('leaves other plugins, and role-assuming variants, to run as configured', () => {
    expect(awsTokenExec(exec('gke-gcloud-auth-plugin', []))).toBeUndefined();
    expect(awsTokenExec(exec('aws', ['eks', 'get-token', '--cluster-name', 'c', '--role-arn', 'arn:aws:iam::1:role/x']))).toBeUndefined();
    expect(awsTokenExec(exec('aws-iam-authenticator', ['token', '-i', 'c', '-r', 'arn:aws:iam::1:role/x']))).toBeUndefined();
    expect(awsTokenExec(exec('aws', ['eks', 'describe-cluster']))).toBeUndefined();
    expect(awsTokenExec({ token: 'x' })).toBeUndefined();
  });
});

describe('selectContext', () => {
  it('picks the only context whose server is the endpoint', async () => {
    const one = path.join(dir, 'one.yaml');
    await writeFile(one, FIRST);
    const kc = await loadKubeconfig({ KUBECONFIG: one });
    const s = await selectContext({ kc, clusterName: 'remote-kpo-demo', endpoint: EKS });
    expect(s.source).toBe('kubeconfig');
    expect(s.source === 'kubeconfig' && s.context.name).toBe('demo-ctx');
    expect(s.reason).toContain('endpoint');
  });

  it('with several matches: the choice the question phase offers; its answer, else the current context', async () => {
    const { b } = await twoFiles();
    const kc = await loadKubeconfig({ KUBECONFIG: b });
    const choice = contextQuestion({ kc, endpoint: EKS });
    expect(choice?.matches.map((c) => c.name)).toEqual(['demo-ctx', 'second-ctx']);
    expect(choice?.fallback.name).toBe('second-ctx');
    // Nothing to ask with --kube-context, or without an endpoint (a cluster not created yet).
    expect(contextQuestion({ kc, endpoint: EKS, kubeContext: 'demo-ctx' })).toBeUndefined();
    expect(contextQuestion({ kc })).toBeUndefined();
    const auto = await selectContext({ kc, clusterName: 'c', endpoint: EKS });
    expect(auto.source === 'kubeconfig' && auto.context.name).toBe('second-ctx');
    expect(auto.reason).toContain('--kube-context');
    const picked = await selectContext({ kc, clusterName: 'c', endpoint: EKS, chosen: 'demo-ctx' });
    expect(picked.source === 'kubeconfig' && picked.context.name).toBe('demo-ctx');
    // An answer that is not one of them (the kubeconfig changed meanwhile): the default.
    const stale = await selectContext({ kc, clusterName: 'c', endpoint: EKS, chosen: 'other-ctx' });
    expect(stale.source === 'kubeconfig' && stale.context.name).toBe('second-ctx');
  });

  it('goes in-memory when no context points at the cluster', async () => {
    const { env } = await twoFiles();
    const kc = await loadKubeconfig(env);
    const s = await selectContext({ kc, clusterName: 'c', endpoint: 'https://127.0.0.1:6443' });
    expect(s.source).toBe('in-memory');
    expect(s.reason).toContain('no kubeconfig context points at https://127.0.0.1:6443');
  });

  it('--kube-context: used as given (warning when it points elsewhere); unknown → KUBE_CONTEXT_NOT_FOUND listing contexts', async () => {
    const { env } = await twoFiles();
    const kc = await loadKubeconfig(env);
    const s = await selectContext({ kc, clusterName: 'c', endpoint: EKS, kubeContext: 'other-ctx' });
    expect(s.source === 'kubeconfig' && s.context.name).toBe('other-ctx');
    expect(s.source === 'kubeconfig' && s.warning).toContain('points at https://other.example.com');
    const err = await expectCode(selectContext({ kc, clusterName: 'c', endpoint: EKS, kubeContext: 'nope' }), 'KUBE_CONTEXT_NOT_FOUND');
    expect(err.message).toContain('--kube-context "nope"');
    expect(err.message).toContain('demo-ctx, other-ctx, second-ctx');
  });
});

describe('switchCurrentContext', () => {
  it('changes only current-context, in the file that sets it, atomically and keeping the mode', async () => {
    const { a, b, env } = await twoFiles();
    await chmod(a, 0o600);
    const beforeB = await readFile(b, 'utf8');
    const written = await switchCurrentContext(env, 'demo-ctx');
    expect(written).toBe(a);
    const after = await readFile(a, 'utf8');
    expect(after).toContain('current-context: demo-ctx');
    expect(after).toContain('# my clusters');
    // Everything but that one value is as it was.
    expect(after.replace('current-context: demo-ctx', 'current-context: other-ctx')).toBe(FIRST);
    expect((await stat(a)).mode & 0o777).toBe(0o600);
    expect(await readFile(b, 'utf8')).toBe(beforeB);
    expect((await loadKubeconfig(env)).currentContext).toBe('demo-ctx');
  });
});

describe('withCurrentContext', () => {
  it('rewrites quoted, empty and missing current-context values and nothing else', () => {
    expect(withCurrentContext('a: 1\ncurrent-context: "old one"  # c\nb: 2\n', 'new', parse)).toBe('a: 1\ncurrent-context: new  # c\nb: 2\n');
    expect(withCurrentContext('current-context:\nclusters: []\n', 'arn:aws:eks:us-east-1:1:cluster/x', parse)).toBe(
      'current-context: arn:aws:eks:us-east-1:1:cluster/x\nclusters: []\n',
    );
    expect(withCurrentContext('clusters: []', 'x', parse)).toBe('clusters: []\ncurrent-context: x\n');
    expect(withCurrentContext('current-context: a\n', 'needs quoting: yes', parse)).toBe('current-context: "needs quoting: yes"\n');
    // A nested key of the same name is not the top-level one.
    expect(withCurrentContext('prefs:\n  current-context: keep\n', 'x', parse)).toBe('prefs:\n  current-context: keep\ncurrent-context: x\n');
    expect(withCurrentContext('{current-context: a}', 'x', parse)).toBeUndefined();
  });
});


import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectCode } from '../support/failure.js';
import type { KpoError } from '../../src/errors.js';
import type { Io } from '../../src/io.js';
import type { RawOptions } from '../../src/options.js';
import { buildProgram } from '../../src/program.js';
import { isInteractive, profileRegion, resolveOptions } from '../../src/resolve.js';
import { initCommandLine } from '../../src/resume-command.js';
import { nonInteractiveIo } from '../../src/ui/io-host.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const io: Io = nonInteractiveIo({ line() {}, warn() {}, pause() {}, resume() {} });

async function parse(argv: string[]): Promise<{ name: string; opts: RawOptions }> {
  let got: { name: string; opts: RawOptions } | undefined;
  const program = buildProgram(async (name, opts) => void (got = { name, opts }));
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  await program.parseAsync(['node', 'astro-remote-kpo', ...argv]);
  if (!got) throw new Error('no command ran');
  return got;
}

describe('argv → options', () => {
  it('maps every init flag to its option', async () => {
    const { name, opts } = await parse([
      'init', '--workload-identity', WI, '--cluster-name', 'c1', '--region', 'eu-west-1', '--profile', 'p',
      '--kube-context', 'ctx', '--namespace', 'ns', '--k8s-role', 'role', '--k8s-user', 'User', '--iam-role', 'Iam',
      '--auth-mode', 'aws-auth', '--permissions', 'seed', '--conn-id', 'conn', '--project-dir', '/tmp/p',
      '--from', '7', '--dry-run', '-y', '--non-interactive', '--json', '--no-color', '--switch-context', '--force',
      '--cluster-config', 'cc.yaml', '--astro-deployment-id', 'clx1abc2d000008l4ezw5ofno',
    ]);
    expect(name).toBe('init');
    expect(opts).toMatchObject({
      workloadIdentity: [WI], clusterName: 'c1', region: 'eu-west-1', profile: 'p', kubeContext: 'ctx', namespace: 'ns',
      k8sRole: 'role', k8sUser: 'User', iamRole: 'Iam', authMode: 'aws-auth', permissions: 'seed', connId: 'conn',
      projectDir: '/tmp/p', from: '7', dryRun: true, yes: true, nonInteractive: true, json: true, color: false,
      switchContext: true, force: true, clusterConfig: 'cc.yaml', astroDeploymentId: ['clx1abc2d000008l4ezw5ofno'],
    });
  });

  it('resolves defaults, env and flags into validated inputs', async () => {
    const { opts } = await parse(['init', '--workload-identity', WI, '--only', 'access-check']);
    const { inputs, flags } = await resolveOptions(opts, { AWS_REGION: 'eu-central-1', HOME: '/nonexistent' }, io, '/work/p');
    expect(inputs).toEqual({
      clusterName: 'remote-kpo-demo', region: 'eu-central-1', namespace: 'astro-remote-kpo', k8sRole: 'astro-remote-kpo-role',
      k8sUser: 'AstroRemoteKPO', iamRole: 'AstroRemoteKPO', workloadIdentities: [WI], authMode: 'auto', permissions: 'scoped', connId: 'aws_eks',
      astroDeploymentIds: [], localDev: false,
      podPolicyArns: [], podIdentity: 'auto', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'astro-remote-kpo-pods',
    });
    expect(flags).toMatchObject({ projectDir: '/work/p', only: 'access-check', dryRun: false, interactive: false, color: true });
    const noColor = await resolveOptions(opts, { NO_COLOR: '1', HOME: '/nonexistent' }, io, '/');
    expect(noColor.flags.color).toBe(false);
    expect(noColor.inputs.region).toBe('us-east-1');
  });

  it("the task pods' identity: --pod-policy-arn repeatable (deduplicated), the names checked, carried by the command lines; idle names warned about", async () => {
    const S3 = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
    const MINE = 'arn:aws:iam::123456789012:policy/team/kpo-bucket';
    const { opts } = await parse(['init', '--workload-identity', WI, '--pod-policy-arn', S3, '--pod-policy-arn', MINE, '--pod-policy-arn', S3, '--pod-identity', 'irsa', '--pod-service-account', 'etl-pods']);
    const { inputs } = await resolveOptions(opts, { HOME: '/nonexistent' }, io, '/');
    expect(inputs).toMatchObject({ podPolicyArns: [S3, MINE], podIdentity: 'irsa', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'etl-pods' });
    // Defaults are left out of the resume command; the policies are always on it.
    expect(initCommandLine(inputs)).toContain(` --pod-policy-arn ${S3} --pod-policy-arn ${MINE} --pod-identity irsa --pod-service-account etl-pods`);
    expect(initCommandLine(inputs)).not.toContain('--pod-role');
    expect(initCommandLine(inputs, {}, 'destroy')).toContain('--pod-policy-arn');
    // Names without --pod-policy-arn do nothing: said once, not an error.
    const warned: string[] = [];
    const idle = await resolveOptions((await parse(['init', '--workload-identity', WI, '--pod-role', 'X'])).opts, { HOME: '/nonexistent' }, { ...io, warn: (l: string) => warned.push(l) }, '/');
    expect(idle.inputs.podPolicyArns).toEqual([]);
    expect(warned).toEqual(['--pod-role has no effect without --pod-policy-arn: the task pods get no AWS identity of their own.']);
    // Every bad value named at once, exit 2.
    const bad = await parse(['init', '--workload-identity', WI, '--pod-policy-arn', 'arn:aws:iam::aws:role/x', '--pod-service-account', 'UPPER', '--pod-role', 'a b']);
    const err = await resolveOptions(bad.opts, { HOME: '/nonexistent' }, io, '/').then(() => undefined, (e: unknown) => e as KpoError);
    expect(err?.code).toBe('INPUT_INVALID');
    expect(err?.message.split('\n')).toEqual([
      '--pod-policy-arn "arn:aws:iam::aws:role/x" is not valid: expected an IAM managed policy ARN: arn:aws:iam::aws:policy/<name> (AWS managed) or arn:aws:iam::<12-digit account>:policy/<name> (customer managed).',
      `--pod-role "a b" is not valid (it contains whitespace): expected 1-64 characters: letters, digits and '+=,.@_-'.`,
      `--pod-service-account "UPPER" is not valid: expected a Kubernetes ServiceAccount name (DNS-1123 subdomain): at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit.`,
    ]);
  });

  it("the wizard asks about the task pods: default no AWS identity; yes asks for the policies, checked as the flag", async () => {
    const ECR = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly';
    const scripted = (choice: string, typed: string, seen: { message: string; default?: string; problem?: string | undefined }[]): Io => ({
      interactive: true,
      text: (q) => {
        seen.push({ message: q.message, problem: q.validate?.('AmazonS3ReadOnlyAccess') });
        return Promise.resolve(typed);
      },
      select: <T extends string>(q: { message: string; default: T }) => {
        seen.push({ message: q.message, default: q.default });
        return Promise.resolve(choice as T);
      },
      confirm: () => Promise.resolve(true),
      info: () => undefined,
      warn: () => undefined,
    });
    const raw = (await parse(['init', '--workload-identity', WI, '--cluster-name', 'c', '--region', 'us-east-1'])).opts;
    const none: { message: string; default?: string }[] = [];
    expect((await resolveOptions(raw, { HOME: '/nonexistent' }, scripted('none', '', none), '/')).inputs.podPolicyArns).toEqual([]);
    expect(none).toEqual([{ message: 'Should the task pods get an AWS identity of their own (an IAM role with policies you name)?', default: 'none' }]);
    const yes: { message: string; default?: string; problem?: string | undefined }[] = [];
    expect((await resolveOptions(raw, { HOME: '/nonexistent' }, scripted('policies', ` ${ECR}  ${ECR} `, yes), '/')).inputs.podPolicyArns).toEqual([ECR]);
    expect(yes[1]?.problem).toContain('--pod-policy-arn "AmazonS3ReadOnlyAccess" is not valid');
    // Given on the command line, or a dry run: no question.
    const asked: unknown[] = [];
    await resolveOptions({ ...raw, podPolicyArn: [ECR] }, { HOME: '/nonexistent' }, scripted('none', '', asked as never), '/');
    await resolveOptions({ ...raw, dryRun: true }, { HOME: '/nonexistent' }, scripted('none', '', asked as never), '/');
    expect(asked).toEqual([]);
  });

  it('--allow-extra-access: an input only when given, carried by init and verify command lines, not taken by destroy', async () => {
    const { opts } = await parse(['init', '--workload-identity', WI, '--allow-extra-access']);
    const { inputs } = await resolveOptions(opts, { HOME: '/nonexistent' }, io, '/');
    expect(inputs.allowExtraAccess).toBe(true);
    expect(initCommandLine(inputs)).toContain(' --allow-extra-access');
    expect(initCommandLine(inputs, {}, 'verify')).toContain(' --allow-extra-access');
    expect(initCommandLine(inputs, {}, 'destroy')).not.toContain('--allow-extra-access');
    expect((await parse(['verify', '--allow-extra-access'])).opts.allowExtraAccess).toBe(true);
    await expect(parse(['destroy', '--allow-extra-access'])).rejects.toMatchObject({ code: 'commander.unknownOption' });
    // Not given: absent (state written before the flag existed reads the same).
    const plain = await resolveOptions((await parse(['init', '--workload-identity', WI])).opts, { HOME: '/nonexistent' }, io, '/');
    expect('allowExtraAccess' in plain.inputs).toBe(false);
  });

  it("takes the region from the profile's config when AWS_REGION is unset", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-cfg-'));
    const cfg = path.join(dir, 'config');
    await writeFile(cfg, '[default]\nregion = us-west-2\n[profile dev]\nregion = ap-south-1\n');
    expect(await profileRegion({ AWS_CONFIG_FILE: cfg }, undefined)).toBe('us-west-2');
    expect(await profileRegion({ AWS_CONFIG_FILE: cfg }, 'dev')).toBe('ap-south-1');
    const { opts } = await parse(['init', '--workload-identity', WI, '--profile', 'dev']);
    expect((await resolveOptions(opts, { AWS_CONFIG_FILE: cfg }, io, '/')).inputs.region).toBe('ap-south-1');
  });

  it('reports every bad value at once, naming flag, value and rule', async () => {
    const { opts } = await parse(['init', '--workload-identity', '*', '--namespace', 'Bad_NS', '--auth-mode', 'magic', '--from', 'x']);
    const msg = (await expectCode(resolveOptions(opts, {}, io, '/'), 'INPUT_INVALID')).message;
    expect(msg).toContain('--workload-identity "*" is not valid');
    expect(msg).toContain('--namespace "Bad_NS" is not valid: expected a DNS-1123 label');
    expect(msg).toContain('--auth-mode "magic" is not valid: expected one of auto, access-entry, aws-auth');
    expect(msg).toContain('--from "x" is not a stage');
  });

  it('non-interactive without the required workload identity names the missing flag', async () => {
    const { opts } = await parse(['init']);
    const err = await expectCode(resolveOptions(opts, {}, io, '/'), 'INPUT_MISSING');
    expect(err.message).toContain('--workload-identity');
  });

  it('is interactive only on a TTY without CI, --yes, --json or --non-interactive', () => {
    expect(isInteractive({}, {}, true)).toBe(true);
    expect(isInteractive({}, {}, false)).toBe(false);
    expect(isInteractive({}, { CI: 'true' }, true)).toBe(false);
    expect(isInteractive({}, { CI: 'false' }, true)).toBe(true);
    expect(isInteractive({ yes: true }, {}, true)).toBe(false);
    expect(isInteractive({ nonInteractive: true }, {}, true)).toBe(false);
    expect(isInteractive({ json: true }, {}, true)).toBe(false);
  });
});

// E2E: a credential failure says the tool's own message and nothing of the AWS SDK's (issue #19,
// finding 7): a --profile that is not in ~/.aws while keys are also in the environment made the
// SDK's credential chain console.warn "Multiple credential sources detected" beside it. The SDK's
// lines go to the debug log instead, the tool's message carries the one fact the warning had (the
// keys in the environment were passed over for the profile), and the failed run records its
// failure and nothing else.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { expectFailure, failureCodes } from '../support/failure.js';
import { runCli, type CliResult } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, readState, requireBuild } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-creds-');

beforeAll(requireBuild);

/** Anything the SDK would print itself: its warning, or a line naming one of its packages. */
const SDK_TEXT = /Multiple credential sources|@aws-sdk\/|@smithy\/|WARNING:/;
const EXISTING = { name: 'remote-kpo-demo', authenticationMode: 'API_AND_CONFIG_MAP', withKubeconfigContext: true } as const;

function expectNoSdkText(r: CliResult): void {
  expect(r.stdout, r.stdout).not.toMatch(SDK_TEXT);
  expect(r.stderr, r.stderr).not.toMatch(SDK_TEXT);
}

const debugLog = (dir: string) => readFile(path.join(dir, '.astro-remote-kpo', 'logs', 'debug.log'), 'utf8');

describe('a --profile that does not exist, with keys in the environment too', () => {
  it('exit 3 with only the tool message, which says the keys were passed over; the SDK warning goes to debug.log', async () => {
    const { cloud: c, dir } = await cloudProject();
    const r = await runCli(initArgs(dir, ['--profile', 'nope']), { env: c.env, cwd: dir });
    expectFailure(r, 'CREDENTIALS_MISSING');
    expectNoSdkText(r);
    const all = r.stdout + r.stderr;
    expect(all).toContain('No AWS credentials found for profile "nope" (Could not resolve credentials using profile: [nope]');
    expect(all).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set too, but the AWS SDK uses the profile instead of them');
    expect(c.calls.filter((x) => x.status === 200)).toEqual([]);
    // Said once (the STS and EKS lookups share the failure).
    expect(all.split('No AWS credentials found').length - 1).toBe(1);
    const log = await debugLog(dir);
    expect(log).toMatch(/aws-sdk warn: @aws-sdk\/credential-provider-node - defaultProvider::fromEnv WARNING: Multiple credential sources detected/);
    expect(log).not.toContain(c.credentials.secretAccessKey);
  });

  it('--json: stdout is one JSON document with exit code 3, stderr has no SDK text', async () => {
    const { cloud: c, dir } = await cloudProject();
    const r = await runCli(initArgs(dir, ['--profile', 'nope', '--json']), { env: c.env, cwd: dir });
    expectFailure(r, 'CREDENTIALS_MISSING');
    expectNoSdkText(r);
    const doc = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; error?: { code: string; stage: string }; stages: Array<{ id: string; status: string; error?: { code?: string; message: string } }> };
    expect(doc).toMatchObject({ ok: false, exitCode: 3, error: { code: 'CREDENTIALS_MISSING', stage: 'preflight' } });
    const preflight = doc.stages.find((s) => s.id === 'preflight');
    expect(preflight?.error?.code).toBe('CREDENTIALS_MISSING');
    expect(preflight?.error?.message).toMatch(/profile "nope"/);
  });

  it('a dry run and verify say it without the SDK too, and verify without state writes nothing', async () => {
    const { cloud: c, dir } = await cloudProject();
    const plan = await runCli(initArgs(dir, ['--profile', 'nope', '--dry-run']), { env: c.env, cwd: dir });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expectNoSdkText(plan);
    expect(plan.stdout).toMatch(/could not look up the AWS identity: No AWS credentials found for profile "nope"/);
    const v = await runCli(['verify', '--non-interactive', '--workload-identity', 'arn:aws:iam::123456789012:role/astro-dep-abc123', '--profile', 'nope', '--project-dir', dir], { env: c.env, cwd: dir });
    expect([1, 3]).toContain(v.code);
    expectNoSdkText(v);
    expect(failureCodes(v)).toContain('CREDENTIALS_MISSING');
    expect(v.stdout + v.stderr).toMatch(/profile "nope"/);
    expect(existsSync(path.join(dir, '.astro-remote-kpo'))).toBe(false);
  });

  it('an existing profile wins over the keys as before, and the warning stays out of the output', async () => {
    const { cloud: c, dir } = await cloudProject({ cluster: EXISTING });
    await mkdir(path.join(c.home, '.aws'), { recursive: true });
    await writeFile(path.join(c.home, '.aws', 'credentials'), `[ci]\naws_access_key_id = ${c.credentials.accessKeyId}\naws_secret_access_key = ${c.credentials.secretAccessKey}\n`, { mode: 0o600 });
    // The environment's keys are not valid: success proves the profile's were used.
    const env = { ...c.env, AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
    const r = await runCli(initArgs(dir, ['--profile', 'ci']), { env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectNoSdkText(r);
    expect(await debugLog(dir)).toContain('Multiple credential sources detected');
  });
});

describe('what a failed preflight records', () => {
  it('after a finished init, a run with a bad profile records its failure and nothing else; verify and a re-run still work', async () => {
    const { cloud: c, dir } = await cloudProject({ cluster: EXISTING });
    const ok = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const before = await readState(dir);

    const r = await runCli(initArgs(dir, ['--profile', 'nope']), { env: c.env, cwd: dir });
    expectFailure(r, 'CREDENTIALS_MISSING');
    expectNoSdkText(r);
    const after = await readState(dir);
    // The inputs that worked stay (verify and destroy default to them): no profile that never did.
    expect(after.inputs).toEqual(before.inputs);
    expect(after.inputs.profile).toBeUndefined();
    expect(after.projectId).toBe(before.projectId);
    expect(after.intents).toEqual(before.intents);
    expect(after.stages.preflight).toMatchObject({ status: 'failed', outputs: before.stages.preflight.outputs });
    expect(after.stages.preflight.error?.code).toBe('CREDENTIALS_MISSING');
    expect(after.stages.preflight.error?.message).toMatch(/profile "nope"/);
    const { preflight: _a, ...restAfter } = after.stages;
    const { preflight: _b, ...restBefore } = before.stages;
    expect(restAfter).toEqual(restBefore);

    c.resetCalls();
    const v = await runCli(['verify', '--json', '--project-dir', dir], { env: c.env, cwd: dir });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const again = await runCli(initArgs(dir), { env: c.env, cwd: dir });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(c.mutatingCalls()).toEqual([]);
    expect((await readState(dir)).stages.preflight.status).toBe('done');
  });

  it('every other credential failure (no credentials, unknown key, bad secret, expired token) exits 3 with no SDK text', async () => {
    const { cloud: c, dir } = await cloudProject();
    const noKeys = Object.fromEntries(Object.entries(c.env).filter(([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)$/.test(k)));
    // The code says what happened; the message still names AWS's own reason, when it gave one.
    const cases: Array<[string, Record<string, string>, ErrorCode, string | undefined]> = [
      ['no credentials', noKeys, 'CREDENTIALS_MISSING', undefined],
      ['unknown key id', { ...c.env, AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE' }, 'CREDENTIALS_REJECTED', 'InvalidClientTokenId'],
      ['bad secret', { ...c.env, AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }, 'CREDENTIALS_REJECTED', 'SignatureDoesNotMatch'],
    ];
    for (const [what, env, code, awsName] of cases) {
      const r = await runCli(initArgs(dir), { env, cwd: dir });
      expectFailure(r, code);
      expectNoSdkText(r);
      if (awsName) expect(r.stdout + r.stderr, what).toContain(awsName);
    }
    c.aws.expireCredentials(c.credentials.accessKeyId);
    const expired = await runCli(initArgs(dir, ['--json']), { env: c.env, cwd: dir });
    expectFailure(expired, 'CREDENTIALS_EXPIRED');
    expectNoSdkText(expired);
    expect((JSON.parse(expired.stdout) as { error: { awsCode?: string } }).error.awsCode).toMatch(/^ExpiredToken/);
    expect(c.mutatingCalls()).toEqual([]);
  });
});

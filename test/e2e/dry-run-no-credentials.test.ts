// E2E: the README's first command, a dry run on a machine with no AWS credentials at all (empty
// HOME, no AWS_* keys, no instance metadata): the whole plan, and the missing credentials said
// once, with what to do, instead of once per stage that would have looked something up.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';
import { useCloudProjects } from '../support/temp-projects.js';
import { initArgs, requireBuild } from './aws-helpers.js';

const cloudProject = useCloudProjects('kpo-e2e-nocreds-');

beforeAll(requireBuild);

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** The test cloud's environment (its endpoints, an empty temp HOME) without any credentials. */
function noCredentials(env: Record<string, string>): Record<string, string> {
  const out = Object.fromEntries(Object.entries(env).filter(([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)$/.test(k)));
  return { ...out, AWS_EC2_METADATA_DISABLED: 'true' };
}

describe('a dry run without credentials', () => {
  it('prints the whole plan and says "No AWS credentials found" once, with the fix', async () => {
    const { cloud: c, dir } = await cloudProject();
    const env = noCredentials(c.env);
    const r = await runCli([...initArgs(dir), '--dry-run'], { env, cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const all = r.stdout + r.stderr;
    expect(count(all, 'No AWS credentials found'), all).toBe(1);
    // The one place says what to do about it.
    expect(count(all, 'Pass --profile <name> (or set AWS_PROFILE)'), all).toBe(1);
    // Later lookups that failed for the same reason point back to it instead of repeating it.
    expect(all).toContain('could not look up cluster remote-kpo-demo: no AWS credentials (see the preflight stage).');
    // Still the whole plan: every stage from preflight to the Deployment connection.
    for (const label of ['0·preflight', '1·cluster', '5·iam-role', '7·identity-mapping', '10·access-check', '12·project-files', '13·deployment-connection']) {
      expect(all).toContain(label);
    }
    expect(c.calls.filter((x) => x.status === 200)).toEqual([]);
    expect(existsSync(path.join(dir, '.astro-remote-kpo'))).toBe(false);
  });

  it('the --json plan says it once too', async () => {
    const { cloud: c, dir } = await cloudProject();
    const r = await runCli([...initArgs(dir), '--dry-run', '--json'], { env: noCredentials(c.env), cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { plan: Array<{ id: string; items: Array<{ unknown?: string }> }> };
    const unknowns = doc.plan.flatMap((p) => p.items.map((i) => i.unknown ?? ''));
    expect(unknowns.filter((u) => u.includes('No AWS credentials found'))).toHaveLength(1);
    expect(unknowns.filter((u) => u.includes('no AWS credentials (see the preflight stage)')).length).toBeGreaterThan(0);
  });
});

// Pure pieces of the wizard: the colour decision per stream, the resume command rebuilt from
// inputs, and the node groups read from a ClusterConfig.
import { describe, expect, it } from 'vitest';
import { renderClusterConfig } from '../../src/aws/cluster-config.js';
import { describeNodeGroups, nodeGroupsOf } from '../../src/aws/node-groups.js';
import { initCommandLine, keptSwitches } from '../../src/resume-command.js';
import type { Inputs } from '../../src/types.js';
import { colorLevel } from '../../src/ui/output.js';
import { defaultInputs } from './airflow-ctx.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const defaults: Inputs = defaultInputs({ workloadIdentities: [WI] });

describe('colorLevel', () => {
  it('colour on a terminal only; NO_COLOR and --no-color turn it off; FORCE_COLOR forces it', () => {
    expect(colorLevel({ isTTY: true, flag: true, env: {} })).toBe(2);
    expect(colorLevel({ isTTY: false, flag: true, env: {} })).toBe(0);
    expect(colorLevel({ isTTY: true, flag: true, env: { NO_COLOR: '1' } })).toBe(0);
    expect(colorLevel({ isTTY: true, flag: false, env: {} })).toBe(0);
    expect(colorLevel({ isTTY: false, flag: true, env: { FORCE_COLOR: '3' } })).toBe(3);
    expect(colorLevel({ isTTY: false, flag: true, env: { FORCE_COLOR: '' } })).toBe(1);
    expect(colorLevel({ isTTY: true, flag: true, env: { FORCE_COLOR: '0' } })).toBe(0);
    expect(colorLevel({ isTTY: false, flag: true, env: { FORCE_COLOR: '1', NO_COLOR: '1' } })).toBe(1);
    expect(colorLevel({ isTTY: false, flag: false, env: { FORCE_COLOR: '1' } })).toBe(0);
  });
});

describe('resume command', () => {
  it('carries every non-default input, always the workload identity and region, quoted for the shell', () => {
    expect(initCommandLine(defaults)).toBe(`npx astro-remote-kpo init --workload-identity ${WI} --region us-east-1`);
    const custom: Inputs = { ...defaults, clusterName: 'kpo-typed', namespace: 'team a', authMode: 'aws-auth', profile: 'dev', astroDeploymentIds: ['cm123'] };
    expect(initCommandLine(custom, { projectDir: './proj', only: 'connection', switches: keptSwitches(['node', 'x', 'init', '-y', '--json', '--dry-run']) })).toBe(
      `npx astro-remote-kpo init --workload-identity ${WI} --cluster-name kpo-typed --region us-east-1 --profile dev --namespace 'team a' --auth-mode aws-auth --astro-deployment-id cm123 --project-dir ./proj --only connection --yes --json`,
    );
  });
});

describe('the verify command status prints', () => {
  it('carries only the flags verify takes (no --cluster-config: commander would refuse it)', () => {
    const withConfig: Inputs = { ...defaults, clusterConfig: '/p/eks.yaml' };
    expect(initCommandLine(withConfig)).toContain('--cluster-config /p/eks.yaml');
    expect(initCommandLine(withConfig, {}, 'verify')).toBe(`npx astro-remote-kpo verify --workload-identity ${WI} --region us-east-1`);
  });
});

describe('node groups of a ClusterConfig', () => {
  it('reads managed and self-managed groups; the rendered config has one managed group', async () => {
    const rendered = await nodeGroupsOf(renderClusterConfig({ clusterName: 'c', region: 'us-east-1' }));
    expect(rendered).toEqual([{ name: 'kpo-workers', managed: true, instanceType: 't3.medium', desiredCapacity: 2 }]);
    expect(describeNodeGroups(rendered)).toBe('managed node group kpo-workers: 2 × t3.medium');
    const mixed = await nodeGroupsOf('nodeGroups:\n  - name: ng-self\n    instanceType: m5.large\nmanagedNodeGroups: []\n');
    expect(mixed).toEqual([{ name: 'ng-self', managed: false, instanceType: 'm5.large' }]);
    expect(await nodeGroupsOf(': not yaml: [')).toEqual([]);
    expect(describeNodeGroups([])).toBe('no node group');
  });
});

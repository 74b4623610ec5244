import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderClusterConfig, yamlScalar } from '../../src/aws/cluster-config.js';
import { checkClusterConfigFile, eksctlMessage, prepareClusterConfig } from '../../src/aws/eksctl.js';
import { resolveMappingKind } from '../../src/aws/mapping.js';
import { roleArnWithoutPath } from '../../src/desired.js';
import { expectCode } from '../support/failure.js';

describe('roleArnWithoutPath', () => {
  it('strips any IAM path, keeps partition and account', () => {
    expect(roleArnWithoutPath('arn:aws:iam::123456789012:role/AstroRemoteKPO')).toBe('arn:aws:iam::123456789012:role/AstroRemoteKPO');
    expect(roleArnWithoutPath('arn:aws:iam::123456789012:role/team/astro/AstroRemoteKPO')).toBe('arn:aws:iam::123456789012:role/AstroRemoteKPO');
    expect(roleArnWithoutPath('arn:aws-cn:iam::123456789012:role/a/B')).toBe('arn:aws-cn:iam::123456789012:role/B');
  });
});

describe('renderClusterConfig', () => {
  it('renders an eksctl ClusterConfig with the cluster name, region, OIDC, access mode and a small node group', () => {
    const doc = parse(renderClusterConfig({ clusterName: 'remote-kpo-demo', region: 'eu-west-1' }));
    expect(doc).toMatchObject({
      apiVersion: 'eksctl.io/v1alpha5',
      kind: 'ClusterConfig',
      metadata: { name: 'remote-kpo-demo', region: 'eu-west-1' },
      iam: { withOIDC: true },
      accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
    });
    expect(doc.managedNodeGroups).toHaveLength(1);
    expect(doc.managedNodeGroups[0].desiredCapacity).toBeLessThanOrEqual(3);
    expect(doc.managedNodeGroups[0].maxSize).toBeLessThanOrEqual(5);
  });

  it('keeps names YAML would misread as strings', () => {
    for (const name of ['123', 'true', 'no', '1e3', 'a_b-c']) {
      expect(parse(renderClusterConfig({ clusterName: name, region: 'us-east-1' })).metadata.name).toBe(name);
    }
    expect(yamlScalar('remote-kpo-demo')).toBe('remote-kpo-demo');
    expect(yamlScalar('Yes')).toBe('"Yes"');
  });
});

describe('ClusterConfig files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kpo-cc-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--cluster-config must describe the same cluster and region', async () => {
    const file = path.join(dir, 'other.yaml');
    await writeFile(file, renderClusterConfig({ clusterName: 'other', region: 'us-east-1' }));
    await expect(checkClusterConfigFile(file, { clusterName: 'other', region: 'us-east-1' }, '--cluster-config')).resolves.toMatchObject({ name: 'other' });
    const e = await expectCode(checkClusterConfigFile(file, { clusterName: 'mine', region: 'us-east-1' }, '--cluster-config'), 'CLUSTER_CONFIG_MISMATCH');
    expect(e.message).toMatch(/--cluster-config.*other.*mine/);
    await expectCode(checkClusterConfigFile(path.join(dir, 'missing.yaml'), { clusterName: 'x', region: 'us-east-1' }, '--cluster-config'), 'CLUSTER_CONFIG_UNREADABLE');
    const notCc = path.join(dir, 'not.yaml');
    await writeFile(notCc, 'kind: Pod\nmetadata: {name: x}\n');
    await expectCode(checkClusterConfigFile(notCc, { clusterName: 'x', region: 'us-east-1' }, '--cluster-config'), 'CLUSTER_CONFIG_INVALID');
  });

  it('renders k8s/cluster.yaml once and then uses the existing file as is', async () => {
    const project = path.join(dir, 'project');
    const inputs = { clusterName: 'demo', region: 'us-east-1' };
    const first = await prepareClusterConfig(project, inputs);
    expect(first).toMatchObject({ file: path.join(project, 'k8s', 'cluster.yaml'), rendered: true });
    const edited = `${await readFile(first.file, 'utf8')}# my edit\n`;
    await writeFile(first.file, edited);
    const second = await prepareClusterConfig(project, inputs);
    expect(second.rendered).toBe(false);
    expect(await readFile(second.file, 'utf8')).toBe(edited);
    await expectCode(prepareClusterConfig(project, { clusterName: 'another', region: 'us-east-1' }), 'CLUSTER_CONFIG_MISMATCH');
  });
});

describe('eksctlMessage', () => {
  it('drops the timestamp and level tag', () => {
    expect(eksctlMessage('2024-05-01 10:11:12 [ℹ]  building cluster stack "eksctl-demo-cluster"')).toBe('building cluster stack "eksctl-demo-cluster"');
    expect(eksctlMessage('plain line')).toBe('plain line');
  });
});

describe('resolveMappingKind', () => {
  it('auto follows the cluster authentication mode', () => {
    expect(resolveMappingKind('auto', 'API', 'c')).toBe('access-entry');
    expect(resolveMappingKind('auto', 'API_AND_CONFIG_MAP', 'c')).toBe('access-entry');
    expect(resolveMappingKind('auto', 'CONFIG_MAP', 'c')).toBe('aws-auth');
    expect(resolveMappingKind('aws-auth', 'API_AND_CONFIG_MAP', 'c')).toBe('aws-auth');
  });
  it('refuses a choice the cluster would ignore', async () => {
    await expectCode(() => resolveMappingKind('access-entry', 'CONFIG_MAP', 'c'), 'AUTH_MODE_MISMATCH');
    await expectCode(() => resolveMappingKind('aws-auth', 'API', 'c'), 'AUTH_MODE_MISMATCH');
  });
});

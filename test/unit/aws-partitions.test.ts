// Partitions and DNS suffixes come from the AWS SDK's own partition table, for every partition:
// the expected values below are read from that table (the SDK's partitions.json, as
// @aws-sdk/core ships it), never typed in from memory. One region of each partition: the ARNs the
// tool builds, the STS host of an EKS token, and validation, all follow it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stsEndpoint } from '../../src/aws/eks-token.js';
import { clusterArn, dnsSuffixOf, partitionOf, permissionsPolicy, seedPolicyArns } from '../../src/desired.js';
import { guessRoleArn } from '../../src/airflow/deployed-connection.js';
import { partitionProblem, validateValue } from '../../src/validate.js';

interface PartitionsJson {
  partitions: Array<{ id: string; outputs: { name: string; dnsSuffix: string }; regions: Record<string, unknown> }>;
}

/** The SDK's partitions.json: @aws-sdk/core carries it as `export const partitionsInfo = {…}`. */
function sdkPartitions(): PartitionsJson {
  const core = path.dirname(createRequire(import.meta.url).resolve('@aws-sdk/core/package.json'));
  const text = readFileSync(path.join(core, 'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js'), 'utf8');
  const json = text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
  return JSON.parse(json) as PartitionsJson;
}

const table = sdkPartitions();
const REGIONS: Record<string, string> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-iso': 'us-iso-east-1',
  'aws-iso-b': 'us-isob-east-1',
  'aws-iso-e': 'eu-isoe-west-1',
  'aws-iso-f': 'us-isof-south-1',
  'aws-eusc': 'eusc-de-east-1',
};

describe("the SDK's partition table", () => {
  it('has the eight partitions this test covers, each listing its region', () => {
    for (const [id, region] of Object.entries(REGIONS)) {
      const p = table.partitions.find((x) => x.id === id);
      expect(p, id).toBeDefined();
      expect(Object.keys(p!.regions), id).toContain(region);
    }
  });

  for (const [id, region] of Object.entries(REGIONS)) {
    it(`${region}: partition ${id}, its DNS suffix, every ARN and the STS host follow it`, () => {
      const { outputs } = table.partitions.find((x) => x.id === id)!;
      expect(partitionOf(region)).toBe(outputs.name);
      expect(dnsSuffixOf(region)).toBe(outputs.dnsSuffix);
      expect(stsEndpoint(region).host).toBe(`sts.${region}.${outputs.dnsSuffix}`);
      const inputs = { region, clusterName: 'c' };
      expect(clusterArn(inputs, '123456789012')).toBe(`arn:${outputs.name}:eks:${region}:123456789012:cluster/c`);
      expect(permissionsPolicy(inputs, '123456789012').Statement[0]!.Resource).toBe(`arn:${outputs.name}:eks:${region}:123456789012:cluster/c`);
      for (const arn of seedPolicyArns(region)) expect(arn.startsWith(`arn:${outputs.name}:iam::aws:policy/`), arn).toBe(true);
      expect(guessRoleArn(region, 'R', '123456789012')).toBe(`arn:${outputs.name}:iam::123456789012:role/R`);
      // Validation: the region and a workload identity of its partition are accepted, one of another partition is not.
      expect(validateValue('region', '--region', region)).toBeUndefined();
      const wi = `arn:${outputs.name}:iam::123456789012:role/dep`;
      expect(validateValue('workloadIdentity', '--workload-identity', wi)).toBeUndefined();
      expect(partitionProblem('--workload-identity', wi, region)).toBeUndefined();
      const other = id === 'aws' ? 'aws-cn' : 'aws';
      expect(partitionProblem('--workload-identity', `arn:${other}:iam::123456789012:role/dep`, region)).toContain(`region "${region}" is in partition ${outputs.name}`);
    });
  }

  it('every region the table lists is a valid --region and maps to its own partition', () => {
    for (const p of table.partitions) {
      for (const region of Object.keys(p.regions)) {
        if (region.endsWith('-global')) continue; // aws-global & co. name endpoints, not regions
        expect(validateValue('region', '--region', region), region).toBeUndefined();
        expect(partitionOf(region), region).toBe(p.outputs.name);
      }
    }
  });
});

// Unit: old state files migrate to lists; the compose override merge keeps the user's content;
// the astro CLI's answer is parsed; the closing next steps never send the user to `astro dev start`.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDeploymentList, parseWorkloadIdentity } from '../../src/airflow/astro-cli.js';
import type { AskSelect, Io } from '../../src/io.js';
import { resolveOptions } from '../../src/resolve.js';
import { airflowMajor, airflowServices, awsEnvironment, mergeComposeOverride } from '../../src/airflow/compose-override.js';
import { createHash } from 'node:crypto';
import { hashInputs, migrateInputs, migrateOutputs, type State } from '../../src/engine/state.js';
import type { Inputs } from '../../src/types.js';
import { nextSteps } from '../../src/ui/next-steps.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';

describe('state written by the previous version', () => {
  it('reads one workloadIdentity / astroDeploymentId as one-element lists', () => {
    const old = { clusterName: 'c', workloadIdentity: WI, astroDeploymentId: 'clx1abc2d000008l4ezw5ofno' } as unknown as Inputs;
    const m = migrateInputs(old);
    expect(m.workloadIdentities).toEqual([WI]);
    expect(m.astroDeploymentIds).toEqual(['clx1abc2d000008l4ezw5ofno']);
    expect(m.localDev).toBe(false);
    expect('workloadIdentity' in m).toBe(false);
  });

  it('reads the one providerFloor object (Amazon only) as a one-entry list; a list stays as it is', () => {
    const old = { 'project-files': { status: 'done', outputs: { providerFloor: { action: 'added', floor: '9.30.0', line: 'apache-airflow-providers-amazon>=9.30.0', note: 'n' } } } } as unknown as State['stages'];
    migrateOutputs(old);
    expect(old['project-files']!.outputs!.providerFloor).toEqual([{ provider: 'apache-airflow-providers-amazon', action: 'added', floor: '9.30.0', line: 'apache-airflow-providers-amazon>=9.30.0', note: 'n' }]);
    const now = structuredClone(old);
    migrateOutputs(now);
    expect(now).toEqual(old);
    const none = {} as State['stages'];
    migrateOutputs(none);
    expect(none).toEqual({});
  });
});

describe('stage input hashes across the upgrade', () => {
  // The previous version's hashInputs, verbatim in effect: sorted keys, value or null.
  const oldHash = (inputs: Record<string, unknown>, keys: string[]) =>
    createHash('sha256').update(JSON.stringify([...keys].sort().map((k) => [k, inputs[k] ?? null]))).digest('hex').slice(0, 16);
  const now = { iamRole: 'R', clusterName: 'c', region: 'us-east-1', workloadIdentities: [WI], astroDeploymentIds: [], localDev: false } as unknown as Inputs;

  it('one identity, no Deployment id, no --local-dev: the same hash as before, so finished stages stay done', async () => {
    expect(await hashInputs(now, ['iamRole', 'workloadIdentities', 'localDev', 'clusterName', 'region'])).toBe(
      oldHash({ iamRole: 'R', clusterName: 'c', region: 'us-east-1', workloadIdentity: WI }, ['iamRole', 'workloadIdentity', 'clusterName', 'region']),
    );
    expect(await hashInputs({ ...now, astroDeploymentIds: ['d1d1d1d1d1d1'] }, ['astroDeploymentIds', 'region'])).toBe(
      oldHash({ region: 'us-east-1', astroDeploymentId: 'd1d1d1d1d1d1' }, ['astroDeploymentId', 'region']),
    );
  });

  it('a second identity or --local-dev changes it', async () => {
    const keys = ['workloadIdentities', 'localDev'] as const;
    const h = await hashInputs(now, keys);
    expect(await hashInputs({ ...now, workloadIdentities: [WI, `${WI}2`] }, keys)).not.toBe(h);
    expect(await hashInputs({ ...now, localDev: true }, keys)).not.toBe(h);
  });
});

describe('docker-compose.override.yml for --local-dev', () => {
  it('knows Airflow 2 and 3 projects by their runtime image', () => {
    expect(airflowMajor('FROM quay.io/astronomer/astro-runtime:12.8.0\n')).toBe(2);
    expect(airflowMajor('FROM astrocrpublic.azurecr.io/runtime:3.0-7\n')).toBe(3);
    // Read as the provider floor reads it: quay's Runtime 3 tags, the last FROM of a multi-stage file.
    expect(airflowMajor('FROM quay.io/astronomer/astro-runtime:3.0-4\n')).toBe(3);
    expect(airflowMajor('FROM python:3.12 AS build\nFROM quay.io/astronomer/astro-runtime:12.8.0\n')).toBe(2);
    expect(airflowServices(undefined)).toEqual(['scheduler', 'triggerer']);
  });

  it('a new file is block-style YAML', () => {
    const fresh = mergeComposeOverride(undefined, ['scheduler'], awsEnvironment(undefined))!;
    expect(fresh).toBe('services:\n  scheduler:\n    volumes:\n      - ${HOME}/.aws:/usr/local/airflow/.aws:ro\n    environment:\n      AWS_CONFIG_FILE: /usr/local/airflow/.aws/config\n      AWS_SHARED_CREDENTIALS_FILE: /usr/local/airflow/.aws/credentials\n');
    expect(mergeComposeOverride('', ['scheduler'], awsEnvironment(undefined))).toBe(fresh);
  });

  it('adds the mount and environment once, keeping list-form environment entries and other keys', () => {
    const before = 'services:\n  scheduler:\n    environment:\n      - MY_VAR=1\n    volumes:\n      - ./data:/data\n';
    const merged = mergeComposeOverride(before, ['scheduler'], awsEnvironment('dev'))!;
    const doc = parse(merged) as { services: { scheduler: { environment: string[]; volumes: string[] } } };
    expect(doc.services.scheduler.volumes).toEqual(['./data:/data', '${HOME}/.aws:/usr/local/airflow/.aws:ro']);
    expect(doc.services.scheduler.environment).toEqual([
      'MY_VAR=1',
      'AWS_CONFIG_FILE=/usr/local/airflow/.aws/config',
      'AWS_SHARED_CREDENTIALS_FILE=/usr/local/airflow/.aws/credentials',
      'AWS_PROFILE=dev',
    ]);
    expect(mergeComposeOverride(merged, ['scheduler'], awsEnvironment('dev'))).toBeUndefined();
  });
});

describe('astro deployment inspect output', () => {
  it('takes the ARN line, ignoring anything else astro prints', () => {
    expect(parseWorkloadIdentity(`A newer version of Astro CLI is available\n${WI}\n`)).toBe(WI);
    expect(parseWorkloadIdentity('\n')).toBeUndefined();
  });
});

describe('closing next steps', () => {
  const inputs = {
    clusterName: 'c', region: 'us-east-1', namespace: 'n', k8sRole: 'r', k8sUser: 'u', iamRole: 'AstroRemoteKPO',
    workloadIdentities: [WI], authMode: 'auto', permissions: 'scoped', connId: 'aws_eks', astroDeploymentIds: ['clx1abc2d000008l4ezw5ofno'], localDev: false, podPolicyArns: [], podIdentity: 'auto', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'astro-remote-kpo-pods',
  } satisfies Inputs;
  it('without --local-dev: the deploy path, no astro dev start, a command when stage 13 did not run', () => {
    const text = nextSteps({ inputs, roleArn: 'arn:aws:iam::123456789012:role/AstroRemoteKPO' }).join('\n');
    expect(text).toContain('astro deployment connection create --deployment-id clx1abc2d000008l4ezw5ofno');
    expect(text).toContain('astro deploy clx1abc2d000008l4ezw5ofno');
    expect(text).not.toContain('astro dev start');
    expect(text).not.toContain('astro dev restart');
    expect(text).toContain('re-run with --local-dev');
  });
  it('with --local-dev: the local path too', () => {
    const text = nextSteps({ inputs: { ...inputs, localDev: true }, localDevPrincipal: 'arn:aws:iam::123456789012:user/me' }).join('\n');
    expect(text).toContain('astro dev restart');
    expect(text).toContain('arn:aws:iam::123456789012:user/me');
  });
});

describe('picking Deployments interactively from astro deployment list', () => {
  const LIST = [
    ' NAME              NAMESPACE               CLUSTER     CLOUD PROVIDER     REGION        DEPLOYMENT ID                 RUNTIME VERSION     DAG DEPLOY ENABLED     CI-CD ENFORCEMENT     DEPLOYMENT TYPE     REMOTE EXECUTION',
    ' my prod           cosmic-quasar-1234      N/A         AWS                us-east-1     clx1abc2d000008l4ezw5ofno     3.0-7               true                   false                 STANDARD            false',
    ' staging           stellar-nebula-5678     N/A         AWS                us-east-1     clx9zyx8w000007k3dyv4nemp     3.0-7               true                   false                 STANDARD            false',
  ].join('\n');

  it('reads ids and names from the aligned table', () => {
    expect(parseDeploymentList(`${LIST}\n`)).toEqual([
      { id: 'clx1abc2d000008l4ezw5ofno', name: 'my prod' },
      { id: 'clx9zyx8w000007k3dyv4nemp', name: 'staging' },
    ]);
    expect(parseDeploymentList('Error: no context set')).toEqual([]);
  });

  it('offers them one at a time until done; their identities are read with the astro CLI', async () => {
    const answers = ['clx9zyx8w000007k3dyv4nemp', 'clx1abc2d000008l4ezw5ofno'];
    const asked: string[][] = [];
    const io: Io = {
      interactive: true,
      text: () => Promise.reject(new Error('no text prompt expected')),
      select: <T extends string>(q: AskSelect<T>) => {
        asked.push(q.choices.map((c) => c.value));
        return Promise.resolve((answers.shift() ?? 'done') as T);
      },
      confirm: () => Promise.resolve(true),
      info: () => undefined,
      warn: () => undefined,
    };
    const lookup = (ids: readonly string[]) => Promise.resolve(ids.map((id) => `arn:aws:iam::123456789012:role/wi-${id}`));
    const { inputs } = await resolveOptions({ dryRun: true }, { HOME: '/nonexistent' }, io, '/p', {}, lookup, () => Promise.resolve(parseDeploymentList(LIST)));
    expect(inputs.astroDeploymentIds).toEqual(['clx9zyx8w000007k3dyv4nemp', 'clx1abc2d000008l4ezw5ofno']);
    expect(inputs.workloadIdentities).toEqual(['arn:aws:iam::123456789012:role/wi-clx9zyx8w000007k3dyv4nemp', 'arn:aws:iam::123456789012:role/wi-clx1abc2d000008l4ezw5ofno']);
    expect(asked).toEqual([['clx1abc2d000008l4ezw5ofno', 'clx9zyx8w000007k3dyv4nemp', 'type'], ['clx1abc2d000008l4ezw5ofno', 'done']]);
  });
});

describe('several workload identities from the environment', () => {
  it('ASTRO_WORKLOAD_IDENTITY lists them separated by spaces (commander hands it over as one value)', async () => {
    const io: Io = { interactive: false, text: () => Promise.reject(new Error('no prompt')), select: () => Promise.reject(new Error('no prompt')), confirm: () => Promise.resolve(true), info: () => undefined, warn: () => undefined };
    const two = `${WI} arn:aws:iam::123456789012:role/b,c`;
    for (const raw of [{}, { workloadIdentity: [two] }]) {
      const { inputs } = await resolveOptions(raw, { HOME: '/nonexistent', ASTRO_WORKLOAD_IDENTITY: two }, io, '/p');
      expect(inputs.workloadIdentities).toEqual([WI, 'arn:aws:iam::123456789012:role/b,c']);
    }
  });
});

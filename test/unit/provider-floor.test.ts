// The provider lines per Astro Runtime: which Airflow and flavour the Dockerfile's image is, the
// lines requirements.txt gets (every other byte kept), and the warnings for a lower pin or a fix
// the Airflow cannot install.
import { describe, expect, it } from 'vitest';
import { fromsRuntimeImage, runtimeFromDockerfile } from '../../src/airflow/astro-runtime.js';
import { addedLines, planProviderFloor, type FloorPlan } from '../../src/airflow/provider-floor.js';

const AF3 = 'FROM astrocrpublic.azurecr.io/runtime:3.1-2\n';
const AMAZON = 'apache-airflow-providers-amazon>=9.30.0';
const CNCF = 'apache-airflow-providers-cncf-kubernetes>=7.2.0';
const from = (image: string) => `FROM ${image}\n`;
const actions = (p: FloorPlan) => Object.fromEntries(p.providers.map((x) => [x.provider.replace('apache-airflow-providers-', ''), x.action]));

describe('fromsRuntimeImage (is this an Astro project?)', () => {
  it('any FROM naming a Runtime repository, any tag or digest; nothing else', () => {
    for (const image of ['quay.io/astronomer/astro-runtime:12.8.0', 'astro-runtime-slim:13.1.0', 'astrocrpublic.azurecr.io/runtime:3.1-2', 'air.astronomer.io/runtime:3.1-3-python-3.12', 'air.astronomer.io/runtime@sha256:abc']) {
      expect(fromsRuntimeImage(`FROM ${image}\n`), image).toBe(true);
    }
    expect(fromsRuntimeImage('FROM --platform=linux/amd64 quay.io/astronomer/astro-runtime:12.8.0 AS base\nFROM python:3.12\n')).toBe(true);
    for (const text of ['FROM python:3.12\n', '# FROM astro-runtime:12.8.0\nFROM ubuntu\n', 'FROM example.com/runtime:3.1-2\n', '']) expect(fromsRuntimeImage(text), text).toBe(false);
  });
});

describe('runtimeFromDockerfile', () => {
  it('reads Airflow and the flavour from the Astro Runtime image of the last FROM', () => {
    expect(runtimeFromDockerfile(AF3)).toMatchObject({ airflowMajor: 3, airflowMinor: '3.1', tag: '3.1-2', flavor: 'standard' });
    expect(runtimeFromDockerfile(from('astrocrpublic.azurecr.io/runtime:3.0-7-python-3.12-base'))).toMatchObject({ airflowMajor: 3, airflowMinor: '3.0' });
    // What newer astro-cli writes for a Runtime 3 project: the same images through air.astronomer.io.
    expect(runtimeFromDockerfile(from('air.astronomer.io/runtime:3.1-5'))).toMatchObject({ airflowMajor: 3, airflowMinor: '3.1', flavor: 'standard' });
    // The hyphenated major.minor-patch format is Airflow 3 whatever the registry (astro-cli's rule).
    expect(runtimeFromDockerfile(from('quay.io/astronomer/astro-runtime:3.0-4-python-3.12'))).toMatchObject({ airflowMajor: 3, airflowMinor: '3.0' });
    expect(runtimeFromDockerfile(from('quay.io/astronomer/astro-runtime:13.1.0'))).toMatchObject({ airflowMajor: 2, airflowMinor: '2.11', flavor: 'standard' });
    expect(runtimeFromDockerfile(from('quay.io/astronomer/astro-runtime-slim:13.1.0'))).toMatchObject({ airflowMajor: 2, airflowMinor: '2.11', flavor: 'slim' });
    expect(runtimeFromDockerfile(from('quay.io/astronomer/astro-runtime:13.7.0-slim-python-3.12'))).toMatchObject({ airflowMinor: '2.11', flavor: 'slim' });
    expect(runtimeFromDockerfile(from('quay.io/astronomer/astro-runtime:11.8.0@sha256:0123'))).toMatchObject({ airflowMinor: '2.9', tag: '11.8.0' });
    expect(runtimeFromDockerfile(`FROM python:3.12 AS build\nRUN true\nfrom --platform=linux/amd64 quay.io/astronomer/astro-runtime:12.8.0\n`)).toMatchObject({ airflowMajor: 2, airflowMinor: '2.10' });
    // Runtime 3.0.x (dotted, 2021) is an Airflow 2 Runtime, not Airflow 3.
    expect(runtimeFromDockerfile(from('quay.io/astronomer/astro-runtime:3.0.2'))).toMatchObject({ airflowMajor: 2, airflowMinor: undefined });
    expect(runtimeFromDockerfile(from('python:3.12'))).toHaveProperty('unknown');
    expect(runtimeFromDockerfile(from('example.com/runtime:3.1-2'))).toHaveProperty('unknown');
    expect(runtimeFromDockerfile('ARG V\nFROM quay.io/astronomer/astro-runtime:${V}\n')).toHaveProperty('unknown');
    expect(runtimeFromDockerfile(from('quay.io/astronomer/astro-runtime:14.0.0'))).toHaveProperty('unknown');
    expect(runtimeFromDockerfile(undefined)).toBeUndefined();
  });
});

describe('planProviderFloor per Runtime', () => {
  it('Runtime 3.x ships neither provider: both lines, every other byte kept (comments, CRLF, no final newline)', () => {
    const lf = planProviderFloor(AF3, '# deps\npandas==2.2.0\nrequests');
    expect(actions(lf)).toEqual({ amazon: 'add', 'cncf-kubernetes': 'add' });
    expect(lf.text).toBe(`# deps\npandas==2.2.0\nrequests\n${AMAZON}\n${CNCF}\n`);
    expect(planProviderFloor(AF3, 'pandas==2.2.0\r\n').text).toBe(`pandas==2.2.0\r\n${AMAZON}\r\n${CNCF}\r\n`);
    expect(planProviderFloor(AF3, undefined).text).toBe(`${AMAZON}\n${CNCF}\n`);
    expect(addedLines(lf)).toEqual([AMAZON, CNCF]);
  });

  it('Runtime 13 (Airflow 2.11): standard ships both, so the Amazon floor only; slim gets both', () => {
    const std = planProviderFloor(from('quay.io/astronomer/astro-runtime:13.1.0'), 'pandas\n');
    expect(actions(std)).toEqual({ amazon: 'add', 'cncf-kubernetes': 'none' });
    expect(std.text).toBe(`pandas\n${AMAZON}\n`);
    expect(std.providers[0]!.note).toContain('#64657 fixed in 9.30.0');
    expect(std.providers[0]!.note).not.toContain('#53578');
    const slim = planProviderFloor(from('quay.io/astronomer/astro-runtime-slim:13.1.0'), 'pandas\n');
    expect(slim.text).toBe(`pandas\n${AMAZON}\n${CNCF}\n`);
    expect(slim.warnings).toEqual([]);
  });

  it('Runtime 11/12 (Airflow 2.9/2.10) cannot install 9.30.0: nothing uninstallable, a warning naming the fix and the Runtime that brings it', () => {
    for (const tag of ['12.8.0', '11.8.0']) {
      const std = planProviderFloor(from(`quay.io/astronomer/astro-runtime:${tag}`), 'pandas\n');
      expect(actions(std)).toEqual({ amazon: 'none', 'cncf-kubernetes': 'none' });
      expect(std.text).toBeUndefined();
      expect(std.warnings.join('\n')).toMatch(/cannot install apache-airflow-providers-amazon 9\.30\.0 \(it needs Airflow 2\.11\+\), so the fix of apache\/airflow#64657 is missing/);
      expect(std.warnings.join('\n')).toContain('Astro Runtime 13 (Airflow 2.11) or 3.x brings the fix.');
      // Slim has neither: the Amazon provider by name (pip picks the newest for that Airflow), cncf at its floor.
      const slim = planProviderFloor(from(`quay.io/astronomer/astro-runtime-slim:${tag}`), 'pandas\n');
      expect(slim.text).toBe(`pandas\napache-airflow-providers-amazon\n${CNCF}\n`);
      expect(slim.warnings).toHaveLength(1);
    }
    // Any line naming the Amazon provider is enough where no floor can be asked for.
    expect(planProviderFloor(from('quay.io/astronomer/astro-runtime-slim:12.8.0'), `apache-airflow-providers-amazon==9.1.0\n${CNCF}\n`).text).toBeUndefined();
  });

  it('older Runtimes and unknown images: requirements.txt left alone, with a warning', () => {
    for (const dockerfile of [from('quay.io/astronomer/astro-runtime:10.9.0'), from('quay.io/astronomer/astro-runtime:3.0.2'), from('python:3.12'), undefined]) {
      const p = planProviderFloor(dockerfile, 'pandas\n');
      expect(p.text).toBeUndefined();
      expect(actions(p)).toEqual({ amazon: 'none', 'cncf-kubernetes': 'none' });
      expect(p.warnings).toHaveLength(1);
    }
  });
});

describe('planProviderFloor and the lines already there', () => {
  it('a requirement that guarantees the floor is enough; both there → the file stays', () => {
    for (const spec of ['>=9.31.0', '==9.30.0', '~=9.30']) {
      expect(planProviderFloor(AF3, `apache-airflow-providers-amazon${spec}\n${CNCF}\n`).text, spec).toBeUndefined();
    }
    expect(actions(planProviderFloor(AF3, `${AMAZON}\napache-airflow-providers-cncf-kubernetes==10.4.0\n`))).toEqual({ amazon: 'satisfied', 'cncf-kubernetes': 'satisfied' });
  });

  it('a lower pin is kept and warned about, per provider, naming the fixes it misses; the other line is still added', () => {
    const low = planProviderFloor(AF3, 'pandas\napache-airflow-providers-amazon==9.5.0\n');
    expect(actions(low)).toEqual({ amazon: 'kept-pin', 'cncf-kubernetes': 'add' });
    expect(low.text).toBe(`pandas\napache-airflow-providers-amazon==9.5.0\n${CNCF}\n`);
    const warning = low.warnings.join('\n');
    expect(warning).toContain('line 2 `apache-airflow-providers-amazon==9.5.0` allows versions below 9.30.0');
    for (const s of ['apache/airflow#50771', 'apache/airflow#53578', 'apache/airflow#64657', 'Kept your pin']) expect(warning).toContain(s);
    expect(planProviderFloor(AF3, 'apache-airflow-providers-amazon>=9.13.0').warnings.join('\n')).not.toContain('#53578');
    for (const spec of ['<9.30', '~=9.5.0', '>=9.0,<10', '==9.*', '@ https://example.com/a.whl']) {
      expect(actions(planProviderFloor(AF3, `apache-airflow-providers-amazon${spec}\n`)).amazon, spec).toBe('kept-pin');
    }
    const cncf = planProviderFloor(AF3, `${AMAZON}\napache-airflow-providers-cncf-kubernetes==6.1.0\n`);
    expect(actions(cncf)).toEqual({ amazon: 'satisfied', 'cncf-kubernetes': 'kept-pin' });
    expect(cncf.text).toBeUndefined();
    expect(cncf.warnings.join('\n')).toContain("`apache-airflow-providers-cncf-kubernetes==6.1.0` allows versions below 7.2.0. On Airflow 3.1 (Astro Runtime 3.1-2), the Amazon provider's cncf.kubernetes extra asks for 7.2.0 or newer. Kept your pin");
  });

  it('a provider named without a version (any spelling) gets the floor on its own line, extras and comment kept', () => {
    const bare = planProviderFloor(AF3, 'x\nApache_Airflow_Providers_Amazon[cncf.kubernetes]  # ours\r\ny\napache-airflow-providers-cncf-kubernetes');
    expect(bare.text).toBe('x\nApache_Airflow_Providers_Amazon[cncf.kubernetes]>=9.30.0  # ours\r\ny\napache-airflow-providers-cncf-kubernetes>=7.2.0');
    expect(addedLines(bare)).toEqual(['Apache_Airflow_Providers_Amazon[cncf.kubernetes]>=9.30.0  # ours', CNCF]);
  });
});

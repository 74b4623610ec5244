// The Amazon provider floor: which Airflow the Dockerfile names, and the requirements.txt edit
// (one line added, every other byte kept) or the warning for a lower pin.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { planProviderFloor, runtimeFromDockerfile } from '../../src/airflow/provider-floor.js';

const AF3 = 'FROM astrocrpublic.azurecr.io/runtime:3.1-2\n';
const AF3_QUAY = 'FROM quay.io/astronomer/astro-runtime:3.0-4-python-3.12\n';
const AF2_11 = 'FROM quay.io/astronomer/astro-runtime:13.1.0\n';
const AF2_10 = 'FROM quay.io/astronomer/astro-runtime:12.8.0\n';

describe('runtimeFromDockerfile', () => {
  it('reads the Airflow version from the Astro Runtime tag of the last FROM', () => {
    expect(runtimeFromDockerfile(AF3)).toMatchObject({ airflowMajor: 3, airflowMinor: '3.1', tag: '3.1-2' });
    expect(runtimeFromDockerfile(AF3_QUAY)).toMatchObject({ airflowMajor: 3, airflowMinor: '3.0' });
    expect(runtimeFromDockerfile(AF2_11)).toMatchObject({ airflowMajor: 2, airflowMinor: '2.11' });
    expect(runtimeFromDockerfile(`FROM python:3.12 AS build\nRUN true\nfrom --platform=linux/amd64 ${AF2_10.slice(5)}`)).toMatchObject({ airflowMajor: 2, airflowMinor: '2.10' });
    expect(runtimeFromDockerfile('FROM python:3.12\n')).toHaveProperty('unknown');
    expect(runtimeFromDockerfile('ARG V\nFROM quay.io/astronomer/astro-runtime:${V}\n')).toHaveProperty('unknown');
    expect(runtimeFromDockerfile(undefined)).toBeUndefined();
  });
});

describe('planProviderFloor', () => {
  it('Airflow 3: adds one >= line, keeping every other byte (no final newline, CRLF)', () => {
    const lf = planProviderFloor(AF3, '# deps\npandas==2.2.0\nrequests');
    expect(lf).toMatchObject({ action: 'add', floor: '9.30.0' });
    expect(lf.action === 'add' && lf.text).toBe('# deps\npandas==2.2.0\nrequests\napache-airflow-providers-amazon>=9.30.0\n');
    const crlf = planProviderFloor(AF3, 'pandas==2.2.0\r\n');
    expect(crlf.action === 'add' && crlf.text).toBe('pandas==2.2.0\r\napache-airflow-providers-amazon>=9.30.0\r\n');
    const none = planProviderFloor(AF3, undefined);
    expect(none.action === 'add' && none.text).toBe('apache-airflow-providers-amazon>=9.30.0\n');
    // Named without a version (any spelling): that line gets the floor, its extras and comment kept.
    const bare = planProviderFloor(AF3, 'x\nApache_Airflow_Providers_Amazon[cncf.kubernetes]  # ours\ny\n');
    expect(bare.action === 'add' && bare.text).toBe('x\nApache_Airflow_Providers_Amazon[cncf.kubernetes]>=9.30.0  # ours\ny\n');
  });

  it('a pin at or above the floor is enough; a lower one is kept and warned about, naming the fixes it misses', () => {
    expect(planProviderFloor(AF3, 'apache-airflow-providers-amazon>=9.31.0\n').action).toBe('satisfied');
    expect(planProviderFloor(AF3, 'apache-airflow-providers-amazon==9.30.0\n').action).toBe('satisfied');
    expect(planProviderFloor(AF3, 'apache-airflow-providers-amazon~=9.30\n').action).toBe('satisfied');
    const low = planProviderFloor(AF3, 'pandas\napache-airflow-providers-amazon==9.5.0\n');
    expect(low.action).toBe('kept-pin');
    if (low.action !== 'kept-pin') return;
    expect(low.warning).toContain('line 2 `apache-airflow-providers-amazon==9.5.0` allows versions below 9.30.0');
    for (const s of ['apache/airflow#50771', 'apache/airflow#53578', 'apache/airflow#64657', 'Kept your pin']) expect(low.warning).toContain(s);
    const mid = planProviderFloor(AF3, 'apache-airflow-providers-amazon>=9.13.0');
    expect(mid.action === 'kept-pin' && mid.warning).not.toContain('#53578');
    for (const spec of ['<9.30', '~=9.5.0', '>=9.0,<10', '==9.*', '@ https://example.com/a.whl']) {
      expect(planProviderFloor(AF3, `apache-airflow-providers-amazon${spec}\n`).action, spec).toBe('kept-pin');
    }
  });

  it('Airflow 2.11 gets the cross-account floor; older Airflow 2 and unknown images get none, with a note', () => {
    expect(planProviderFloor(AF2_11, 'pandas\n')).toMatchObject({ action: 'add', floor: '9.30.0' });
    const old = planProviderFloor(AF2_10, 'pandas\n');
    expect(old).toMatchObject({ action: 'none' });
    expect(old.action === 'none' && old.warning).toContain('needs Airflow 2.11+');
    expect(planProviderFloor('FROM python:3.12\n', '')).toMatchObject({ action: 'none' });
    expect(planProviderFloor(undefined, '')).toMatchObject({ action: 'none' });
  });

  it('the DAG warns below the same floor', async () => {
    const dag = await readFile(new URL('../../dags/test_eks_connectivity.py', import.meta.url), 'utf8');
    expect(dag).toMatch(/^AMAZON_PROVIDER_FLOOR = "9\.30\.0"$/m);
  });
});

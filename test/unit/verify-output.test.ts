// verify's pure parts: rendering, the JSON document, state inputs as defaults, DAG defaults.
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { emptyState } from '../../src/engine/state.js';
import type { Inputs } from '../../src/types.js';
import { pythonDefaults } from '../../src/verify/dags-check.js';
import { renderRows, summarize, verifyJson } from '../../src/verify/render.js';
import { fail, failFromError, pass, skip } from '../../src/verify/row.js';
import { withStateInputs } from '../../src/verify/state-inputs.js';
import { KpoError } from '../../src/errors.js';

const chalk = new Chalk({ level: 0 });
const inputs: Inputs = {
  clusterName: 'c1', region: 'eu-west-1', namespace: 'ns', k8sRole: 'r', k8sUser: 'u', iamRole: 'I', workloadIdentities: ['arn:aws:iam::123456789012:role/wi'], astroDeploymentIds: [], localDev: false, podPolicyArns: [], podIdentity: 'auto', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'astro-remote-kpo-pods',
  authMode: 'auto', permissions: 'scoped', connId: 'aws_eks',
};

describe('verify rows', () => {
  it('renders ✔/✖/– with the fix under failures and a summary line', () => {
    const rows = [pass('credentials', 'me'), fail('role-binding', 'missing', 'run init'), skip('access-matrix', 'role-binding', 'the RoleBinding is not as desired')];
    const text = renderRows(chalk, inputs, rows);
    expect(text).toContain('✔ AWS credentials');
    expect(text).toMatch(/✖ RoleBinding as desired\s+missing\n {4}fix: run init/);
    expect(text).toMatch(/– Access matrix\s+not checked: the RoleBinding is not as desired\n {4}fix "RoleBinding as desired" first/);
    expect(text).toContain('1 of 3 checks failed, 1 not checked because of them.');
    expect(summarize(rows)).toEqual({ total: 3, passed: 1, failed: 1, skipped: 1, warned: 0 });
    expect(renderRows(chalk, inputs, [pass('credentials', 'me')])).toContain('All 1 checks passed');
  });

  it('--json is one document with the rows and the exit code', () => {
    const doc = JSON.parse(verifyJson(inputs, [pass('dags', 'ok'), fail('connection', 'x', 'y')], 1)) as Record<string, unknown>;
    expect(doc).toMatchObject({ command: 'verify', ok: false, exitCode: 1, summary: { failed: 1 }, checks: [{ id: 'dags', status: 'pass' }, { id: 'connection', status: 'fail', fix: 'y' }] });
  });

  it('a thrown error becomes a failing row with its hint as the fix and its code', () => {
    expect(failFromError('cluster', new KpoError('CLUSTER_NOT_ACTIVE', 'boom', 'do this'), 'fallback')).toMatchObject({ status: 'fail', detail: 'boom', fix: 'do this', code: 'CLUSTER_NOT_ACTIVE' });
    expect(failFromError('cluster', new Error('plain'), 'fallback')).toMatchObject({ detail: 'plain', fix: 'fallback', code: 'UNEXPECTED' });
  });
});

describe('withStateInputs', () => {
  it('fills only flags not given from the recorded inputs', () => {
    const state = { ...emptyState(), inputs: { ...inputs, kubeContext: 'ctx' } };
    const raw = withStateInputs({ clusterName: 'other', projectDir: '/p' }, state);
    expect(raw).toMatchObject({ clusterName: 'other', region: 'eu-west-1', workloadIdentity: inputs.workloadIdentities, kubeContext: 'ctx', projectDir: '/p' });
    expect(withStateInputs({ region: 'x' }, undefined)).toEqual({ region: 'x' });
  });
});

describe('pythonDefaults', () => {
  it('reads NAME = "value" lines with either quote, the first one winning', () => {
    const text = 'x = 1\nCLUSTER_NAME = "c1"\nNAMESPACE = \'ns\'  # ours\nCONN_ID = "a\\"b"\nCLUSTER_NAME = "later"\n    INDENTED = "no"\n';
    expect(pythonDefaults(text)).toEqual({ CLUSTER_NAME: 'c1', NAMESPACE: 'ns', CONN_ID: 'a"b' });
  });
});

// src/aws/endpoint-access.ts (what DescribeCluster's resourcesVpcConfig means for a Deployment on
// Astro Hosted, and what to tell the user) and verify's warning rows. End to end: test/e2e/reachability.test.ts.
import type { Cluster } from '@aws-sdk/client-eks';
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { allowCidrsCommand, endpointAccessOf, endpointPhrase, reachAdvice } from '../../src/aws/endpoint-access.js';
import type { Inputs } from '../../src/types.js';
import { nextSteps } from '../../src/ui/next-steps.js';
import { renderRows, summarize } from '../../src/verify/render.js';
import { fail, pass, warn } from '../../src/verify/row.js';

const cluster = (resourcesVpcConfig?: Cluster['resourcesVpcConfig']): Cluster => ({ name: 'c1', ...(resourcesVpcConfig ? { resourcesVpcConfig } : {}) });
const where = { clusterName: 'c1', region: 'eu-west-1', endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com' };

describe('endpointAccessOf', () => {
  it('classifies what real EKS answers', () => {
    expect(endpointAccessOf(cluster({ endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['0.0.0.0/0'], vpcId: 'vpc-1' }))).toEqual({ reach: 'public', publicAccess: true, privateAccess: false, publicAccessCidrs: ['0.0.0.0/0'], vpcId: 'vpc-1' });
    expect(endpointAccessOf(cluster({ endpointPublicAccess: true, publicAccessCidrs: ['10.1.0.0/16', '0.0.0.0/0'] })).reach).toBe('public');
    expect(endpointAccessOf(cluster({ endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24'] })).reach).toBe('limited');
    // EKS keeps reporting ["0.0.0.0/0"] when public access is off: private all the same.
    expect(endpointAccessOf(cluster({ endpointPublicAccess: false, endpointPrivateAccess: true, publicAccessCidrs: ['0.0.0.0/0'] })).reach).toBe('private');
  });

  it('a field left out is unknown, never public (moto reports none of them)', () => {
    expect(endpointAccessOf(cluster({ subnetIds: ['subnet-1'] }))).toEqual({ reach: 'unknown' });
    expect(endpointAccessOf(cluster())).toEqual({ reach: 'unknown' });
    expect(endpointAccessOf(cluster({ endpointPublicAccess: true })).reach).toBe('unknown');
    expect(endpointAccessOf(cluster({ endpointPublicAccess: true, publicAccessCidrs: [] })).reach).toBe('unknown');
    expect(endpointAccessOf(cluster({ publicAccessCidrs: ['0.0.0.0/0'] })).reach).toBe('unknown');
  });
});

describe('what init and verify say', () => {
  it('nothing for a public endpoint; the words "endpoint" and "private" together for a private one', () => {
    expect(reachAdvice({ reach: 'public', publicAccess: true, publicAccessCidrs: ['0.0.0.0/0'] }, where)).toBeUndefined();
    const a = reachAdvice({ reach: 'private', publicAccess: false, privateAccess: true, vpcId: 'vpc-9' }, where)!;
    expect(a.headline).toMatch(/API endpoint is private .* network connection to the cluster's VPC vpc-9/);
    expect(a.lines.join('\n')).toContain('https://www.astronomer.io/docs/astro/connect-aws#private-networking-connections');
  });

  it('the update-cluster-config the user runs keeps the current CIDRs first (the list is replaced) and the private flag as it is', () => {
    const limited = { reach: 'limited' as const, publicAccess: true, privateAccess: true, publicAccessCidrs: ['203.0.113.0/24', '198.51.100.7/32'] };
    expect(allowCidrsCommand(limited, where)).toBe(
      'aws eks update-cluster-config --name c1 --region eu-west-1 --resources-vpc-config endpointPublicAccess=true,endpointPrivateAccess=true,publicAccessCidrs=203.0.113.0/24,198.51.100.7/32,<EXTERNAL_IP_1>/32,<EXTERNAL_IP_2>/32',
    );
    // Private access is never switched off by the command: a private cluster keeps it.
    expect(allowCidrsCommand({ reach: 'private', publicAccess: false }, where)).toContain('endpointPublicAccess=true,endpointPrivateAccess=true,publicAccessCidrs=<EXTERNAL_IP_1>/32,<EXTERNAL_IP_2>/32');
    const text = reachAdvice(limited, where)!.lines.join('\n');
    expect(text).toContain('the Deployment → Details → External IPs');
    expect(text).toContain('keep the current entries (203.0.113.0/24, 198.51.100.7/32)');
    expect(text).toContain('A network connection to the cluster\'s VPC works too');
  });

  it('unknown names the endpoint and how to look', () => {
    const a = reachAdvice({ reach: 'unknown' }, where)!;
    expect(a.headline).toContain(where.endpoint);
    expect(a.lines).toEqual(['See for yourself: aws eks describe-cluster --name c1 --region eu-west-1 --query cluster.resourcesVpcConfig']);
    expect(endpointPhrase({ reach: 'unknown' })).toBe('API endpoint access not reported by EKS');
    expect(endpointPhrase({ reach: 'limited', publicAccessCidrs: ['1.2.3.4/32'] })).toBe('API endpoint public from 1.2.3.4/32 only');
  });

  it('next steps: the route first when needed, nothing when the state predates it or the endpoint is public', () => {
    const inputs: Inputs = {
      clusterName: 'c1', region: 'eu-west-1', namespace: 'n', k8sRole: 'r', k8sUser: 'u', iamRole: 'I', workloadIdentities: ['arn:aws:iam::123456789012:role/wi'],
      astroDeploymentIds: [], localDev: false, authMode: 'auto', permissions: 'scoped', connId: 'aws_eks', podPolicyArns: [], podIdentity: 'auto', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'astro-remote-kpo-pods',
    };
    const priv = nextSteps({ inputs, endpointAccess: { reach: 'private', publicAccess: false, privateAccess: true } });
    expect(priv[1]).toMatch(/^ {2}1\. The cluster's API endpoint is private/);
    expect(priv.filter((l) => /^ {2}\d\. /.test(l)).map((l) => l.slice(2, 4))).toEqual(['1.', '2.', '3.', '4.', '5.']);
    for (const n of [nextSteps({ inputs }), nextSteps({ inputs, endpointAccess: { reach: 'public', publicAccess: true, publicAccessCidrs: ['0.0.0.0/0'] } })]) {
      expect(n[1]).toMatch(/^ {2}1\. Create connection aws_eks/);
      expect(n.join('\n')).not.toMatch(/endpoint/i);
    }
  });
});

describe('a warning row in verify', () => {
  const chalk = new Chalk({ level: 0 });
  const inputs = { clusterName: 'c1', region: 'eu-west-1', namespace: 'ns', k8sRole: 'r', k8sUser: 'u', iamRole: 'I', workloadIdentities: ['wi'], astroDeploymentIds: [], localDev: false, authMode: 'auto', permissions: 'scoped', connId: 'aws_eks', podPolicyArns: [], podIdentity: 'auto', podRole: 'AstroRemoteKPOPods', podServiceAccount: 'astro-remote-kpo-pods' } satisfies Inputs;

  it('is marked !, shows what to do, counts apart, and does not turn the summary into a failure', () => {
    const rows = [pass('credentials', 'me'), warn('endpoint-access', 'The cluster\'s API endpoint is private', 'connect\nor open it')];
    const text = renderRows(chalk, inputs, rows);
    expect(text).toMatch(/^! API endpoint open to Astro\s+The cluster's API endpoint is private\n {4}what to do: connect\n {4}or open it$/m);
    expect(summarize(rows)).toEqual({ total: 2, passed: 1, failed: 0, skipped: 0, warned: 1 });
    expect(text).toContain('1 of 2 checks passed and none failed, with 1 warning (!): what verify cannot check from here. Read it above.');
    expect(text).not.toContain('the chain works end to end');
    expect(renderRows(chalk, inputs, [...rows, fail('connection', 'x', 'y')])).toContain('1 of 3 checks failed; 1 warning (!).');
  });
});

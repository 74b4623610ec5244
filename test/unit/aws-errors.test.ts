// AWS error wording: unreadable (non-AWS) answers such as moto's HTML 404 never surface the SDK's
// parser text, and AccessDenied names the operation and resource the call was made on. Driven by
// the real SDK clients against a loopback HTTP server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetRoleCommand, IAMClient, PutRolePolicyCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { EKSClient, ListAssociatedAccessPoliciesCommand } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCallInfo, awsFailure, describeAwsError, nonAwsResponse, tagAwsCalls } from '../../src/aws/errors.js';

const MOTO_404 =
  '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';
const PLAIN_404 = '<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>';
const DENIED =
  '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Access denied</Message></Error><RequestId>1</RequestId></ErrorResponse>';

let answer: { status: number; type: string; body: string } = { status: 404, type: 'text/html', body: MOTO_404 };
let server: http.Server;
let endpoint = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(answer.status, { 'Content-Type': answer.type });
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const cfg = () => ({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
function iam(): IAMClient {
  const c = new IAMClient(cfg());
  tagAwsCalls(c.middlewareStack, 'iam');
  return c;
}
async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe('non-AWS answers', () => {
  it.each([
    ['moto (werkzeug) HTML 404, the SDK says "XML parse error"', MOTO_404],
    ['a well-formed HTML 404, the SDK says "Unknown"', PLAIN_404],
  ])('%s: named as an unexpected answer to the operation, no parser text', async (_label, body) => {
    answer = { status: 404, type: 'text/html', body };
    const err = await caught(iam().send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: 'arn:aws:iam::123456789012:role/R', ActionNames: ['eks:DescribeCluster'] })));
    expect(nonAwsResponse(err)).toEqual({ status: 404 });
    expect(awsCallInfo(err)).toEqual({ action: 'iam:SimulatePrincipalPolicy', resource: 'arn:aws:iam::123456789012:role/R' });
    const text = describeAwsError(err);
    expect(text).toBe('the endpoint answered iam:SimulatePrincipalPolicy with an unexpected non-AWS response (HTTP 404); is this API implemented by your emulator?');
    const f = awsFailure(err, 'checking permissions', undefined);
    expect(f).toMatchObject({ code: 'AWS_UNUSABLE_ANSWER', exitCode: 1 });
    expect(f.message).not.toMatch(/Deserialization|XML parse|\$response|mismatched/);
    // The error itself is reworded, so any code that prints err.message is clear too.
    expect((err as Error).message).toBe(text);
    expect((err as { sdkMessage?: string }).sdkMessage).toMatch(/XML parse error|Unknown/);
  });

  it('REST-JSON (EKS) with an HTML page is caught too', async () => {
    answer = { status: 404, type: 'text/html', body: MOTO_404 };
    const eks = new EKSClient(cfg());
    tagAwsCalls(eks.middlewareStack, 'eks');
    const err = await caught(eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName: 'c', principalArn: 'arn:aws:iam::123456789012:role/R' })));
    expect(describeAwsError(err)).toContain('eks:ListAssociatedAccessPolicies with an unexpected non-AWS response (HTTP 404)');
  });

  it('a real AWS error is not mistaken for one', async () => {
    answer = { status: 403, type: 'text/xml', body: DENIED };
    const err = await caught(iam().send(new GetRoleCommand({ RoleName: 'R' })));
    expect(nonAwsResponse(err)).toBeUndefined();
    // Told apart by the SDK's own marks, not by its words: an AWS error is a ServiceException ($fault).
    expect((err as { $response?: unknown }).$response).toBeDefined();
    expect((err as { $fault?: unknown }).$fault).toBe('client');
  });
});

describe('AccessDenied names the missing permission', () => {
  it('from the call when AWS says only "Access denied"', async () => {
    answer = { status: 403, type: 'text/xml', body: DENIED };
    const err = await caught(iam().send(new PutRolePolicyCommand({ RoleName: 'Existing', PolicyName: 'P', PolicyDocument: '{}' })));
    const f = awsFailure(err, 'setting up IAM role Existing', undefined);
    // AWS's own name stays available beside our code.
    expect(f).toMatchObject({ code: 'AWS_ACCESS_DENIED', awsCode: 'AccessDenied', exitCode: 1 });
    expect(f.message).toContain('may not call iam:PutRolePolicy on IAM role Existing (policy P)');
    expect(f.hint).toContain('Grant the identity you run this with iam:PutRolePolicy');
  });

  it("from AWS's own message when it names action and resource", () => {
    const err = Object.assign(new Error('User: arn:aws:iam::1:user/u is not authorized to perform: iam:PutRolePolicy on resource: arn:aws:iam::1:role/X because no identity-based policy allows the iam:PutRolePolicy action'), { name: 'AccessDenied' });
    expect(awsFailure(err, 'x', undefined).message).toContain('may not call iam:PutRolePolicy on arn:aws:iam::1:role/X');
  });
});

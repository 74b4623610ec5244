// Stand-in aws CLI v2, only `aws eks get-token --cluster-name X [--region R] [--output json]`:
// prints the ExecCredential kubectl and client-node expect. The token is presigned here with
// node:crypto (independently of @smithy/signature-v4, which the fake API server verifies with),
// as botocore does: GET, empty-payload hash, X-Amz-Expires=60, x-k8s-aws-id signed.
import { createHash, createHmac } from 'node:crypto';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const hmac = (key, s) => createHmac('sha256', key).update(s).digest();
const sha256 = (s) => createHash('sha256').update(s).digest('hex');
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

if (argv[0] === '--version') {
  process.stdout.write('aws-cli/2.17.0 Python/3.12.0 Linux/6.0 exe/x86_64 (test cloud stand-in)\n');
} else if (argv[0] === 'eks' && argv[1] === 'get-token') {
  const cluster = flag('--cluster-name');
  const region = flag('--region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const { AWS_ACCESS_KEY_ID: akid, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: session } = process.env;
  if (!cluster) {
    process.stderr.write('aws: error: the following arguments are required: --cluster-name\n');
    process.exit(252);
  }
  if (!akid || !secret) {
    process.stderr.write('\nUnable to locate credentials. You can configure credentials by running "aws configure".\n');
    process.exit(253);
  }
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL_STS ?? process.env.AWS_ENDPOINT_URL ?? `https://sts.${region}.amazonaws.com/`);
  const now = new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/sts/aws4_request`;
  const params = {
    Action: 'GetCallerIdentity',
    Version: '2011-06-15',
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${akid}/${scope}`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': '60',
    'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
    ...(session ? { 'X-Amz-Security-Token': session } : {}),
  };
  const query = Object.keys(params).sort().map((k) => `${enc(k)}=${enc(params[k])}`).join('&');
  const canonical = ['GET', '/', query, `host:${endpoint.host}\nx-k8s-aws-id:${cluster}\n`, 'host;x-k8s-aws-id', sha256('')].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 'sts'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const url = `${endpoint.protocol}//${endpoint.host}/?${query}&X-Amz-Signature=${signature}`;
  const token = `k8s-aws-v1.${Buffer.from(url).toString('base64url').replace(/=+$/, '')}`;
  const expires = new Date(now.getTime() + 14 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  process.stdout.write(JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1beta1', spec: {}, status: { expirationTimestamp: expires, token } }) + '\n');
} else {
  process.stderr.write(`aws: error: this stand-in only implements "aws eks get-token" (got: ${argv.join(' ')})\n`);
  process.exit(252);
}

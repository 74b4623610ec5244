// One loopback HTTP server for STS, IAM and EKS. The service is read from the SigV4 credential
// scope (…/us-east-1/<iam|sts|eks>/aws4_request), as a fake behind a single endpoint must.
// Every request is signature-checked against the keys the cloud knows, logged, and may be
// failed, delayed or reset by the fault injector. /__control/* is the test-only control API
// the stand-in eksctl talks to.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallLog, Faults, faultName, sleep, type FaultKind } from '../calls.js';
import { EKS_MUTATING, eksRoute, type EksRoute, type FakeEks } from './eks.js';
import { IAM_MUTATING, type FakeIam } from './iam.js';
import { parseAuthorization, verifyRequestSignature, type KeyStore, type Principal } from './identity.js';
import { evaluate } from './policy.js';
import { handleSts } from './sts.js';
import { AwsError, IAM_NS, jsonError, parseForm, queryError, STS_NS, type Reply } from './xml.js';

export interface ControlReply {
  status: number;
  body: unknown;
}

export interface AwsBackend {
  iam: FakeIam;
  eks: FakeEks;
  keys: KeyStore;
  log: CallLog;
  faults: Faults;
  verifySignatures: boolean;
  control(method: string, path: string, body: unknown): Promise<ControlReply>;
}

type Protocol = 'query' | 'json';

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { ...reply.headers, Date: new Date().toUTCString(), 'Content-Length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
}

/** What moto 5 (werkzeug's NotFound) answers, status 404, for an action it does not implement,
 * e.g. iam:SimulatePrincipalPolicy: the SDK reads it as "XML parse error: mismatched tags". */
export const MOTO_NOT_FOUND_HTML =
  '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';

function faultError(kind: Exclude<FaultKind, 'reset' | 'slow' | 'hold' | 'html-404'>, protocol: Protocol): AwsError {
  if (kind === 'throttle') return protocol === 'query' ? new AwsError(400, 'Throttling', 'Rate exceeded') : new AwsError(429, 'ThrottlingException', 'Rate exceeded');
  if (kind === '500') return protocol === 'query' ? new AwsError(500, 'InternalFailure', 'An internal error occurred.') : new AwsError(500, 'ServerException', 'An internal error occurred.');
  return new AwsError(kind.status, kind.code, kind.message);
}

/** The IAM action and resource a request needs, for callers whose permissions we enforce. */
function actionAndResource(service: string, op: string, params: Map<string, string>, route: EksRoute, be: AwsBackend): [string, string] {
  const { cluster, associationId } = route;
  const eksArn = (what: string) => `arn:aws:eks:${be.eks.region}:${be.iam.accountId}:${what}`;
  if (service === 'eks') return [`eks:${op}`, !cluster ? '*' : associationId ? eksArn(`podidentityassociation/${cluster}/${associationId}`) : eksArn(`cluster/${cluster}`)];
  const role = params.get('RoleName');
  return [`${service}:${op}`, role ? `arn:aws:iam::${be.iam.accountId}:role/${role}` : (params.get('OpenIDConnectProviderArn') ?? '*')];
}

/** JSON body of an EKS request ({} when empty). */
function eksBody(body: Buffer): Record<string, unknown> {
  if (!body.length) return {};
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new AwsError(400, 'SerializationException', 'Could not parse request body into json');
  }
}

async function authenticate(be: AwsBackend, req: http.IncomingMessage, body: Buffer, service: string): Promise<Principal> {
  const auth = parseAuthorization(req.headers.authorization);
  const json = service === 'eks';
  if (!auth) throw new AwsError(403, json ? 'MissingAuthenticationTokenException' : 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  const token = req.headers['x-amz-security-token'];
  const state = be.keys.check(auth.accessKeyId, typeof token === 'string' ? token : undefined);
  if (state === 'unknown' || state === 'bad-token') {
    throw new AwsError(403, json ? 'UnrecognizedClientException' : 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  }
  if (state === 'expired') throw new AwsError(403, json ? 'ExpiredTokenException' : 'ExpiredToken', 'The security token included in the request is expired');
  const rec = be.keys.get(auth.accessKeyId)!;
  if (be.verifySignatures) {
    const date = String(req.headers['x-amz-date'] ?? '');
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    const when = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
    if (!(Math.abs(Date.now() - when) <= 15 * 60_000)) {
      throw new AwsError(403, json ? 'InvalidSignatureException' : 'SignatureDoesNotMatch', `Signature expired: ${date} is now earlier than the allowed clock skew of 15 minutes.`);
    }
    const ok = await verifyRequestSignature(rec, auth, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, host: req.headers.host ?? '', body });
    if (!ok) {
      throw new AwsError(
        403,
        json ? 'InvalidSignatureException' : 'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
  }
  return rec.principal;
}

async function handleAws(be: AwsBackend, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, only: AwsService | undefined): Promise<void> {
  const seq = be.log.nextSeq();
  const auth = parseAuthorization(req.headers.authorization);
  const form = req.method === 'POST' && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? parseForm(body.toString('utf8')) : new Map<string, string>();
  const service = auth?.service ?? (form.get('Version') === '2011-06-15' ? 'sts' : form.has('Action') ? 'iam' : 'eks');
  const protocol: Protocol = service === 'eks' ? 'json' : 'query';
  const ns = service === 'sts' ? STS_NS : IAM_NS;
  const route: EksRoute = service === 'eks' ? eksRoute(req.method ?? 'GET', req.url ?? '/') : { operation: form.get('Action') ?? 'Unknown' };
  const op = route.operation;
  const mutating = service === 'iam' ? IAM_MUTATING.test(op) : service === 'eks' ? EKS_MUTATING.test(op) : false;
  const record = (status: number, caller?: string, fault?: string) =>
    be.log.add({ service: service as 'sts' | 'iam' | 'eks', operation: op, mutating, status, seq, caller, fault, cluster: route.cluster });

  const delay = be.faults.delayFor(op);
  if (delay) await sleep(delay);
  const fault = be.faults.take(op);
  if (fault === 'reset') {
    record(0, undefined, 'reset');
    req.socket.destroy();
    return;
  }
  if (fault === 'slow') await sleep(be.faults.slowMs);
  if (fault === 'html-404') {
    record(404, undefined, 'html-404');
    send(res, { status: 404, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: MOTO_NOT_FOUND_HTML });
    return;
  }

  let reply: Reply;
  let caller: string | undefined;
  try {
    if (fault && fault !== 'slow' && fault !== 'hold') throw faultError(fault, protocol);
    if (service !== 'iam' && service !== 'sts' && service !== 'eks') throw new AwsError(400, 'UnknownService', `No such service: ${service}`);
    if (only && service !== only) {
      throw new AwsError(403, protocol === 'json' ? 'InvalidSignatureException' : 'SignatureDoesNotMatch', `Credential should be scoped to correct service: '${only}'. `);
    }
    const principal = await authenticate(be, req, body, service);
    caller = principal.arn;
    // Sessions of roles this IAM knows are held to their role's policies, like AWS does.
    const role = principal.arn.includes(':assumed-role/') ? be.iam.roleByArn(principal.iamArn) : undefined;
    const json = service === 'eks' ? eksBody(body) : {};
    if (role && !(service === 'sts' && op === 'GetCallerIdentity')) {
      const needs = [actionAndResource(service, op, form, route, be)];
      // EKS docs (pod-id-association): whoever creates an association needs iam:PassRole on its role.
      if (/^(Create|Update)PodIdentityAssociation$/.test(op) && typeof json.roleArn === 'string') needs.push(['iam:PassRole', json.roleArn]);
      for (const [action, resource] of needs) {
        if (evaluate(be.iam.policiesOf(role), action, resource).decision !== 'allowed') {
          throw new AwsError(403, protocol === 'json' ? 'AccessDeniedException' : 'AccessDenied', `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`);
        }
      }
    }
    if (service === 'iam') reply = be.iam.handle(op, form, principal);
    else if (service === 'sts') reply = handleSts(op, form, principal, be.iam, be.keys);
    else {
      const url = new URL(req.url ?? '/', 'http://x');
      reply = be.eks.handle(route, req.method ?? 'GET', url.searchParams, json, principal);
    }
  } catch (e) {
    const err = e instanceof AwsError ? e : new AwsError(500, protocol === 'json' ? 'ServerException' : 'InternalFailure', `test cloud bug: ${(e as Error).stack ?? String(e)}`);
    if (!(e instanceof AwsError)) console.error('[test-cloud aws]', e);
    reply = protocol === 'json' ? jsonError(err) : queryError(ns, err);
  }
  record(reply.status, caller, fault ? faultName(fault) : undefined);
  if (fault === 'hold') await sleep(be.faults.slowMs);
  send(res, reply);
}

export type AwsService = 'iam' | 'sts' | 'eks';

export interface AwsServer {
  /** Accepts every service (like LocalStack's single endpoint). */
  url: string;
  /** One endpoint per service, each refusing requests signed for another service, as AWS does. */
  urls: Record<AwsService, string>;
  close(): Promise<void>;
}

async function listen(be: AwsBackend, only: AwsService | undefined): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = req.url ?? '/';
      if (url.startsWith('/__control/')) {
        let parsed: unknown;
        try {
          parsed = body.length ? JSON.parse(body.toString('utf8')) : undefined;
        } catch {
          // A control call with a broken body gets the defaults.
        }
        const out = await be.control(req.method ?? 'GET', url.slice('/__control'.length), parsed).catch((e: unknown) => ({ status: 500, body: { message: String(e) } }));
        const text = JSON.stringify(out.body ?? {});
        res.writeHead(out.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      await handleAws(be, req, res, body, only);
    })().catch((e: unknown) => {
      console.error('[test-cloud aws]', e);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // The SDK keeps connections alive; don't let a test's stop() wait on them.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function startAwsServer(be: AwsBackend): Promise<AwsServer> {
  const [shared, iam, sts, eks] = await Promise.all([listen(be, undefined), listen(be, 'iam'), listen(be, 'sts'), listen(be, 'eks')]);
  return {
    url: shared.url,
    urls: { iam: iam.url, sts: sts.url, eks: eks.url },
    close: async () => void (await Promise.all([shared, iam, sts, eks].map((x) => x.close()))),
  };
}

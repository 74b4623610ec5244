// Turning AWS SDK errors into the tool's typed errors, each with its code (src/errors.ts). The
// SDK names modeled errors "<Code>Exception" (NoSuchEntityException) and unmodeled ones by their
// bare code (AccessDenied), so codes are compared without the suffix; the SDK's own name stays on
// our error as `awsCode` (and the SDK error itself as `cause`).
import type { HandlerExecutionContext, MiddlewareStack } from '@smithy/types';
import { AWS_MUTATING, auditLine, awsTarget } from '../audit.js';
import { KpoError } from '../errors.js';

/**
 * The only AWS conditions told apart by message text, here and nowhere else: AWS and the SDK give
 * them no error name, status or field of their own, so the words are all there is.
 */
export const ONLY_IN_TEXT = {
  /** IAM MalformedPolicyDocument for a principal it cannot see yet (a role created seconds ago),
   * versus a policy that is really malformed: same code, only the message differs. */
  invalidPrincipal: /invalid principal/i,
  /** EKS InvalidParameter for an access entry's principal it cannot see yet (IAM propagation),
   * versus a malformed ARN (never retried): same code, only the message differs. */
  principalNotVisible: (message: string) => /principal/i.test(message) && !/invalid arn/i.test(message) && /invalid|exist|not found/i.test(message),
  /** EKS InvalidParameter "Role provided in the request does not exist" for a Pod Identity
   * association naming a role created seconds ago (IAM propagation; terraform-provider-aws#34717
   * retries it), versus a malformed one (never retried): same code, only the message differs. */
  roleNotVisible: (message: string) => /\brole\b.*\bdoes not exist\b/i.test(message),
  /** The default credential chain's last link (credential-provider-node): a CredentialsProviderError
   * like every provider's, only its message says that no provider had credentials. */
  chainFellThrough: /could not load credentials from any providers/i,
  /** A provider that found no credentials (the chain's last link, fromIni's "Could not resolve
   * credentials using profile"), when the error reaches us under another name. */
  noCredentials: /could not (load|resolve) credentials/i,
  /** The SSO providers' CredentialsProviderError/TokenProviderError: no field names SSO or says
   * that the session expired; their messages do ("The SSO session … has expired"). */
  sso: /\bsso\b/i,
  ssoStale: /expired|invalid|refresh/i,
  /** A rejected token whose code is not ExpiredToken (InvalidClientTokenId) may still say why. */
  expired: /expired/i,
  /** The SDK's placeholder when an error answer carried no message at all ("Unknown" for the
   * query protocol, "UnknownError" for JSON): the answer was not AWS's. */
  noMessage: (message: string) => message === 'Unknown' || message === 'UnknownError',
} as const;

/** The SDK error's own name (NoSuchEntityException, AccessDenied), for `awsCode`. */
function sdkErrorName(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  return [e.Code, e.name, e.code].find((v): v is string => typeof v === 'string' && v !== 'Error' && v !== '');
}

/** The error code without a trailing "Exception", e.g. "NoSuchEntity", "ResourceNotFound". */
export function awsErrorCode(err: unknown): string | undefined {
  if (err instanceof KpoError) return undefined;
  return sdkErrorName(err)?.replace(/Exception$/, '');
}

export function isAwsNotFound(err: unknown): boolean {
  const code = awsErrorCode(err);
  return code === 'NoSuchEntity' || code === 'ResourceNotFound';
}

/** A read whose "not found" means "there is none": undefined then; any other error stays an error. */
export async function unlessNotFound<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isAwsNotFound(err)) return undefined;
    throw err;
  }
}

const TOKEN_CODES = new Set([
  'InvalidClientTokenId',
  'ExpiredToken',
  'UnrecognizedClient',
  'InvalidSignature',
  'SignatureDoesNotMatch',
  'RequestExpired',
  'IncompleteSignature',
  'InvalidToken',
]);

/** What the credential chain knew when it failed (aws/clients.ts records it on the error). */
export interface CredentialNote {
  /** The named profile's own reason, when the chain's error says only "from any providers". */
  reason?: string;
  /** AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set but were not used: a profile comes first. */
  envKeysPassedOver: boolean;
}

const CREDENTIAL_NOTE = Symbol.for('astro-remote-kpo.credential-note');

export function noteCredentialFailure(err: unknown, note: CredentialNote): void {
  if (err && typeof err === 'object') Object.defineProperty(err, CREDENTIAL_NOTE, { value: note, enumerable: false, configurable: true });
}

function credentialNote(err: unknown): CredentialNote | undefined {
  return err && typeof err === 'object' ? (err as Record<symbol, CredentialNote | undefined>)[CREDENTIAL_NOTE] : undefined;
}

/** The one line the SDK says in a warning of its own (console.warn) that the user needs, said by
 * us instead: keys in the environment lose to the profile. */
const ENV_KEYS_PASSED_OVER =
  ' AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set too, but the AWS SDK uses the profile instead of them: to use those keys, leave out --profile and unset AWS_PROFILE.';

/** Missing, expired or rejected credentials → CREDENTIALS_* (exit 3) with what to do; anything else → undefined. */
export function credentialError(err: unknown, profile: string | undefined): KpoError | undefined {
  if (err instanceof KpoError) return err.code.startsWith('CREDENTIALS_') ? err : undefined;
  const code = awsErrorCode(err);
  const awsCode = sdkErrorName(err);
  const note = credentialNote(err);
  const message = note?.reason ?? (err instanceof Error ? err.message : String(err));
  const who = profile ? `profile "${profile}"` : 'the default credential chain';
  const envKeys = note?.envKeysPassedOver ? ENV_KEYS_PASSED_OVER : '';
  const sso = ONLY_IN_TEXT.sso.test(message) || code === 'TokenProvider' || code === 'Unauthorized';
  if (sso && (code === 'CredentialsProviderError' || code === 'TokenProviderError' || code === 'Unauthorized' || ONLY_IN_TEXT.ssoStale.test(message))) {
    return new KpoError(
      'CREDENTIALS_SSO_EXPIRED',
      `The AWS SSO session for ${who} has expired or is not valid (${message.trim()}).`,
      `Run \`aws sso login${profile ? ` --profile ${profile}` : ''}\` and then this command again.${envKeys}`,
      { cause: err, ...(awsCode ? { awsCode } : {}) },
    );
  }
  if (code === 'CredentialsProviderError' || code === 'CredentialsProvider' || ONLY_IN_TEXT.noCredentials.test(message)) {
    return new KpoError(
      'CREDENTIALS_MISSING',
      `No AWS credentials found for ${who} (${message.trim().replace(/\.$/, '')}).`,
      profile
        ? `Check that ~/.aws/config (or ~/.aws/credentials) has profile ${profile} with credentials, or log in (\`aws sso login --profile ${profile}\` for an SSO profile).${envKeys}`
        : 'Pass --profile <name> (or set AWS_PROFILE), or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then run this command again.',
      { cause: err, ...(awsCode ? { awsCode } : {}) },
    );
  }
  if (code && TOKEN_CODES.has(code)) {
    const expired = code === 'ExpiredToken' || code === 'RequestExpired' || ONLY_IN_TEXT.expired.test(message);
    return new KpoError(
      expired ? 'CREDENTIALS_EXPIRED' : 'CREDENTIALS_REJECTED',
      `AWS rejected the credentials of ${who}: ${code}: ${message.trim()}`,
      expired
        ? `The session has expired: refresh it (${profile ? `\`aws sso login --profile ${profile}\`` : 'new temporary credentials'}) and run this command again.`
        : 'Check the access key / session token in use (e.g. `aws sts get-caller-identity`), then run this command again.',
      { cause: err, ...(awsCode ? { awsCode } : {}) },
    );
  }
  return undefined;
}

/** The call an SDK error came from, recorded on it by tagAwsCalls (e.g. iam:PutRolePolicy on role X). */
export interface AwsCallInfo {
  /** IAM-style action name, e.g. "iam:PutRolePolicy". */
  action: string;
  /** What it was called on, from the request: "IAM role X", "EKS cluster Y", an ARN. */
  resource?: string;
}

const CALL_INFO = Symbol.for('astro-remote-kpo.aws-call');
/** Set on an error whose answer was not AWS's: its HTTP status (the message is rewritten). */
const NON_AWS = Symbol.for('astro-remote-kpo.non-aws');

function resourceOf(service: string, input: Record<string, unknown>): string | undefined {
  const str = (k: string) => (typeof input[k] === 'string' && input[k] ? (input[k] as string) : undefined);
  const role = str('RoleName');
  if (role) return `IAM role ${role}${str('PolicyName') ? ` (policy ${str('PolicyName')})` : ''}`;
  const cluster = str('clusterName') ?? (service === 'eks' ? str('name') : undefined);
  const inCluster = str('principalArn') ? ` (access entry ${str('principalArn')})` : str('associationId') ? ` (Pod Identity association ${str('associationId')})` : str('serviceAccount') ? ` (Pod Identity association of ${str('namespace') ?? '?'}/${str('serviceAccount')})` : '';
  if (cluster) return `EKS cluster ${cluster}${inCluster}`;
  return str('PolicySourceArn') ?? str('PolicyArn') ?? str('RoleArn') ?? str('OpenIDConnectProviderArn') ?? (str('Url') ? `the IAM OIDC provider of ${str('Url')}` : undefined) ?? str('resourceArn');
}

/**
 * The one middleware on every AWS client (at the initialize step: above the SDK's own retries).
 * It records on every error which operation failed and on what, so one place (awsFailure) can name
 * the missing permission ("iam:PutRolePolicy on IAM role X") or the API an emulator does not
 * implement, whatever code made the call; and, given `audit`, logs every mutating call once with
 * its outcome (logs/debug.log).
 */
export function tagAwsCalls<I extends object, O extends object>(stack: MiddlewareStack<I, O>, service: 'iam' | 'sts' | 'eks', audit?: (line: string) => void): void {
  stack.add(
    (next, context: HandlerExecutionContext) => async (args) => {
      const op = String(context.commandName ?? 'call').replace(/Command$/, '');
      const log = audit && AWS_MUTATING.test(op) ? (outcome: string) => audit(auditLine({ service, operation: op, target: awsTarget(args.input), outcome })) : undefined;
      try {
        const r = await next(args);
        log?.('ok');
        return r;
      } catch (err) {
        if (err && typeof err === 'object' && !(CALL_INFO in err)) {
          const info: AwsCallInfo = { action: `${service}:${op}` };
          const resource = resourceOf(service, (args.input ?? {}) as Record<string, unknown>);
          if (resource) info.resource = resource;
          Object.defineProperty(err, CALL_INFO, { value: info, enumerable: false });
          // Whoever prints this error later (a plan item, the runner, the top-level catch) shows
          // one clear sentence instead of the SDK's parser text; the original stays in sdkMessage.
          const odd = nonAwsResponse(err);
          if (odd && err instanceof Error) {
            Object.defineProperty(err, NON_AWS, { value: odd, enumerable: false });
            Object.defineProperty(err, 'sdkMessage', { value: err.message, enumerable: false });
            err.message = nonAwsMessage(err, odd.status);
          }
        }
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        log?.(`failed ${e.name ?? 'Error'}${e.$metadata?.httpStatusCode ? ` (${e.$metadata.httpStatusCode})` : ''}`);
        throw err;
      }
    },
    { step: 'initialize', name: 'kpoCallInfo' },
  );
}

export function awsCallInfo(err: unknown): AwsCallInfo | undefined {
  return err && typeof err === 'object' ? ((err as Record<symbol, AwsCallInfo | undefined>)[CALL_INFO] ?? undefined) : undefined;
}

/**
 * An answer the SDK could not read as AWS's: an emulator's HTML 404 for an API it lacks (moto:
 * "XML parse error: mismatched tags"), a proxy's error page, JSON where XML was expected. The SDK
 * marks these itself: its deserializer attaches the raw `$response` to every error it throws, and
 * one it could not turn into an AWS error is no ServiceException (it has no `$fault`, which every
 * AWS error has: ServiceException.isInstance); or an error answer without any message at all
 * (ONLY_IN_TEXT.noMessage). Returns the HTTP status when `err` is one.
 */
export function nonAwsResponse(err: unknown): { status?: number } | undefined {
  if (!err || typeof err !== 'object' || err instanceof KpoError) return undefined;
  const seen = (err as Record<symbol, { status?: number } | undefined>)[NON_AWS];
  if (seen) return seen;
  const e = err as { name?: unknown; message?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const message = typeof e.message === 'string' ? e.message : '';
  const sdkSaw = e.$metadata !== undefined || e.$response !== undefined;
  const unreadable =
    (e.$response !== undefined && e.$fault === undefined) ||
    (sdkSaw && e.name === 'SyntaxError') ||
    (sdkSaw && ONLY_IN_TEXT.noMessage(message));
  return unreadable ? (status !== undefined ? { status } : {}) : undefined;
}

/** The endpoint does not offer this API (an emulator): a non-AWS answer, HTTP 501, or an
 * "unknown operation" code. Callers that can do without the answer say so and go on. */
export function isUnimplemented(err: unknown): boolean {
  if (nonAwsResponse(err)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status === 501 || /^(NotImplemented|UnknownOperation|InvalidAction)$/.test(awsErrorCode(err) ?? '');
}

/** The one-line reason for an unreadable answer, never the SDK's parser text. */
export function nonAwsMessage(err: unknown, status: number | undefined): string {
  const action = awsCallInfo(err)?.action ?? 'the call';
  return `the endpoint answered ${action} with an unexpected non-AWS response${status !== undefined ? ` (HTTP ${status})` : ''}; is this API implemented by your emulator?`;
}

/** A short, true description of an AWS error for a row or a note (no SDK parser text). */
export function describeAwsError(err: unknown): string {
  const odd = nonAwsResponse(err);
  if (odd) return nonAwsMessage(err, odd.status);
  const code = awsErrorCode(err);
  const message = (err instanceof Error ? err.message : String(err)).trim();
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}

/** "AWS denied iam:PutRolePolicy on IAM role X": from AWS's own message when it says, else from the call. */
function deniedWhat(err: unknown, message: string): { action?: string; resource?: string } {
  const m = /not authorized to perform:? (\S+?)(?: on resource:? (\S+?))?(?: because|\.?$|\s)/i.exec(message);
  const info = awsCallInfo(err);
  return { action: m?.[1] ?? info?.action, resource: m?.[2] ?? info?.resource };
}

/** Throttling after the SDK's own retries: as the SDK's retry strategy classifies it (its
 * THROTTLING_ERROR_CODES, a 429, the throttling trait), without LimitExceeded (IAM's quota error). */
const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'ThrottledException', 'SlowDown', 'BandwidthLimitExceeded']);
const QUOTA = new Set(['LimitExceeded', 'ResourceLimitExceeded', 'ServiceQuotaExceeded']);

function isThrottled(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return e.$metadata?.httpStatusCode === 429 || e.$retryable?.throttling === true || THROTTLING.has(sdkErrorName(err) ?? '');
}

/** One error shape for every failed AWS call: credential problems exit 3, the rest fail the stage. */
export function awsFailure(err: unknown, what: string, profile: string | undefined): KpoError {
  if (err instanceof KpoError) return err;
  const cred = credentialError(err, profile);
  if (cred) return cred;
  const awsCode = sdkErrorName(err);
  const options = { cause: err, ...(awsCode ? { awsCode } : {}) };
  const odd = nonAwsResponse(err);
  if (odd) {
    return new KpoError(
      'AWS_UNUSABLE_ANSWER',
      `${what}: ${nonAwsMessage(err, odd.status)}`,
      'Check the AWS_ENDPOINT_URL* settings; against an emulator, this step needs an AWS API it may not offer.',
      options,
    );
  }
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'AccessDenied' || code === 'UnauthorizedOperation') {
    const d = deniedWhat(err, message);
    const perm = d.action ? `${d.action}${d.resource ? ` on ${d.resource}` : ''}` : undefined;
    return new KpoError(
      'AWS_ACCESS_DENIED',
      `${what}: access denied${perm ? `: the AWS identity in use may not call ${perm}` : ''} (${message.trim()}).`,
      perm
        ? `Grant the identity you run this with ${d.action}${d.resource ? ` on ${d.resource}` : ''} (see "Permissions the person running the tool needs" in docs/aws.md), or run it as an identity that has it.`
        : 'The AWS identity in use needs IAM and EKS permissions for this step; see "Permissions the person running the tool needs" in docs/aws.md.',
      options,
    );
  }
  const text = `${what}: ${code ?? 'error'}: ${message.trim()}`;
  if (isThrottled(err)) return new KpoError('AWS_THROTTLED', text, 'AWS kept throttling the calls after retrying them: wait a minute, then run this command again.', options);
  if (QUOTA.has(code ?? '')) return new KpoError('AWS_QUOTA_EXCEEDED', text, 'Free some of what the quota counts, or raise it (Service Quotas), then run this command again.', options);
  return new KpoError('AWS_REQUEST_FAILED', text, undefined, options);
}

/** Runs one AWS step, converting its failure with awsFailure. */
export async function callAws<T>(what: string, profile: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw awsFailure(err, what, profile);
  }
}

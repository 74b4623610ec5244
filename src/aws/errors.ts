// Turning AWS SDK errors into the tool's typed errors. The SDK names modeled errors
// "<Code>Exception" (NoSuchEntityException) and unmodeled ones by their bare code (AccessDenied),
// so codes are compared without the suffix.
import type { HandlerExecutionContext, MiddlewareStack } from '@smithy/types';
import { AWS_MUTATING, auditLine, awsTarget } from '../audit.js';
import { KpoError, PrerequisiteError, StageFailedError } from '../errors.js';

/** The error code without a trailing "Exception", e.g. "NoSuchEntity", "ResourceNotFound". */
export function awsErrorCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  const raw = [e.Code, e.name, e.code].find((v): v is string => typeof v === 'string' && v !== 'Error' && v !== '');
  return raw?.replace(/Exception$/, '');
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

/** Missing, expired or rejected credentials → exit 3 with what to do; anything else → undefined. */
export function credentialError(err: unknown, profile: string | undefined): PrerequisiteError | undefined {
  const code = awsErrorCode(err);
  const note = credentialNote(err);
  const message = note?.reason ?? (err instanceof Error ? err.message : String(err));
  const who = profile ? `profile "${profile}"` : 'the default credential chain';
  const envKeys = note?.envKeysPassedOver ? ENV_KEYS_PASSED_OVER : '';
  const sso = /\bsso\b/i.test(message) || code === 'TokenProvider' || code === 'Unauthorized';
  if (sso && (code === 'CredentialsProviderError' || code === 'TokenProviderError' || code === 'Unauthorized' || /expired|invalid|refresh/i.test(message))) {
    return new PrerequisiteError(
      `The AWS SSO session for ${who} has expired or is not valid (${message.trim()}).`,
      `Run \`aws sso login${profile ? ` --profile ${profile}` : ''}\` and then this command again.${envKeys}`,
      { cause: err },
    );
  }
  if (code === 'CredentialsProviderError' || code === 'CredentialsProvider' || /could not (load|resolve) credentials/i.test(message)) {
    return new PrerequisiteError(
      `No AWS credentials found for ${who} (${message.trim().replace(/\.$/, '')}).`,
      profile
        ? `Check that ~/.aws/config (or ~/.aws/credentials) has profile ${profile} with credentials, or log in (\`aws sso login --profile ${profile}\` for an SSO profile).${envKeys}`
        : 'Pass --profile <name> (or set AWS_PROFILE), or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then run this command again.',
      { cause: err },
    );
  }
  if (code && TOKEN_CODES.has(code)) {
    const expired = /expired/i.test(code) || /expired/i.test(message);
    return new PrerequisiteError(
      `AWS rejected the credentials of ${who}: ${code}: ${message.trim()}`,
      expired
        ? `The session has expired: refresh it (${profile ? `\`aws sso login --profile ${profile}\`` : 'new temporary credentials'}) and run this command again.`
        : 'Check the access key / session token in use (e.g. `aws sts get-caller-identity`), then run this command again.',
      { cause: err },
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
  if (cluster) return `EKS cluster ${cluster}${str('principalArn') ? ` (access entry ${str('principalArn')})` : ''}`;
  return str('PolicySourceArn') ?? str('PolicyArn') ?? str('RoleArn');
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
 * reports these as "Deserialization error", a SyntaxError, or a code-less "Unknown"; returns the
 * HTTP status when `err` is one of them.
 */
export function nonAwsResponse(err: unknown): { status?: number } | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const seen = (err as Record<symbol, { status?: number } | undefined>)[NON_AWS];
  if (seen) return seen;
  const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const message = typeof e.message === 'string' ? e.message : '';
  const sdkSaw = e.$metadata !== undefined || e.$response !== undefined;
  const unreadable =
    /Deserialization error|XML parse error|is not valid JSON/i.test(message) ||
    (sdkSaw && e.name === 'SyntaxError') ||
    // A body with no AWS error code or message at all: the SDK names it after the status.
    (sdkSaw && (message === 'Unknown' || message === 'UnknownError'));
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

/** One error shape for every failed AWS call: credential problems exit 3, the rest fail the stage. */
export function awsFailure(err: unknown, what: string, profile: string | undefined): KpoError {
  if (err instanceof KpoError) return err;
  const cred = credentialError(err, profile);
  if (cred) return cred;
  const odd = nonAwsResponse(err);
  if (odd) {
    return new StageFailedError(
      `${what}: ${nonAwsMessage(err, odd.status)}`,
      'Check the AWS_ENDPOINT_URL* settings; against an emulator, this step needs an AWS API it may not offer.',
      { cause: err },
    );
  }
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'AccessDenied' || code === 'UnauthorizedOperation') {
    const d = deniedWhat(err, message);
    const perm = d.action ? `${d.action}${d.resource ? ` on ${d.resource}` : ''}` : undefined;
    return new StageFailedError(
      `${what}: access denied${perm ? `: the AWS identity in use may not call ${perm}` : ''} (${message.trim()}).`,
      perm
        ? `Grant the identity you run this with ${d.action}${d.resource ? ` on ${d.resource}` : ''} (see "Permissions the person running the tool needs" in docs/aws.md), or run it as an identity that has it.`
        : 'The AWS identity in use needs IAM and EKS permissions for this step; see "Permissions the person running the tool needs" in docs/aws.md.',
      { cause: err },
    );
  }
  return new StageFailedError(`${what}: ${code ?? 'error'}: ${message.trim()}`, undefined, { cause: err });
}

/** Runs one AWS step, converting its failure with awsFailure. */
export async function callAws<T>(what: string, profile: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw awsFailure(err, what, profile);
  }
}

// Turning AWS SDK errors into the tool's typed errors. The SDK names modeled errors
// "<Code>Exception" (NoSuchEntityException) and unmodeled ones by their bare code (AccessDenied),
// so codes are compared without the suffix.
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

/** Missing, expired or rejected credentials → exit 3 with what to do; anything else → undefined. */
export function credentialError(err: unknown, profile: string | undefined): PrerequisiteError | undefined {
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const who = profile ? `profile "${profile}"` : 'the default credential chain';
  const sso = /\bsso\b/i.test(message) || code === 'TokenProvider' || code === 'Unauthorized';
  if (sso && (code === 'CredentialsProviderError' || code === 'TokenProviderError' || code === 'Unauthorized' || /expired|invalid|refresh/i.test(message))) {
    return new PrerequisiteError(
      `The AWS SSO session for ${who} has expired or is not valid (${message.trim()}).`,
      `Run \`aws sso login${profile ? ` --profile ${profile}` : ''}\` and then this command again.`,
      { cause: err },
    );
  }
  if (code === 'CredentialsProviderError' || code === 'CredentialsProvider' || /could not load credentials/i.test(message)) {
    return new PrerequisiteError(
      `No AWS credentials found for ${who} (${message.trim()}).`,
      profile
        ? `Check the profile in ~/.aws/config, or log in (\`aws sso login --profile ${profile}\` for an SSO profile).`
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

/** One error shape for every failed AWS call: credential problems exit 3, the rest fail the stage. */
export function awsFailure(err: unknown, what: string, profile: string | undefined): KpoError {
  if (err instanceof KpoError) return err;
  const cred = credentialError(err, profile);
  if (cred) return cred;
  const code = awsErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'AccessDenied' || code === 'UnauthorizedOperation') {
    return new StageFailedError(
      `${what}: access denied (${message.trim()}).`,
      'The AWS identity in use needs IAM and EKS permissions for this step; see "Permissions the person running the tool needs" in docs/aws.md.',
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

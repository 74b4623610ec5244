// Errors from the Kubernetes API, each worded to say what to check. They are StageFailedErrors
// (exit 1, resumable) that still carry the HTTP status and the Status reason, so a stage can act
// on them (e.g. access-check falls back to impersonation on 403, create treats 409 AlreadyExists
// as "someone else created it").
import { StageFailedError } from '../errors.js';

/** A non-2xx answer from the API server. */
export class KubeRequestError extends StageFailedError {
  /** HTTP status (401, 403, 404, 409, 422, 5xx). */
  readonly status: number;
  /** The Status object's reason: NotFound, AlreadyExists, Forbidden, Invalid, ... */
  readonly reason?: string;
  constructor(message: string, status: number, reason?: string, hint?: string) {
    super(message, hint);
    this.status = status;
    this.reason = reason;
  }
}

/** The API server could not be reached at all (refused, DNS, timeout, TLS). */
export class KubeUnreachableError extends StageFailedError {
  readonly code?: string;
  constructor(message: string, code?: string, hint?: string, options?: { cause?: unknown }) {
    super(message, hint, options);
    this.code = code;
  }
}

export function isKubeStatus(err: unknown, status: number): err is KubeRequestError {
  return err instanceof KubeRequestError && err.status === status;
}

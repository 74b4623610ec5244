// Errors from the Kubernetes API, each worded to say what to check. Their code follows from the
// HTTP status and the Status object's reason (never from the wording), and they still carry both,
// so a stage can act on them (e.g. access-check falls back to impersonation on 403, create treats
// 409 AlreadyExists as "someone else created it").
import { KpoError, type ErrorCode, type KpoErrorOptions } from '../errors.js';

/** The code of a non-2xx answer: by status, and for 409 by the Status reason (AlreadyExists vs Conflict). */
export function kubeErrorCode(status: number, reason: string | undefined): ErrorCode {
  if (status === 401) return 'KUBE_UNAUTHORIZED';
  if (status === 403) return 'KUBE_FORBIDDEN';
  if (status === 404) return 'KUBE_NOT_FOUND';
  if (status === 409) return reason === 'AlreadyExists' ? 'KUBE_ALREADY_EXISTS' : 'KUBE_CONFLICT';
  if (status === 422) return 'KUBE_INVALID';
  return 'KUBE_REQUEST_FAILED';
}

/** A non-2xx answer from the API server. */
export class KubeRequestError extends KpoError {
  /** HTTP status (401, 403, 404, 409, 422, 5xx). */
  readonly status: number;
  /** The Status object's reason: NotFound, AlreadyExists, Forbidden, Invalid, ... */
  readonly reason?: string;
  /** The Status object's message, as the server wrote it (e.g. an admission plugin's refusal). */
  readonly serverMessage?: string;
  /** The Status object's details.kind: which resource the refusal is about (`users` when an
   * impersonation was refused, `pods` when the pod was). */
  readonly detailsKind?: string;
  constructor(message: string, status: number, reason?: string, hint?: string, server: { message?: string; detailsKind?: string } = {}) {
    super(kubeErrorCode(status, reason), message, hint);
    this.status = status;
    if (reason !== undefined) this.reason = reason;
    if (server.message !== undefined) this.serverMessage = server.message;
    if (server.detailsKind !== undefined) this.detailsKind = server.detailsKind;
  }
}

/** The API server could not be reached at all (refused, DNS, timeout: KUBE_UNREACHABLE; a
 * certificate that does not match: KUBE_TLS_FAILED). */
export class KubeUnreachableError extends KpoError {
  /** The network error's code (ECONNREFUSED, ETIMEDOUT, DEPTH_ZERO_SELF_SIGNED_CERT, ...). */
  readonly networkCode?: string;
  constructor(code: 'KUBE_UNREACHABLE' | 'KUBE_TLS_FAILED', message: string, networkCode?: string, hint?: string, options?: KpoErrorOptions) {
    super(code, message, hint, options);
    if (networkCode !== undefined) this.networkCode = networkCode;
  }
}

/** A write refused because the object changed since it was read (409 Conflict on replace, or a
 * failed delete precondition): read again and redo. */
export function kubeConflict(message: string): KpoError {
  return new KpoError('KUBE_CONFLICT', message, 'Run the same command again.');
}

export function isKubeStatus(err: unknown, status: number): err is KubeRequestError {
  return err instanceof KubeRequestError && err.status === status;
}

// Kubernetes `Status` failures exactly as kube-apiserver 1.28 writes them (see the wire samples).
import { qualified, type ResourceType } from './store.js';

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: Record<string, unknown>;
  code: number;
}

/** Thrown by handlers; the server writes `body` with `body.code`. */
export class KubeError extends Error {
  constructor(readonly body: StatusBody) {
    super(body.message);
  }
}

export function failure(code: number, reason: string, message: string, details?: Record<string, unknown>): KubeError {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
  return new KubeError(body);
}

function details(t: ResourceType, name: string | undefined): Record<string, unknown> {
  return { ...(name ? { name } : {}), ...(t.group ? { group: t.group } : {}), kind: t.resource };
}

export const notFound = (t: ResourceType, name: string) => failure(404, 'NotFound', `${qualified(t)} "${name}" not found`, details(t, name));
export const alreadyExists = (t: ResourceType, name: string) => failure(409, 'AlreadyExists', `${qualified(t)} "${name}" already exists`, details(t, name));
export const conflict = (t: ResourceType, name: string) =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, details(t, name));
/** What kube-apiserver answers when a DeleteOptions precondition does not hold (409 Conflict). */
export const preconditionFailed = (t: ResourceType, name: string, field: 'UID' | 'ResourceVersion', wanted: string, actual: string) =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${name}": Precondition failed: ${field} in precondition: ${wanted}, ${field} in object meta: ${actual}`, details(t, name));
export const forbidden = (t: ResourceType | undefined, name: string | undefined, message: string) =>
  failure(403, 'Forbidden', message, t ? details(t, name) : undefined);
export const badRequest = (message: string) => failure(400, 'BadRequest', message);
export const unauthorized = () => failure(401, 'Unauthorized', 'Unauthorized');
export const methodNotAllowed = () => failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
export const unsupportedMediaType = (ct: string) => failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${ct})`);
export const pathNotFound = () => failure(404, 'NotFound', 'the server could not find the requested resource');
export const tooManyRequests = () => failure(429, 'TooManyRequests', 'Too many requests, please try again later.');
export const internalError = (message: string) => failure(500, 'InternalError', `Internal error occurred: ${message}`);

export interface Cause {
  field: string;
  message: string;
  reason?: string;
}

/** 422 Invalid: `Namespace "Bad" is invalid: metadata.name: Invalid value: ...`. */
export function invalid(t: ResourceType, name: string, causes: Cause[]): KubeError {
  const kind = t.group ? `${t.kind}.${t.group}` : t.kind;
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${causes.length > 1 ? `[${text}]` : text}`, {
    name,
    ...(t.group ? { group: t.group } : {}),
    kind: t.kind,
    causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

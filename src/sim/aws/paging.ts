// Paging as IAM and EKS do it, for the list operations the tool reads. IAM (query protocol): the
// request's MaxItems (default 100) and Marker; a truncated answer carries IsTruncated=true and the
// next Marker, the last one IsTruncated=false and no Marker. EKS (REST-JSON): the query's
// maxResults (default 100) and nextToken; the answer carries nextToken only when more follow.
// The tokens are opaque to the client. `pageSize` on FakeIam/FakeEks lowers the default so a test
// can make a list span many pages.
import { AwsError } from './xml.js';

/** Where a page starts: the token is the offset, wrapped so that it looks as opaque as AWS's. */
const encode = (offset: number) => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');

function decode(token: string, invalid: () => AwsError): number {
  try {
    const o = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown }).o;
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    // fall through
  }
  throw invalid();
}

function size(raw: string | null | undefined, fallback: number, max: number, invalid: (v: string) => AwsError): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw invalid(raw);
  return n;
}

/** One IAM page: the items plus IsTruncated and, when truncated, Marker. */
export function iamPage<T>(items: readonly T[], params: Map<string, string>, defaultSize: number): { items: T[]; IsTruncated: boolean; Marker?: string } {
  const n = size(params.get('MaxItems'), defaultSize, 1000, (v) => new AwsError(400, 'ValidationError', `1 validation error detected: Value '${v}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`));
  const marker = params.get('Marker');
  const start = marker ? decode(marker, () => new AwsError(400, 'ValidationError', 'Invalid Marker.')) : 0;
  const end = start + n;
  return end < items.length ? { items: items.slice(start, end), IsTruncated: true, Marker: encode(end) } : { items: items.slice(start), IsTruncated: false };
}

/** One EKS page: the items plus nextToken when more follow. */
export function eksPage<T>(items: readonly T[], query: URLSearchParams, defaultSize: number): { items: T[]; nextToken?: string } {
  const invalid = (what: string) => new AwsError(400, 'InvalidParameterException', what);
  const n = size(query.get('maxResults'), defaultSize, 100, (v) => invalid(`maxResults must be between 1 and 100, got ${v}`));
  const token = query.get('nextToken');
  const start = token ? decode(token, () => invalid('The nextToken is invalid.')) : 0;
  const end = start + n;
  return end < items.length ? { items: items.slice(start, end), nextToken: encode(end) } : { items: items.slice(start) };
}

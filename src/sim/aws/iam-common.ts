// What IAM's resources share on the wire: the validation error text and tag lists (Tags.member.N),
// with IAM's limits (50 tags, keys 1–128 characters, case-insensitive keys) and TagX semantics
// (a key already there gets the new value).
import { AwsError, memberList, memberStructs, type Params } from './xml.js';

export interface Tag {
  Key: string;
  Value: string;
}

export function validation(field: string, value: string, constraint: string): AwsError {
  return new AwsError(400, 'ValidationError', `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`);
}

const tooMany = () => new AwsError(400, 'LimitExceeded', 'The number of tags has reached the maximum limit.');

/** `Tags.member.N.Key/Value` of a request, checked as IAM checks them. */
export function parseTags(params: Params): Tag[] {
  const tags = memberStructs(params, 'Tags').map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
  if (tags.length > 50) throw tooMany();
  const keys = new Set<string>();
  for (const t of tags) {
    if (!t.Key || t.Key.length > 128) throw validation('tags.member.key', t.Key, 'Member must have length between 1 and 128');
    if (keys.has(t.Key.toLowerCase())) throw new AwsError(400, 'InvalidInput', 'Duplicate tag keys found. Please note that Tag keys are case insensitive.');
    keys.add(t.Key.toLowerCase());
  }
  return tags;
}

/** TagRole / TagOpenIDConnectProvider: adds the request's tags, replacing the value of a key already there. */
export function addTags(current: Tag[], params: Params): Tag[] {
  const next = current.map((t) => ({ ...t }));
  for (const t of parseTags(params)) {
    const existing = next.find((x) => x.Key.toLowerCase() === t.Key.toLowerCase());
    if (existing) existing.Value = t.Value;
    else next.push({ ...t });
  }
  if (next.length > 50) throw tooMany();
  return next;
}

/** UntagRole / UntagOpenIDConnectProvider: drops the `TagKeys.member.N` keys (case-insensitive). */
export function removeTags(current: Tag[], params: Params): Tag[] {
  const keys = new Set(memberList(params, 'TagKeys').map((k) => k.toLowerCase()));
  return current.filter((t) => !keys.has(t.Key.toLowerCase()));
}

export const tagRecord = (tags: Tag[]): Record<string, string> => Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
export const tagList = (tags: Record<string, string> = {}): Tag[] => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

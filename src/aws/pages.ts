// Every item of an AWS list call, through the SDK's own paginators (paginateListRolePolicies,
// paginateListNodegroups, …, taken from `sdk` in clients.ts like the command classes). They follow
// Marker / nextToken for as long as the service hands one back: no page limit, so nothing is cut
// off silently. The one thing they do not guard against is an endpoint that hands back a token it
// gave before (an emulator's bug), which would page forever: that stops here with an error naming
// the call.
import { KpoError } from '../errors.js';

/** `what` names the call for the error, e.g. "iam:ListRolePolicies on IAM role X". */
export async function allItems<P, T>(
  what: string,
  pages: AsyncIterable<P>,
  items: (page: P) => readonly T[] | undefined,
  nextToken: (page: P) => string | undefined,
): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  for await (const page of pages) {
    out.push(...(items(page) ?? []));
    const token = nextToken(page);
    if (!token) continue; // the last page: the paginator stops by itself
    if (seen.has(token)) {
      throw new KpoError(
        'AWS_UNUSABLE_ANSWER',
        `${what}: the endpoint returned the page token ${JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token)} a second time, so the list would never end; stopped after ${seen.size + 1} pages.`,
        'This is a bug of the endpoint (an emulator?): AWS never repeats a page token. Check the AWS_ENDPOINT_URL* settings.',
      );
    }
    seen.add(token);
  }
  return out;
}

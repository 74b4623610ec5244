// Independent reads go out together: one round trip instead of one per read. Unlike Promise.all,
// the error is the first one in argument order, not the first to arrive, so which failure a run
// reports (and the hint that goes with it) never depends on timing; and every read has settled
// when it throws, so nothing is left running behind the error.

/** Awaits every promise; their values in order, or the first rejection in argument order. */
export async function together<T extends readonly unknown[]>(reads: readonly [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
  const settled = await Promise.allSettled(reads);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

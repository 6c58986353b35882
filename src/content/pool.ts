// Bounded concurrency over a lazily pulled source: a catalog of a million files is never
// materialised, and at most `concurrency` items are in flight.

export async function forEachConcurrent<T>(
  items: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  worker: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const iterator = asyncIterator(items);
  let failure: { error: unknown } | undefined;
  // Not every async iterator tolerates overlapping next() calls: pull one at a time.
  let pulling: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<IteratorResult<T>> => {
    const next = pulling.then(() => iterator.next());
    pulling = next.catch(() => undefined);
    return next;
  };
  const lane = async (): Promise<void> => {
    while (failure === undefined) {
      if (signal?.aborted) {
        failure = { error: signal.reason };
        return;
      }
      let result: IteratorResult<T>;
      try {
        result = await pull();
      } catch (error) {
        failure ??= { error };
        return;
      }
      if (result.done || failure !== undefined) return;
      try {
        await worker(result.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.floor(concurrency)) }, lane));
  if (failure !== undefined) {
    await iterator.return?.()?.catch(() => undefined);
    throw failure.error;
  }
}

function asyncIterator<T>(items: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in items) return items[Symbol.asyncIterator]();
  const sync = items[Symbol.iterator]();
  return {
    next: async () => sync.next(),
    return: async () => sync.return?.() ?? { done: true, value: undefined },
  };
}

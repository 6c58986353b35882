// A store opened for one piece of work and closed after it, for tests that look into the
// database of a server process between its runs.
import { openStore, type Store } from '../../src/store/index.ts';

export async function withStoreAt<T>(database: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ database });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

// Opening the store for a command, loaded only by the commands that need a database.
import type { CommandContext } from './context.ts';
import type { Store } from '../store/index.ts';

/** Must match src/store/store.ts: kept here so `--help` does not load the database drivers. */
export const SQLITE_FILE_NAME = 'openwsus.db';

export async function withStore<T>(context: CommandContext, fn: (store: Store) => Promise<T>): Promise<T> {
  const { openStore } = await import('../store/index.ts');
  const { config } = context;
  const store = await openStore({ dataDir: config.data, ...(config.database ? { database: config.database } : {}) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

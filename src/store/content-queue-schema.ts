// Row shape of the content download queue (migration 0006), added with `withTables` by the one
// repository that uses it.
import type { ColumnType, Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { StoreContext } from './sql-util.ts';

type Bool = ColumnType<boolean | number, boolean, boolean>;

export interface ContentQueueTable {
  sha1: string;
  state: string;
  requested: Bool;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string;
  owner: string | null;
  lease_until: string | null;
  enqueued_at: string;
  updated_at: string;
}

export type ContentQueueTables = { content_queue: ContentQueueTable };

export type ContentQueueDb = Kysely<Database & ContentQueueTables>;

export function contentQueueDb(ctx: StoreContext): ContentQueueDb {
  return ctx.db.withTables<ContentQueueTables>() as unknown as ContentQueueDb;
}

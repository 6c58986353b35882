// The content download queue (DESIGN §3 File; issue 4 "Content"): one row per file this server
// means to fetch, keyed by SHA-1 so enqueueing twice is one job. A row being downloaded carries
// its owner (host:pid:instance) and a lease; a process that dies mid-download leaves a lease that
// expires (or, on the same host, a dead pid), and the next worker takes the file over.
import type { Kysely } from 'kysely';
import type { MigrationContext, StoreMigration } from './context.ts';

async function up(db: Kysely<any>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('content_queue')
    .addColumn('sha1', 'text', (c) => c.primaryKey().references('file.sha1'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('requested', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('enqueued_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('content_queue_due').on('content_queue').columns(['state', 'next_attempt_at']).execute();
}

export const contentQueue: StoreMigration = { up };

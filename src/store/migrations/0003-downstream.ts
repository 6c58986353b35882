// The upstream role: downstream servers synchronizing from this one, the keys that seal their
// cookies, the deployments announced to replicas (so a replaced approval can be reported dead),
// and tasks for the administrator.
import { sql, type Kysely } from 'kysely';
import { bytesType, serialKey, type MigrationContext, type StoreMigration } from './context.ts';

async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('downstream_server')
    .addColumn('server_id', 'text', (c) => c.primaryKey())
    .addColumn('account_name', 'text', (c) => c.notNull())
    .addColumn('protocol_version', 'text')
    .addColumn('is_replica', 'boolean', (c) => c.notNull())
    .addColumn('first_contact_at', 'text', (c) => c.notNull())
    .addColumn('last_contact_at', 'text', (c) => c.notNull())
    .execute();

  // Key ids are chosen by the writer (1, then max + 1), so two front ends creating the first key
  // or rotating at once collide on the key and one insert wins.
  await db.schema
    .createTable('server_key')
    .addColumn('key_id', 'integer', (c) => c.primaryKey())
    .addColumn('secret', bytesType(ctx), (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .execute();

  await db.schema
    .createTable('announced_deployment')
    .addColumn('announced_id', 'integer', serialKey(ctx))
    .addColumn('deployment_id', 'text', (c) => c.notNull().unique())
    .addColumn('announced_at', 'text', (c) => c.notNull())
    .addColumn('dead_seq', 'bigint')
    .execute();
  await db.schema.createIndex('announced_deployment_dead').on('announced_deployment').column('dead_seq').execute();

  await db.schema
    .createTable('task')
    .addColumn('task_id', 'integer', serialKey(ctx))
    .addColumn('kind', 'text', (c) => c.notNull())
    // '' when the task is about nothing in particular: NULLs would never collide in the index below.
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('occurrences', 'integer', (c) => c.notNull())
    .addColumn('resolved_at', 'text')
    .execute();
  // One open task per kind and subject, whoever notices it first.
  await sql`create unique index task_open on task (kind, subject) where resolved_at is null`.execute(db);
  await db.schema.createIndex('task_created').on('task').column('created_at').execute();
}

export const downstream: StoreMigration = { up };

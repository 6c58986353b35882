// The downstream role: who is synchronizing from the upstream right now. One row at most; a
// process that died holding it is recognised by its host and pid (sync-state.ts).
import type { Kysely } from 'kysely';
import type { MigrationContext, StoreMigration } from './context.ts';

async function up(db: Kysely<any>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('sync_lock')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('acquired_at', 'text', (c) => c.notNull())
    .execute();
}

export const sync: StoreMigration = { up };

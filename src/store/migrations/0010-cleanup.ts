// Maintenance (issue 8): the cleanup run and its per-step checkpoint, so a killed run resumes where
// it stopped with the clock it started with; and the indexes that keep each cleanup batch short
// (events by arrival, status by update for "needed by a computer").
import type { Kysely } from 'kysely';
import { serialKey, type MigrationContext, type StoreMigration } from './context.ts';

async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('cleanup_run')
    .addColumn('id', 'integer', serialKey(ctx))
    // The run's clock: every rule of the run measures ages from it, before and after a restart.
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    // JSON array of step names, in the order they run.
    .addColumn('steps', 'text', (c) => c.notNull())
    // The step in progress and where it stopped (opaque to the store: the step's own cursor).
    .addColumn('step', 'text')
    .addColumn('cursor', 'text')
    // JSON object: step -> counts so far.
    .addColumn('counts', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    // host:pid of the process running it: another process resumes it only once that one is gone.
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('cleanup_run_result').on('cleanup_run').column('result').execute();
  await db.schema.createIndex('client_event_received').on('client_event').columns(['received_at', 'event_instance_id']).execute();
  await db.schema.createIndex('update_status_update').on('update_status').columns(['update_id', 'status']).execute();
}

export const cleanup: StoreMigration = { up };

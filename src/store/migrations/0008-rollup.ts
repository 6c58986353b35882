// Reporting rollup (MS-WSUSSS 3.1.4.13-17): on an upstream, the servers, computers and update
// status its downstream servers report, each row tagged with the direct downstream server it came
// through; on a downstream, what it last sent of each computer, so the next rollup sends changes.
import type { Kysely } from 'kysely';
import type { MigrationContext, StoreMigration } from './context.ts';

async function up(db: Kysely<any>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('rollup_server')
    .addColumn('server_id', 'text', (c) => c.primaryKey())
    // Resolved: a direct downstream server's parent is this server's id.
    .addColumn('parent_server_id', 'text', (c) => c.notNull())
    // The direct downstream server whose rollup carried it.
    .addColumn('via_server_id', 'text', (c) => c.notNull())
    .addColumn('full_domain_name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('is_replica', 'boolean', (c) => c.notNull())
    .addColumn('last_sync_time', 'text', (c) => c.notNull())
    .addColumn('last_rollup_time', 'text', (c) => c.notNull())
    // DownstreamServerRollupServerSummary as a JSON object of its 18 counters.
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rollup_server_via').on('rollup_server').column('via_server_id').execute();

  await db.schema
    .createTable('rollup_client_summary')
    .addColumn('server_id', 'text', (c) => c.notNull())
    // JSON of the OS and architecture the computers share.
    .addColumn('os_key', 'text', (c) => c.notNull())
    .addColumn('computer_count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rollup_client_summary_pk', ['server_id', 'os_key'])
    .execute();

  await db.schema
    .createTable('rollup_computer')
    .addColumn('computer_id', 'text', (c) => c.primaryKey())
    .addColumn('parent_server_id', 'text', (c) => c.notNull())
    .addColumn('via_server_id', 'text', (c) => c.notNull())
    .addColumn('last_sync_time', 'text', (c) => c.notNull())
    .addColumn('last_sync_result', 'integer', (c) => c.notNull())
    .addColumn('last_reported_reboot_time', 'text', (c) => c.notNull())
    .addColumn('last_reported_status_time', 'text', (c) => c.notNull())
    .addColumn('last_inventory_time', 'text', (c) => c.notNull())
    .addColumn('full_domain_name', 'text')
    .addColumn('ip_address', 'text')
    // ComputerRollupDetails as JSON; null until the downstream sent them.
    .addColumn('details', 'text')
    .addColumn('last_received_rollup_number', 'integer', (c) => c.notNull())
    .addColumn('effective_last_detection_time', 'text', (c) => c.notNull())
    // Local times, for forwarding further up: when any status row was written, when the last full
    // status list replaced the rows.
    .addColumn('status_received_at', 'text')
    .addColumn('full_received_at', 'text')
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rollup_computer_parent').on('rollup_computer').column('parent_server_id').execute();
  await db.schema.createIndex('rollup_computer_via').on('rollup_computer').column('via_server_id').execute();

  await db.schema
    .createTable('rollup_update_status')
    .addColumn('computer_id', 'text', (c) => c.notNull())
    .addColumn('update_id', 'text', (c) => c.notNull())
    .addColumn('state', 'integer', (c) => c.notNull())
    .addColumn('last_change_time', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('rollup_update_status_pk', ['computer_id', 'update_id'])
    .execute();
  await db.schema.createIndex('rollup_update_status_update').on('rollup_update_status').columns(['update_id', 'state']).execute();

  // The downstream side: what the upstream holds of each computer this server rolled up.
  await db.schema
    .createTable('rollup_sent')
    .addColumn('computer_id', 'text', (c) => c.primaryKey())
    .addColumn('details_fingerprint', 'text')
    .addColumn('attributes_fingerprint', 'text')
    .addColumn('rollup_number', 'integer', (c) => c.notNull())
    // Status rows changed at or after this were not sent yet; null: a full rollup is due.
    .addColumn('status_since', 'text')
    .execute();
}

export const rollup: StoreMigration = { up };

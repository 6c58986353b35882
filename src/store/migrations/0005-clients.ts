// The client role (MS-WUSP): computers that scan against this server and the groups they are in.
import type { Kysely } from 'kysely';
import type { MigrationContext, StoreMigration } from './context.ts';

async function up(db: Kysely<any>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('computer')
    // The WUA's per-install GUID (SimpleAuth clientId), later the reporting TargetID.
    .addColumn('computer_id', 'text', (c) => c.primaryKey())
    .addColumn('dns_name', 'text', (c) => c.notNull())
    .addColumn('ip_address', 'text')
    .addColumn('os_major', 'integer')
    .addColumn('os_minor', 'integer')
    .addColumn('os_build', 'integer')
    .addColumn('os_sp_major', 'integer')
    .addColumn('os_sp_minor', 'integer')
    .addColumn('os_locale', 'text')
    .addColumn('os_description', 'text')
    .addColumn('manufacturer', 'text')
    .addColumn('model', 'text')
    .addColumn('bios_name', 'text')
    .addColumn('bios_version', 'text')
    .addColumn('bios_release_date', 'text')
    .addColumn('processor_architecture', 'text')
    .addColumn('client_version', 'text')
    .addColumn('registered_at', 'text')
    .addColumn('last_sync_at', 'text')
    .addColumn('last_report_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('computer_dns_name').on('computer').column('dns_name').execute();

  await db.schema
    .createTable('computer_membership')
    .addColumn('computer_id', 'text', (c) => c.notNull().references('computer.computer_id').onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.notNull().references('computer_group.group_id').onDelete('cascade'))
    .addPrimaryKeyConstraint('computer_membership_pk', ['computer_id', 'group_id'])
    .execute();
  await db.schema.createIndex('computer_membership_group').on('computer_membership').column('group_id').execute();

  // What agents report (ReportEventBatch). An agent resends a batch it is not sure arrived, so
  // the event's own GUID is the key: the second copy changes nothing.
  await db.schema
    .createTable('client_event')
    .addColumn('event_instance_id', 'text', (c) => c.primaryKey())
    .addColumn('computer_id', 'text', (c) => c.notNull())
    .addColumn('namespace_id', 'integer', (c) => c.notNull())
    .addColumn('event_id', 'integer', (c) => c.notNull())
    .addColumn('source_id', 'integer', (c) => c.notNull())
    .addColumn('update_id', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('win32_hresult', 'integer', (c) => c.notNull())
    .addColumn('app_name', 'text', (c) => c.notNull())
    .addColumn('time_at_target', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    // JSON arrays of strings, as sent.
    .addColumn('replacement_strings', 'text', (c) => c.notNull())
    .addColumn('misc_data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('client_event_computer').on('client_event').columns(['computer_id', 'time_at_target']).execute();

  // Status of each update on each computer, as its reports tell (DESIGN §3 "status").
  await db.schema
    .createTable('update_status')
    .addColumn('computer_id', 'text', (c) => c.notNull())
    .addColumn('update_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('update_status_pk', ['computer_id', 'update_id'])
    .execute();
}

export const clients: StoreMigration = { up };

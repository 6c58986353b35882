// Computer groups, approvals (deployments) and declines (DESIGN §3), with the two built-in groups
// every WSUS has. Approvals and declines take positions in the change sequence like revisions.
import type { Kysely } from 'kysely';
import { BUILTIN_GROUPS } from '../../domain/deployment.ts';
import { serialKey, type MigrationContext, type StoreMigration } from './context.ts';

async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('computer_group')
    .addColumn('group_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('parent_id', 'text', (c) => c.references('computer_group.group_id'))
    .addColumn('builtin', 'boolean', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  // WSUS refuses two groups of one name under the same parent.
  await db.schema.createIndex('computer_group_name').on('computer_group').columns(['parent_id', 'name']).unique().execute();
  const now = new Date().toISOString();
  await db
    .insertInto('computer_group')
    .values(BUILTIN_GROUPS.map((g) => ({ group_id: g.id, name: g.name, parent_id: g.parentId ?? null, builtin: true, created_at: now })))
    .execute();

  await db.schema
    .createTable('approval')
    .addColumn('approval_id', 'integer', serialKey(ctx))
    .addColumn('deployment_id', 'text', (c) => c.notNull().unique())
    .addColumn('update_id', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('group_id', 'text', (c) => c.notNull().references('computer_group.group_id').onDelete('cascade'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('deadline', 'text')
    .addColumn('admin_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('change_seq', 'bigint', (c) => c.notNull())
    // One approval per update and group: approving again replaces it, as in WSUS.
    .addUniqueConstraint('approval_update_group', ['update_id', 'group_id'])
    .execute();
  await db.schema.createIndex('approval_change_seq').on('approval').column('change_seq').execute();

  await db.schema
    .createTable('decline')
    .addColumn('decline_id', 'integer', serialKey(ctx))
    .addColumn('update_id', 'text', (c) => c.notNull().unique())
    .addColumn('admin_name', 'text', (c) => c.notNull())
    .addColumn('declined_at', 'text', (c) => c.notNull())
    .addColumn('change_seq', 'bigint', (c) => c.notNull())
    .execute();
}

export const deployments: StoreMigration = { up };

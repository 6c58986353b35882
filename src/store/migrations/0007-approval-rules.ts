// Automatic approval rules (domain/approval-automation.ts), with the Default Automatic Approval
// Rule every WSUS has: Critical and Security updates to All Computers, disabled.
import type { Kysely } from 'kysely';
import { DEFAULT_RULE } from '../../domain/approval-automation.ts';
import { serialKey, type MigrationContext, type StoreMigration } from './context.ts';

async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('approval_rule')
    .addColumn('rule_id', 'integer', serialKey(ctx))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    // JSON arrays of lower-case category update ids: categories come and go with synchronizations,
    // so they are not foreign keys; a rule naming one not held yet matches once it arrives.
    .addColumn('classification_ids', 'text', (c) => c.notNull())
    .addColumn('product_ids', 'text', (c) => c.notNull())
    .addColumn('deadline_days', 'integer')
    .addColumn('deadline_time', 'text')
    .addColumn('builtin', 'boolean', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  // Groups are keys: deleting a group takes it out of every rule.
  await db.schema
    .createTable('approval_rule_group')
    .addColumn('rule_id', 'integer', (c) => c.notNull().references('approval_rule.rule_id').onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.notNull().references('computer_group.group_id').onDelete('cascade'))
    .addPrimaryKeyConstraint('approval_rule_group_pk', ['rule_id', 'group_id'])
    .execute();
  const inserted = await db
    .insertInto('approval_rule')
    .values({
      name: DEFAULT_RULE.name,
      enabled: DEFAULT_RULE.enabled,
      action: DEFAULT_RULE.action,
      classification_ids: JSON.stringify(DEFAULT_RULE.classificationIds),
      product_ids: JSON.stringify(DEFAULT_RULE.productIds),
      deadline_days: null,
      deadline_time: null,
      builtin: true,
      created_at: new Date().toISOString(),
    })
    .returning('rule_id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('approval_rule_group')
    .values(DEFAULT_RULE.groupIds.map((group_id) => ({ rule_id: inserted.rule_id, group_id })))
    .execute();
}

export const approvalRules: StoreMigration = { up };

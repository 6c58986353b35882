// Administration access (issue 7): local accounts with a role, console sessions, API tokens for
// scripts, and the audit log of every change made through them. Secrets are kept only as hashes:
// passwords as scrypt with their own salt and parameters, session ids and tokens as SHA-256 (they
// are 256-bit random values, so a fast hash is enough).
import type { Kysely } from 'kysely';
import { serialKey, type MigrationContext, type StoreMigration } from './context.ts';

async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('account')
    .addColumn('account_id', 'integer', serialKey(ctx))
    // As typed at creation; unique without regard to case (name_key is the lower-case form).
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    // `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash, so they can grow.
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('disabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'text')
    .addColumn('last_login_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('account_session')
    .addColumn('session_hash', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'integer', (c) => c.notNull().references('account.account_id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('account_session_account').on('account_session').column('account_id').execute();

  await db.schema
    .createTable('api_token')
    .addColumn('token_id', 'integer', serialKey(ctx))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('account_id', 'integer', (c) => c.notNull().references('account.account_id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();

  await db.schema
    .createTable('audit_event')
    .addColumn('event_id', 'integer', serialKey(ctx))
    .addColumn('at', 'text', (c) => c.notNull())
    // The account name as it was (accounts may be deleted later), and how it acted.
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    // JSON text: what was asked and what changed; never a password or token.
    .addColumn('detail', 'text', (c) => c.notNull())
    .execute();
}

export const accounts: StoreMigration = { up };

// The list of schema migrations, in code: no directory scan, so a bundled or relocated install
// migrates exactly as the tests do. A later milestone adds `000N-name.ts` and one line below.
import { Migrator, type Kysely, type Migration } from 'kysely';
import type { DialectName } from '../schema.ts';
import type { StoreMigration } from './context.ts';
import { catalog } from './0001-catalog.ts';
import { deployments } from './0002-deployments.ts';
import { downstream } from './0003-downstream.ts';
import { sync } from './0004-sync.ts';
import { clients } from './0005-clients.ts';
import { contentQueue } from './0006-content-queue.ts';
import { approvalRules } from './0007-approval-rules.ts';
import { rollup } from './0008-rollup.ts';
import { accounts } from './0009-accounts.ts';
import { cleanup } from './0010-cleanup.ts';
import { adminIndexes } from './0012-admin-indexes.ts';

export const MIGRATIONS: Readonly<Record<string, StoreMigration>> = {
  '0001_catalog': catalog,
  '0002_deployments': deployments,
  '0003_downstream': downstream,
  '0004_sync': sync,
  '0005_clients': clients,
  '0006_content_queue': contentQueue,
  '0007_approval_rules': approvalRules,
  '0008_rollup': rollup,
  '0009_accounts': accounts,
  '0010_cleanup': cleanup,
  '0012_admin_indexes': adminIndexes,
};

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Applies every migration not yet applied, each in its own transaction; a no-op when current. */
export async function migrateToLatest(db: Kysely<any>, dialect: DialectName): Promise<string[]> {
  const migrations: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(MIGRATIONS)) {
    migrations[name] = { up: (inner) => migration.up(inner, { dialect }) };
  }
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new MigrationError(`database migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

// The administration's updates table (issue 7) on 100,000 updates: one index holding everything
// the list filters and sorts on, so the count and a page (at any offset) read the index rather
// than revision rows that carry whole XML documents; and KB numbers looked up directly (with what
// a count over every newest revision reads, as SQLite counts through the narrower index).
import { sql, type Kysely } from 'kysely';
import type { StoreMigration } from './context.ts';

async function up(db: Kysely<any>): Promise<void> {
  // Partial on the bare column, as the queries say it (sql-util isLatest): newest revisions only,
  // in the table's order (newest first is this index read backwards).
  await sql`create index revision_admin_listing on revision (creation_date, revision_id, update_type, update_id, kb_article_id, title) where is_latest`.execute(db);
  await sql`create index revision_kb_article on revision (kb_article_id, update_type, update_id, title) where is_latest`.execute(db);
}

export const adminIndexes: StoreMigration = { up };

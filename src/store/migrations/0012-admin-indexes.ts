// The administration's updates table (issue 7) on 100,000 updates: one index holding everything
// the list filters and sorts on, so the count and a page (at any offset) read the index rather
// than revision rows that carry whole XML documents; and KB numbers looked up directly.
import type { Kysely } from 'kysely';
import type { StoreMigration } from './context.ts';

async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('revision_admin_listing')
    .on('revision')
    .columns(['is_latest', 'creation_date', 'revision_id', 'update_type', 'update_id', 'kb_article_id', 'title'])
    .execute();
  await db.schema.createIndex('revision_kb_article').on('revision').columns(['kb_article_id', 'is_latest']).execute();
}

export const adminIndexes: StoreMigration = { up };

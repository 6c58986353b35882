// The update catalog (DESIGN §3): revisions with their documents and derived rows, files,
// languages, the change sequence, anchors, sync runs, settings and the server's identity.
import { sql, type Kysely } from 'kysely';
import { bytesType, serialKey, type MigrationContext, type StoreMigration } from './context.ts';

async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const bytes = bytesType(ctx);
  // Small rows keyed by a composite primary key: on SQLite, WITHOUT ROWID stores them in the key's
  // b-tree instead of a rowid table plus a separate index (half the writes at import).
  const compact = ctx.dialect === 'sqlite' ? sql`without rowid` : sql``;

  await db.schema
    .createTable('revision')
    .addColumn('revision_id', 'integer', serialKey(ctx))
    .addColumn('update_id', 'text', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('update_type', 'text', (c) => c.notNull())
    .addColumn('publication_state', 'text', (c) => c.notNull())
    .addColumn('is_latest', 'boolean', (c) => c.notNull())
    .addColumn('explicitly_deployable', 'boolean', (c) => c.notNull())
    .addColumn('category_type', 'text')
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('kb_article_id', 'text')
    .addColumn('msrc_severity', 'text')
    .addColumn('creation_date', 'text')
    .addColumn('xml', bytes, (c) => c.notNull())
    .addColumn('core', bytes, (c) => c.notNull())
    .addColumn('extended', bytes, (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('change_seq', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('revision_key', ['update_id', 'revision_number'])
    .execute();
  await db.schema.createIndex('revision_change_seq').on('revision').column('change_seq').execute();
  // Scans, stats and the category tree only look at the newest revision of each update.
  await sql`create index revision_latest_type on revision (update_type, category_type) where is_latest`.execute(db);

  await db.schema
    .createTable('localized')
    .addColumn('revision_id', 'integer', (c) => c.notNull().references('revision.revision_id').onDelete('cascade'))
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('fragment', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('localized_pk', ['revision_id', 'language'])
    .execute();

  // Products and classifications of an update are not materialised: they are the update ids of
  // its IsCategory clauses, and a filter ("in product P and classification C") is two EXISTS over
  // prerequisite_update_id. A materialised table would also go stale whenever a category
  // arrives after the updates naming it, which a query over live rows never does.
  await db.schema
    .createTable('prerequisite')
    .addColumn('revision_id', 'integer', (c) => c.notNull().references('revision.revision_id').onDelete('cascade'))
    .addColumn('clause_index', 'integer', (c) => c.notNull())
    .addColumn('member_index', 'integer', (c) => c.notNull())
    .addColumn('update_id', 'text', (c) => c.notNull())
    .addColumn('is_category', 'boolean', (c) => c.notNull())
    .addPrimaryKeyConstraint('prerequisite_pk', ['revision_id', 'clause_index', 'member_index'])
    .modifyEnd(compact)
    .execute();
  await db.schema.createIndex('prerequisite_update_id').on('prerequisite').columns(['update_id', 'revision_id']).execute();

  await db.schema
    .createTable('bundle_member')
    .addColumn('revision_id', 'integer', (c) => c.notNull().references('revision.revision_id').onDelete('cascade'))
    .addColumn('group_index', 'integer', (c) => c.notNull())
    .addColumn('member_index', 'integer', (c) => c.notNull())
    .addColumn('at_least_one', 'boolean', (c) => c.notNull())
    .addColumn('child_update_id', 'text', (c) => c.notNull())
    .addColumn('child_revision_number', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('bundle_member_pk', ['revision_id', 'group_index', 'member_index'])
    .modifyEnd(compact)
    .execute();
  await db.schema
    .createIndex('bundle_member_child')
    .on('bundle_member')
    .columns(['child_update_id', 'child_revision_number'])
    .execute();

  await db.schema
    .createTable('supersedence')
    .addColumn('revision_id', 'integer', (c) => c.notNull().references('revision.revision_id').onDelete('cascade'))
    .addColumn('superseded_update_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('supersedence_pk', ['revision_id', 'superseded_update_id'])
    .modifyEnd(compact)
    .execute();
  await db.schema.createIndex('supersedence_superseded').on('supersedence').column('superseded_update_id').execute();

  await db.schema
    .createTable('file')
    .addColumn('sha1', 'text', (c) => c.primaryKey())
    .addColumn('sha256', 'text')
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('modified', 'text')
    .addColumn('patching_type', 'text')
    .addColumn('mu_url', 'text')
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('absent'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('file_state').on('file').column('state').execute();

  await db.schema
    .createTable('revision_file')
    .addColumn('revision_id', 'integer', (c) => c.notNull().references('revision.revision_id').onDelete('cascade'))
    .addColumn('sha1', 'text', (c) => c.notNull().references('file.sha1'))
    .addColumn('file_index', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('revision_file_pk', ['revision_id', 'sha1'])
    .modifyEnd(compact)
    .execute();
  await db.schema.createIndex('revision_file_sha1').on('revision_file').column('sha1').execute();

  await db.schema
    .createTable('language')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('short_name', 'text', (c) => c.notNull().unique())
    .addColumn('long_name', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .execute();

  // One row holding the last value handed out; see change-sequence.ts for why not a sequence.
  await db.schema
    .createTable('change_counter')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('change_counter').values({ id: 1, value: 0 }).execute();

  await db.schema
    .createTable('change_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('anchor')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sync_run')
    .addColumn('id', 'integer', serialKey(ctx))
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('new_revisions', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('revised_revisions', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expired_revisions', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('categories', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('files', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .execute();

  await db.schema
    .createTable('setting')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('server_identity')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('server_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export const catalog: StoreMigration = { up };

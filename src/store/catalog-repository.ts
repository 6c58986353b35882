// The update catalog as domain types: storing revisions (revision-import.ts) and reading them back.
import { sql, type Selectable } from 'kysely';
import type {
  CatalogStats,
  CategoryNode,
  RevisionSummary,
  StoredLocalized,
  StoredRevision,
  UpsertSummary,
} from '../domain/catalog-records.ts';
import { FILE_STATES, type FileState } from '../domain/catalog-records.ts';
import type {
  BundleGroup,
  CategoryType,
  PrerequisiteClause,
  PublicationState,
  RevisionKey,
  UpdateType,
} from '../domain/update.ts';
import { unpackText } from './codec.ts';
import { upsertRevisions, type RevisionInput } from './revision-import.ts';
import type { RevisionTable } from './schema.ts';
import { inList, isLatest, type StoreContext } from './sql-util.ts';

const SUMMARY_COLUMNS = [
  'revision_id',
  'update_id',
  'revision_number',
  'update_type',
  'publication_state',
  'is_latest',
  'explicitly_deployable',
  'category_type',
  'title',
  'kb_article_id',
  'msrc_severity',
  'creation_date',
  'change_seq',
  'received_at',
] as const;

const FULL_COLUMNS = [...SUMMARY_COLUMNS, 'xml', 'core', 'extended'] as const;

type SummaryRow = Pick<Selectable<RevisionTable>, (typeof SUMMARY_COLUMNS)[number]>;
type FullRow = Pick<Selectable<RevisionTable>, (typeof FULL_COLUMNS)[number]>;

function toSummary(r: SummaryRow): RevisionSummary {
  return {
    revisionId: Number(r.revision_id),
    key: { updateId: r.update_id, revisionNumber: Number(r.revision_number) },
    updateType: r.update_type as UpdateType,
    publicationState: r.publication_state as PublicationState,
    isLatest: Boolean(r.is_latest),
    explicitlyDeployable: Boolean(r.explicitly_deployable),
    ...(r.category_type !== null && { categoryType: r.category_type as CategoryType }),
    title: r.title,
    ...(r.kb_article_id !== null && { kbArticleId: r.kb_article_id }),
    ...(r.msrc_severity !== null && { msrcSeverity: r.msrc_severity }),
    ...(r.creation_date !== null && { creationDate: r.creation_date }),
    changeSeq: Number(r.change_seq),
    receivedAt: r.received_at,
  };
}

export interface RevisionRelationships {
  readonly prerequisites: readonly PrerequisiteClause[];
  readonly bundles: readonly BundleGroup[];
  readonly supersedes: readonly string[];
}

export class CatalogRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** See revision-import.ts: one transaction per call, idempotent, one change position per changed revision. */
  upsertRevisions(items: readonly RevisionInput[]): Promise<UpsertSummary> {
    return upsertRevisions(this.#ctx, items);
  }

  /** A revision by key or by revision id, with its document, fragments and localized rows. */
  async getRevision(which: RevisionKey | number): Promise<StoredRevision | undefined> {
    let query = this.#ctx.db.selectFrom('revision').select(FULL_COLUMNS);
    query =
      typeof which === 'number'
        ? query.where('revision_id', '=', which)
        : query.where('update_id', '=', which.updateId).where('revision_number', '=', which.revisionNumber);
    const row = await query.executeTakeFirst();
    if (row === undefined) return undefined;
    return (await this.#withLocalized([row]))[0];
  }

  /** The newest stored revision of an update. */
  async getLatest(updateId: string): Promise<StoredRevision | undefined> {
    const row = await this.#ctx.db
      .selectFrom('revision')
      .select(FULL_COLUMNS)
      .where('update_id', '=', updateId)
      .orderBy('revision_number', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return (await this.#withLocalized([row]))[0];
  }

  /** Summaries (no documents) of the given revision ids, in revision id order; unknown ids are skipped. */
  async summaries(revisionIds: readonly number[]): Promise<RevisionSummary[]> {
    if (revisionIds.length === 0) return [];
    const rows = await this.#ctx.db
      .selectFrom('revision')
      .select(SUMMARY_COLUMNS)
      .where(inList(this.#ctx.dialect, 'revision_id', revisionIds))
      .orderBy('revision_id')
      .execute();
    return rows.map(toSummary);
  }

  /**
   * Revisions whose last change is after position `seq`, in change order, at most `limit`.
   * Page on with the `changeSeq` of the last one. A revision changed twice appears once.
   */
  async changedSince(seq: number, options: { limit?: number } = {}): Promise<RevisionSummary[]> {
    const rows = await this.#ctx.db
      .selectFrom('revision')
      .select(SUMMARY_COLUMNS)
      .where('change_seq', '>', seq)
      .orderBy('change_seq')
      .limit(options.limit ?? 1000)
      .execute();
    return rows.map(toSummary);
  }

  /** Every revision in revision id order, a page at a time: memory stays at one page (export). */
  async *iterate(options: { pageSize?: number; latestOnly?: boolean } = {}): AsyncGenerator<StoredRevision> {
    const pageSize = options.pageSize ?? 200;
    let after = 0;
    for (;;) {
      let query = this.#ctx.db
        .selectFrom('revision')
        .select(FULL_COLUMNS)
        .where('revision_id', '>', after)
        .orderBy('revision_id')
        .limit(pageSize);
      if (options.latestOnly) query = query.where(isLatest());
      const rows = await query.execute();
      if (rows.length === 0) return;
      for (const revision of await this.#withLocalized(rows)) yield revision;
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1]!.revision_id);
    }
  }

  /** Prerequisite clauses, bundle groups and superseded ids of a revision, in document order. */
  async relationships(revisionId: number): Promise<RevisionRelationships> {
    const db = this.#ctx.db;
    const [prerequisites, members, superseded] = await Promise.all([
      db
        .selectFrom('prerequisite')
        .select(['clause_index', 'update_id', 'is_category'])
        .where('revision_id', '=', revisionId)
        .orderBy('clause_index')
        .orderBy('member_index')
        .execute(),
      db
        .selectFrom('bundle_member')
        .select(['group_index', 'at_least_one', 'child_update_id', 'child_revision_number'])
        .where('revision_id', '=', revisionId)
        .orderBy('group_index')
        .orderBy('member_index')
        .execute(),
      db
        .selectFrom('supersedence')
        .select('superseded_update_id')
        .where('revision_id', '=', revisionId)
        .orderBy('superseded_update_id')
        .execute(),
    ]);
    const clauses = new Map<number, { updateIds: string[]; isCategory: boolean }>();
    for (const p of prerequisites) {
      const clause = clauses.get(p.clause_index) ?? { updateIds: [], isCategory: Boolean(p.is_category) };
      clause.updateIds.push(p.update_id);
      clauses.set(p.clause_index, clause);
    }
    const groups = new Map<number, { members: RevisionKey[]; atLeastOne: boolean }>();
    for (const m of members) {
      const group = groups.get(m.group_index) ?? { members: [], atLeastOne: Boolean(m.at_least_one) };
      group.members.push({ updateId: m.child_update_id, revisionNumber: Number(m.child_revision_number) });
      groups.set(m.group_index, group);
    }
    return {
      prerequisites: [...clauses.values()],
      bundles: [...groups.values()],
      supersedes: superseded.map((s) => s.superseded_update_id),
    };
  }

  /**
   * Latest revision of every category with its parents: the update ids named in its
   * `AtLeastOne IsCategory="true"` prerequisite clauses (WSUS-PROTOCOLS §3.9).
   */
  async categories(): Promise<CategoryNode[]> {
    const db = this.#ctx.db;
    const rows = await db
      .selectFrom('revision')
      .select(['revision_id', 'update_id', 'category_type', 'title'])
      .where('update_type', '=', 'Category')
      .where(isLatest())
      .orderBy('update_id')
      .execute();
    const parents = await db
      .selectFrom('prerequisite as p')
      .innerJoin('revision as r', 'r.revision_id', 'p.revision_id')
      .select(['p.revision_id', 'p.update_id'])
      .where('r.update_type', '=', 'Category')
      .where(isLatest('r'))
      .where('p.is_category', '=', true)
      .orderBy('p.revision_id')
      .orderBy('p.clause_index')
      .orderBy('p.member_index')
      .execute();
    const parentIds = new Map<number, string[]>();
    for (const p of parents) {
      const list = parentIds.get(p.revision_id) ?? [];
      list.push(p.update_id);
      parentIds.set(p.revision_id, list);
    }
    return rows.map((r) => ({
      updateId: r.update_id,
      revisionId: r.revision_id,
      ...(r.category_type !== null && { categoryType: r.category_type as CategoryType }),
      title: r.title,
      parentIds: parentIds.get(r.revision_id) ?? [],
    }));
  }

  async stats(): Promise<CatalogStats> {
    const db = this.#ctx.db;
    const [byType, total, files, languages] = await Promise.all([
      db
        .selectFrom('revision')
        .select(['update_type', 'category_type', 'publication_state', (eb) => eb.fn.countAll<number>().as('n')])
        // Bound, not isLatest(): counting every newest revision, a table scan beats the partial
        // index plus a row lookup each (publication_state is not in it).
        .where('is_latest', '=', true)
        .groupBy(['update_type', 'category_type', 'publication_state'])
        .execute(),
      db.selectFrom('revision').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      db.selectFrom('file').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute(),
      db.selectFrom('language').selectAll().orderBy('id').execute(),
    ]);
    const revisionsByType: Partial<Record<UpdateType, number>> = {};
    const categoriesByType: Record<string, number> = {};
    let latest = 0;
    let expired = 0;
    for (const r of byType) {
      const n = Number(r.n);
      const type = r.update_type as UpdateType;
      revisionsByType[type] = (revisionsByType[type] ?? 0) + n;
      if (type === 'Category') {
        const key = r.category_type ?? 'none';
        categoriesByType[key] = (categoriesByType[key] ?? 0) + n;
      }
      latest += n;
      if (r.publication_state === 'Expired') expired += n;
    }
    const fileCounts = Object.fromEntries(FILE_STATES.map((s) => [s, 0])) as Record<FileState, number>;
    for (const f of files) fileCounts[f.state as FileState] = Number(f.n);
    return {
      revisionsByType,
      categories: { byType: categoriesByType },
      files: fileCounts,
      languages: languages.map((l) => ({ id: l.id, shortName: l.short_name, longName: l.long_name, enabled: Boolean(l.enabled) })),
      revisions: Number(total.n),
      latestRevisions: latest,
      expired,
    };
  }

  async #withLocalized(rows: readonly FullRow[]): Promise<StoredRevision[]> {
    const ids = rows.map((r) => Number(r.revision_id));
    const localizedRows = await this.#ctx.db
      .selectFrom('localized')
      .select(['revision_id', 'language', 'title', 'description', 'fragment'])
      .where(inList(this.#ctx.dialect, 'revision_id', ids))
      .orderBy('revision_id')
      .orderBy('language')
      .execute();
    const byRevision = new Map<number, StoredLocalized[]>();
    for (const l of localizedRows) {
      const list = byRevision.get(l.revision_id) ?? [];
      list.push({
        language: l.language,
        title: l.title,
        ...(l.description !== null && { description: l.description }),
        fragment: l.fragment,
      });
      byRevision.set(l.revision_id, list);
    }
    return rows.map((r) => {
      const localized = byRevision.get(Number(r.revision_id)) ?? [];
      return {
        ...toSummary(r),
        xml: unpackText(r.xml),
        fragments: {
          core: unpackText(r.core),
          extended: unpackText(r.extended),
          localized: Object.fromEntries(localized.map((l) => [l.language, l.fragment])),
        },
        localized,
      };
    });
  }
}

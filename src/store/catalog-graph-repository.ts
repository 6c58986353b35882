// The catalog as an upstream serves it: newest revisions, their category links and bundle edges
// (domain/revision-filter.ts), and documents by key. Each method is one query whatever the number
// of ids (one-parameter "in list"), so selecting from 50,000 revisions costs a handful of queries.
import type { BundleEdge, CatalogGraphReader, CategoryLink, CategoryLinkScope, RevisionRef } from '../domain/revision-filter.ts';
import type { RevisionKey } from '../domain/update.ts';
import { unpackText } from './codec.ts';
import { inList, isLatest, type StoreContext } from './sql-util.ts';

const CONFIG_TYPES = ['Category', 'Detectoid'];

export interface RevisionDocument {
  readonly revisionId: number;
  readonly key: RevisionKey;
  /** The update document, verbatim. */
  readonly xml: string;
}

interface RefRow {
  revision_id: number;
  update_id: string;
  revision_number: number;
  change_seq: number;
}

function toRef(r: RefRow): RevisionRef {
  return {
    revisionId: Number(r.revision_id),
    updateId: r.update_id,
    revisionNumber: Number(r.revision_number),
    changeSeq: Number(r.change_seq),
  };
}

interface EdgeRow {
  parent_id: number;
  parent_update_id: string;
  parent_revision_number: number;
  parent_change_seq: number;
  child_id: number;
  child_update_id: string;
  child_revision_number: number;
  child_change_seq: number;
}

function toEdge(r: EdgeRow): BundleEdge {
  return {
    parent: toRef({ revision_id: r.parent_id, update_id: r.parent_update_id, revision_number: r.parent_revision_number, change_seq: r.parent_change_seq }),
    child: toRef({ revision_id: r.child_id, update_id: r.child_update_id, revision_number: r.child_revision_number, change_seq: r.child_change_seq }),
  };
}

export class CatalogGraphRepository implements CatalogGraphReader {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async latest(kind: 'config' | 'content', since?: number): Promise<RevisionRef[]> {
    let query = this.#ctx.db
      .selectFrom('revision')
      .select(['revision_id', 'update_id', 'revision_number', 'change_seq'])
      .where(isLatest())
      .where('update_type', kind === 'config' ? 'in' : 'not in', CONFIG_TYPES);
    if (since !== undefined) query = query.where('change_seq', '>', since);
    const rows = await query.orderBy('change_seq').orderBy('revision_id').execute();
    return rows.map(toRef);
  }

  async categoryLinks(categoryIds: readonly string[], scope?: CategoryLinkScope): Promise<CategoryLink[]> {
    if (categoryIds.length === 0) return [];
    const dialect = this.#ctx.dialect;
    let query = this.#ctx.db
      .selectFrom('prerequisite as p')
      .innerJoin('revision as r', 'r.revision_id', 'p.revision_id')
      .select(['r.revision_id', 'r.update_id', 'r.revision_number', 'r.change_seq', 'p.update_id as category_id'])
      .where('p.is_category', '=', true)
      .where(inList(dialect, 'p.update_id', categoryIds))
      .where(isLatest('r'))
      .where('r.update_type', 'not in', CONFIG_TYPES);
    if (scope !== undefined && 'revisionIds' in scope) {
      if (scope.revisionIds.length === 0) return [];
      query = query.where(inList(dialect, 'p.revision_id', scope.revisionIds));
    } else if (scope !== undefined) {
      if (scope.withAnyOf.length === 0) return [];
      query = query.where(
        'p.revision_id',
        'in',
        this.#ctx.db
          .selectFrom('prerequisite as q')
          .select('q.revision_id')
          .where('q.is_category', '=', true)
          .where(inList(dialect, 'q.update_id', scope.withAnyOf)),
      );
    }
    const rows = await query.execute();
    return rows.map((r) => ({ revision: toRef(r), categoryId: r.category_id }));
  }

  async childrenOf(revisionIds: readonly number[]): Promise<BundleEdge[]> {
    if (revisionIds.length === 0) return [];
    const rows = await this.#edges().where(inList(this.#ctx.dialect, 'b.revision_id', revisionIds)).execute();
    return rows.map(toEdge);
  }

  async parentsOf(updateIds: readonly string[]): Promise<BundleEdge[]> {
    if (updateIds.length === 0) return [];
    const rows = await this.#edges()
      .where(isLatest('pr'))
      .where(inList(this.#ctx.dialect, 'b.child_update_id', updateIds))
      .execute();
    return rows.map(toEdge);
  }

  /** The newest stored revision of each update id that has one, in the order of `updateIds`. */
  async latestOf(updateIds: readonly string[]): Promise<RevisionRef[]> {
    if (updateIds.length === 0) return [];
    const rows = await this.#ctx.db
      .selectFrom('revision')
      .select(['revision_id', 'update_id', 'revision_number', 'change_seq'])
      .where(isLatest())
      .where(inList(this.#ctx.dialect, 'update_id', [...new Set(updateIds)]))
      .execute();
    const byId = new Map(rows.map((r) => [r.update_id, toRef(r)]));
    return updateIds.flatMap((id) => byId.get(id) ?? []);
  }

  /** Documents of the given revisions; unknown keys are left out, duplicates answered once. */
  async documents(keys: readonly RevisionKey[]): Promise<RevisionDocument[]> {
    if (keys.length === 0) return [];
    const wanted = new Set(keys.map((k) => `${k.updateId}/${k.revisionNumber}`));
    const rows = await this.#ctx.db
      .selectFrom('revision')
      .select(['revision_id', 'update_id', 'revision_number', 'xml'])
      .where(inList(this.#ctx.dialect, 'update_id', [...new Set(keys.map((k) => k.updateId))]))
      .execute();
    return rows
      .filter((r) => wanted.has(`${r.update_id}/${r.revision_number}`))
      .map((r) => ({
        revisionId: Number(r.revision_id),
        key: { updateId: r.update_id, revisionNumber: Number(r.revision_number) },
        xml: unpackText(r.xml),
      }));
  }

  #edges() {
    return this.#ctx.db
      .selectFrom('bundle_member as b')
      .innerJoin('revision as pr', 'pr.revision_id', 'b.revision_id')
      .innerJoin('revision as c', (join) => join.onRef('c.update_id', '=', 'b.child_update_id').on(isLatest('c')))
      .select([
        'pr.revision_id as parent_id',
        'pr.update_id as parent_update_id',
        'pr.revision_number as parent_revision_number',
        'pr.change_seq as parent_change_seq',
        'c.revision_id as child_id',
        'c.update_id as child_update_id',
        'c.revision_number as child_revision_number',
        'c.change_seq as child_change_seq',
      ]);
  }
}

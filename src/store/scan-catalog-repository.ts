// The catalog as client scans read it: every newest revision with its prerequisites and bundle
// members in three queries (domain/prerequisite-graph.ts compiles them), approvals with their
// server-local number and change position, and the fragments an answer carries, by revision id.
import type { Approval, ApprovalAction } from '../domain/deployment.ts';
import type { GraphRevision } from '../domain/prerequisite-graph.ts';
import type { PrerequisiteClause, UpdateType } from '../domain/update.ts';
import { unpackText } from './codec.ts';
import { inList, isLatest, type StoreContext } from './sql-util.ts';

export interface ScanRevision extends GraphRevision {
  readonly publicationState: string;
  /** When the current document was stored (ISO-8601 UTC). */
  readonly receivedAt: string;
  readonly changeSeq: number;
  /** Update ids named in `IsCategory` clauses: products and classifications. */
  readonly categoryIds: readonly string[];
}

export interface NumberedApproval extends Approval {
  /** The approval's server-local number, stable while the approval stands. */
  readonly number: number;
  readonly changeSeq: number;
}

export interface ExtendedFragments {
  readonly extended: string;
  /** LocalizedProperties fragment by lower-case language. */
  readonly localized: ReadonlyMap<string, string>;
}

export class ScanCatalogRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Every newest revision with what the scan graph needs. */
  async revisions(): Promise<ScanRevision[]> {
    const db = this.#ctx.db;
    const [rows, prerequisites, members] = await Promise.all([
      db
        .selectFrom('revision')
        .select(['revision_id', 'update_id', 'update_type', 'publication_state', 'received_at', 'change_seq'])
        .where(isLatest())
        .orderBy('revision_id')
        .execute(),
      db
        .selectFrom('prerequisite as p')
        .innerJoin('revision as r', 'r.revision_id', 'p.revision_id')
        .select(['p.revision_id', 'p.clause_index', 'p.update_id', 'p.is_category'])
        .where(isLatest('r'))
        .orderBy('p.revision_id')
        .orderBy('p.clause_index')
        .orderBy('p.member_index')
        .execute(),
      db
        .selectFrom('bundle_member as b')
        .innerJoin('revision as r', 'r.revision_id', 'b.revision_id')
        .select(['b.revision_id', 'b.child_update_id'])
        .where(isLatest('r'))
        .orderBy('b.revision_id')
        .orderBy('b.group_index')
        .orderBy('b.member_index')
        .execute(),
    ]);
    const clauses = new Map<number, Map<number, { updateIds: string[]; isCategory: boolean }>>();
    for (const p of prerequisites) {
      const id = Number(p.revision_id);
      const byIndex = clauses.get(id) ?? new Map<number, { updateIds: string[]; isCategory: boolean }>();
      const clause = byIndex.get(p.clause_index) ?? { updateIds: [], isCategory: Boolean(p.is_category) };
      clause.updateIds.push(p.update_id);
      byIndex.set(p.clause_index, clause);
      clauses.set(id, byIndex);
    }
    const bundled = new Map<number, string[]>();
    for (const m of members) {
      const id = Number(m.revision_id);
      const list = bundled.get(id) ?? [];
      list.push(m.child_update_id);
      bundled.set(id, list);
    }
    return rows.map((r) => {
      const id = Number(r.revision_id);
      const prereqs: PrerequisiteClause[] = [...(clauses.get(id)?.values() ?? [])];
      return {
        revisionId: id,
        updateId: r.update_id,
        updateType: r.update_type as UpdateType,
        prerequisites: prereqs,
        bundledUpdateIds: bundled.get(id) ?? [],
        publicationState: r.publication_state,
        receivedAt: r.received_at,
        changeSeq: Number(r.change_seq),
        categoryIds: prereqs.filter((c) => c.isCategory).flatMap((c) => c.updateIds),
      };
    });
  }

  async approvals(): Promise<NumberedApproval[]> {
    const rows = await this.#ctx.db.selectFrom('approval').selectAll().orderBy('approval_id').execute();
    return rows.map((r) => ({
      id: r.deployment_id,
      number: Number(r.approval_id),
      updateId: r.update_id,
      revisionNumber: Number(r.revision_number),
      groupId: r.group_id,
      action: r.action as ApprovalAction,
      adminName: r.admin_name,
      createdAt: r.created_at,
      changeSeq: Number(r.change_seq),
      ...(r.deadline ? { deadline: r.deadline } : {}),
    }));
  }

  /** Core fragments by revision id; unknown ids are absent. */
  async cores(revisionIds: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    if (revisionIds.length === 0) return out;
    const rows = await this.#ctx.db
      .selectFrom('revision')
      .select(['revision_id', 'core'])
      .where(inList(this.#ctx.dialect, 'revision_id', revisionIds))
      .execute();
    for (const r of rows) out.set(Number(r.revision_id), unpackText(r.core));
    return out;
  }

  /** Extended fragments and every stored LocalizedProperties fragment, by revision id. */
  async extended(revisionIds: readonly number[]): Promise<Map<number, ExtendedFragments>> {
    const out = new Map<number, ExtendedFragments>();
    if (revisionIds.length === 0) return out;
    const [rows, localized] = await Promise.all([
      this.#ctx.db.selectFrom('revision').select(['revision_id', 'extended']).where(inList(this.#ctx.dialect, 'revision_id', revisionIds)).execute(),
      this.#ctx.db
        .selectFrom('localized')
        .select(['revision_id', 'language', 'fragment'])
        .where(inList(this.#ctx.dialect, 'revision_id', revisionIds))
        .orderBy('revision_id')
        .orderBy('language')
        .execute(),
    ]);
    const byRevision = new Map<number, Map<string, string>>();
    for (const l of localized) {
      const id = Number(l.revision_id);
      const map = byRevision.get(id) ?? new Map<string, string>();
      map.set(l.language.toLowerCase(), l.fragment);
      byRevision.set(id, map);
    }
    for (const r of rows) {
      const id = Number(r.revision_id);
      out.set(id, { extended: unpackText(r.extended), localized: byRevision.get(id) ?? new Map() });
    }
    return out;
  }
}

// Computer groups, approvals and declines. Every approval or decline change takes a position in
// the change sequence in its own transaction, so clients and replica downstreams see it once.
import { sql } from 'kysely';
import type { Approval, ApprovalAction, ComputerGroup, Decline } from '../domain/deployment.ts';
import { ChangeSequence } from './change-sequence.ts';
import { clientDb } from './client-schema.ts';
import { atomically, inList, isLatest, nowIso, type StoreContext } from './sql-util.ts';
import { refuseOnReplica } from '../domain/replica-guard.ts';
import { resolveDownstreamSettings } from '../domain/settings.ts';
import { SettingRepository } from './setting-repository.ts';

export const APPROVAL_CHANGE = 'approval';
export const DECLINE_CHANGE = 'decline';
/**
 * A decline taken back (reinstated); the entity is the update's newest revision_id (0 when none
 * is held), so the replica feed can name the update after its decline row is gone.
 */
export const DECLINE_REMOVED_CHANGE = 'update-reinstated';
/** An approval taken back; the entity is the removed row's approval_id (replicas learn it via markDead). */
export const APPROVAL_REMOVED_CHANGE = 'approval-removed';
/**
 * A group created or deleted. Groups have GUID keys, not numbers, so the entity id is 0: readers
 * only need to know that the position moved (the scope cache rebuilds on any move).
 */
export const GROUP_CHANGE = 'group';

/** Why a group cannot be deleted, in words an administrator can act on. */
export type GroupDeleteResult =
  | { readonly deleted: true; readonly approvalsRemoved: number }
  | { readonly deleted: false; readonly reason: 'unknown' | 'builtin' | 'children' | 'computers'; readonly message: string };

/** One update (its newest revision) as the administration lists it. */
export interface UpdateListing {
  readonly updateId: string;
  readonly revisionNumber: number;
  readonly revisionId: number;
  readonly updateType: string;
  readonly title: string;
  readonly kbArticleId?: string;
  readonly msrcSeverity?: string;
  readonly publicationState: string;
  readonly creationDate?: string;
  /** Titles of its UpdateClassification categories. */
  readonly classifications: readonly string[];
  readonly approvals: readonly Approval[];
  readonly declined: boolean;
}

export interface UpdateListFilter {
  readonly approved?: boolean;
  readonly declined?: boolean;
  /** Classification title (case-insensitive) or update id. */
  readonly classification?: string;
  /** Part of the title (case-insensitive), or a KB number. */
  readonly text?: string;
  /** Only updates not approved for any group. */
  readonly unapproved?: boolean;
  /** Only updates of these product categories (the caller expands families to products). */
  readonly productIds?: readonly string[];
  /** Computers' reported status: some computer needs it, it failed on some, installed where reported, nobody reported it. */
  readonly status?: 'needed' | 'failed' | 'installed' | 'no-status';
  /** Exactly this KB number (digits). */
  readonly kb?: string;
  /** False: only updates that are not declined. */
  readonly includeDeclined?: boolean;
  readonly limit?: number;
  readonly offset?: number;
}

/** Updates an administrator approves: categories and detectoids are never approved. */
const APPROVABLE_TYPES = ['Software', 'Driver'];

export class GroupRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Every group, parents before children. */
  async list(): Promise<ComputerGroup[]> {
    const rows = await this.#ctx.db.selectFrom('computer_group').selectAll().orderBy('created_at').orderBy('group_id').execute();
    const groups = rows.map((r) => ({
      id: r.group_id,
      name: r.name,
      builtin: Boolean(r.builtin),
      ...(r.parent_id ? { parentId: r.parent_id } : {}),
    }));
    const placed = new Set<string>();
    const ordered: ComputerGroup[] = [];
    // Creation order is parents-first in practice; this makes it so even after imports.
    while (ordered.length < groups.length) {
      const before = ordered.length;
      for (const g of groups) {
        if (!placed.has(g.id) && (!g.parentId || placed.has(g.parentId))) {
          placed.add(g.id);
          ordered.push(g);
        }
      }
      if (ordered.length === before) break;
    }
    return ordered;
  }

  /** Adds or renames/moves groups by id; built-in groups keep their names. */
  async upsert(groups: readonly ComputerGroup[]): Promise<void> {
    await atomically(this.#ctx.db, async (db) => {
      for (const g of groups) {
        await db
          .insertInto('computer_group')
          .values({ group_id: g.id, name: g.name, parent_id: g.parentId ?? null, builtin: g.builtin, created_at: nowIso() })
          .onConflict((oc) => oc.column('group_id').doUpdateSet({ name: g.name, parent_id: g.parentId ?? null }).where('computer_group.builtin', '=', false))
          .execute();
      }
    });
  }

  /**
   * Creates a group under `parentId` and takes a change position. The caller checks names and
   * parents first; the (parent, name) unique index still refuses a duplicate made meanwhile.
   */
  async create(group: { id: string; name: string; parentId: string }): Promise<ComputerGroup> {
    await refuseIfReplica(this.#ctx, 'create groups');
    return atomically(this.#ctx.db, async (db) => {
      await db
        .insertInto('computer_group')
        .values({ group_id: group.id, name: group.name, parent_id: group.parentId, builtin: false, created_at: nowIso() })
        .execute();
      await new ChangeSequence({ db, dialect: this.#ctx.dialect }).advance([{ kind: GROUP_CHANGE, entityId: 0 }]);
      return { id: group.id, name: group.name, parentId: group.parentId, builtin: false };
    });
  }

  /**
   * Deletes a group that is not built in and has neither subgroups nor computers; its approvals
   * go with it, each at a change position of its own, as if taken back one by one.
   */
  async delete(id: string): Promise<GroupDeleteResult> {
    await refuseIfReplica(this.#ctx, 'delete groups');
    return atomically(this.#ctx.db, async (db) => {
      const sequence = new ChangeSequence({ db, dialect: this.#ctx.dialect });
      // Serialises with other group and approval writers before reading what decides the answer.
      if (db.isTransaction) await sequence.lock();
      const group = await db.selectFrom('computer_group').selectAll().where('group_id', '=', id).executeTakeFirst();
      if (group === undefined) return { deleted: false, reason: 'unknown', message: `no group has id ${id}` };
      if (group.builtin) return { deleted: false, reason: 'builtin', message: `"${group.name}" is built in and cannot be deleted` };
      const children = await db.selectFrom('computer_group').select('name').where('parent_id', '=', id).orderBy('name').execute();
      if (children.length > 0) {
        return {
          deleted: false,
          reason: 'children',
          message: `"${group.name}" has subgroups (${children.map((c) => c.name).join(', ')}): delete or move them first`,
        };
      }
      const members = await clientDb({ db, dialect: this.#ctx.dialect })
        .selectFrom('computer_membership')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('group_id', '=', id)
        .executeTakeFirstOrThrow();
      if (Number(members.n) > 0) {
        return {
          deleted: false,
          reason: 'computers',
          message: `"${group.name}" has ${Number(members.n)} computer(s): move them to another group first`,
        };
      }
      const approvals = await db.selectFrom('approval').select('approval_id').where('group_id', '=', id).orderBy('approval_id').execute();
      await db.deleteFrom('approval').where('group_id', '=', id).execute();
      await db.deleteFrom('computer_group').where('group_id', '=', id).execute();
      await sequence.advance([
        ...approvals.map((a) => ({ kind: APPROVAL_REMOVED_CHANGE, entityId: Number(a.approval_id) })),
        { kind: GROUP_CHANGE, entityId: 0 },
      ]);
      return { deleted: true, approvalsRemoved: approvals.length };
    });
  }

  /** Computers placed directly in each group (group id -> count); groups without any are absent. */
  async computerCounts(): Promise<Map<string, number>> {
    const rows = await clientDb(this.#ctx)
      .selectFrom('computer_membership')
      .select(['group_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('group_id')
      .execute();
    return new Map(rows.map((r) => [r.group_id, Number(r.n)]));
  }
}

function toApproval(r: {
  deployment_id: string;
  update_id: string;
  revision_number: number;
  group_id: string;
  action: string;
  deadline: string | null;
  admin_name: string;
  created_at: string;
}): Approval {
  return {
    id: r.deployment_id,
    updateId: r.update_id,
    revisionNumber: r.revision_number,
    groupId: r.group_id,
    action: r.action as ApprovalAction,
    adminName: r.admin_name,
    createdAt: r.created_at,
    ...(r.deadline ? { deadline: r.deadline } : {}),
  };
}

export class ApprovalRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Every approval, a page at a time (export). */
  async *iterate(pageSize = 1000): AsyncGenerator<Approval> {
    let after = 0;
    for (;;) {
      const rows = await this.#ctx.db
        .selectFrom('approval')
        .selectAll()
        .where('approval_id', '>', after)
        .orderBy('approval_id')
        .limit(pageSize)
        .execute();
      for (const r of rows) yield toApproval(r);
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1]!.approval_id);
    }
  }

  /**
   * Records approvals, replacing any earlier one of the same update and group. An approval
   * identical to the stored one changes nothing and takes no change position.
   */
  async upsert(approvals: readonly Approval[]): Promise<number> {
    await refuseIfReplica(this.#ctx, 'change approvals');
    return writeApprovals(this.#ctx, approvals);
  }

  /** Approvals of one update (any revision), in group order. */
  async ofUpdate(updateId: string): Promise<Approval[]> {
    const rows = await this.#ctx.db.selectFrom('approval').selectAll().where('update_id', '=', updateId).orderBy('group_id').execute();
    return rows.map(toApproval);
  }

  /** Takes an approval back (WSUS "Not approved"). False when there was none; else one change position. */
  async remove(updateId: string, groupId: string): Promise<boolean> {
    await refuseIfReplica(this.#ctx, 'change approvals');
    return atomically(this.#ctx.db, async (db) => {
      const removed = await db
        .deleteFrom('approval')
        .where('update_id', '=', updateId)
        .where('group_id', '=', groupId)
        .returning('approval_id')
        .executeTakeFirst();
      if (removed === undefined) return false;
      await new ChangeSequence({ db, dialect: this.#ctx.dialect }).advance([{ kind: APPROVAL_REMOVED_CHANGE, entityId: Number(removed.approval_id) }]);
      return true;
    });
  }

  /** Newest revisions of approvable updates carrying this KB number (digits only), by title. */
  async updatesByKb(kb: string): Promise<UpdateListing[]> {
    const rows = await this.#ctx.db
      .selectFrom('revision')
      .select(['revision_id'])
      .where(isLatest())
      .where('update_type', 'in', APPROVABLE_TYPES)
      .where('kb_article_id', '=', kb)
      .orderBy('title')
      .orderBy('update_id')
      .execute();
    return this.#listings(rows.map((r) => Number(r.revision_id)));
  }

  /** A page of approvable updates (newest revision each), newest first, with how many match. */
  async listUpdates(filter: UpdateListFilter = {}): Promise<{ total: number; updates: UpdateListing[] }> {
    // SQLite would seek revision_latest_type on the type (nearly every update is Software) and
    // then sort them all for each page; the unary plus keeps it on revision_admin_listing, which
    // is in page order already (migration 0012).
    const type = this.#ctx.dialect === 'sqlite' ? sql<string>`+r.update_type` : sql<string>`r.update_type`;
    let query = this.#ctx.db
      .selectFrom('revision as r')
      .where(isLatest('r'))
      .where(type, 'in', APPROVABLE_TYPES);
    if (filter.approved) query = query.where((eb) => eb.exists(eb.selectFrom('approval as a').select('a.approval_id').whereRef('a.update_id', '=', 'r.update_id')));
    if (filter.declined) query = query.where((eb) => eb.exists(eb.selectFrom('decline as d').select('d.decline_id').whereRef('d.update_id', '=', 'r.update_id')));
    if (filter.includeDeclined === false) query = query.where((eb) => eb.not(eb.exists(eb.selectFrom('decline as d').select('d.decline_id').whereRef('d.update_id', '=', 'r.update_id'))));
    if (filter.unapproved) query = query.where((eb) => eb.not(eb.exists(eb.selectFrom('approval as a').select('a.approval_id').whereRef('a.update_id', '=', 'r.update_id'))));
    if (filter.kb !== undefined) query = query.where('r.kb_article_id', '=', filter.kb);
    // A category filter is a set of revisions read once through prerequisite_update_id, not a
    // subquery per listed revision (which reads every candidate's prerequisites).
    const inCategories = (ids: readonly string[]) =>
      sql<boolean>`r.revision_id in (${this.#ctx.db
        .selectFrom('prerequisite as pp')
        .select('pp.revision_id')
        .where('pp.is_category', '=', true)
        .where(inList(this.#ctx.dialect, 'pp.update_id', ids.length > 0 ? ids : ['']))})`;
    if (filter.productIds !== undefined) {
      const ids = filter.productIds.map((id) => id.toLowerCase());
      query = query.where(inCategories(ids));
    }
    if (filter.status !== undefined) {
      const statuses = clientDb(this.#ctx);
      const rows = (values?: readonly string[]) => {
        let q = statuses.selectFrom('update_status as s').select('s.update_id').where('s.update_id', '=', sql.ref<string>('r.update_id'));
        if (values !== undefined) q = q.where('s.status', 'in', values);
        return q;
      };
      const NEEDED = ['NotInstalled', 'Downloaded'];
      const wanted = filter.status;
      query = query.where((eb) => {
        if (wanted === 'needed') return eb.exists(rows(NEEDED));
        if (wanted === 'failed') return eb.exists(rows(['Failed']));
        if (wanted === 'installed') return eb.and([eb.exists(rows(['Installed', 'InstalledPendingReboot'])), eb.not(eb.exists(rows([...NEEDED, 'Failed'])))]);
        return eb.not(eb.exists(rows()));
      });
    }
    if (filter.classification !== undefined) {
      const wanted = filter.classification.toLowerCase();
      const classes = await this.#ctx.db
        .selectFrom('revision as c')
        .select('c.update_id')
        .where(isLatest('c'))
        .where('c.update_type', '=', 'Category')
        .where('c.category_type', '=', 'UpdateClassification')
        .where((w) => w.or([w(sql<string>`lower(c.title)`, '=', wanted), w('c.update_id', '=', wanted)]))
        .execute();
      query = query.where(inCategories(classes.map((c) => c.update_id)));
    }
    if (filter.text !== undefined && filter.text !== '') {
      const text = filter.text.toLowerCase();
      // LIKE wildcards in the admin's text are taken literally.
      const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const kb = /^(?:kb)?(\d+)$/i.exec(filter.text.trim())?.[1];
      query = query.where((w) =>
        w.or([
          w(sql<string>`lower(r.title)`, 'like', sql<string>`${pattern} escape '\\'`),
          ...(kb !== undefined ? [w('r.kb_article_id', '=', kb)] : []),
        ]),
      );
    }
    const [count, page] = await Promise.all([
      query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      query
        .select('r.revision_id')
        .orderBy('r.creation_date', 'desc')
        .orderBy('r.revision_id', 'desc')
        .limit(filter.limit ?? 50)
        .offset(filter.offset ?? 0)
        .execute(),
    ]);
    const ids = page.map((r) => Number(r.revision_id));
    const listed = new Map((await this.#listings(ids)).map((u) => [u.revisionId, u]));
    return { total: Number(count.n), updates: ids.map((id) => listed.get(id)!) };
  }

  /** Listings of the given revisions, with classifications, approvals and declines in three queries. */
  async #listings(revisionIds: readonly number[]): Promise<UpdateListing[]> {
    if (revisionIds.length === 0) return [];
    const db = this.#ctx.db;
    const dialect = this.#ctx.dialect;
    const rows = await db
      .selectFrom('revision')
      .select(['revision_id', 'update_id', 'revision_number', 'update_type', 'title', 'kb_article_id', 'msrc_severity', 'publication_state', 'creation_date'])
      .where(inList(dialect, 'revision_id', revisionIds))
      .execute();
    const updateIds = rows.map((r) => r.update_id);
    // Categories of the page first, then which of them are classifications: as one join, the
    // planner may walk every newest revision for the categories' side.
    const categories = await db
      .selectFrom('prerequisite as p')
      .select(['p.revision_id', 'p.update_id'])
      .where(inList(dialect, 'p.revision_id', revisionIds))
      .where('p.is_category', '=', true)
      .execute();
    const categoryIds = [...new Set(categories.map((c) => c.update_id))];
    const [classTitles, approvals, declines] = await Promise.all([
      categoryIds.length === 0
        ? []
        : db
            .selectFrom('revision as c')
            .select(['c.update_id', 'c.title'])
            .where(inList(dialect, 'c.update_id', categoryIds))
            .where(isLatest('c'))
            .where('c.update_type', '=', 'Category')
            .where('c.category_type', '=', 'UpdateClassification')
            .execute(),
      db.selectFrom('approval').selectAll().where(inList(dialect, 'update_id', updateIds)).orderBy('group_id').execute(),
      db.selectFrom('decline').select('update_id').where(inList(dialect, 'update_id', updateIds)).execute(),
    ]);
    const titleOf = new Map(classTitles.map((c) => [c.update_id, c.title]));
    const classesOf = new Map<number, string[]>();
    for (const c of categories) {
      const title = titleOf.get(c.update_id);
      if (title === undefined) continue;
      const list = classesOf.get(Number(c.revision_id)) ?? [];
      if (!list.includes(title)) list.push(title);
      classesOf.set(Number(c.revision_id), list);
    }
    for (const list of classesOf.values()) list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const approvalsOf = new Map<string, Approval[]>();
    for (const a of approvals) approvalsOf.set(a.update_id, [...(approvalsOf.get(a.update_id) ?? []), toApproval(a)]);
    const declined = new Set(declines.map((d) => d.update_id));
    const byId = new Map(
      rows.map((r) => [
        Number(r.revision_id),
        {
          updateId: r.update_id,
          revisionNumber: Number(r.revision_number),
          revisionId: Number(r.revision_id),
          updateType: r.update_type,
          title: r.title,
          ...(r.kb_article_id !== null && { kbArticleId: r.kb_article_id }),
          ...(r.msrc_severity !== null && { msrcSeverity: r.msrc_severity }),
          publicationState: r.publication_state,
          ...(r.creation_date !== null && { creationDate: r.creation_date }),
          classifications: classesOf.get(Number(r.revision_id)) ?? [],
          approvals: approvalsOf.get(r.update_id) ?? [],
          declined: declined.has(r.update_id),
        } satisfies UpdateListing,
      ]),
    );
    return revisionIds.flatMap((id) => byId.get(id) ?? []);
  }
}

function rowOf(a: Approval, changeSeq: number) {
  return {
    deployment_id: a.id,
    update_id: a.updateId,
    revision_number: a.revisionNumber,
    group_id: a.groupId,
    action: a.action,
    deadline: a.deadline ?? null,
    admin_name: a.adminName,
    created_at: a.createdAt,
    change_seq: changeSeq,
  };
}

export class DeclineRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async list(): Promise<Decline[]> {
    const rows = await this.#ctx.db.selectFrom('decline').selectAll().orderBy('decline_id').execute();
    return rows.map((r) => ({ updateId: r.update_id, adminName: r.admin_name, declinedAt: r.declined_at }));
  }

  /** Declines updates; an update already declined stays as it was. */
  async upsert(declines: readonly Decline[]): Promise<number> {
    await refuseIfReplica(this.#ctx, 'decline updates');
    return writeDeclines(this.#ctx, declines);
  }

  /**
   * Takes a decline back (WSUS "reinstate"): the update is offered again as not approved, so an
   * approval left from before the decline goes too. False when it was not declined.
   */
  async reinstate(updateId: string): Promise<boolean> {
    await refuseIfReplica(this.#ctx, 'reinstate updates');
    return atomically(this.#ctx.db, async (db) => {
      const removed = await db.deleteFrom('decline').where('update_id', '=', updateId).returning('decline_id').executeTakeFirst();
      if (removed === undefined) return false;
      const approvals = await db.deleteFrom('approval').where('update_id', '=', updateId).returning('approval_id').execute();
      const newest = await db.selectFrom('revision').select('revision_id').where('update_id', '=', updateId).where('is_latest', '=', true).executeTakeFirst();
      await new ChangeSequence({ db, dialect: this.#ctx.dialect }).advance([
        { kind: DECLINE_REMOVED_CHANGE, entityId: Number(newest?.revision_id ?? 0) },
        ...approvals.map((a) => ({ kind: APPROVAL_REMOVED_CHANGE, entityId: Number(a.approval_id) })),
      ]);
      return true;
    });
  }
}

/**
 * Records approvals, replacing any earlier one of the same update and group; an identical one
 * takes no position. Unguarded: the replica phase writes the upstream's approvals through it.
 */
export async function writeApprovals(ctx: StoreContext, approvals: readonly Approval[]): Promise<number> {
  return atomically(ctx.db, async (db) => {
    const sequence = new ChangeSequence({ db, dialect: ctx.dialect });
    let changed = 0;
    for (const a of approvals) {
      const existing = await db
        .selectFrom('approval')
        .selectAll()
        .where('update_id', '=', a.updateId)
        .where('group_id', '=', a.groupId)
        .executeTakeFirst();
      if (existing && JSON.stringify(toApproval(existing)) === JSON.stringify(toApproval(rowOf(a, 0)))) continue;
      const seq = await sequence.claim(1);
      const row = rowOf(a, seq);
      let id: number;
      if (existing) {
        await db.updateTable('approval').set(row).where('approval_id', '=', existing.approval_id).execute();
        id = Number(existing.approval_id);
      } else {
        id = Number((await db.insertInto('approval').values(row).returning('approval_id').executeTakeFirstOrThrow()).approval_id);
      }
      await sequence.log([{ seq, kind: APPROVAL_CHANGE, entityId: id }]);
      changed++;
    }
    return changed;
  });
}

/** Declines updates (an update already declined stays as it was). Unguarded, as writeApprovals. */
export async function writeDeclines(ctx: StoreContext, declines: readonly Decline[]): Promise<number> {
  return atomically(ctx.db, async (db) => {
    const sequence = new ChangeSequence({ db, dialect: ctx.dialect });
    let changed = 0;
    for (const d of declines) {
      const existing = await db.selectFrom('decline').select('decline_id').where('update_id', '=', d.updateId).executeTakeFirst();
      if (existing) continue;
      const seq = await sequence.claim(1);
      const inserted = await db
        .insertInto('decline')
        .values({ update_id: d.updateId, admin_name: d.adminName, declined_at: d.declinedAt, change_seq: seq })
        .returning('decline_id')
        .executeTakeFirstOrThrow();
      await sequence.log([{ seq, kind: DECLINE_CHANGE, entityId: Number(inserted.decline_id) }]);
      changed++;
    }
    return changed;
  });
}

/**
 * A replica takes approvals, groups and declines from its upstream: a local change through these
 * repositories is refused (ReplicaChangeRefused) with a message naming the upstream.
 */
async function refuseIfReplica(ctx: StoreContext, what: string): Promise<void> {
  const { settings } = resolveDownstreamSettings(await new SettingRepository(ctx).all());
  refuseOnReplica(settings, what);
}

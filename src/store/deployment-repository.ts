// Computer groups, approvals and declines. Every approval or decline change takes a position in
// the change sequence in its own transaction, so clients and replica downstreams see it once.
import type { Approval, ApprovalAction, ComputerGroup, Decline } from '../domain/deployment.ts';
import { ChangeSequence } from './change-sequence.ts';
import { atomically, nowIso, type StoreContext } from './sql-util.ts';

export const APPROVAL_CHANGE = 'approval';
export const DECLINE_CHANGE = 'decline';

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
    return atomically(this.#ctx.db, async (db) => {
      const sequence = new ChangeSequence({ db, dialect: this.#ctx.dialect });
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
    return atomically(this.#ctx.db, async (db) => {
      const sequence = new ChangeSequence({ db, dialect: this.#ctx.dialect });
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
}

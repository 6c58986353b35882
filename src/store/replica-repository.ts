// The replica's side of GetDeployments (WSUS-PROTOCOLS §2.8): reads the local groups, approvals
// and declines a mirror plan (domain/replica-mirror.ts) is computed from, and applies the plan.
// These writes bypass the replica guard on purpose: they are the upstream's changes, not local
// ones. Everything runs in the caller's transaction, with the deployment anchor.
import type { Approval } from '../domain/deployment.ts';
import type { LocalDeploymentState, MirrorPlan } from '../domain/replica-mirror.ts';
import { ChangeSequence } from './change-sequence.ts';
import { DECLINE_REMOVED_CHANGE, writeApprovals, writeDeclines } from './deployment-repository.ts';
import { chunks, inList, nowIso, type StoreContext } from './sql-util.ts';

/**
 * Change-log kind of a mirror step that removes rows (approvals, declines, groups): the entity is
 * 0, readers only need the position to move (client scope caches rebuild on any move; replica
 * downstreams of this server learn removed approvals through announced deployments going dead).
 */
export const REPLICA_REMOVAL_CHANGE = 'replica-removal';

export interface MirrorCounts {
  readonly groupsUpserted: number;
  readonly groupsDeleted: number;
  readonly approvalsUpserted: number;
  readonly approvalsDeleted: number;
  readonly declinesAdded: number;
  readonly declinesRemoved: number;
}

/** A name no administrator gives, unique per group: the (parent, name) index never sees two. */
const placeholderName = (id: string): string => `~replica~${id}`;

export class ReplicaRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async localState(): Promise<LocalDeploymentState> {
    const db = this.#ctx.db;
    const [groups, approvals, declines] = await Promise.all([
      db.selectFrom('computer_group').selectAll().orderBy('group_id').execute(),
      db.selectFrom('approval').select(['deployment_id', 'update_id', 'group_id']).orderBy('approval_id').execute(),
      db.selectFrom('decline').select('update_id').execute(),
    ]);
    return {
      groups: groups.map((g) => ({ id: g.group_id, name: g.name, builtin: Boolean(g.builtin), ...(g.parent_id ? { parentId: g.parent_id } : {}) })),
      approvals: approvals.map((a) => ({ id: a.deployment_id, updateId: a.update_id, groupId: a.group_id })),
      declined: new Set(declines.map((d) => d.update_id)),
    };
  }

  /** Which of these revisions are held, as `updateId/revisionNumber`. */
  async heldRevisions(keys: readonly Pick<Approval, 'updateId' | 'revisionNumber'>[]): Promise<Set<string>> {
    const held = new Set<string>();
    const ids = [...new Set(keys.map((k) => k.updateId))];
    for (const slice of chunks(ids, 1000)) {
      const rows = await this.#ctx.db
        .selectFrom('revision')
        .select(['update_id', 'revision_number'])
        .where(inList(this.#ctx.dialect, 'update_id', slice))
        .execute();
      for (const r of rows) held.add(`${r.update_id}/${Number(r.revision_number)}`);
    }
    return held;
  }

  /** Applies `plan`; must run in a transaction (with the anchor it goes with). */
  async apply(plan: MirrorPlan): Promise<MirrorCounts> {
    const db = this.#ctx.db;
    if (!db.isTransaction) throw new Error('ReplicaRepository.apply() needs a transaction');
    const sequence = new ChangeSequence(this.#ctx);
    // Other approval and group writers wait until this commits.
    await sequence.lock();

    // 1. New and changed groups under placeholder names, parents first: a group may take the
    //    name of one deleted below, or two may swap names, without tripping the unique index.
    const existing = new Set(
      plan.upsertGroups.length === 0
        ? []
        : (await db.selectFrom('computer_group').select('group_id').where(inList(this.#ctx.dialect, 'group_id', plan.upsertGroups.map((g) => g.id))).execute()).map(
            (r) => r.group_id,
          ),
    );
    for (const g of plan.upsertGroups) {
      if (existing.has(g.id)) {
        await db.updateTable('computer_group').set({ name: placeholderName(g.id), parent_id: g.parentId ?? null }).where('group_id', '=', g.id).execute();
      } else {
        await db
          .insertInto('computer_group')
          .values({ group_id: g.id, name: placeholderName(g.id), parent_id: g.parentId ?? null, builtin: g.builtin, created_at: nowIso() })
          .execute();
      }
    }

    // 2. Approvals that died, or that belong to groups about to go.
    let approvalsDeleted = 0;
    for (const slice of chunks([...plan.deleteApprovals], 1000)) {
      const gone = await db.deleteFrom('approval').where(inList(this.#ctx.dialect, 'deployment_id', slice)).returning('approval_id').execute();
      approvalsDeleted += gone.length;
    }

    // 3. Groups the upstream no longer has, children first (memberships go by cascade; their
    //    computers fall back to Unassigned as any computer without a group does).
    let groupsDeleted = 0;
    for (const id of plan.deleteGroups) {
      approvalsDeleted += (await db.deleteFrom('approval').where('group_id', '=', id).returning('approval_id').execute()).length;
      groupsDeleted += (await db.deleteFrom('computer_group').where('group_id', '=', id).where('builtin', '=', false).returning('group_id').execute()).length;
    }

    // 4. The final names.
    for (const g of plan.upsertGroups) {
      if (g.builtin && existing.has(g.id)) continue;
      await db.updateTable('computer_group').set({ name: g.name }).where('group_id', '=', g.id).execute();
    }

    // 5. Approvals and declines; each change takes its own position (as a local change would).
    const approvalsUpserted = await writeApprovals(this.#ctx, plan.upsertApprovals);
    const declinesAdded = await writeDeclines(
      this.#ctx,
      plan.addDeclines.map((updateId) => ({ updateId, adminName: 'upstream', declinedAt: nowIso() })),
    );
    let declinesRemoved = 0;
    for (const slice of chunks([...plan.removeDeclines], 1000)) {
      const gone = await db.deleteFrom('decline').where(inList(this.#ctx.dialect, 'update_id', slice)).returning('update_id').execute();
      declinesRemoved += gone.length;
      if (gone.length === 0) continue;
      // As a local reinstate logs it, so this server's own replicas learn it in turn.
      const newest = await db
        .selectFrom('revision')
        .select('revision_id')
        .where(inList(this.#ctx.dialect, 'update_id', gone.map((g) => g.update_id)))
        .where('is_latest', '=', true)
        .execute();
      await sequence.advance(newest.map((r) => ({ kind: DECLINE_REMOVED_CHANGE, entityId: Number(r.revision_id) })));
    }

    // Removals and group changes log no row of their own: one position tells readers to look again.
    if (approvalsDeleted + declinesRemoved + groupsDeleted + plan.upsertGroups.length > 0) await sequence.advance([{ kind: REPLICA_REMOVAL_CHANGE, entityId: 0 }]);
    return {
      groupsUpserted: plan.upsertGroups.length,
      groupsDeleted,
      approvalsUpserted,
      approvalsDeleted,
      declinesAdded,
      declinesRemoved,
    };
  }
}

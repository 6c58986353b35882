// What replica downstream servers are fed (GetDeployments): approvals and declines changed since a
// position, and the deployments that died since. An approval is replaced in place (one per update
// and group), so the deployment GUID it replaced is gone from `approval`; the GUIDs announced to
// replicas are kept here so the next call can report them dead.
import type { ApprovalAction } from '../domain/deployment.ts';
import type { ChangedApproval } from '../domain/replica-feed.ts';
import { ChangeSequence } from './change-sequence.ts';
import { DECLINE_REMOVED_CHANGE } from './deployment-repository.ts';
import { atomically, chunks, inList, nowIso, type StoreContext } from './sql-util.ts';
import { upstreamDb } from './upstream-schema.ts';

export const DEAD_DEPLOYMENT_CHANGE = 'deployment-dead';

export interface ChangedDecline {
  readonly updateId: string;
  readonly changeSeq: number;
}

export class DeploymentFeedRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Approvals changed after `since` (all without it), in change order, with their revision's position. */
  async approvalsChangedSince(since?: number): Promise<ChangedApproval[]> {
    let query = this.#ctx.db
      .selectFrom('approval as a')
      .leftJoin('revision as r', (join) => join.onRef('r.update_id', '=', 'a.update_id').onRef('r.revision_number', '=', 'a.revision_number'))
      .select([
        'a.deployment_id',
        'a.update_id',
        'a.revision_number',
        'a.group_id',
        'a.action',
        'a.deadline',
        'a.admin_name',
        'a.created_at',
        'a.change_seq',
        'r.change_seq as revision_change_seq',
      ]);
    if (since !== undefined) query = query.where('a.change_seq', '>', since);
    const rows = await query.orderBy('a.change_seq').execute();
    return rows.map((r) => ({
      approval: {
        id: r.deployment_id,
        updateId: r.update_id,
        revisionNumber: Number(r.revision_number),
        groupId: r.group_id,
        action: r.action as ApprovalAction,
        adminName: r.admin_name,
        createdAt: r.created_at,
        ...(r.deadline ? { deadline: r.deadline } : {}),
      },
      changeSeq: Number(r.change_seq),
      revisionChangeSeq: r.revision_change_seq === null ? undefined : Number(r.revision_change_seq),
    }));
  }

  async declinesChangedSince(since?: number): Promise<ChangedDecline[]> {
    let query = this.#ctx.db.selectFrom('decline').select(['update_id', 'change_seq']);
    if (since !== undefined) query = query.where('change_seq', '>', since);
    const rows = await query.orderBy('change_seq').execute();
    return rows.map((r) => ({ updateId: r.update_id, changeSeq: Number(r.change_seq) }));
  }

  /**
   * Updates reinstated after `since` and not declined again since: a replica holding their decline
   * must drop it (reported as dead decline deployments, domain/replica-feed.ts declineDeploymentId).
   */
  async reinstatedSince(since: number): Promise<string[]> {
    const rows = await this.#ctx.db
      .selectFrom('change_log as c')
      .innerJoin('revision as r', 'r.revision_id', 'c.entity_id')
      .select('r.update_id')
      .distinct()
      .where('c.kind', '=', DECLINE_REMOVED_CHANGE)
      .where('c.seq', '>', since)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('decline as d').select('d.update_id').whereRef('d.update_id', '=', 'r.update_id'))))
      .orderBy('r.update_id')
      .execute();
    return rows.map((r) => r.update_id);
  }

  /** Remembers deployment GUIDs sent to a replica, so their replacement can be reported. */
  async announce(deploymentIds: readonly string[]): Promise<void> {
    if (deploymentIds.length === 0) return;
    const at = nowIso();
    const db = upstreamDb(this.#ctx);
    for (const slice of chunks([...new Set(deploymentIds)], 1000)) {
      await db
        .insertInto('announced_deployment')
        .values(slice.map((id) => ({ deployment_id: id, announced_at: at, dead_seq: null })))
        .onConflict((oc) => oc.column('deployment_id').doNothing())
        .execute();
    }
  }

  /**
   * Marks announced deployments whose approval is gone (replaced or removed) dead, each at a new
   * position of the change sequence. Returns how many died.
   */
  async markDead(): Promise<number> {
    return atomically(this.#ctx.db, async (tx) => {
      const db = upstreamDb({ db: tx, dialect: this.#ctx.dialect });
      const gone = await db
        .selectFrom('announced_deployment as d')
        .select('d.announced_id')
        .where('d.dead_seq', 'is', null)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('approval as a').select('a.approval_id').whereRef('a.deployment_id', '=', 'd.deployment_id'))))
        .orderBy('d.announced_id')
        .execute();
      if (gone.length === 0) return 0;
      const positions = await new ChangeSequence({ db: tx, dialect: this.#ctx.dialect }).advance(
        gone.map((g) => ({ kind: DEAD_DEPLOYMENT_CHANGE, entityId: Number(g.announced_id) })),
      );
      for (let i = 0; i < gone.length; i++) {
        await db.updateTable('announced_deployment').set({ dead_seq: positions[i]! }).where('announced_id', '=', gone[i]!.announced_id).execute();
      }
      return gone.length;
    });
  }

  /** Deployment GUIDs that died after `since`. */
  async deadSince(since: number): Promise<string[]> {
    const rows = await upstreamDb(this.#ctx)
      .selectFrom('announced_deployment')
      .select('deployment_id')
      .where('dead_seq', '>', since)
      .orderBy('dead_seq')
      .execute();
    return rows.map((r) => r.deployment_id);
  }

  /** Whether these GUIDs are currently announced and alive (tests, diagnostics). */
  async announced(deploymentIds: readonly string[]): Promise<string[]> {
    if (deploymentIds.length === 0) return [];
    const rows = await upstreamDb(this.#ctx)
      .selectFrom('announced_deployment')
      .select('deployment_id')
      .where('dead_seq', 'is', null)
      .where(inList(this.#ctx.dialect, 'deployment_id', deploymentIds))
      .execute();
    return rows.map((r) => r.deployment_id);
  }
}

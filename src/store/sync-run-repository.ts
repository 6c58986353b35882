// The history of synchronization runs (DESIGN §3).
import type { Selectable } from 'kysely';
import { INTERRUPTED_RUN_ERROR, ZERO_SYNC_COUNTS, type SyncCounts, type SyncPhase, type SyncResult, type SyncRun } from '../domain/sync-run.ts';
import type { SyncRunTable } from './schema.ts';
import { nowIso, type StoreContext } from './sql-util.ts';
import { syncLockHeld, THIS_PROCESS, type SyncLockObserver } from './sync-state.ts';

function toSyncRun(r: Selectable<SyncRunTable>): SyncRun {
  return {
    id: Number(r.id),
    startedAt: r.started_at,
    ...(r.ended_at !== null && { endedAt: r.ended_at }),
    phase: r.phase as SyncPhase,
    counts: {
      newRevisions: Number(r.new_revisions),
      revisedRevisions: Number(r.revised_revisions),
      expiredRevisions: Number(r.expired_revisions),
      categories: Number(r.categories),
      files: Number(r.files),
    },
    result: r.result as SyncResult,
    ...(r.error !== null && { error: r.error }),
  };
}

export interface SyncRunChange {
  readonly phase?: SyncPhase;
  readonly counts?: Partial<SyncCounts>;
  readonly result?: SyncResult;
  readonly error?: string | null;
  /** ISO-8601; set automatically when `result` leaves `running`. */
  readonly endedAt?: string;
}

export class SyncRunRepository {
  readonly #ctx: StoreContext;
  readonly #observer: SyncLockObserver;

  constructor(ctx: StoreContext, observer: SyncLockObserver = THIS_PROCESS) {
    this.#ctx = ctx;
    this.#observer = observer;
  }

  /**
   * A run still marked running while nobody holds the synchronization lock belongs to a process
   * that died (kill -9, power loss): it is recorded as failed when read, so `sync status` does not
   * show it running until the next synchronization. Returns whether any was. Race-free with a run
   * that is just finishing: the engine records its result before it releases the lock, and only
   * rows still running are changed.
   */
  async #settleInterrupted(rows: readonly Selectable<SyncRunTable>[]): Promise<boolean> {
    if (!rows.some((r) => r.result === 'running')) return false;
    if (await syncLockHeld(this.#ctx, this.#observer)) return false;
    const changed = await this.#ctx.db
      .updateTable('sync_run')
      .set({ result: 'failed', error: INTERRUPTED_RUN_ERROR, ended_at: nowIso() })
      .where('result', '=', 'running')
      .executeTakeFirst();
    return Number(changed.numUpdatedRows) > 0;
  }

  async start(phase: SyncPhase = 'handshake', startedAt: string = nowIso()): Promise<SyncRun> {
    const row = await this.#ctx.db
      .insertInto('sync_run')
      .values({
        started_at: startedAt,
        phase,
        new_revisions: ZERO_SYNC_COUNTS.newRevisions,
        revised_revisions: ZERO_SYNC_COUNTS.revisedRevisions,
        expired_revisions: ZERO_SYNC_COUNTS.expiredRevisions,
        categories: ZERO_SYNC_COUNTS.categories,
        files: ZERO_SYNC_COUNTS.files,
        result: 'running',
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSyncRun(row);
  }

  /** Records progress or the end of a run. Counts given replace the stored ones. */
  async update(id: number, change: SyncRunChange): Promise<SyncRun> {
    const c = change.counts ?? {};
    const endedAt = change.endedAt ?? (change.result !== undefined && change.result !== 'running' ? nowIso() : undefined);
    const row = await this.#ctx.db
      .updateTable('sync_run')
      .set({
        ...(change.phase !== undefined && { phase: change.phase }),
        ...(c.newRevisions !== undefined && { new_revisions: c.newRevisions }),
        ...(c.revisedRevisions !== undefined && { revised_revisions: c.revisedRevisions }),
        ...(c.expiredRevisions !== undefined && { expired_revisions: c.expiredRevisions }),
        ...(c.categories !== undefined && { categories: c.categories }),
        ...(c.files !== undefined && { files: c.files }),
        ...(change.result !== undefined && { result: change.result }),
        ...(change.error !== undefined && { error: change.error }),
        ...(endedAt !== undefined && { ended_at: endedAt }),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw new Error(`no sync run ${id}`);
    return toSyncRun(row);
  }

  async get(id: number): Promise<SyncRun | undefined> {
    const read = () => this.#ctx.db.selectFrom('sync_run').selectAll().where('id', '=', id).executeTakeFirst();
    let row = await read();
    if (row !== undefined && (await this.#settleInterrupted([row]))) row = await read();
    return row && toSyncRun(row);
  }

  /** Newest first. */
  async list(options: { limit?: number; before?: number } = {}): Promise<SyncRun[]> {
    let query = this.#ctx.db
      .selectFrom('sync_run')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(options.limit ?? 50);
    if (options.before !== undefined) query = query.where('id', '<', options.before);
    let rows = await query.execute();
    if (await this.#settleInterrupted(rows)) rows = await query.execute();
    return rows.map(toSyncRun);
  }

  /**
   * The run still marked running, if any, as stored (a crashed process leaves one behind). The
   * engine asks it holding the lock, to record such a run as interrupted.
   */
  async running(): Promise<SyncRun | undefined> {
    const row = await this.#ctx.db
      .selectFrom('sync_run')
      .selectAll()
      .where('result', '=', 'running')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toSyncRun(row);
  }
}

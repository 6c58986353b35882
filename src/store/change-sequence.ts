// The change sequence (DESIGN §3): every metadata and approval change takes the next position, in
// the same transaction as the change, and is logged so "what changed since N" costs O(changes).
//
// A single counter row updated under its row lock, not a PostgreSQL SEQUENCE: nextval() is handed
// out at call time but becomes visible at commit, so a reader could see seq 7 committed while
// 6 is still in flight, store 7 as its watermark, and miss 6 for ever. The row lock is held until
// commit, so positions become visible in the order they were handed out. Catalog and approval
// writers serialise on it, which they may: one node runs synchronization (DESIGN §6).
import { sql } from 'kysely';
import type { ChangeEntry } from '../domain/catalog-records.ts';
import { atomically, insertRows, insertSpec, type StoreContext } from './sql-util.ts';

const CHANGE_LOG = insertSpec('change_log', { seq: 'bigint', kind: 'text', entity_id: 'bigint' });

export interface Change {
  readonly kind: string;
  readonly entityId: number;
}

export class ChangeSequence {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** The last position handed out (0 on an empty database). */
  async current(): Promise<number> {
    const row = await this.#ctx.db
      .selectFrom('change_counter')
      .select('value')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(row.value);
  }

  /**
   * Takes the counter's lock for the rest of the enclosing transaction and returns its value.
   * A writer that reads the catalog to decide what to change calls this first, so what it read
   * cannot be changed by another writer before it commits. On SQLite, BEGIN IMMEDIATE already
   * serialises writers.
   */
  async lock(): Promise<number> {
    if (!this.#ctx.db.isTransaction) throw new Error('ChangeSequence.lock() needs a transaction');
    const query = this.#ctx.db.selectFrom('change_counter').select('value').where('id', '=', 1);
    const row = await (this.#ctx.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirstOrThrow();
    return Number(row.value);
  }

  /**
   * Moves the counter by `count` and returns the first of the positions handed out (the caller
   * logs them with `log`). Must run in the transaction that makes the changes.
   */
  async claim(count: number): Promise<number> {
    if (!this.#ctx.db.isTransaction) throw new Error('ChangeSequence.claim() needs a transaction');
    const row = await this.#ctx.db
      .updateTable('change_counter')
      .set({ value: sql`value + ${count}` })
      .where('id', '=', 1)
      .returning('value')
      .executeTakeFirstOrThrow();
    return Number(row.value) - count + 1;
  }

  async log(entries: readonly ChangeEntry[]): Promise<void> {
    await insertRows(this.#ctx, CHANGE_LOG, entries.map((e) => [e.seq, e.kind, e.entityId]));
  }

  /**
   * Hands out one position per change, in order, and logs them. Returns the positions.
   * Outside a transaction it makes its own; inside, the positions commit or vanish with it.
   */
  async advance(changes: readonly Change[]): Promise<number[]> {
    if (changes.length === 0) return [];
    return atomically(this.#ctx.db, async (db) => {
      const sequence = new ChangeSequence({ db, dialect: this.#ctx.dialect });
      const first = await sequence.claim(changes.length);
      const entries = changes.map((c, i) => ({ seq: first + i, kind: c.kind, entityId: c.entityId }));
      await sequence.log(entries);
      return entries.map((e) => e.seq);
    });
  }

  /** Changes after position `seq`, oldest first, at most `limit`; optionally of some kinds only. */
  async since(seq: number, options: { limit?: number; kinds?: readonly string[] } = {}): Promise<ChangeEntry[]> {
    let query = this.#ctx.db
      .selectFrom('change_log')
      .select(['seq', 'kind', 'entity_id'])
      .where('seq', '>', seq)
      .orderBy('seq')
      .limit(options.limit ?? 1000);
    if (options.kinds !== undefined) {
      if (options.kinds.length === 0) return [];
      query = query.where('kind', 'in', options.kinds);
    }
    const rows = await query.execute();
    return rows.map((r) => ({ seq: Number(r.seq), kind: r.kind, entityId: Number(r.entity_id) }));
  }
}

// Anchors (WSUS-PROTOCOLS §2.5): opaque positions in an upstream's change stream. The sync engine
// writes one in the transaction that stores the phase it marks (`store.transaction`), so an anchor
// never runs ahead of the data.
import { nowIso, type StoreContext } from './sql-util.ts';

export class AnchorRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async get(name: string): Promise<string | undefined> {
    const row = await this.#ctx.db.selectFrom('anchor').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value;
  }

  async set(name: string, value: string): Promise<void> {
    const updatedAt = nowIso();
    await this.#ctx.db
      .insertInto('anchor')
      .values({ name, value, updated_at: updatedAt })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: updatedAt }))
      .execute();
  }

  /** Forgets an anchor: the next synchronization of that phase starts from scratch. */
  async delete(name: string): Promise<void> {
    await this.#ctx.db.deleteFrom('anchor').where('name', '=', name).execute();
  }

  async all(): Promise<Record<string, string>> {
    const rows = await this.#ctx.db.selectFrom('anchor').select(['name', 'value']).orderBy('name').execute();
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }
}

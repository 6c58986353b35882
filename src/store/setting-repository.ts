// Server settings an administrator changes at run time, as JSON values. Validation belongs to the
// layer that owns each setting; this only stores what it is given.
import { nowIso, type StoreContext } from './sql-util.ts';

export class SettingRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async get(key: string): Promise<unknown> {
    const row = await this.#ctx.db.selectFrom('setting').select('value').where('key', '=', key).executeTakeFirst();
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  /** Stores `value` (JSON-serialisable; `undefined` deletes the setting). */
  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) {
      await this.delete(key);
      return;
    }
    const text = JSON.stringify(value);
    const updatedAt = nowIso();
    await this.#ctx.db
      .insertInto('setting')
      .values({ key, value: text, updated_at: updatedAt })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: text, updated_at: updatedAt }))
      .execute();
  }

  async delete(key: string): Promise<void> {
    await this.#ctx.db.deleteFrom('setting').where('key', '=', key).execute();
  }

  async all(): Promise<Record<string, unknown>> {
    const rows = await this.#ctx.db.selectFrom('setting').select(['key', 'value']).orderBy('key').execute();
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
  }
}

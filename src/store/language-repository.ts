// Languages an upstream offers (GetConfigData) and which of them this server keeps.
import type { Language } from '../domain/catalog-records.ts';
import { atomically, inList, insertRows, insertSpec, type StoreContext } from './sql-util.ts';

const LANGUAGE = insertSpec(
  'language',
  { id: 'integer', short_name: 'text', long_name: 'text', enabled: 'boolean' },
  'on conflict ("id") do update set "short_name" = excluded."short_name", "long_name" = excluded."long_name", "enabled" = excluded."enabled"',
);

export class LanguageRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Adds or renames languages by id. */
  async upsert(languages: readonly Language[]): Promise<void> {
    if (languages.length === 0) return;
    await atomically(this.#ctx.db, async (db) => {
      await insertRows(
        { db, dialect: this.#ctx.dialect },
        LANGUAGE,
        languages.map((l) => [l.id, l.shortName, l.longName, l.enabled]),
      );
    });
  }

  async list(): Promise<Language[]> {
    const rows = await this.#ctx.db.selectFrom('language').selectAll().orderBy('id').execute();
    return rows.map((l) => ({ id: l.id, shortName: l.short_name, longName: l.long_name, enabled: Boolean(l.enabled) }));
  }

  /** Enables exactly the languages named (by short name), disables the others. */
  async setEnabled(shortNames: readonly string[]): Promise<void> {
    await atomically(this.#ctx.db, async (db) => {
      await db.updateTable('language').set({ enabled: false }).execute();
      if (shortNames.length > 0) {
        await db.updateTable('language').set({ enabled: true }).where(inList(this.#ctx.dialect, 'short_name', shortNames)).execute();
      }
    });
  }
}

// Queries only the administration API asks (issue 7): who supersedes an update, and computer
// status counted per update for reports, in one statement per page rather than one per update.
import { sql } from 'kysely';
import { clientDb } from './client-schema.ts';
import { inList, isLatest, type StoreContext } from './sql-util.ts';

export class AdminQueryRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Latest revisions of updates whose newest revision supersedes `updateId`. */
  async supersededBy(updateId: string): Promise<{ updateId: string; title: string }[]> {
    const rows = await this.#ctx.db
      .selectFrom('supersedence as s')
      .innerJoin('revision as r', 'r.revision_id', 's.revision_id')
      .select(['r.update_id', 'r.title'])
      .where('s.superseded_update_id', '=', updateId)
      .where(isLatest('r'))
      .orderBy('r.title')
      .execute();
    return rows.map((r) => ({ updateId: r.update_id, title: r.title }));
  }

  /** Titles of the latest revisions of these updates (those the catalog has). */
  async titles(updateIds: readonly string[]): Promise<Map<string, string>> {
    if (updateIds.length === 0) return new Map();
    const rows = await this.#ctx.db
      .selectFrom('revision')
      .select(['update_id', 'title'])
      .where(isLatest())
      .where(inList(this.#ctx.dialect, 'update_id', updateIds))
      .execute();
    return new Map(rows.map((r) => [r.update_id, r.title]));
  }

  /** Update id -> reported status -> computers, for the updates given. */
  async statusCountsByUpdate(updateIds: readonly string[]): Promise<Map<string, Partial<Record<string, number>>>> {
    const out = new Map<string, Partial<Record<string, number>>>();
    if (updateIds.length === 0) return out;
    const rows = await clientDb(this.#ctx)
      .selectFrom('update_status')
      .select(['update_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where(inList(this.#ctx.dialect, 'update_id', updateIds))
      .groupBy(['update_id', 'status'])
      .execute();
    for (const r of rows) {
      const counts = out.get(r.update_id) ?? {};
      counts[r.status] = Number(r.n);
      out.set(r.update_id, counts);
    }
    return out;
  }

  /** Computer id -> reported status -> updates, for the computers given (a page of them). */
  async statusCountsByComputer(computerIds: readonly string[]): Promise<Map<string, Partial<Record<string, number>>>> {
    const out = new Map<string, Partial<Record<string, number>>>();
    if (computerIds.length === 0) return out;
    const rows = await clientDb(this.#ctx)
      .selectFrom('update_status')
      .select(['computer_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where(inList(this.#ctx.dialect, 'computer_id', computerIds))
      .groupBy(['computer_id', 'status'])
      .execute();
    for (const r of rows) {
      const counts = out.get(r.computer_id) ?? {};
      counts[r.status] = Number(r.n);
      out.set(r.computer_id, counts);
    }
    return out;
  }

  /** Computers in total, and those that ever reported (sent a status or a report). */
  async computerReporting(): Promise<{ total: number; reported: number }> {
    const row = await clientDb(this.#ctx)
      .selectFrom('computer as c')
      .select((eb) => [
        eb.fn.countAll<number>().as('total'),
        sql<number>`sum(case when ${eb.ref('c.last_report_at')} is not null or exists (select 1 from update_status s where s.computer_id = c.computer_id) then 1 else 0 end)`.as('reported'),
      ])
      .executeTakeFirstOrThrow();
    return { total: Number(row.total), reported: Number(row.reported ?? 0) };
  }
}

// Events agents report and the update status they imply (migration 0005).
import { applyStatusReports, type ReportingEvent, type StatusReport, type UpdateStatus } from '../domain/client-event.ts';
import { clientDb } from './client-schema.ts';
import { atomically, inList, nowIso, type StoreContext } from './sql-util.ts';

/** Events a computer keeps (the newest); WSUS too keeps reported events for a while only. */
export const EVENTS_KEPT_PER_COMPUTER = 1000;

export interface StoredEvent extends ReportingEvent {
  readonly computerId: string;
  readonly receivedAt: string;
}

export class ClientEventRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /**
   * Stores the events not stored before (by EventInstanceID) and returns those, in the order
   * given. A computer keeps its newest `keep` events: beyond that the oldest go, and once it holds
   * that many, an event older than all of them is not taken (it may be one already dropped,
   * resent: taking it again would apply its old news twice).
   */
  async record(computerId: string, events: readonly ReportingEvent[], keep = EVENTS_KEPT_PER_COMPUTER): Promise<ReportingEvent[]> {
    if (events.length === 0) return [];
    return atomically(this.#ctx.db, async (tx) => {
      const db = clientDb({ db: tx, dialect: this.#ctx.dialect });
      const receivedAt = nowIso();
      const held = await db
        .selectFrom('client_event')
        .select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.min('time_at_target').as('oldest')])
        .where('computer_id', '=', computerId)
        .executeTakeFirstOrThrow();
      const oldest = Number(held.n) >= keep && held.oldest !== null ? String(held.oldest) : undefined;
      const fresh: ReportingEvent[] = [];
      const seen = new Set<string>();
      for (const e of events) {
        if (seen.has(e.eventInstanceId)) continue;
        seen.add(e.eventInstanceId);
        if (oldest !== undefined && e.timeAtTarget < oldest) continue;
        const inserted = await db
          .insertInto('client_event')
          .values({
            event_instance_id: e.eventInstanceId,
            computer_id: computerId,
            namespace_id: e.namespaceId,
            event_id: e.eventId,
            source_id: e.sourceId,
            update_id: e.updateId,
            revision_number: e.revisionNumber,
            win32_hresult: e.win32HResult,
            app_name: e.appName,
            time_at_target: e.timeAtTarget,
            received_at: receivedAt,
            replacement_strings: JSON.stringify(e.replacementStrings),
            misc_data: JSON.stringify(e.miscData),
          })
          .onConflict((oc) => oc.column('event_instance_id').doNothing())
          .returning('event_instance_id')
          .executeTakeFirst();
        if (inserted !== undefined) fresh.push(e);
      }
      // Pruned a tenth past the limit at a time, so a steady reporter does not delete at every batch.
      if (Number(held.n) + fresh.length > keep + Math.ceil(keep / 10)) {
        const beyond = await db
          .selectFrom('client_event')
          .select('event_instance_id')
          .where('computer_id', '=', computerId)
          .orderBy('time_at_target', 'desc')
          .orderBy('event_instance_id', 'desc')
          .offset(keep)
          .limit(1_000_000)
          .execute();
        const ids = beyond.map((r) => r.event_instance_id);
        for (let i = 0; i < ids.length; i += 500) {
          await db.deleteFrom('client_event').where(inList(this.#ctx.dialect, 'event_instance_id', ids.slice(i, i + 500))).execute();
        }
      }
      return fresh;
    });
  }

  /** A computer's events, oldest first. */
  async ofComputer(computerId: string, options: { limit?: number } = {}): Promise<StoredEvent[]> {
    const rows = await clientDb(this.#ctx)
      .selectFrom('client_event')
      .selectAll()
      .where('computer_id', '=', computerId)
      .orderBy('time_at_target')
      .orderBy('event_instance_id')
      .limit(options.limit ?? 1000)
      .execute();
    return rows.map((r) => ({
      eventInstanceId: r.event_instance_id,
      computerId: r.computer_id,
      namespaceId: Number(r.namespace_id),
      eventId: Number(r.event_id),
      sourceId: Number(r.source_id),
      updateId: r.update_id,
      revisionNumber: Number(r.revision_number),
      win32HResult: Number(r.win32_hresult),
      appName: r.app_name,
      timeAtTarget: r.time_at_target,
      receivedAt: r.received_at,
      replacementStrings: JSON.parse(r.replacement_strings) as string[],
      miscData: JSON.parse(r.misc_data) as string[],
    }));
  }

  /**
   * Applies status reports in order (domain applyStatusReports); a report that replaces all
   * forgets what it does not list. Only what changed is written, so `changedAt` says when each
   * status last changed.
   */
  async applyStatus(computerId: string, reports: readonly StatusReport[], at: Date): Promise<void> {
    if (reports.length === 0) return;
    await atomically(this.#ctx.db, async (tx) => {
      const db = clientDb({ db: tx, dialect: this.#ctx.dialect });
      const rows = await db.selectFrom('update_status').select(['update_id', 'status']).where('computer_id', '=', computerId).execute();
      const current = new Map(rows.map((r) => [r.update_id, r.status as UpdateStatus]));
      const next = applyStatusReports(current, reports);
      const gone = [...current.keys()].filter((id) => !next.has(id));
      for (let i = 0; i < gone.length; i += 500) {
        await db
          .deleteFrom('update_status')
          .where('computer_id', '=', computerId)
          .where(inList(this.#ctx.dialect, 'update_id', gone.slice(i, i + 500)))
          .execute();
      }
      const changedAt = at.toISOString();
      for (const [updateId, status] of next) {
        if (current.get(updateId) === status) continue;
        await db
          .insertInto('update_status')
          .values({ computer_id: computerId, update_id: updateId, status, changed_at: changedAt })
          .onConflict((oc) => oc.columns(['computer_id', 'update_id']).doUpdateSet({ status, changed_at: changedAt }))
          .execute();
      }
    });
  }

  /**
   * Every computer's status for one update, by DNS name. `status` is absent when the computer has
   * no row for it: `reported` then tells whether it ever sent a status report (so the update is
   * not applicable to it) or never did (unknown).
   */
  async statusOfUpdate(updateId: string): Promise<{ computerId: string; dnsName: string; status?: UpdateStatus; changedAt?: string; reported: boolean }[]> {
    const rows = await clientDb(this.#ctx)
      .selectFrom('computer as c')
      .leftJoin('update_status as s', (join) => join.onRef('s.computer_id', '=', 'c.computer_id').on('s.update_id', '=', updateId))
      .select(['c.computer_id', 'c.dns_name', 'c.last_report_at', 's.status', 's.changed_at'])
      .select((eb) => eb.exists(eb.selectFrom('update_status as any').select('any.update_id').whereRef('any.computer_id', '=', 'c.computer_id')).as('has_status'))
      .orderBy('c.dns_name')
      .orderBy('c.computer_id')
      .execute();
    return rows.map((r) => ({
      computerId: r.computer_id,
      dnsName: r.dns_name,
      ...(r.status !== null ? { status: r.status as UpdateStatus } : {}),
      ...(r.changed_at !== null ? { changedAt: r.changed_at } : {}),
      reported: r.last_report_at !== null || Boolean(r.has_status),
    }));
  }

  /** Computer id -> how many updates it has in each reported status. */
  async statusCountsByComputer(): Promise<Map<string, Partial<Record<UpdateStatus, number>>>> {
    const rows = await clientDb(this.#ctx)
      .selectFrom('update_status')
      .select(['computer_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['computer_id', 'status'])
      .execute();
    const out = new Map<string, Partial<Record<UpdateStatus, number>>>();
    for (const r of rows) {
      const counts = out.get(r.computer_id) ?? {};
      counts[r.status as UpdateStatus] = Number(r.n);
      out.set(r.computer_id, counts);
    }
    return out;
  }

  /** Update id -> status for one computer; updates absent are NotApplicable (or never reported). */
  async statusOf(computerId: string): Promise<Map<string, UpdateStatus>> {
    const rows = await clientDb(this.#ctx).selectFrom('update_status').select(['update_id', 'status']).where('computer_id', '=', computerId).execute();
    return new Map(rows.map((r) => [r.update_id, r.status as UpdateStatus]));
  }
}

// Reporting rollup (migration 0008). RollupRepository: what downstream servers reported to this
// one, upserted by server id and computer id (a batch sent twice changes nothing the second time).
// RollupSentRepository: the downstream side, what this server last sent of each computer, and
// the rows it reads to decide what to send next.
import { sql, type Kysely } from 'kysely';
import type { UpdateStatus } from '../domain/client-event.ts';
import type { ClientSummary, ComputerDetails, ComputerInfo, ComputerStatus, DownstreamServerInfo, SentComputer, ServerSummary } from '../domain/rollup.ts';
import { clientDb, type ClientTables } from './client-schema.ts';
import type { Database } from './schema.ts';
import { atomically, chunks, inList, insertRows, insertSpec, type StoreContext } from './sql-util.ts';

interface RollupServerTable {
  server_id: string;
  parent_server_id: string;
  via_server_id: string;
  full_domain_name: string;
  version: string;
  is_replica: boolean | number;
  last_sync_time: string;
  last_rollup_time: string;
  summary: string;
  received_at: string;
}

interface RollupClientSummaryTable {
  server_id: string;
  os_key: string;
  computer_count: number;
}

interface RollupComputerTable {
  computer_id: string;
  parent_server_id: string;
  via_server_id: string;
  last_sync_time: string;
  last_sync_result: number;
  last_reported_reboot_time: string;
  last_reported_status_time: string;
  last_inventory_time: string;
  full_domain_name: string | null;
  ip_address: string | null;
  details: string | null;
  last_received_rollup_number: number;
  effective_last_detection_time: string;
  status_received_at: string | null;
  full_received_at: string | null;
  received_at: string;
}

interface RollupUpdateStatusTable {
  computer_id: string;
  update_id: string;
  state: number;
  last_change_time: string;
  received_at: string;
}

interface RollupSentTable {
  computer_id: string;
  details_fingerprint: string | null;
  attributes_fingerprint: string | null;
  rollup_number: number;
  status_since: string | null;
}

type RollupTables = {
  rollup_server: RollupServerTable;
  rollup_client_summary: RollupClientSummaryTable;
  rollup_computer: RollupComputerTable;
  rollup_update_status: RollupUpdateStatusTable;
  rollup_sent: RollupSentTable;
};

type RollupDb = Kysely<Database & RollupTables & ClientTables>;

function rollupDb(ctx: StoreContext): RollupDb {
  return ctx.db.withTables<RollupTables & ClientTables>() as unknown as RollupDb;
}

/** A server as the upstream holds it. */
export interface RolledUpServer {
  readonly id: string;
  readonly parentId: string;
  readonly viaId: string;
  readonly name: string;
  readonly version: string;
  readonly isReplica: boolean;
  readonly lastSyncTime: string;
  readonly lastRollupTime: string;
  readonly summary: ServerSummary;
  readonly clientSummaries: readonly ClientSummary[];
  readonly receivedAt: string;
}

/** A computer as the upstream holds it. */
export interface RolledUpComputer extends Omit<ComputerInfo, 'details'> {
  readonly viaServerId: string;
  readonly fullDomainName?: string;
  readonly ipAddress?: string;
  readonly details?: ComputerDetails;
  readonly rollupNumber: number;
  readonly statusReceivedAt?: string;
  readonly fullReceivedAt?: string;
}

export interface StatusCounts {
  readonly updateId: string;
  /** Rows per SummarizationState. */
  readonly states: Readonly<Record<number, number>>;
}

const SUMMARY_KEY_FIELDS = ['osMajor', 'osMinor', 'osBuild', 'osServicePackMajor', 'osServicePackMinor', 'osLocale', 'processorArchitecture'] as const;

function osKey(s: ClientSummary): string {
  return JSON.stringify(SUMMARY_KEY_FIELDS.map((f) => s[f]));
}

function fromOsKey(key: string, count: number): ClientSummary {
  const v = JSON.parse(key) as unknown[];
  const out: Record<string, unknown> = { count };
  SUMMARY_KEY_FIELDS.forEach((f, i) => (out[f] = v[i]));
  return out as unknown as ClientSummary;
}

function toComputer(r: RollupComputerTable): RolledUpComputer {
  return {
    computerId: r.computer_id,
    parentServerId: r.parent_server_id,
    viaServerId: r.via_server_id,
    lastSyncTime: r.last_sync_time,
    lastSyncResult: Number(r.last_sync_result),
    lastReportedRebootTime: r.last_reported_reboot_time,
    lastReportedStatusTime: r.last_reported_status_time,
    lastInventoryTime: r.last_inventory_time,
    ...(r.full_domain_name !== null && { fullDomainName: r.full_domain_name }),
    ...(r.ip_address !== null && { ipAddress: r.ip_address }),
    ...(r.details !== null && { details: JSON.parse(r.details) as ComputerDetails }),
    rollupNumber: Number(r.last_received_rollup_number),
    ...(r.status_received_at !== null && { statusReceivedAt: r.status_received_at }),
    ...(r.full_received_at !== null && { fullReceivedAt: r.full_received_at }),
  };
}

const STATUS_INSERT = insertSpec(
  'rollup_update_status' as never,
  { computer_id: 'text', update_id: 'text', state: 'integer', last_change_time: 'text', received_at: 'text' },
  // MS-WSUSSS 3.1.4.17: a row the upstream changed later than this report stays.
  `on conflict (computer_id, update_id) do update set state = excluded.state, last_change_time = excluded.last_change_time, received_at = excluded.received_at
   where rollup_update_status.last_change_time <= excluded.last_change_time`,
);

export class RollupRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Server id -> parent id of every server reported to this one. */
  async hierarchy(): Promise<Map<string, string>> {
    const rows = await rollupDb(this.#ctx).selectFrom('rollup_server').select(['server_id', 'parent_server_id']).execute();
    return new Map(rows.map((r) => [r.server_id, r.parent_server_id]));
  }

  /** Ids of the servers below `serverId` (not itself), by the parents reported. */
  async below(serverId: string): Promise<Set<string>> {
    const parents = await this.hierarchy();
    const children = new Map<string, string[]>();
    for (const [id, parent] of parents) children.set(parent, [...(children.get(parent) ?? []), id]);
    const out = new Set<string>();
    const walk = (id: string): void => {
      for (const c of children.get(id) ?? []) {
        if (out.has(c)) continue;
        out.add(c);
        walk(c);
      }
    };
    walk(serverId);
    return out;
  }

  /**
   * Stores servers one direct downstream server reported, in order, parents resolved (a direct
   * one's parent is this server). An entry older than the one held (LastRollupTime) is ignored.
   */
  async saveServers(viaId: string, servers: readonly DownstreamServerInfo[], at: string): Promise<number> {
    return atomically(this.#ctx.db, async (tx) => {
      const db = rollupDb({ db: tx, dialect: this.#ctx.dialect });
      let saved = 0;
      for (const s of servers) {
        const held = await db.selectFrom('rollup_server').select('last_rollup_time').where('server_id', '=', s.serverId).executeTakeFirst();
        if (held !== undefined && held.last_rollup_time > s.lastRollupTime) continue;
        const row = {
          server_id: s.serverId,
          parent_server_id: s.parentServerId,
          via_server_id: viaId,
          full_domain_name: s.fullDomainName,
          version: s.version,
          is_replica: s.isReplica,
          last_sync_time: s.lastSyncTime,
          last_rollup_time: s.lastRollupTime,
          summary: JSON.stringify(s.summary),
          received_at: at,
        };
        await db
          .insertInto('rollup_server')
          .values(row)
          .onConflict((oc) => oc.column('server_id').doUpdateSet({ ...row }))
          .execute();
        for (const c of s.clientSummaries) {
          await db
            .insertInto('rollup_client_summary')
            .values({ server_id: s.serverId, os_key: osKey(c), computer_count: c.count })
            .onConflict((oc) => oc.columns(['server_id', 'os_key']).doUpdateSet({ computer_count: c.count }))
            .execute();
        }
        saved++;
      }
      return saved;
    });
  }

  async servers(): Promise<RolledUpServer[]> {
    const db = rollupDb(this.#ctx);
    const [rows, summaries] = await Promise.all([
      db.selectFrom('rollup_server').selectAll().orderBy('full_domain_name').orderBy('server_id').execute(),
      db.selectFrom('rollup_client_summary').selectAll().orderBy('os_key').execute(),
    ]);
    return rows.map((r) => ({
      id: r.server_id,
      parentId: r.parent_server_id,
      viaId: r.via_server_id,
      name: r.full_domain_name,
      version: r.version,
      isReplica: Boolean(r.is_replica),
      lastSyncTime: r.last_sync_time,
      lastRollupTime: r.last_rollup_time,
      summary: JSON.parse(r.summary) as ServerSummary,
      clientSummaries: summaries.filter((s) => s.server_id === r.server_id).map((s) => fromOsKey(s.os_key, Number(s.computer_count))),
      receivedAt: r.received_at,
    }));
  }

  /**
   * Stores computers (MS-WSUSSS 3.1.4.15 step 4): a new one is added, a held one replaced unless
   * the held LastSyncTime is later. Returns the ids the downstream must send with Details next
   * time: added or moved to another parent without them, or never sent with them.
   */
  async saveComputers(viaId: string, computers: readonly ComputerInfo[], at: string): Promise<string[]> {
    return atomically(this.#ctx.db, async (tx) => {
      const db = rollupDb({ db: tx, dialect: this.#ctx.dialect });
      const ids = computers.map((c) => c.computerId);
      const held = new Map<string, { parent: string; lastSync: string; hasDetails: boolean }>();
      for (const part of chunks(ids, 5000)) {
        const rows = await db
          .selectFrom('rollup_computer')
          .select(['computer_id', 'parent_server_id', 'last_sync_time', sql<number>`case when details is null then 0 else 1 end`.as('has_details')])
          .where(inList(this.#ctx.dialect, 'computer_id', part))
          .execute();
        for (const r of rows) held.set(r.computer_id, { parent: r.parent_server_id, lastSync: r.last_sync_time, hasDetails: Number(r.has_details) === 1 });
      }
      const wanted: string[] = [];
      for (const c of computers) {
        const before = held.get(c.computerId);
        if (before !== undefined && before.lastSync > c.lastSyncTime) continue;
        const values = {
          parent_server_id: c.parentServerId,
          via_server_id: viaId,
          last_sync_time: c.lastSyncTime,
          last_sync_result: c.lastSyncResult,
          last_reported_reboot_time: c.lastReportedRebootTime,
          last_reported_status_time: c.lastReportedStatusTime,
          last_inventory_time: c.lastInventoryTime,
          received_at: at,
          ...(c.details !== undefined && { details: JSON.stringify(c.details), full_domain_name: c.details.fullDomainName, ip_address: c.details.ipAddress }),
        };
        if (before === undefined) {
          await db
            .insertInto('rollup_computer')
            .values({ computer_id: c.computerId, full_domain_name: null, ip_address: null, details: null, last_received_rollup_number: 0, effective_last_detection_time: '1753-01-01T00:00:00.000Z', status_received_at: null, full_received_at: null, ...values })
            .execute();
        } else {
          await db.updateTable('rollup_computer').set(values).where('computer_id', '=', c.computerId).execute();
        }
        if (c.details === undefined && (before === undefined || before.parent !== c.parentServerId || !before.hasDetails)) wanted.push(c.computerId);
      }
      return wanted;
    });
  }

  /** Of `numbers`, the computers below the caller whose last received rollup number differs. */
  async outOfSync(servers: ReadonlySet<string>, numbers: readonly { computerId: string; rollupNumber: number }[]): Promise<string[]> {
    const db = rollupDb(this.#ctx);
    const held = new Map<string, { parent: string; number: number }>();
    for (const part of chunks(numbers.map((n) => n.computerId), 5000)) {
      const rows = await db.selectFrom('rollup_computer').select(['computer_id', 'parent_server_id', 'last_received_rollup_number']).where(inList(this.#ctx.dialect, 'computer_id', part)).execute();
      for (const r of rows) held.set(r.computer_id, { parent: r.parent_server_id, number: Number(r.last_received_rollup_number) });
    }
    return numbers.filter((n) => {
      const h = held.get(n.computerId);
      return h !== undefined && servers.has(h.parent) && h.number !== n.rollupNumber;
    }).map((n) => n.computerId);
  }

  /**
   * Stores status rollups of computers below the caller (MS-WSUSSS 3.1.4.17): a full one replaces
   * the computer's rows, a delta upserts, a row changed later upstream stays. Computers not held
   * or not below the caller are skipped. Returns how many computers were stored.
   */
  async saveStatus(servers: ReadonlySet<string>, statuses: readonly ComputerStatus[], at: string): Promise<number> {
    return atomically(this.#ctx.db, async (tx) => {
      const ctx = { db: tx, dialect: this.#ctx.dialect };
      const db = rollupDb(ctx);
      const ids = statuses.map((s) => s.computerId);
      const held = new Map<string, string>();
      for (const part of chunks(ids, 5000)) {
        const rows = await db.selectFrom('rollup_computer').select(['computer_id', 'parent_server_id']).where(inList(this.#ctx.dialect, 'computer_id', part)).execute();
        for (const r of rows) held.set(r.computer_id, r.parent_server_id);
      }
      const kept = statuses.filter((s) => servers.has(held.get(s.computerId) ?? ''));
      const full = kept.filter((s) => s.isFullRollup).map((s) => s.computerId);
      for (const part of chunks(full, 5000)) await db.deleteFrom('rollup_update_status').where(inList(this.#ctx.dialect, 'computer_id', part)).execute();
      const rows: unknown[][] = [];
      for (const s of kept) for (const u of s.updates) rows.push([s.computerId, u.updateId, u.state, u.lastChangeTime, at]);
      if (rows.length > 0) await insertRows(ctx, STATUS_INSERT, rows);
      for (const s of kept) {
        await db
          .updateTable('rollup_computer')
          .set({
            last_received_rollup_number: s.rollupNumber,
            effective_last_detection_time: s.effectiveLastDetectionTime,
            status_received_at: at,
            ...(s.isFullRollup && { full_received_at: at }),
          })
          .where('computer_id', '=', s.computerId)
          .execute();
      }
      return kept.length;
    });
  }

  /** Computers reported to this server; with `serverId`, those whose parent is that server. */
  async computers(serverId?: string): Promise<RolledUpComputer[]> {
    let q = rollupDb(this.#ctx).selectFrom('rollup_computer').selectAll();
    if (serverId !== undefined) q = q.where('parent_server_id', '=', serverId);
    const rows = await q.orderBy('full_domain_name').orderBy('computer_id').execute();
    return rows.map(toComputer);
  }

  /** Status rows per computer and SummarizationState. */
  async statusCountsByComputer(): Promise<Map<string, Record<number, number>>> {
    const rows = await rollupDb(this.#ctx)
      .selectFrom('rollup_update_status')
      .select(['computer_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['computer_id', 'state'])
      .execute();
    const out = new Map<string, Record<number, number>>();
    for (const r of rows) out.set(r.computer_id, { ...out.get(r.computer_id), [Number(r.state)]: Number(r.n) });
    return out;
  }

  /** Rows per update and SummarizationState over every rolled-up computer; one update or all. */
  async statusCountsByUpdate(updateId?: string): Promise<StatusCounts[]> {
    let q = rollupDb(this.#ctx)
      .selectFrom('rollup_update_status')
      .select(['update_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['update_id', 'state']);
    if (updateId !== undefined) q = q.where('update_id', '=', updateId);
    const rows = await q.orderBy('update_id').execute();
    const out = new Map<string, Record<number, number>>();
    for (const r of rows) out.set(r.update_id, { ...out.get(r.update_id), [Number(r.state)]: Number(r.n) });
    return [...out].map(([id, states]) => ({ updateId: id, states }));
  }

  /** Status rows per update and status of this server's own computers; one update or all. */
  async localStatusCountsByUpdate(updateId?: string): Promise<Map<string, Partial<Record<UpdateStatus, number>>>> {
    let q = clientDb(this.#ctx)
      .selectFrom('update_status')
      .select(['update_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['update_id', 'status']);
    if (updateId !== undefined) q = q.where('update_id', '=', updateId);
    const out = new Map<string, Partial<Record<UpdateStatus, number>>>();
    for (const r of await q.execute()) out.set(r.update_id, { ...out.get(r.update_id), [r.status]: Number(r.n) });
    return out;
  }

  /** Status rows of these computers (forwarding them further up). */
  async statusOf(computerIds: readonly string[], receivedSince?: string): Promise<Map<string, { updateId: string; state: number; lastChangeTime: string; receivedAt: string }[]>> {
    const out = new Map<string, { updateId: string; state: number; lastChangeTime: string; receivedAt: string }[]>();
    for (const part of chunks(computerIds, 1000)) {
      let q = rollupDb(this.#ctx).selectFrom('rollup_update_status').selectAll().where(inList(this.#ctx.dialect, 'computer_id', part));
      if (receivedSince !== undefined) q = q.where('received_at', '>=', receivedSince);
      const rows = await q.execute();
      for (const r of rows) {
        const list = out.get(r.computer_id) ?? [];
        list.push({ updateId: r.update_id, state: Number(r.state), lastChangeTime: r.last_change_time, receivedAt: r.received_at });
        out.set(r.computer_id, list);
      }
    }
    return out;
  }
}

export class RollupSentRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async all(): Promise<Map<string, SentComputer>> {
    const rows = await rollupDb(this.#ctx).selectFrom('rollup_sent').selectAll().execute();
    return new Map(
      rows.map((r) => [
        r.computer_id,
        {
          ...(r.details_fingerprint !== null && { detailsFingerprint: r.details_fingerprint }),
          ...(r.attributes_fingerprint !== null && { attributesFingerprint: r.attributes_fingerprint }),
          rollupNumber: Number(r.rollup_number),
          ...(r.status_since !== null && { statusSince: r.status_since }),
        },
      ]),
    );
  }

  /** Records what the upstream acknowledged. */
  async save(entries: readonly ({ computerId: string } & SentComputer)[]): Promise<void> {
    if (entries.length === 0) return;
    await atomically(this.#ctx.db, async (tx) => {
      const db = rollupDb({ db: tx, dialect: this.#ctx.dialect });
      for (const e of entries) {
        const row = {
          details_fingerprint: e.detailsFingerprint ?? null,
          attributes_fingerprint: e.attributesFingerprint ?? null,
          rollup_number: e.rollupNumber,
          status_since: e.statusSince ?? null,
        };
        await db
          .insertInto('rollup_sent')
          .values({ computer_id: e.computerId, ...row })
          .onConflict((oc) => oc.column('computer_id').doUpdateSet(row))
          .execute();
      }
    });
  }

  /** The upstream changed (another server, or its rollup reset id): everything goes again. */
  async clear(): Promise<void> {
    await rollupDb(this.#ctx).deleteFrom('rollup_sent').execute();
  }

  /**
   * Status rows of this server's own computers (those changed at or after `changedSince` only),
   * with when each changed here.
   */
  async localStatusOf(computerIds: readonly string[], changedSince?: string): Promise<Map<string, { updateId: string; status: UpdateStatus; changedAt: string }[]>> {
    const out = new Map<string, { updateId: string; status: UpdateStatus; changedAt: string }[]>();
    for (const part of chunks(computerIds, 1000)) {
      let q = clientDb(this.#ctx).selectFrom('update_status').selectAll().where(inList(this.#ctx.dialect, 'computer_id', part));
      if (changedSince !== undefined) q = q.where('changed_at', '>=', changedSince);
      const rows = await q.execute();
      for (const r of rows) {
        const list = out.get(r.computer_id) ?? [];
        list.push({ updateId: r.update_id, status: r.status as UpdateStatus, changedAt: r.changed_at });
        out.set(r.computer_id, list);
      }
    }
    return out;
  }

  /** When each computer last sent a complete status list (event 156): it may have dropped rows. */
  async lastCompleteReports(): Promise<Map<string, string>> {
    const rows = await clientDb(this.#ctx)
      .selectFrom('client_event')
      .select(['computer_id', (eb) => eb.fn.max('received_at').as('at')])
      .where('event_id', '=', 156)
      .groupBy('computer_id')
      .execute();
    return new Map(rows.map((r) => [r.computer_id, String(r.at)]));
  }
}

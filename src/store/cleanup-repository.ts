// What the cleanup (src/maintenance/cleanup.ts) reads and changes: pages of candidates with the
// facts domain/cleanup-rules.ts decides on, the changes for the chosen ones (each re-checking in
// its WHERE clause what made them candidates, so a sync or an approval committed in between wins),
// the run's checkpoint, and compaction. Pages are keyset-paged, so each batch costs the same
// however far the run has got.
import { sql, type Kysely } from 'kysely';
import { NEEDED_STATUSES, type FileUser, type SqliteSpace } from '../domain/cleanup-rules.ts';
import type { ClientTables } from './client-schema.ts';
import { contentQueueDb } from './content-queue-schema.ts';
import { ChangeSequence } from './change-sequence.ts';
import { deleteComputerRows } from './computer-repository.ts';
import { DECLINE_CHANGE } from './deployment-repository.ts';
import type { Database } from './schema.ts';
import { inList, nowIso, type StoreContext } from './sql-util.ts';

interface CleanupRunTable {
  id: number;
  started_at: string;
  ended_at: string | null;
  steps: string;
  step: string | null;
  cursor: string | null;
  counts: string;
  result: string;
  owner: string;
  error: string | null;
  updated_at: string;
}

type CleanupDb = Kysely<Database & ClientTables & { cleanup_run: CleanupRunTable }>;

const APPROVABLE_TYPES = ['Software', 'Driver'];
/** Approvals that put an update's files on computers. */
const INSTALLING_ACTIONS = ['Install', 'Uninstall'];

export type CleanupCounts = Record<string, Record<string, number>>;

export interface CleanupRunRecord {
  readonly id: number;
  /** The run's clock (ISO-8601 UTC). */
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly steps: readonly string[];
  readonly step?: string;
  readonly cursor?: string;
  readonly counts: CleanupCounts;
  readonly result: 'running' | 'done' | 'failed';
  /** host:pid of the process that last worked on it. */
  readonly owner: string;
  /** When it last saved a checkpoint. */
  readonly updatedAt: string;
  readonly error?: string;
}

export interface ComputerCandidate {
  readonly computerId: string;
  readonly lastSyncAt?: string;
  readonly lastReportAt?: string;
  readonly registeredAt?: string;
  readonly createdAt: string;
}

export interface UpdateCandidate {
  readonly revisionId: number;
  readonly updateId: string;
  readonly publicationState: string;
  readonly declined: boolean;
  readonly approved: boolean;
  readonly firstReceivedAt: string;
  readonly neededBy: number;
  readonly supersededByApproved: boolean;
}

export interface RevisionCandidate {
  readonly revisionId: number;
  readonly updateId: string;
  readonly revisionNumber: number;
  readonly isLatest: boolean;
  readonly approved: boolean;
  readonly bundledByLatest: boolean;
  readonly newestReceivedAt: string | undefined;
}

export interface FileCandidate {
  readonly sha1: string;
  readonly fileName: string;
  readonly size: number;
  readonly state: string;
  /** Some stored revision (newest or not) lists the file. */
  readonly referenced: boolean;
  /** The newest revisions that list it, or older ones an approval names. */
  readonly users: readonly FileUser[];
}

function optional(v: string | null): string | undefined {
  return v === null ? undefined : v;
}

export class CleanupRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  get #db(): CleanupDb {
    return this.#ctx.db.withTables<ClientTables & { cleanup_run: CleanupRunTable }>() as unknown as CleanupDb;
  }

  // ---- the run and its checkpoint ---------------------------------------------------------------

  /** The run left unfinished (killed, or failed half-way), if any. */
  async unfinished(): Promise<CleanupRunRecord | undefined> {
    const row = await this.#db.selectFrom('cleanup_run').selectAll().where('result', '!=', 'done').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return row && toRun(row);
  }

  async last(): Promise<CleanupRunRecord | undefined> {
    const row = await this.#db.selectFrom('cleanup_run').selectAll().orderBy('id', 'desc').limit(1).executeTakeFirst();
    return row && toRun(row);
  }

  /** Recorded runs, newest first. */
  async history(limit: number): Promise<CleanupRunRecord[]> {
    const rows = await this.#db.selectFrom('cleanup_run').selectAll().orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toRun);
  }

  async begin(steps: readonly string[], startedAt: string, owner: string): Promise<CleanupRunRecord> {
    const at = nowIso();
    const row = await this.#db
      .insertInto('cleanup_run')
      .values({ started_at: startedAt, steps: JSON.stringify(steps), step: null, cursor: null, counts: '{}', result: 'running', owner, error: null, updated_at: at } as never)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRun(row);
  }

  /**
   * Takes an unfinished run over for `owner`, if it is still held by `expectedOwner` (a
   * conditional update: of two processes resuming it at once, one wins).
   */
  async takeOver(runId: number, expectedOwner: string, owner: string): Promise<boolean> {
    const result = await this.#db
      .updateTable('cleanup_run')
      .set({ owner, result: 'running', updated_at: nowIso() })
      .where('id', '=', runId)
      .where('owner', '=', expectedOwner)
      .where('result', '!=', 'done')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Saves where a step stands; call it in the transaction of the batch it describes. */
  async checkpoint(runId: number, step: string, cursor: string | undefined, counts: CleanupCounts): Promise<void> {
    await this.#db
      .updateTable('cleanup_run')
      .set({ step, cursor: cursor ?? null, counts: JSON.stringify(counts), result: 'running', error: null, updated_at: nowIso() })
      .where('id', '=', runId)
      .execute();
  }

  async finish(runId: number, result: 'done' | 'failed', counts: CleanupCounts, error?: string): Promise<void> {
    const at = nowIso();
    await this.#db
      .updateTable('cleanup_run')
      .set({ result, counts: JSON.stringify(counts), error: error ?? null, updated_at: at, ...(result === 'done' ? { ended_at: at, step: null, cursor: null } : {}) })
      .where('id', '=', runId)
      .execute();
  }

  // ---- computers and events ---------------------------------------------------------------------

  async computerPage(after: string, limit: number): Promise<ComputerCandidate[]> {
    const rows = await this.#db
      .selectFrom('computer')
      .select(['computer_id', 'last_sync_at', 'last_report_at', 'registered_at', 'created_at'])
      .where('computer_id', '>', after)
      .orderBy('computer_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      computerId: r.computer_id,
      ...(r.last_sync_at !== null && { lastSyncAt: r.last_sync_at }),
      ...(r.last_report_at !== null && { lastReportAt: r.last_report_at }),
      ...(r.registered_at !== null && { registeredAt: r.registered_at }),
      createdAt: r.created_at,
    }));
  }

  /**
   * Deletes computers with their memberships, statuses and events, unless one contacted the
   * server after `contactCutoff` meanwhile. Returns how many computers and events went.
   */
  async deleteComputers(ids: readonly string[], contactCutoff: string): Promise<{ computers: number; events: number; statuses: number }> {
    if (ids.length === 0) return { computers: 0, events: 0, statuses: 0 };
    const db = this.#db;
    const recent = (column: 'last_sync_at' | 'last_report_at' | 'registered_at' | 'created_at') => sql<boolean>`coalesce(${sql.ref(column)}, '') > ${contactCutoff}`;
    const still = await db
      .selectFrom('computer')
      .select('computer_id')
      .where(inList(this.#ctx.dialect, 'computer_id', ids))
      .where((eb) => eb.not(eb.or([recent('last_sync_at'), recent('last_report_at'), recent('registered_at'), recent('created_at')])))
      .execute();
    return deleteComputerRows(this.#ctx, still.map((r) => r.computer_id));
  }

  /**
   * Events received at or before `before`, oldest first, after `after` (the last one of the
   * previous page), at most `limit`. Paging on the key rather than re-reading from the oldest
   * matters on PostgreSQL: the index keeps the rows a previous page deleted until vacuum, and a
   * scan from the start would step over all of them every time.
   */
  async staleEvents(before: string, after: { receivedAt: string; id: string } | undefined, limit: number): Promise<{ receivedAt: string; id: string }[]> {
    let query = this.#db
      .selectFrom('client_event')
      .select(['received_at', 'event_instance_id'])
      .where('received_at', '<=', before);
    // A row-value comparison, which both backends take as an index range (an OR of two
    // comparisons makes PostgreSQL filter from the first entry on).
    if (after !== undefined) query = query.where(sql<boolean>`(received_at, event_instance_id) > (${after.receivedAt}, ${after.id})`);
    const rows = await query.orderBy('received_at').orderBy('event_instance_id').limit(limit).execute();
    return rows.map((r) => ({ receivedAt: r.received_at, id: r.event_instance_id }));
  }

  async countStaleEvents(before: string): Promise<number> {
    const row = await this.#db.selectFrom('client_event').select((eb) => eb.fn.countAll<number>().as('n')).where('received_at', '<=', before).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async deleteEvents(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.#db.deleteFrom('client_event').where(inList(this.#ctx.dialect, 'event_instance_id', ids)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---- updates to decline -----------------------------------------------------------------------

  /**
   * Newest revisions of approvable updates after `afterRevisionId`, with the facts the decline
   * rules need: `kind` expired restricts to Expired ones, superseded to ones some newest revision
   * supersedes.
   */
  async updatePage(kind: 'expired' | 'superseded', afterRevisionId: number, limit: number): Promise<UpdateCandidate[]> {
    const needed = [...NEEDED_STATUSES];
    let query = this.#db
      .selectFrom('revision as r')
      .where('r.is_latest', '=', true)
      .where('r.update_type', 'in', APPROVABLE_TYPES)
      .where('r.revision_id', '>', afterRevisionId)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('decline as d').select('d.decline_id').whereRef('d.update_id', '=', 'r.update_id'))));
    query =
      kind === 'expired'
        ? query.where('r.publication_state', '=', 'Expired')
        : query.where((eb) =>
            eb.exists(
              eb
                .selectFrom('supersedence as s')
                .innerJoin('revision as n', 'n.revision_id', 's.revision_id')
                .select('s.revision_id')
                .whereRef('s.superseded_update_id', '=', 'r.update_id')
                .where('n.is_latest', '=', true),
            ),
          );
    const rows = await query
      .select((eb) => [
        'r.revision_id',
        'r.update_id',
        'r.publication_state',
        eb.exists(eb.selectFrom('approval as a').select('a.approval_id').whereRef('a.update_id', '=', 'r.update_id')).as('approved'),
        eb.selectFrom('revision as o').select((o) => o.fn.min('o.received_at').as('m')).whereRef('o.update_id', '=', 'r.update_id').as('first_received_at'),
        eb
          .selectFrom('update_status as u')
          .select((o) => o.fn.countAll<number>().as('n'))
          .whereRef('u.update_id', '=', 'r.update_id')
          .where('u.status', 'in', needed)
          .as('needed_by'),
        eb
          .exists(
            eb
              .selectFrom('supersedence as s')
              .innerJoin('revision as n', 'n.revision_id', 's.revision_id')
              .innerJoin('approval as a', 'a.update_id', 'n.update_id')
              .select('s.revision_id')
              .whereRef('s.superseded_update_id', '=', 'r.update_id')
              .where('n.is_latest', '=', true)
              .where('a.action', '=', 'Install')
              .where((w) => w.not(w.exists(w.selectFrom('decline as e').select('e.decline_id').whereRef('e.update_id', '=', 'n.update_id')))),
          )
          .as('superseded_by_approved'),
      ])
      .orderBy('r.revision_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      revisionId: Number(r.revision_id),
      updateId: r.update_id,
      publicationState: r.publication_state,
      declined: false,
      approved: Boolean(r.approved),
      firstReceivedAt: String(r.first_received_at ?? ''),
      neededBy: Number(r.needed_by ?? 0),
      supersededByApproved: Boolean(r.superseded_by_approved),
    }));
  }

  /**
   * Declines updates that are still not approved (an approval made since the page was read
   * wins), each at a change position of its own. Returns how many were declined.
   */
  async decline(updateIds: readonly string[], adminName: string, at: string): Promise<number> {
    if (updateIds.length === 0) return 0;
    const dialect = this.#ctx.dialect;
    const db = this.#db;
    // In bulk, as writeDeclines does one by one: one change position per decline, logged.
    const sequence = new ChangeSequence(this.#ctx);
    await sequence.lock();
    const [approved, declined] = await Promise.all([
      db.selectFrom('approval').select('update_id').where(inList(dialect, 'update_id', updateIds)).execute(),
      db.selectFrom('decline').select('update_id').where(inList(dialect, 'update_id', updateIds)).execute(),
    ]);
    const skip = new Set([...approved, ...declined].map((r) => r.update_id));
    const chosen = [...new Set(updateIds)].filter((id) => !skip.has(id));
    if (chosen.length === 0) return 0;
    const first = await sequence.claim(chosen.length);
    const inserted = await db
      .insertInto('decline')
      .values(chosen.map((updateId, i) => ({ update_id: updateId, admin_name: adminName, declined_at: at, change_seq: first + i })))
      .returning(['decline_id', 'change_seq'])
      .execute();
    await sequence.log(inserted.map((r) => ({ seq: Number(r.change_seq), kind: DECLINE_CHANGE, entityId: Number(r.decline_id) })));
    return inserted.length;
  }

  // ---- revisions ----------------------------------------------------------------------------------

  /** Revisions that are not the newest of their update, after `afterRevisionId`, with their uses. */
  async revisionPage(afterRevisionId: number, limit: number): Promise<RevisionCandidate[]> {
    const rows = await this.#db
      .selectFrom('revision as r')
      .where('r.is_latest', '=', false)
      .where('r.revision_id', '>', afterRevisionId)
      .select((eb) => [
        'r.revision_id',
        'r.update_id',
        'r.revision_number',
        'r.is_latest',
        eb
          .exists(
            eb.selectFrom('approval as a').select('a.approval_id').whereRef('a.update_id', '=', 'r.update_id').whereRef('a.revision_number', '=', 'r.revision_number'),
          )
          .as('approved'),
        eb
          .exists(
            eb
              .selectFrom('bundle_member as b')
              .innerJoin('revision as p', 'p.revision_id', 'b.revision_id')
              .select('b.revision_id')
              .whereRef('b.child_update_id', '=', 'r.update_id')
              .whereRef('b.child_revision_number', '=', 'r.revision_number')
              .where('p.is_latest', '=', true),
          )
          .as('bundled'),
        eb
          .selectFrom('revision as n')
          .select('n.received_at')
          .whereRef('n.update_id', '=', 'r.update_id')
          .where('n.is_latest', '=', true)
          .limit(1)
          .as('newest_received_at'),
      ])
      .orderBy('r.revision_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      revisionId: Number(r.revision_id),
      updateId: r.update_id,
      revisionNumber: Number(r.revision_number),
      isLatest: Boolean(r.is_latest),
      approved: Boolean(r.approved),
      bundledByLatest: Boolean(r.bundled),
      newestReceivedAt: r.newest_received_at ?? undefined,
    }));
  }

  /**
   * Deletes revisions (their localized, relationship and file rows go with them), re-checking that
   * each is still not the newest and named by no approval or newest bundle.
   */
  async deleteRevisions(revisionIds: readonly number[]): Promise<number> {
    if (revisionIds.length === 0) return 0;
    const dialect = this.#ctx.dialect;
    const db = this.#db;
    const still = await db
      .selectFrom('revision as r')
      .select('r.revision_id')
      .where(inList(dialect, 'r.revision_id', revisionIds))
      .where('r.is_latest', '=', false)
      .where((eb) =>
        eb.not(
          eb.or([
            eb.exists(eb.selectFrom('approval as a').select('a.approval_id').whereRef('a.update_id', '=', 'r.update_id').whereRef('a.revision_number', '=', 'r.revision_number')),
            eb.exists(
              eb
                .selectFrom('bundle_member as b')
                .innerJoin('revision as p', 'p.revision_id', 'b.revision_id')
                .select('b.revision_id')
                .whereRef('b.child_update_id', '=', 'r.update_id')
                .whereRef('b.child_revision_number', '=', 'r.revision_number')
                .where('p.is_latest', '=', true),
            ),
          ]),
        ),
      )
      .execute();
    const ids = still.map((r) => Number(r.revision_id));
    if (ids.length === 0) return 0;
    // PostgreSQL: one statement, the child rows go by ON DELETE CASCADE (indexed on revision_id).
    // Every round trip of an open transaction can wait behind the serving process's own work
    // (scans answered on the same event loop), so fewer statements keep the transaction short.
    if (dialect === 'postgres') {
      const result = await db.deleteFrom('revision').where(inList(dialect, 'revision_id', ids)).executeTakeFirst();
      return Number(result.numDeletedRows);
    }
    // SQLite checks cascades row by row: explicit deletes are faster there.
    for (const table of ['localized', 'prerequisite', 'bundle_member', 'supersedence', 'revision_file'] as const) {
      await db.deleteFrom(table).where(inList(dialect, 'revision_id', ids)).execute();
    }
    const result = await db.deleteFrom('revision').where(inList(dialect, 'revision_id', ids)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---- files --------------------------------------------------------------------------------------

  /** Files after `afterSha1` in digest order, with who uses them. */
  async filePage(afterSha1: string, limit: number): Promise<FileCandidate[]> {
    const dialect = this.#ctx.dialect;
    const files = await this.#db
      .selectFrom('file')
      .select(['sha1', 'file_name', 'size', 'state'])
      .where('sha1', '>', afterSha1)
      .orderBy('sha1')
      .limit(limit)
      .execute();
    if (files.length === 0) return [];
    const sha1s = files.map((f) => f.sha1);
    const users = await this.#db
      .selectFrom('revision_file as rf')
      .innerJoin('revision as r', 'r.revision_id', 'rf.revision_id')
      .where(inList(dialect, 'rf.sha1', sha1s))
      .select((eb) => [
        'rf.sha1',
        'r.is_latest',
        eb.exists(eb.selectFrom('decline as d').select('d.decline_id').whereRef('d.update_id', '=', 'r.update_id')).as('declined'),
        eb
          .exists(
            eb.selectFrom('approval as a').select('a.approval_id').whereRef('a.update_id', '=', 'r.update_id').where('a.action', 'in', INSTALLING_ACTIONS),
          )
          .as('approved'),
        eb
          .exists(
            eb.selectFrom('approval as a').select('a.approval_id').whereRef('a.update_id', '=', 'r.update_id').whereRef('a.revision_number', '=', 'r.revision_number'),
          )
          .as('revision_approved'),
        // A bundled update is installed through its bundle's approval.
        eb
          .exists(
            eb
              .selectFrom('bundle_member as b')
              .innerJoin('revision as p', 'p.revision_id', 'b.revision_id')
              .innerJoin('approval as a', 'a.update_id', 'p.update_id')
              .select('b.revision_id')
              .whereRef('b.child_update_id', '=', 'r.update_id')
              .where('p.is_latest', '=', true)
              .where('a.action', 'in', INSTALLING_ACTIONS)
              .where((w) => w.not(w.exists(w.selectFrom('decline as e').select('e.decline_id').whereRef('e.update_id', '=', 'p.update_id')))),
          )
          .as('bundled_approved'),
      ])
      .execute();
    const byFile = new Map<string, FileUser[]>();
    const referenced = new Set<string>();
    for (const u of users) {
      referenced.add(u.sha1);
      // An older revision uses its files only while an approval names it.
      if (!Boolean(u.is_latest) && !Boolean(u.revision_approved)) continue;
      const list = byFile.get(u.sha1) ?? [];
      list.push({ declined: Boolean(u.declined), approved: Boolean(u.approved) || Boolean(u.bundled_approved) });
      byFile.set(u.sha1, list);
    }
    return files.map((f) => ({
      sha1: f.sha1,
      fileName: f.file_name,
      size: Number(f.size),
      state: f.state,
      referenced: referenced.has(f.sha1),
      users: byFile.get(f.sha1) ?? [],
    }));
  }

  /** Files no revision lists any more: their rows go. Files still listed: back to absent. */
  async forgetFiles(referenced: readonly string[], unreferenced: readonly string[]): Promise<void> {
    const dialect = this.#ctx.dialect;
    const queue = contentQueueDb(this.#ctx);
    // No longer wanted: out of the download queue (a download under way finishes, and the next run removes it).
    if (referenced.length > 0) await queue.deleteFrom('content_queue').where(inList(dialect, 'sha1', referenced)).where('state', 'in', ['queued', 'failed']).execute();
    if (unreferenced.length > 0) await queue.deleteFrom('content_queue').where(inList(dialect, 'sha1', unreferenced)).execute();
    if (referenced.length > 0) {
      await this.#db
        .updateTable('file')
        .set({ state: 'absent', error: null, attempts: 0, updated_at: nowIso() })
        .where(inList(dialect, 'sha1', referenced))
        .execute();
    }
    if (unreferenced.length > 0) {
      await this.#db
        .deleteFrom('file')
        .where(inList(dialect, 'sha1', unreferenced))
        .where((eb) => eb.not(eb.exists(eb.selectFrom('revision_file as rf').select('rf.sha1').whereRef('rf.sha1', '=', 'file.sha1'))))
        .execute();
    }
  }

  // ---- compaction ---------------------------------------------------------------------------------

  async sqliteSpace(): Promise<SqliteSpace> {
    const one = async (pragma: string): Promise<number> => {
      const result = await sql<Record<string, number>>`${sql.raw(`pragma ${pragma}`)}`.execute(this.#ctx.db);
      return Number(Object.values(result.rows[0] ?? {})[0] ?? 0);
    };
    return { pageCount: await one('page_count'), freePages: await one('freelist_count'), pageSize: await one('page_size'), autoVacuum: await one('auto_vacuum') };
  }

  /** Frees up to `pages` pages (auto_vacuum = incremental only); short, so it is done in slices. */
  async incrementalVacuum(pages: number): Promise<void> {
    await sql`${sql.raw(`pragma incremental_vacuum(${Math.max(1, Math.floor(pages))})`)}`.execute(this.#ctx.db);
  }

  async vacuum(): Promise<void> {
    await sql`vacuum`.execute(this.#ctx.db);
  }

  /** SQLite: refresh the planner's statistics where they drifted, and fold the WAL back. */
  async optimize(): Promise<void> {
    await sql`pragma optimize`.execute(this.#ctx.db);
    await sql`pragma wal_checkpoint(passive)`.execute(this.#ctx.db);
  }

  /** PostgreSQL: VACUUM (ANALYZE) of each table, one statement each (none runs in a transaction). */
  async vacuumTables(tables: readonly string[]): Promise<void> {
    for (const table of tables) {
      if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
      await sql`${sql.raw(`vacuum (analyze) ${table}`)}`.execute(this.#ctx.db);
    }
  }
}

function toRun(r: CleanupRunTable): CleanupRunRecord {
  return {
    id: Number(r.id),
    startedAt: r.started_at,
    ...(optional(r.ended_at) !== undefined && { endedAt: r.ended_at! }),
    steps: JSON.parse(r.steps) as string[],
    ...(optional(r.step) !== undefined && { step: r.step! }),
    ...(optional(r.cursor) !== undefined && { cursor: r.cursor! }),
    counts: JSON.parse(r.counts) as CleanupCounts,
    result: r.result as CleanupRunRecord['result'],
    owner: r.owner,
    updatedAt: r.updated_at,
    ...(optional(r.error) !== undefined && { error: r.error! }),
  };
}

/** Tables a step changes, for PostgreSQL's VACUUM (ANALYZE) after the run. */
export const CLEANUP_TABLES: Readonly<Record<string, readonly string[]>> = {
  computers: ['computer', 'computer_membership', 'update_status', 'client_event'],
  events: ['client_event'],
  expired: ['decline', 'change_log'],
  superseded: ['decline', 'change_log'],
  revisions: ['revision', 'localized', 'prerequisite', 'bundle_member', 'supersedence', 'revision_file'],
  files: ['file'],
};


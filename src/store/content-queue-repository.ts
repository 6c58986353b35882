// The content download queue (migration 0006): which files this server is fetching, and the
// catalog facts that say which files it should (domain/content-rule.ts decides). The file's own
// state in `file` (absent/queued/present/failed, read by export and the console) moves with it
// in the same transaction.
import { sql, type Selectable } from 'kysely';
import type { ContentCandidate, ContentJob, ContentJobState } from '../domain/content-rule.ts';
import { contentQueueDb, type ContentQueueDb, type ContentQueueTable } from './content-queue-schema.ts';
import { FileRepository } from './file-repository.ts';
import { atomically, inList, isLatest, nowIso, type StoreContext } from './sql-util.ts';

const CHUNK = 500;

function toJob(r: Selectable<ContentQueueTable>): ContentJob {
  return {
    sha1: r.sha1,
    state: r.state as ContentJobState,
    requested: Boolean(r.requested),
    attempts: Number(r.attempts),
    ...(r.last_error !== null && { lastError: r.last_error }),
    nextAttemptAt: r.next_attempt_at,
    ...(r.owner !== null && { owner: r.owner }),
    ...(r.lease_until !== null && { leaseUntil: r.lease_until }),
  };
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One file of the catalog with the facts the content rule weighs. */
export interface CandidateFile extends ContentCandidate {
  readonly sha1: string;
  /** Already in the content directory, verified: nothing to queue. */
  readonly present: boolean;
}

export class ContentQueueRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  #db(db = this.#ctx.db): ContentQueueDb {
    return contentQueueDb({ db, dialect: this.#ctx.dialect });
  }

  /**
   * Queues files not present yet; a file already waiting or downloading stays as it is (the
   * digest is the key), except that `requested` marks it as asked for by a downstream and makes
   * a failed one due now. Returns how many files were newly queued.
   */
  async enqueue(sha1s: readonly string[], options: { requested?: boolean; now?: string } = {}): Promise<number> {
    const unique = [...new Set(sha1s)];
    if (unique.length === 0) return 0;
    const now = options.now ?? nowIso();
    const requested = options.requested === true;
    return atomically(this.#ctx.db, async (tx) => {
      const db = this.#db(tx);
      const files = new FileRepository({ db: tx, dialect: this.#ctx.dialect });
      let added = 0;
      for (const part of chunks(unique)) {
        const absent = await db
          .selectFrom('file')
          .select('sha1')
          .where(inList(this.#ctx.dialect, 'sha1', part))
          .where('state', '<>', 'present')
          .execute();
        if (absent.length === 0) continue;
        const inserted = await db
          .insertInto('content_queue')
          .values(absent.map((f) => ({ sha1: f.sha1, state: 'queued', requested, attempts: 0, next_attempt_at: now, enqueued_at: now, updated_at: now })))
          // A file recorded present whose content went (content verify --fix) is queued again.
          .onConflict((oc) =>
            oc
              .column('sha1')
              .doUpdateSet({ state: 'queued', attempts: 0, last_error: null, next_attempt_at: now, owner: null, lease_until: null, updated_at: now })
              .where('content_queue.state', '=', 'present'),
          )
          .returning('sha1')
          .execute();
        added += inserted.length;
        await files.queue(absent.map((r) => r.sha1));
        if (requested) {
          await db
            .updateTable('content_queue')
            .set((eb) => ({
              requested: true,
              updated_at: now,
              next_attempt_at: eb.case().when('state', '=', 'failed').then(now).else(eb.ref('next_attempt_at')).end(),
            }))
            .where(inList(this.#ctx.dialect, 'sha1', absent.map((f) => f.sha1)))
            .where('state', 'in', ['queued', 'failed'])
            .execute();
        }
      }
      return added;
    });
  }

  /** Digests waiting (queued or failed) and whether a downstream asked for them. */
  async waiting(): Promise<Map<string, boolean>> {
    const rows = await this.#db().selectFrom('content_queue').select(['sha1', 'requested']).where('state', 'in', ['queued', 'failed']).execute();
    return new Map(rows.map((r) => [r.sha1, Boolean(r.requested)]));
  }

  /** Takes waiting files out of the queue (no longer wanted); one being downloaded finishes. */
  async drop(sha1s: readonly string[]): Promise<number> {
    if (sha1s.length === 0) return 0;
    return atomically(this.#ctx.db, async (tx) => {
      let dropped = 0;
      for (const part of chunks(sha1s)) {
        const gone = await this.#db(tx)
          .deleteFrom('content_queue')
          .where(inList(this.#ctx.dialect, 'sha1', part))
          .where('state', 'in', ['queued', 'failed'])
          .returning('sha1')
          .execute();
        dropped += gone.length;
        if (gone.length > 0) {
          await this.#db(tx)
            .updateTable('file')
            .set({ state: 'absent', error: null, attempts: 0, updated_at: nowIso() })
            .where(inList(this.#ctx.dialect, 'sha1', gone.map((g) => g.sha1)))
            .where('state', 'in', ['queued', 'failed'])
            .execute();
        }
      }
      return dropped;
    });
  }

  /**
   * Claims up to `limit` files that are due (waiting with their time come, or downloading under
   * a lease that ran out) for `owner` until `leaseUntil`. Each row is taken with a conditional
   * update, so two workers (two front ends, or `content download` beside `serve`) never take one
   * file twice.
   */
  async claim(owner: string, limit: number, leaseUntil: string, now = nowIso()): Promise<ContentJob[]> {
    const db = this.#db();
    const due = await db
      .selectFrom('content_queue')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('state', 'in', ['queued', 'failed']), eb('next_attempt_at', '<=', now)]),
          eb.and([eb('state', '=', 'downloading'), eb('lease_until', '<', now)]),
        ]),
      )
      .orderBy('next_attempt_at')
      .orderBy('sha1')
      .limit(limit)
      .execute();
    const claimed: ContentJob[] = [];
    for (const row of due) {
      const taken = await db
        .updateTable('content_queue')
        .set({ state: 'downloading', owner, lease_until: leaseUntil, updated_at: now })
        .where('sha1', '=', row.sha1)
        .where('state', '=', row.state)
        .where('updated_at', '=', row.updated_at)
        .where((eb) => (row.owner === null ? eb('owner', 'is', null) : eb('owner', '=', row.owner)))
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 1) claimed.push(toJob({ ...row, state: 'downloading', owner, lease_until: leaseUntil, updated_at: now }));
    }
    return claimed;
  }

  /** Extends the lease of files `owner` is still downloading. */
  async renew(owner: string, sha1s: readonly string[], leaseUntil: string): Promise<void> {
    if (sha1s.length === 0) return;
    await this.#db()
      .updateTable('content_queue')
      .set({ lease_until: leaseUntil })
      .where(inList(this.#ctx.dialect, 'sha1', sha1s))
      .where('owner', '=', owner)
      .where('state', '=', 'downloading')
      .execute();
  }

  /** Files being downloaded, with their owners (to find owners that died). */
  async downloading(): Promise<ContentJob[]> {
    return (await this.#db().selectFrom('content_queue').selectAll().where('state', '=', 'downloading').execute()).map(toJob);
  }

  /** Published and verified. Recorded whoever held it: the bytes under the name are right. */
  async markPresent(sha1: string, now = nowIso()): Promise<void> {
    await atomically(this.#ctx.db, async (tx) => {
      await this.#db(tx)
        .updateTable('content_queue')
        .set({ state: 'present', owner: null, lease_until: null, last_error: null, updated_at: now })
        .where('sha1', '=', sha1)
        .execute();
      await new FileRepository({ db: tx, dialect: this.#ctx.dialect }).markPresent(sha1);
    });
  }

  /** A failed try: counted, with its reason, not tried again before `nextAttemptAt`. */
  async markFailed(sha1: string, owner: string, error: string, nextAttemptAt: string, now = nowIso()): Promise<void> {
    await atomically(this.#ctx.db, async (tx) => {
      const result = await this.#db(tx)
        .updateTable('content_queue')
        .set((eb) => ({ state: 'failed', attempts: eb('attempts', '+', 1), last_error: error, next_attempt_at: nextAttemptAt, owner: null, lease_until: null, updated_at: now }))
        .where('sha1', '=', sha1)
        .where('owner', '=', owner)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) await new FileRepository({ db: tx, dialect: this.#ctx.dialect }).markFailed(sha1, error);
    });
  }

  /**
   * Back to waiting without counting a failure: the upstream has not got the file yet (asked
   * with DownloadFiles), or the worker is stopping. `note` says why, for `content status`.
   */
  async release(sha1: string, owner: string, nextAttemptAt: string, note?: string, now = nowIso()): Promise<void> {
    await this.#db()
      .updateTable('content_queue')
      .set({ state: 'queued', next_attempt_at: nextAttemptAt, owner: null, lease_until: null, updated_at: now, ...(note !== undefined && { last_error: note }) })
      .where('sha1', '=', sha1)
      .where('owner', '=', owner)
      .where('state', '=', 'downloading')
      .execute();
  }

  /** Makes every waiting file due now (`content download`: run the queue now). */
  async dueNow(now = nowIso()): Promise<number> {
    const result = await this.#db()
      .updateTable('content_queue')
      .set({ next_attempt_at: now })
      .where('state', 'in', ['queued', 'failed'])
      .where('next_attempt_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async counts(): Promise<Record<ContentJobState, number>> {
    const rows = await this.#db()
      .selectFrom('content_queue')
      .select(['state', sql<number>`count(*)`.as('n')])
      .groupBy('state')
      .execute();
    const out: Record<ContentJobState, number> = { queued: 0, downloading: 0, present: 0, failed: 0 };
    for (const r of rows) if (r.state in out) out[r.state as ContentJobState] = Number(r.n);
    return out;
  }

  async list(state: ContentJobState, limit = 100): Promise<ContentJob[]> {
    const rows = await this.#db().selectFrom('content_queue').selectAll().where('state', '=', state).orderBy('updated_at', 'desc').orderBy('sha1').limit(limit).execute();
    return rows.map(toJob);
  }

  async get(sha1: string): Promise<ContentJob | undefined> {
    const row = await this.#db().selectFrom('content_queue').selectAll().where('sha1', '=', sha1).executeTakeFirst();
    return row && toJob(row);
  }

  /**
   * Files of the newest revisions of updates with their facts: Install approval (directly, or
   * through a bundle that holds the update), decline, expiry. With `approvedOnly`, only files of
   * approved updates and their bundled children are read (deferred downloads: a small set).
   */
  async candidates(options: { approvedOnly: boolean }): Promise<CandidateFile[]> {
    const db = this.#db();
    const approvedRows = await db
      .selectFrom('revision as r')
      .select('r.revision_id')
      .where(isLatest('r'))
      .where((eb) => eb.exists(eb.selectFrom('approval as a').select('a.update_id').whereRef('a.update_id', '=', 'r.update_id').where('a.action', '=', 'Install')))
      .execute();
    const approved = new Set(approvedRows.map((r) => Number(r.revision_id)));
    // Bundled children (where the files of a cumulative update are) take their bundle's approval.
    const childRows =
      approved.size === 0
        ? []
        : await db
            .selectFrom('bundle_member as bm')
            .innerJoin('revision as c', (j) => j.onRef('c.update_id', '=', 'bm.child_update_id').on(isLatest('c')))
            .select(['c.revision_id', 'bm.revision_id as parent'])
            .where(inList(this.#ctx.dialect, 'bm.revision_id', [...approved]))
            .execute();
    const approvedAll = new Set([...approved, ...childRows.map((r) => Number(r.revision_id))]);
    let query = db
      .selectFrom('revision_file as rf')
      .innerJoin('revision as r', 'r.revision_id', 'rf.revision_id')
      .innerJoin('file as f', 'f.sha1', 'rf.sha1')
      .select(['f.sha1', 'f.file_name', 'f.patching_type', 'f.state', 'r.revision_id', 'r.publication_state'])
      .select((eb) => eb.exists(eb.selectFrom('decline as d').select('d.update_id').whereRef('d.update_id', '=', 'r.update_id')).as('declined'))
      // Bound, not isLatest(): this reads every file of every newest revision, and SQLite's partial
      // index would make it walk revision_file first (a fifth slower at 10,000 revisions).
      .where('r.is_latest', '=', true);
    if (options.approvedOnly) {
      if (approvedAll.size === 0) return [];
      query = query.where(inList(this.#ctx.dialect, 'r.revision_id', [...approvedAll]));
    }
    // Unordered: the caller makes a set of them, and sorting every file of the catalog costs.
    const rows = await query.execute();
    return rows.map((r) => ({
      sha1: r.sha1,
      present: r.state === 'present',
      file: { fileName: r.file_name, ...(r.patching_type !== null && { patchingType: r.patching_type }) },
      approvedForInstall: approvedAll.has(Number(r.revision_id)),
      declined: Boolean(r.declined),
      expired: r.publication_state === 'Expired',
    }));
  }
}

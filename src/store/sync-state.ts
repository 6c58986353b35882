// What the synchronization engine needs of the store beyond the repositories: which revisions
// are already held (so only what is new is fetched), and the guarantee that one synchronization
// runs at a time per database (DESIGN §6: one node runs it, the others serve).
import { hostname } from 'node:os';
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { inList, nowIso, type StoreContext } from './sql-util.ts';

interface SyncLockTable {
  name: string;
  host: string;
  pid: number;
  acquired_at: string;
}
type SyncDb = Kysely<Database & { sync_lock: SyncLockTable }>;
const syncDb = (ctx: StoreContext): SyncDb => ctx.db.withTables<{ sync_lock: SyncLockTable }>() as unknown as SyncDb;

/** Revision numbers held per update id, for the ids given that have any. */
export async function heldRevisions(ctx: StoreContext, updateIds: readonly string[]): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  const ids = [...new Set(updateIds)];
  for (let i = 0; i < ids.length; i += 5000) {
    const rows = await ctx.db
      .selectFrom('revision')
      .select(['update_id', 'revision_number'])
      .where(inList(ctx.dialect, 'update_id', ids.slice(i, i + 5000)))
      .execute();
    for (const r of rows) {
      const set = out.get(r.update_id) ?? new Set<number>();
      set.add(Number(r.revision_number));
      out.set(r.update_id, set);
    }
  }
  return out;
}

export interface SyncLockHolder {
  readonly host: string;
  readonly pid: number;
  readonly acquiredAt: string;
}

export class SyncLockedError extends Error {
  override name = 'SyncLockedError';
  readonly holder: SyncLockHolder | undefined;
  constructor(holder: SyncLockHolder | undefined) {
    super(
      holder === undefined
        ? 'a synchronization is already running on this database (another node holds the lock)'
        : `a synchronization is already running (process ${holder.pid} on ${holder.host}, since ${holder.acquiredAt})`,
    );
    this.holder = holder;
  }
}

// Any fixed 64-bit number works: it only has to be the same for every node of one database.
const ADVISORY_KEY = 0x6f77_5359_4e43n; // "owSYNC"
const LOCK_NAME = 'sync';

/** Whether a process of this host still runs (a lock or lease holder that died does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who looks at the lock: a holder on the same host can be checked for life, one elsewhere cannot. */
export interface SyncLockObserver {
  readonly host: string;
  readonly isAlive: (pid: number) => boolean;
}

export const THIS_PROCESS: SyncLockObserver = { host: hostname(), isAlive: processAlive };

/**
 * Whether a synchronization holds the lock right now. On PostgreSQL the advisory lock decides
 * (the server drops it with the connection of a process that died, on any host); on SQLite the
 * row, unless it names a process of this host that is gone.
 */
export async function syncLockHeld(ctx: StoreContext, observer: SyncLockObserver = THIS_PROCESS): Promise<boolean> {
  if (ctx.dialect === 'postgres') {
    // pg_locks shows a bigint advisory key as its high and low 32 bits, objsubid 1.
    const high = (ADVISORY_KEY >> 32n).toString();
    const low = (ADVISORY_KEY & 0xffff_ffffn).toString();
    const found = await sql<{ held: boolean }>`
      select exists (
        select 1 from pg_locks
        where locktype = 'advisory' and granted and objsubid = 1
          and classid = ${high}::oid and objid = ${low}::oid
          and database = (select oid from pg_database where datname = current_database())
      ) as held`.execute(ctx.db);
    return found.rows[0]?.held === true;
  }
  const row = await syncDb(ctx).selectFrom('sync_lock').select(['host', 'pid']).where('name', '=', LOCK_NAME).executeTakeFirst();
  if (row === undefined) return false;
  return row.host !== observer.host || observer.isAlive(Number(row.pid));
}

export interface SyncLockOptions {
  readonly host: string;
  readonly pid: number;
  /** Whether a process of this host is still running (a crashed one leaves its row behind). */
  readonly isAlive: (pid: number) => boolean;
}

async function takeRow(ctx: StoreContext, options: SyncLockOptions): Promise<void> {
  const db = syncDb(ctx);
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await db
      .insertInto('sync_lock')
      .values({ name: LOCK_NAME, host: options.host, pid: options.pid, acquired_at: nowIso() })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return;
    const row = await db.selectFrom('sync_lock').selectAll().where('name', '=', LOCK_NAME).executeTakeFirst();
    if (row === undefined) continue;
    const holder = { host: row.host, pid: Number(row.pid), acquiredAt: row.acquired_at };
    // Only a holder on this host can be checked; one elsewhere is trusted (PostgreSQL's advisory lock covers that case).
    const dead = holder.host === options.host && (holder.pid === options.pid || !options.isAlive(holder.pid));
    if (!dead) throw new SyncLockedError(holder);
    await db.deleteFrom('sync_lock').where('name', '=', LOCK_NAME).where('pid', '=', row.pid).where('host', '=', row.host).execute();
  }
  throw new SyncLockedError(undefined);
}

async function dropRow(ctx: StoreContext, options: SyncLockOptions): Promise<void> {
  await syncDb(ctx).deleteFrom('sync_lock').where('name', '=', LOCK_NAME).where('pid', '=', options.pid).where('host', '=', options.host).execute();
}

/**
 * Runs `fn` holding the synchronization lock, or throws SyncLockedError. On PostgreSQL a
 * session advisory lock (released by the server if this process dies) on a connection held for
 * the run; on both, a row naming the holder, so `sync status` and a second process can tell who.
 * The held connection is one of the pool's: a pool of one would leave `fn` none to work with.
 */
export async function withSyncLock<T>(ctx: StoreContext, options: SyncLockOptions, fn: () => Promise<T>): Promise<T> {
  if (ctx.dialect !== 'postgres') {
    await takeRow(ctx, options);
    try {
      return await fn();
    } finally {
      await dropRow(ctx, options);
    }
  }
  return ctx.db.connection().execute(async (conn) => {
    const got = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${ADVISORY_KEY.toString()}::bigint) as locked`.execute(conn);
    if (got.rows[0]?.locked !== true) {
      const row = await syncDb(ctx).selectFrom('sync_lock').selectAll().where('name', '=', LOCK_NAME).executeTakeFirst();
      throw new SyncLockedError(row === undefined ? undefined : { host: row.host, pid: Number(row.pid), acquiredAt: row.acquired_at });
    }
    try {
      // Holding the advisory lock, any row left is a dead holder's.
      await syncDb(ctx).deleteFrom('sync_lock').where('name', '=', LOCK_NAME).execute();
      await takeRow(ctx, options);
      try {
        return await fn();
      } finally {
        await dropRow(ctx, options);
      }
    } finally {
      await sql`select pg_advisory_unlock(${ADVISORY_KEY.toString()}::bigint)`.execute(conn);
    }
  });
}

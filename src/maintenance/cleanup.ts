// The cleanup run (issue 8; rules in domain/cleanup-rules.ts, SQL in store/cleanup-repository.ts).
//
// Each step walks its candidates a page at a time; each page is one short transaction that makes
// its changes and saves the step's cursor and counts with them, so a run killed at any point
// resumes at the page after the last one committed, with the clock it started with: it ends in
// the state an uninterrupted run would have reached. No lock is held across pages: every change
// re-checks in its own statement what made it a candidate, so a synchronization or an approval
// that lands between two pages simply wins, and scans and syncs wait at most one page.
import { hostname } from 'node:os';
import {
  applicableSteps,
  cleanupPolicy,
  cutoff,
  isFileNeeded,
  isObsoleteComputer,
  isUnusedRevision,
  nextBatchSize,
  shouldDeclineExpired,
  shouldDeclineSuperseded,
  sqliteCompaction,
  CLEANUP_STEPS,
  type CleanupPolicy,
  type CleanupStep,
} from '../domain/cleanup-rules.ts';
import { resolveDownstreamSettings } from '../domain/settings.ts';
import type { ContentStore } from '../content/index.ts';
import { removeContent } from '../content/remove.ts';
import { CLEANUP_TABLES, processAlive, type CleanupCounts, type CleanupRunRecord, type Store, type StoreTransaction } from '../store/index.ts';

export const CLEANUP_ADMIN = 'openwsus cleanup';

export interface CleanupProgress {
  readonly step: CleanupStep;
  readonly batches: number;
  readonly counts: Readonly<Record<string, number>>;
}

export interface CleanupOptions {
  readonly steps?: readonly CleanupStep[];
  /** Count what would go, change nothing (no checkpoint either). */
  readonly dryRun?: boolean;
  /** The clock of a new run (a resumed run keeps its own). */
  readonly now?: Date;
  /**
   * Candidates per page (and so per transaction) to start with; a page whose transaction takes
   * longer than `slowTransactionMs` halves it (down to MIN_CLEANUP_BATCH), quick ones let it grow back.
   */
  readonly batchSize?: number;
  /** Default 300 ms: well under the aim of no transaction over 1 s, even on a loaded machine. */
  readonly slowTransactionMs?: number;
  /**
   * Share of the database's time the run may take (default 0.5): after each transaction it waits
   * that long again, so scans and syncs queued behind it (one connection on SQLite) get their turn.
   */
  readonly dutyCycle?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: CleanupProgress) => void;
  /** Who the run belongs to (host:pid); another owner's live run is not touched. */
  readonly owner?: string;
  /** Whether the process named in an owner is still running (same host only). */
  readonly isAlive?: (pid: number) => boolean;
}

export interface CleanupReport {
  readonly runId?: number;
  readonly resumed: boolean;
  readonly dryRun: boolean;
  /** The run's clock. */
  readonly startedAt: string;
  readonly steps: readonly CleanupStep[];
  /** Steps left out, and why. */
  readonly skipped: Readonly<Record<string, string>>;
  readonly counts: CleanupCounts;
  readonly batches: number;
  readonly longestTransactionMs: number;
  /** The longest transaction of each step. */
  readonly longestByStep: Readonly<Record<string, number>>;
  /** The smallest page the adaptive batch came down to (the starting size when never slow). */
  readonly smallestBatch: number;
  readonly elapsedMs: number;
}

export class CleanupBusyError extends Error {
  override name = 'CleanupBusyError';
}

const DEFAULT_BATCH = 200;

/** Stores with a run going in this process (the daily schedule and the API share one owner, host:pid). */
const runningHere = new WeakSet<Store>();
const DONE = '(done)';

/** What one page did: the cursor to go on from (undefined: the step is finished) and what it counted. */
interface PageOutcome {
  readonly next: string | undefined;
  readonly counts: Readonly<Record<string, number>>;
}

interface StepContext {
  readonly now: Date;
  readonly policy: CleanupPolicy;
  readonly batch: number;
  readonly dryRun: boolean;
  readonly content: ContentStore;
  readonly keepUnapproved: boolean;
}

type Page = (tx: StoreTransaction | Store, cursor: string | undefined, ctx: StepContext) => Promise<PageOutcome>;

const computersPage: Page = async (tx, cursor, ctx) => {
  const page = await tx.cleanup.computerPage(cursor ?? '', ctx.batch);
  const obsolete = page.filter((c) => isObsoleteComputer(c, ctx.now, ctx.policy.computerDays)).map((c) => c.computerId);
  const gone = ctx.dryRun
    ? { computers: obsolete.length, events: 0, statuses: 0 }
    : await tx.cleanup.deleteComputers(obsolete, cutoff(ctx.now, ctx.policy.computerDays));
  return {
    next: page.length < ctx.batch ? undefined : page[page.length - 1]!.computerId,
    counts: { examined: page.length, deleted: gone.computers, events: gone.events, statuses: gone.statuses },
  };
};

const eventsPage: Page = async (tx, cursor, ctx) => {
  const before = cutoff(ctx.now, ctx.policy.eventDays);
  if (ctx.dryRun) return { next: undefined, counts: { deleted: await tx.cleanup.countStaleEvents(before) } };
  const after = cursor === undefined ? undefined : (JSON.parse(cursor) as { receivedAt: string; id: string });
  const page = await tx.cleanup.staleEvents(before, after, ctx.batch);
  const deleted = await tx.cleanup.deleteEvents(page.map((e) => e.id));
  return { next: page.length < ctx.batch ? undefined : JSON.stringify(page[page.length - 1]), counts: { deleted } };
};

function declinePage(kind: 'expired' | 'superseded'): Page {
  return async (tx, cursor, ctx) => {
    const page = await tx.cleanup.updatePage(kind, Number(cursor ?? 0), ctx.batch);
    const chosen = page
      .filter((u) => (kind === 'expired' ? shouldDeclineExpired(u) : shouldDeclineSuperseded(u, ctx.now, ctx.policy.supersededDays)))
      .map((u) => u.updateId);
    const declined = ctx.dryRun ? chosen.length : await tx.cleanup.decline(chosen, CLEANUP_ADMIN, ctx.now.toISOString());
    return { next: page.length < ctx.batch ? undefined : String(page[page.length - 1]!.revisionId), counts: { examined: page.length, declined } };
  };
}

const revisionsPage: Page = async (tx, cursor, ctx) => {
  const page = await tx.cleanup.revisionPage(Number(cursor ?? 0), ctx.batch);
  const unused = page.filter((r) => isUnusedRevision(r, ctx.now, ctx.policy.revisionDays)).map((r) => r.revisionId);
  const deleted = ctx.dryRun ? unused.length : await tx.cleanup.deleteRevisions(unused);
  return { next: page.length < ctx.batch ? undefined : String(page[page.length - 1]!.revisionId), counts: { examined: page.length, deleted } };
};

const filesPage: Page = async (tx, cursor, ctx) => {
  const page = await tx.cleanup.filePage(cursor ?? '', ctx.batch);
  const unneeded = page.filter((f) => !isFileNeeded(f.users, { keepUnapproved: ctx.keepUnapproved }));
  let removed = 0;
  let bytes = 0;
  const referenced: string[] = [];
  const unreferenced: string[] = [];
  for (const f of unneeded) {
    if (f.referenced && f.state === 'absent') continue;
    if (f.referenced) referenced.push(f.sha1);
    else unreferenced.push(f.sha1);
    if (f.state === 'absent') continue;
    if (!ctx.dryRun) {
      const freed = await removeContent(ctx.content, { sha1: f.sha1, fileName: f.fileName });
      if (freed > 0) removed++;
      bytes += freed;
    } else if (f.state === 'present') {
      removed++;
      bytes += f.size;
    }
  }
  if (!ctx.dryRun) await tx.cleanup.forgetFiles(referenced, unreferenced);
  return {
    next: page.length < ctx.batch ? undefined : page[page.length - 1]!.sha1,
    counts: { examined: page.length, removed, bytes, forgotten: unreferenced.length, dequeued: referenced.length },
  };
};

const PAGES: Readonly<Record<Exclude<CleanupStep, 'compact'>, Page>> = {
  computers: computersPage,
  events: eventsPage,
  expired: declinePage('expired'),
  superseded: declinePage('superseded'),
  revisions: revisionsPage,
  files: filesPage,
};

function add(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Compaction runs outside any transaction (VACUUM cannot run in one) and is repeated whole on resume. */
async function compact(store: Store, touched: readonly string[], dryRun: boolean): Promise<Record<string, number>> {
  if (store.dialect === 'postgres') {
    const tables = [...new Set(touched.flatMap((s) => CLEANUP_TABLES[s] ?? []))].sort();
    if (!dryRun) await store.cleanup.vacuumTables(tables);
    return { tablesVacuumed: tables.length };
  }
  const before = await store.cleanup.sqliteSpace();
  const plan = sqliteCompaction(before);
  if (dryRun) return { freePages: before.freePages, vacuum: plan.kind === 'vacuum' ? 1 : 0 };
  if (plan.kind === 'incremental') {
    // A slice at a time: each is a short write transaction of its own.
    for (let left = plan.pages; left > 0; left -= 2048) await store.cleanup.incrementalVacuum(Math.min(2048, left));
  } else if (plan.kind === 'vacuum') {
    await store.cleanup.vacuum();
  }
  await store.cleanup.optimize();
  const after = await store.cleanup.sqliteSpace();
  return { pagesFreed: Math.max(0, before.pageCount - after.pageCount), vacuum: plan.kind === 'vacuum' ? 1 : 0 };
}

/**
 * Runs the cleanup: resumes the unfinished run if there is one (its steps, clock and position),
 * else starts one with `options.steps` (all by default). Throws CleanupBusyError while another
 * live process runs it, and the signal's reason when aborted (the checkpoint stays for next time).
 */
export async function runCleanup(store: Store, content: ContentStore, options: CleanupOptions = {}): Promise<CleanupReport> {
  const owner = options.owner ?? `${hostname()}:${process.pid}`;
  const dryRun = options.dryRun === true;
  if (dryRun) return cleanUp(store, content, options, owner);
  if (runningHere.has(store)) throw new CleanupBusyError(`a cleanup is already running in this process (${owner})`);
  runningHere.add(store);
  try {
    return await cleanUp(store, content, options, owner);
  } finally {
    runningHere.delete(store);
  }
}

async function cleanUp(store: Store, content: ContentStore, options: CleanupOptions, owner: string): Promise<CleanupReport> {
  const started = performance.now();
  const isAlive = options.isAlive ?? processAlive;
  const stored = await store.settings.all();
  const policy = cleanupPolicy(stored);
  const { settings } = resolveDownstreamSettings(stored);
  const dryRun = options.dryRun === true;

  let run: CleanupRunRecord | undefined;
  let resumed = false;
  if (!dryRun) {
    const unfinished = await store.cleanup.unfinished();
    if (unfinished !== undefined) {
      const [host, pid] = unfinished.owner.split(':');
      const alive = unfinished.owner !== owner && unfinished.result === 'running' && host === hostname() && isAlive(Number(pid));
      // A holder on another host is trusted while it keeps saving checkpoints.
      const fresh = host !== hostname() && unfinished.result === 'running' && Date.now() - Date.parse(unfinished.updatedAt) < 120_000;
      if (alive || fresh) throw new CleanupBusyError(`a cleanup is already running (process ${pid} on ${host}, run ${unfinished.id}, step ${unfinished.step ?? 'starting'})`);
      if (!(await store.cleanup.takeOver(unfinished.id, unfinished.owner, owner))) throw new CleanupBusyError('another process took the unfinished cleanup over first');
      run = unfinished;
      resumed = true;
    }
  }
  const requested = run !== undefined ? (run.steps as CleanupStep[]) : [...(options.steps ?? CLEANUP_STEPS)];
  const { run: steps, skipped: replicaSkipped } = applicableSteps(requested, settings.replica);
  const skipped: Record<string, string> = Object.fromEntries(replicaSkipped.map((s) => [s, 'a replica takes its declines from its upstream server']));
  const now = run !== undefined ? new Date(run.startedAt) : (options.now ?? new Date());
  if (!dryRun && run === undefined) run = await store.cleanup.begin(requested, now.toISOString(), owner);

  const counts: CleanupCounts = structuredClone(run?.counts ?? {});
  const ctx: StepContext = {
    now,
    policy,
    batch: options.batchSize ?? DEFAULT_BATCH,
    dryRun,
    content,
    keepUnapproved: !settings.content.deferredDownloads || (await store.downstreams.count()) > 0,
  };
  let batches = 0;
  // The adaptive page size: what a loaded database (or a step heavier per row) can take in one short transaction.
  const slowMs = options.slowTransactionMs ?? 300;
  let batch = ctx.batch;
  let smallestBatch = batch;
  const adapt = (ms: number): void => {
    batch = nextBatchSize(batch, ctx.batch, ms, slowMs);
    smallestBatch = Math.min(smallestBatch, batch);
  };
  const longestByStep: Record<string, number> = {};
  const dutyCycle = Math.min(1, Math.max(0.05, options.dutyCycle ?? 0.5));
  const record = (step: string, ms: number): void => {
    longestByStep[step] = Math.max(longestByStep[step] ?? 0, Math.round(ms * 10) / 10);
  };
  const yieldAfter = async (ms: number): Promise<void> => {
    const pause = Math.min(1000, (ms * (1 - dutyCycle)) / dutyCycle);
    if (pause >= 1) await new Promise((resolve) => setTimeout(resolve, pause));
  };
  // Where a resumed run stands: steps before its current one are finished.
  const resumeAt = run?.step !== undefined ? steps.indexOf(run.step as CleanupStep) : -1;
  try {
    for (let index = Math.max(0, resumeAt); index < steps.length; index++) {
      const step = steps[index]!;
      const stepCounts = (counts[step] ??= {});
      if (index === resumeAt && run?.cursor === DONE) continue;
      if (step === 'compact') {
        options.signal?.throwIfAborted();
        const t0 = performance.now();
        add(stepCounts, await compact(store, steps.filter((s) => s !== 'compact'), dryRun));
        batches++;
        if (!dryRun) await store.cleanup.checkpoint(run!.id, step, DONE, counts);
        options.onProgress?.({ step, batches, counts: stepCounts });
        // VACUUM is not a transaction the scans wait for on PostgreSQL; on SQLite it only runs when small.
        if (store.dialect === 'sqlite') record(step, performance.now() - t0);
        continue;
      }
      let cursor = index === resumeAt ? run?.cursor : undefined;
      for (;;) {
        options.signal?.throwIfAborted();
        const t0 = performance.now();
        const pageCtx: StepContext = { ...ctx, batch };
        const outcome = dryRun
          ? await PAGES[step](store, cursor, pageCtx)
          : await store.transaction(async (tx) => {
              const page = await PAGES[step](tx, cursor, pageCtx);
              const after = structuredClone(counts);
              add((after[step] ??= {}), page.counts);
              await tx.cleanup.checkpoint(run!.id, step, page.next ?? DONE, after);
              return page;
            });
        const ms = performance.now() - t0;
        record(step, ms);
        adapt(ms);
        await yieldAfter(ms);
        batches++;
        add(stepCounts, outcome.counts);
        options.onProgress?.({ step, batches, counts: stepCounts });
        if (outcome.next === undefined) break;
        cursor = outcome.next;
      }
    }
    if (!dryRun) await store.cleanup.finish(run!.id, 'done', counts);
  } catch (error) {
    // Aborted or failed: the checkpoint of the last committed page stays; the next run resumes there.
    if (!dryRun && !options.signal?.aborted) await store.cleanup.finish(run!.id, 'failed', counts, (error as Error).message).catch(() => {});
    throw error;
  }
  return {
    ...(run !== undefined && { runId: run.id }),
    resumed,
    dryRun,
    startedAt: now.toISOString(),
    steps,
    skipped,
    counts,
    batches,
    longestTransactionMs: Math.max(0, ...Object.values(longestByStep)),
    longestByStep,
    smallestBatch,
    elapsedMs: Math.round(performance.now() - started),
  };
}

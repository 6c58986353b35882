// The automatic synchronization of `openwsus serve` (settings schedule.*): wakes at the time the
// schedule gives (domain/sync-schedule.ts) and runs the engine, one run at a time. The settings
// are read again at every wake-up, at most `pollMs` apart, so `openwsus config set schedule.…`
// from another process takes effect within that time without a restart. A failed run is
// recorded by the engine and the next slot is awaited; a run already going (an `openwsus sync`
// by hand) is left alone and counts as the slot's run.
import type { DownstreamSettings } from '../domain/settings.ts';
import { resolveDownstreamSettings } from '../domain/settings.ts';
import { nextSyncDue, type ScheduledSync } from '../domain/sync-schedule.ts';
import { SyncLockedError, type Store } from '../store/index.ts';
import { synchronize, SyncError, type SyncReport } from './engine.ts';

/** The part of a pino logger the scheduler writes to. */
export interface SchedulerLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface SyncSchedulerOptions {
  readonly store: Store;
  readonly logger: SchedulerLogger;
  /** The clock (tests move it). */
  readonly now?: () => Date;
  /** Longest sleep between two reads of the settings (default 60 s). */
  readonly pollMs?: number;
  /** One synchronization (default: the metadata engine). */
  readonly run?: (signal: AbortSignal) => Promise<SyncReport>;
}

/** What one look at the schedule decided. */
export type SchedulerStep =
  | { readonly kind: 'manual' }
  | { readonly kind: 'waiting'; readonly next: ScheduledSync }
  | { readonly kind: 'ran'; readonly next: ScheduledSync; readonly result: 'succeeded' | 'failed' | 'busy' | 'not-started' };

export class SyncScheduler {
  readonly #options: SyncSchedulerOptions;
  readonly #now: () => Date;
  readonly #pollMs: number;
  /** When the scheduler began watching: the reference when no run was ever recorded. */
  readonly #since: Date;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #step: Promise<SchedulerStep> | undefined;
  #stopped = false;
  /**
   * When (by this scheduler's clock) it last started a scheduled run, whatever came of it: that
   * slot is done even when no run was recorded (settings incomplete), so it is not tried again
   * at every wake-up.
   */
  #attempted: number | undefined;

  constructor(options: SyncSchedulerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#pollMs = options.pollMs ?? 60_000;
    this.#since = this.#now();
  }

  /** Starts watching the schedule; returns at once. */
  start(): void {
    this.#arm(0);
  }

  /** Stops watching; a run in progress is cancelled (recorded as such) and awaited. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#step?.catch(() => undefined);
  }

  #arm(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#step = this.step();
      void this.#step.then(
        (step) => this.#arm(this.#delayAfter(step)),
        (error: unknown) => {
          // The store unreachable for a moment, say: logged, and looked at again later.
          this.#options.logger.error({ error: (error as Error)?.message }, 'sync schedule: cannot read the schedule');
          this.#arm(this.#pollMs);
        },
      );
    }, delayMs);
    this.#timer.unref?.();
  }

  #delayAfter(step: SchedulerStep): number {
    // A run by hand holds the lock: look again later rather than at once.
    if (step.kind === 'manual' || (step.kind === 'ran' && step.result === 'busy')) return this.#pollMs;
    const until = step.next.at.getTime() - this.#now().getTime();
    return Math.max(0, Math.min(this.#pollMs, until));
  }

  /** Reads the schedule and runs the synchronization if it is due. One step at a time. */
  async step(): Promise<SchedulerStep> {
    const { store, logger } = this.#options;
    const { settings } = resolveDownstreamSettings(await store.settings.all());
    const next = await this.#next(settings.schedule);
    if (next === undefined) return { kind: 'manual' };
    if (next.at.getTime() > this.#now().getTime()) return { kind: 'waiting', next };
    logger.info({ slot: next.slot.toISOString(), at: next.at.toISOString() }, 'sync schedule: starting the scheduled synchronization');
    const result = await this.#run();
    const after = (await this.#next(settings.schedule)) ?? next;
    return { kind: 'ran', next: after, result };
  }

  async #next(schedule: DownstreamSettings['schedule']): Promise<ScheduledSync | undefined> {
    const [last] = await this.#options.store.syncRuns.list({ limit: 1 });
    const since = new Date(Math.max(last === undefined ? this.#since.getTime() : Date.parse(last.startedAt), this.#attempted ?? 0));
    return nextSyncDue(schedule, this.#options.store.serverId, since);
  }

  async #run(): Promise<'succeeded' | 'failed' | 'busy' | 'not-started'> {
    const { logger } = this.#options;
    const run = this.#options.run ?? ((signal) => synchronize({ store: this.#options.store, signal }));
    const startedAt = this.#now().getTime();
    try {
      const report = await run(this.#abort.signal);
      this.#attempted = startedAt;
      logger.info({ run: report.run.id, counts: report.run.counts, ms: Math.round(report.ms) }, 'sync schedule: synchronization succeeded');
      return 'succeeded';
    } catch (error) {
      if (error instanceof SyncError) {
        this.#attempted = startedAt;
        logger.warn({ run: error.run?.id, error: error.message }, 'sync schedule: synchronization failed; the next slot will try again');
        return 'failed';
      }
      if (error instanceof SyncLockedError) {
        // Someone runs one now: its run, once recorded, is this slot's.
        logger.info({ error: error.message }, 'sync schedule: a synchronization is already running');
        return 'busy';
      }
      // Settings that do not say where the upstream is: no run was recorded, and the slot is
      // given up rather than tried again at every wake-up.
      this.#attempted = startedAt;
      logger.warn({ error: (error as Error)?.message }, 'sync schedule: cannot start the scheduled synchronization');
      return 'not-started';
    }
  }
}

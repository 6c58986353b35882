// The daily cleanup of `openwsus serve` (cleanup.enabled, on by default; cleanup.time, UTC). The
// settings are read again at every wake-up, at most `pollMs` apart, so `openwsus config set
// cleanup.…` from another process takes effect without a restart. A run left unfinished (the
// server was killed mid-cleanup) is resumed at start-up rather than a day later.
import type { Logger } from '../app/log.ts';
import { CLEANUP_SETTING_KEYS, DEFAULT_CLEANUP_TIME, nextCleanupTime } from '../domain/cleanup-rules.ts';
import type { ContentStore } from '../content/index.ts';
import type { Store } from '../store/index.ts';
import { CleanupBusyError, runCleanup, type CleanupReport } from './cleanup.ts';

export interface CleanupScheduleOptions {
  readonly store: Store;
  readonly content: ContentStore;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly now?: () => Date;
  /** Longest sleep between two reads of the settings (default 60 s). */
  readonly pollMs?: number;
  /** Delay before resuming an unfinished run at start-up (default 30 s: let the server settle). */
  readonly resumeDelayMs?: number;
}

export class CleanupSchedule {
  readonly #options: CleanupScheduleOptions;
  readonly #now: () => Date;
  readonly #pollMs: number;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;
  /** When the last run started (or the schedule did). */
  #since: Date;
  #due: Date | undefined;

  constructor(options: CleanupScheduleOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#pollMs = options.pollMs ?? 60_000;
    this.#since = this.#now();
  }

  start(): void {
    void this.#options.store.cleanup.unfinished().then(
      (unfinished) => this.#arm(unfinished !== undefined ? (this.#options.resumeDelayMs ?? 30_000) : 0, unfinished !== undefined),
      () => this.#arm(this.#pollMs, false),
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#abort.abort(new Error('server stopping'));
    await this.#running?.catch(() => undefined);
  }

  #arm(delayMs: number, force: boolean): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#wake(force).then(
        () => this.#arm(this.#delay(), false),
        (error: unknown) => {
          this.#options.logger.error({ error: (error as Error)?.message }, 'cleanup schedule: cannot read the settings');
          this.#arm(this.#pollMs, false);
        },
      );
    }, delayMs);
    this.#timer.unref?.();
  }

  #delay(): number {
    const until = (this.#due?.getTime() ?? 0) - this.#now().getTime();
    return Math.max(0, Math.min(this.#pollMs, until));
  }

  /** One look at the settings: runs the cleanup when due (or when resuming). */
  async #wake(force: boolean): Promise<CleanupReport | undefined> {
    const stored = await this.#options.store.settings.all();
    const enabled = stored[CLEANUP_SETTING_KEYS.enabled] !== false;
    const time = typeof stored[CLEANUP_SETTING_KEYS.time] === 'string' ? (stored[CLEANUP_SETTING_KEYS.time] as string) : DEFAULT_CLEANUP_TIME;
    const now = this.#now();
    // The first occurrence of the time after the last run (or the start): a changed time counts at once.
    this.#due = nextCleanupTime(time, this.#since);
    if (!enabled || (!force && this.#due.getTime() > now.getTime())) return undefined;
    this.#since = now;
    const { logger } = this.#options;
    logger.info({ resume: force }, 'cleanup schedule: starting the cleanup');
    try {
      const report = await runCleanup(this.#options.store, this.#options.content, { signal: this.#abort.signal });
      logger.info({ run: report.runId, counts: report.counts, ms: report.elapsedMs, longestTransactionMs: report.longestTransactionMs }, 'cleanup schedule: cleanup finished');
      return report;
    } catch (error) {
      if (this.#abort.signal.aborted) logger.info({}, 'cleanup schedule: cleanup stopped with the server; it resumes at the next start');
      else if (error instanceof CleanupBusyError) logger.info({ error: error.message }, 'cleanup schedule: a cleanup is already running');
      else logger.warn({ error: (error as Error)?.message }, 'cleanup schedule: the cleanup failed; the next run resumes it');
      return undefined;
    }
  }
}

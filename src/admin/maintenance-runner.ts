// "Clean up now" and "verify the content now" inside the server process, as sync-runner.ts does for
// synchronizations: one run of each at a time, started by the API and followed by polling its
// status. The work itself is src/maintenance (a cleanup run keeps its checkpoint and history in
// cleanup_run, so a run this process started shows there as any other).
import { hostname } from 'node:os';
import type { Logger } from '../app/log.ts';
import type { ContentStore } from '../content/index.ts';
import type { CleanupStep } from '../domain/cleanup-rules.ts';
import { CleanupBusyError, runCleanup, type CleanupProgress, type CleanupReport } from '../maintenance/cleanup.ts';
import { verifyContentStore, type ContentVerifyReport } from '../maintenance/content-verify.ts';
import type { CleanupRunRecord, Store } from '../store/index.ts';
import { StartRefused } from './start-refused.ts';


export interface CleanupStatusView {
  /** A cleanup runs in this process, or another process holds an unfinished run (runs[0]). */
  readonly running: boolean;
  readonly dryRun: boolean;
  /** Where the run of this process stands: its current step and every step's counts so far. */
  readonly progress: { readonly step: string; readonly batches: number; readonly counts: Readonly<Record<string, Readonly<Record<string, number>>>> } | null;
  /** The report of the last run this process finished (a dry run's counts live only here). */
  readonly lastReport: CleanupReport | null;
  readonly lastError: string | null;
  /** Recorded runs, newest first (dry runs are not recorded). */
  readonly runs: readonly CleanupRunRecord[];
}

export interface VerifyProgressView {
  readonly checked: number;
  readonly ok: number;
  readonly missing: number;
  readonly corrupt: number;
  readonly bytesHashed: number;
}

export interface ContentVerifyStatusView {
  readonly running: boolean;
  readonly fix: boolean;
  readonly progress: VerifyProgressView | null;
  readonly lastReport: ContentVerifyReport | null;
  readonly lastError: string | null;
}

interface Current<P> {
  readonly controller: AbortController;
  progress: P | null;
  done: Promise<void>;
}
type CurrentCleanup = Current<NonNullable<CleanupStatusView['progress']>> & { readonly dryRun: boolean };
type CurrentVerify = Current<VerifyProgressView> & { readonly fix: boolean };

export class MaintenanceRunner {
  readonly #store: Store;
  readonly #content: ContentStore | undefined;
  readonly #logger: Logger | undefined;
  #cleanup: CurrentCleanup | undefined;
  #cleanupLast: { report: CleanupReport | null; error: string | null } = { report: null, error: null };
  #verify: CurrentVerify | undefined;
  #verifyLast: { report: ContentVerifyReport | null; error: string | null } = { report: null, error: null };

  constructor(store: Store, content: ContentStore | undefined, options: { logger?: Logger } = {}) {
    this.#store = store;
    this.#content = content;
    this.#logger = options.logger;
  }

  #contentStore(what: string): ContentStore {
    if (this.#content === undefined) throw new StartRefused(503, `this server has no content directory to ${what}`);
    return this.#content;
  }

  async cleanupStatus(limit = 10): Promise<CleanupStatusView> {
    const runs = await this.#store.cleanup.history(limit);
    const current = this.#cleanup;
    return {
      // An unfinished run of this process was stopped (it resumes at the next start); another's runs.
      running: current !== undefined || (runs[0]?.result === 'running' && runs[0].owner !== `${hostname()}:${process.pid}`),
      dryRun: current?.dryRun ?? false,
      progress: current?.progress ?? null,
      lastReport: this.#cleanupLast.report,
      lastError: this.#cleanupLast.error,
      runs,
    };
  }

  /**
   * Starts a cleanup and resolves once it has begun, or refuses (409) while one runs here or in
   * another live process. An unfinished run is resumed (its own steps), as `openwsus cleanup` does.
   */
  async startCleanup(options: { steps?: readonly CleanupStep[]; dryRun?: boolean }): Promise<CleanupStatusView> {
    if (this.#cleanup !== undefined) throw new StartRefused(409, 'a cleanup is already running on this server');
    const content = this.#contentStore('clean');
    const controller = new AbortController();
    const dryRun = options.dryRun === true;
    const current: CurrentCleanup = { controller, progress: null, done: Promise.resolve(), dryRun };
    this.#cleanup = current;
    const counts: Record<string, Readonly<Record<string, number>>> = {};
    let begun!: () => void;
    const started = new Promise<void>((resolve) => (begun = resolve));
    const report = runCleanup(this.#store, content, {
      ...(options.steps !== undefined && { steps: options.steps }),
      dryRun,
      signal: controller.signal,
      onProgress: (p: CleanupProgress) => {
        counts[p.step] = { ...p.counts };
        current.progress = { step: p.step, batches: p.batches, counts: { ...counts } };
        begun();
      },
    });
    current.done = report
      .then(
        (r) => {
          this.#cleanupLast = { report: r, error: null };
          this.#logger?.info({ run: r.runId, dryRun, counts: r.counts, ms: r.elapsedMs, longestTransactionMs: r.longestTransactionMs }, 'cleanup finished');
        },
        (error: Error) => {
          if (!(error instanceof CleanupBusyError)) this.#cleanupLast = { report: null, error: error.message };
          this.#logger?.warn({ error: error.message }, 'cleanup failed');
        },
      )
      .finally(() => {
        if (this.#cleanup === current) this.#cleanup = undefined;
      });
    // Refused before its first page (another live process holds the run): not started. The
    // recorded run (begin) exists before the first progress, so a poll right after sees it.
    const early = await Promise.race([started.then(() => undefined), report.then(() => undefined, (error: Error) => error)]);
    if (early instanceof Error) {
      await current.done;
      if (early instanceof CleanupBusyError) throw new StartRefused(409, early.message);
    }
    return this.cleanupStatus();
  }

  /** Stops the running cleanup at its next page (its checkpoint stays); false when none runs here. */
  async cancelCleanup(): Promise<boolean> {
    const current = this.#cleanup;
    if (current === undefined) return false;
    current.controller.abort(new Error('cancelled through the administration API'));
    await current.done;
    return true;
  }

  verifyStatus(): ContentVerifyStatusView {
    const current = this.#verify;
    return {
      running: current !== undefined,
      fix: current?.fix ?? false,
      progress: current?.progress ?? null,
      lastReport: this.#verifyLast.report,
      lastError: this.#verifyLast.error,
    };
  }

  /** Starts a verification (resuming a saved position unless restart); 409 while one runs here. */
  startVerify(options: { fix?: boolean; restart?: boolean }): ContentVerifyStatusView {
    if (this.#verify !== undefined) throw new StartRefused(409, 'a content verification is already running on this server');
    const content = this.#contentStore('verify');
    const controller = new AbortController();
    const fix = options.fix === true;
    const current: CurrentVerify = { controller, progress: null, done: Promise.resolve(), fix };
    this.#verify = current;
    current.done = verifyContentStore(this.#store, content, {
      fix,
      ...(options.restart === true && { restart: true }),
      signal: controller.signal,
      onProgress: (p) => (current.progress = p),
    })
      .then(
        (r) => {
          this.#verifyLast = { report: r, error: null };
          this.#logger?.info({ checked: r.checked, ok: r.ok, missing: r.missing.length, corrupt: r.corrupt.length, requeued: r.requeued }, 'content verification finished');
        },
        (error: Error) => {
          this.#verifyLast = { report: null, error: error.message };
          this.#logger?.warn({ error: error.message }, 'content verification failed');
        },
      )
      .finally(() => {
        if (this.#verify === current) this.#verify = undefined;
      });
    return this.verifyStatus();
  }

  async cancelVerify(): Promise<boolean> {
    const current = this.#verify;
    if (current === undefined) return false;
    current.controller.abort(new Error('cancelled through the administration API'));
    await current.done;
    return true;
  }

  /** Waits for what runs (tests). */
  async settled(): Promise<void> {
    await Promise.all([this.#cleanup?.done, this.#verify?.done]);
  }

  /** Stops what runs (shutdown): both resume from their checkpoints next time. */
  async close(): Promise<void> {
    await Promise.all([this.cancelCleanup(), this.cancelVerify()]);
  }
}

// "Synchronize now" inside the server process: one run at a time, its progress fanned out to
// whoever listens (the SSE stream of the console), its outcome recorded by the engine in sync_run.
import type { SyncProgress, SyncReport, SyncEngineOptions } from '../sync/index.ts';
import type { SyncRun } from '../domain/sync-run.ts';
import { resolveDownstreamSettings } from '../domain/settings.ts';
import { nextSyncDue } from '../domain/sync-schedule.ts';
import { hostname } from 'node:os';
import { SyncLockedError, type Store } from '../store/index.ts';
import { StartRefused } from './start-refused.ts';
import type { Logger } from '../app/log.ts';

export type SynchronizeFn = (options: SyncEngineOptions) => Promise<SyncReport>;

export interface SyncStatusView {
  readonly running: boolean;
  readonly run: SyncRun | null;
  readonly progress: SyncProgress | null;
  readonly nextSyncAt: string | null;
}

export type SyncEvent = { readonly type: 'progress'; readonly progress: SyncProgress } | { readonly type: 'end'; readonly status: SyncStatusView };


export class SyncRunner {
  readonly #store: Store;
  readonly #synchronize: SynchronizeFn;
  readonly #logger: Logger | undefined;
  readonly #extra: Partial<SyncEngineOptions>;
  #current: { controller: AbortController; progress: SyncProgress | null; done: Promise<void>; startedAt: string } | undefined;
  readonly #listeners = new Set<(event: SyncEvent) => void>();
  /** Made when the server starts, as its scheduler is: both reckon from it while no run is recorded. */
  readonly #since = new Date();

  constructor(store: Store, synchronize: SynchronizeFn, options: { logger?: Logger; engine?: Partial<SyncEngineOptions> } = {}) {
    this.#store = store;
    this.#synchronize = synchronize;
    this.#logger = options.logger;
    this.#extra = options.engine ?? {};
  }

  get running(): boolean {
    return this.#current !== undefined;
  }

  async status(): Promise<SyncStatusView> {
    const [last] = await this.#store.syncRuns.list({ limit: 1 });
    const { settings } = resolveDownstreamSettings(await this.#store.settings.all());
    // As the scheduler reckons it: the slot after the last run (or now), moved by this server's offset.
    const next = nextSyncDue(settings.schedule, this.#store.serverId, last === undefined ? this.#since : new Date(last.startedAt))?.at;
    return {
      running: this.#current !== undefined || last?.result === 'running',
      run: last ?? null,
      progress: this.#current?.progress ?? null,
      nextSyncAt: next?.toISOString() ?? null,
    };
  }

  /**
   * Starts a run and resolves once it has begun (its sync_run row exists), or refuses: one runs
   * here or on another node of the database (409), or the settings cannot reach an upstream (422).
   */
  async start(): Promise<SyncStatusView> {
    if (this.#current !== undefined) throw new StartRefused(409, 'a synchronization is already running on this server');
    let begun!: () => void;
    const started = new Promise<void>((resolve) => (begun = resolve));
    const { report, done } = this.#launch(undefined, begun);
    // A run that fails before its first phase (locked, unusable settings) is refused, not started.
    const early = await Promise.race([started.then(() => undefined), report.then(() => undefined, (error: Error) => error)]);
    if (early instanceof Error) {
      await done;
      if (early.name === 'SyncLockedError') throw new StartRefused(409, early.message);
      if (early.name === 'SettingError' || early.name === 'SecretError') throw new StartRefused(422, `cannot synchronize: ${early.message}`);
    }
    return this.status();
  }

  /**
   * One synchronization to its end, for the automatic schedule: the same single run as "now",
   * so a scheduled and a manual run never overlap in this process.
   */
  async run(signal?: AbortSignal): Promise<SyncReport> {
    if (this.#current !== undefined) throw new SyncLockedError({ host: hostname(), pid: process.pid, acquiredAt: this.#current.startedAt });
    const { report, done } = this.#launch(signal, () => {});
    await done;
    return report;
  }

  #launch(signal: AbortSignal | undefined, begun: () => void): { report: Promise<SyncReport>; done: Promise<void> } {
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(), { once: true });
    const current: { controller: AbortController; progress: SyncProgress | null; done: Promise<void>; startedAt: string } = {
      controller,
      progress: null,
      done: Promise.resolve(),
      startedAt: new Date().toISOString(),
    };
    this.#current = current;
    const report = this.#synchronize({
      ...this.#extra,
      store: this.#store,
      signal: controller.signal,
      onProgress: (progress) => {
        current.progress = progress;
        begun();
        this.#emit({ type: 'progress', progress });
      },
    });
    current.done = report
      .then(
        (r) => this.#logger?.info({ run: r.run.id, counts: r.run.counts }, 'synchronization finished'),
        (error: Error) => this.#logger?.warn({ error: error.message }, 'synchronization failed'),
      )
      .finally(async () => {
        this.#current = undefined;
        // At shutdown the store may be closing: listeners then just miss the last state.
        const status = await this.status().catch(() => undefined);
        if (status !== undefined) this.#emit({ type: 'end', status });
      });
    return { report, done: current.done };
  }

  /** Stops the running synchronization; false when none runs here. */
  async cancel(): Promise<boolean> {
    const current = this.#current;
    if (current === undefined) return false;
    current.controller.abort();
    await current.done;
    return true;
  }

  subscribe(listener: (event: SyncEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: SyncEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger?.warn({ error: (error as Error).message }, 'a sync progress listener failed');
      }
    }
  }

  /** Waits for the running synchronization, if any (shutdown, tests). */
  async settled(): Promise<void> {
    await this.#current?.done;
  }
}

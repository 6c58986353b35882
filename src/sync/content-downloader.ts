// The content side of a downstream (issue 4 "Content", WSUS-PROTOCOLS §2.10): keeps the download
// queue in line with what the content rule wants, and works it off, a few files at once, from
// the upstream's URLs (fileUrls of GetUpdateData: the upstream's /Content/ URL, or Microsoft
// Update's), through the same transport as the metadata (proxy, private CA) and nothing else.
//
// - Resumable: bytes go into the file's stable partial (content/publish.ts), and a later try asks
//   only for the rest with a Range; a partial that does not fit is started over.
// - Verified: publish checks size, SHA-1 and SHA-256 before the rename; wrong bytes are never
//   published and never resumed from.
// - Crash-safe: a file being downloaded is leased to its worker (host:pid:instance). kill -9
//   leaves the lease; a worker on the same host sees the pid is gone and takes the file over at
//   once, elsewhere the lease runs out. Stale partials go with the content store's sweep.
// - Lazy upstreams answer 404 for files they have not fetched yet: those are asked for with
//   DownloadFiles and tried again later, without counting a failure.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { request, type Dispatcher } from 'undici';
import type { ContentStore } from '../content/index.ts';
import { ContentBusyError, DigestMismatchError } from '../content/index.ts';
import { contentSourceUrl, resolveContentSettings, retryDelayMs, wantsContent, type ContentJob, type ContentJobState, type ContentWorkerSettings } from '../domain/content-rule.ts';
import type { StoredFile } from '../domain/catalog-records.ts';
import { resolveDownstreamSettings, upstreamOrigin, type DownstreamSettings } from '../domain/settings.ts';
import { SoapFault } from '../soap/index.ts';
import { processAlive, type Store } from '../store/index.ts';
import { serverNameOf } from './server-name.ts';
import { createSyncTransport, type SyncTransport } from './transport.ts';
import { UPSTREAM_CONFIG_SETTING } from './engine.ts';
import { UpstreamClient } from './upstream-client.ts';

/** pino's shape, as much of it as this module uses. */
export interface ContentLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ContentProgress {
  /** Files finished in this pass: published, failed, or waiting on a lazy upstream. */
  readonly present: number;
  readonly failed: number;
  readonly waiting: number;
  /** Bytes received in this pass. */
  readonly bytes: number;
  /** Queue counts as of the start of the pass. */
  readonly queue: Readonly<Record<ContentJobState, number>>;
}

export interface ContentDownloaderOptions {
  readonly store: Store;
  readonly content: ContentStore;
  readonly logger?: ContentLogger;
  /** For `languages = locale` (default: the process's locale). */
  readonly locale?: string;
  /** accountName for DownloadFiles' handshake (default: this host's name). */
  readonly serverName?: string;
  /** Lease on a file being downloaded; renewed every third of it. Default 60 s. */
  readonly leaseMs?: number;
  /** Wait before asking a lazy upstream again for a file it had not got. Default: the retry delay. */
  readonly lazyRetryMs?: number;
  /** Response headers and each body chunk must arrive within this. Default 120 s. */
  readonly timeoutMs?: number;
  readonly onProgress?: (progress: ContentProgress) => void;
}

export interface QueueReconciliation {
  /** Files newly queued. */
  readonly queued: number;
  /** Waiting files no longer wanted (approval removed, update declined, setting changed). */
  readonly dropped: number;
}

/** Makes the queue hold exactly the wanted files not present yet (plus those downstreams asked for). */
export async function reconcileContentQueue(store: Store, locale: string = defaultLocale()): Promise<QueueReconciliation> {
  const { policy } = resolveContentSettings(await store.settings.all(), locale);
  const waiting = await store.contentQueue.waiting();
  const downloading = new Set((await store.contentQueue.downloading()).map((j) => j.sha1));
  const wanted = new Set<string>();
  // Only what is neither present nor in the queue is handed to enqueue: in immediate mode nearly
  // every file of the catalog is wanted, and nearly all of them are one or the other.
  const missing = new Set<string>();
  if (policy.storeLocally) {
    for (const c of await store.contentQueue.candidates({ approvedOnly: policy.deferredDownloads })) {
      if (wanted.has(c.sha1) || !wantsContent(policy, c)) continue;
      wanted.add(c.sha1);
      if (!c.present && !waiting.has(c.sha1) && !downloading.has(c.sha1)) missing.add(c.sha1);
    }
  }
  const queued = await store.contentQueue.enqueue([...missing]);
  const unwanted = [...waiting].filter(([sha1, requested]) => !wanted.has(sha1) && !(requested && policy.storeLocally)).map(([sha1]) => sha1);
  const dropped = await store.contentQueue.drop(unwanted);
  return { queued, dropped };
}

/** Where the last reconcile of a synchronization stood: the change position and the content policy. */
const RECONCILED_SETTING = 'internal.contentReconciled';

/**
 * reconcileContentQueue, skipped when neither the catalog, the approvals nor the content settings
 * moved since the last one: a synchronization that brought nothing costs no pass over the files.
 * Files that change state otherwise (downloaded, asked for by a downstream, re-queued by a
 * verification) are put in the queue by whoever changes them.
 */
export async function reconcileContentQueueIfChanged(store: Store, locale: string = defaultLocale()): Promise<QueueReconciliation> {
  const { policy } = resolveContentSettings(await store.settings.all(), locale);
  const position = `${await store.changes.current()}|${JSON.stringify(policy)}`;
  if ((await store.settings.get(RECONCILED_SETTING)) === position) return { queued: 0, dropped: 0 };
  const result = await reconcileContentQueue(store, locale);
  await store.settings.set(RECONCILED_SETTING, position);
  return result;
}

function defaultLocale(): string {
  return Intl.DateTimeFormat().resolvedOptions().locale;
}


const MAX_REDIRECTS = 5;
const MAX_DOWNLOAD_FILES = 100;

class UpstreamMissing extends Error {
  override name = 'UpstreamMissing';
}

type Outcome = 'present' | 'failed' | 'waiting' | 'released';

export class ContentDownloader {
  readonly #options: ContentDownloaderOptions;
  readonly #store: Store;
  readonly #content: ContentStore;
  readonly #host = hostname();
  /** This worker's name on the leases it takes. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #inFlight = new Set<string>();
  #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** wake() was called since the current look began: look again at once instead of sleeping. */
  #woken = false;
  #fingerprint = '';
  #running: Promise<ContentProgress> | undefined;

  constructor(options: ContentDownloaderOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#content = options.content;
  }

  /**
   * Runs in the background until stop(): a pass at once (resuming what a previous process left),
   * then one every `content.checkIntervalSeconds`. A synchronization queues its files itself
   * (engine.ts), so the next pass takes them whichever process ran it.
   */
  start(): void {
    if (this.#loop !== undefined) return;
    this.#stopping = new AbortController();
    this.#loop = this.#background();
  }

  /**
   * Looks now instead of at the next `content.checkIntervalSeconds`: an approval or a
   * synchronization made in this process wants its files promptly (deferred downloads). One
   * called while a look is under way makes another follow it. Changes made by another process
   * (`openwsus updates approve` in a shell) are seen at the next interval, through the change sequence.
   */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** Stops taking files, lets the ones in flight give their lease back, and waits for that. */
  async stop(): Promise<void> {
    this.#stopping.abort(new Error('the content downloader is stopping'));
    this.#wake?.();
    await this.#loop?.catch(() => undefined);
    this.#loop = undefined;
  }

  async #background(): Promise<void> {
    const signal = this.#stopping.signal;
    // Partials nobody came back for in a day (files no longer wanted); fresher ones are resumed.
    await this.#content.sweepPartials(24 * 3_600_000).catch((error: unknown) => this.#options.logger?.warn({ error: (error as Error).message }, 'content: cannot sweep old partial files'));
    while (!signal.aborted) {
      let interval = 60_000;
      this.#woken = false;
      try {
        const stored = await this.#store.settings.all();
        interval = resolveContentSettings(stored, this.#options.locale ?? defaultLocale()).worker.checkIntervalMs;
        // Cheap when nothing changed: the change sequence moves with every catalog and approval
        // change (made by any process), and the settings are part of the fingerprint.
        const fingerprint = `${await this.#store.changes.current()}|${JSON.stringify(stored)}`;
        if (fingerprint !== this.#fingerprint) {
          const r = await reconcileContentQueue(this.#store, this.#options.locale ?? defaultLocale());
          this.#fingerprint = fingerprint;
          if (r.queued > 0 || r.dropped > 0) this.#options.logger?.info({ ...r }, 'content: download queue updated');
        }
        await this.runOnce({ signal });
      } catch (error) {
        if (signal.aborted) break;
        this.#options.logger?.warn({ error: (error as Error).message }, 'content: download pass failed');
      }
      if (signal.aborted) break;
      if (this.#woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /**
   * One pass: takes due files, `content.downloadConcurrency` at a time, until none is due.
   * Passes do not overlap within a process.
   */
  async runOnce(options: { signal?: AbortSignal } = {}): Promise<ContentProgress> {
    while (this.#running !== undefined) await this.#running.catch(() => undefined);
    const run = this.#pass(options.signal);
    this.#running = run;
    try {
      return await run;
    } finally {
      this.#running = undefined;
    }
  }

  async #pass(signal: AbortSignal | undefined): Promise<ContentProgress> {
    const store = this.#store;
    const stored = await store.settings.all();
    const { worker } = resolveContentSettings(stored, this.#options.locale ?? defaultLocale());
    const { settings } = resolveDownstreamSettings(stored);
    await this.#recoverOrphans();
    const queue = await store.contentQueue.counts();
    const progress = { present: 0, failed: 0, waiting: 0, bytes: 0, queue };
    const report = (): void => this.#options.onProgress?.({ ...progress });
    if (queue.queued + queue.failed + queue.downloading === 0) return progress;

    // Every download goes the way the metadata does: direct or by the proxy, trusting upstream.caFile.
    const transport = await createSyncTransport(settings, store.settings);
    const dispatcher = transport.dispatcher;
    const leaseMs = this.#options.leaseMs ?? 60_000;
    const renew = setInterval(() => {
      void store.contentQueue.renew(this.owner, [...this.#inFlight], new Date(Date.now() + leaseMs).toISOString()).catch(() => undefined);
    }, Math.max(1000, leaseMs / 3));
    const upstreamConfig = stored[UPSTREAM_CONFIG_SETTING] as { catalogOnlySync?: boolean } | undefined;
    const upstream = { ...(settings.source === 'server' && { origin: upstreamOrigin(settings) }), catalogOnly: upstreamConfig?.catalogOnlySync === true };
    const missing: ContentJob[] = [];
    try {
      const slots = Math.max(1, worker.concurrency);
      const lanes: Promise<void>[] = [];
      const lane = async (): Promise<void> => {
        while (!signal?.aborted) {
          const [job] = await store.contentQueue.claim(this.owner, 1, new Date(Date.now() + leaseMs).toISOString());
          if (job === undefined) return;
          this.#inFlight.add(job.sha1);
          try {
            const outcome = await this.#download(job, { dispatcher, transport, retryBaseMs: worker.retryDelayMs, upstream }, signal, (n) => {
              progress.bytes += n;
              report();
            });
            if (outcome === 'waiting') missing.push(job);
            if (outcome !== 'released') progress[outcome] += 1;
            report();
          } finally {
            if (!missing.includes(job)) this.#inFlight.delete(job.sha1);
          }
        }
      };
      for (let i = 0; i < slots; i++) lanes.push(lane());
      await Promise.all(lanes);
      if (missing.length > 0) {
        const failed = await this.#askUpstream(missing, settings, dispatcher, worker);
        progress.waiting -= failed;
        progress.failed += failed;
        report();
      }
    } finally {
      for (const job of missing) this.#inFlight.delete(job.sha1);
      clearInterval(renew);
      await transport.close().catch(() => undefined);
    }
    return progress;
  }

  /** Files leased by a process of this host that is gone (kill -9): waiting again, at once. */
  async #recoverOrphans(): Promise<void> {
    for (const job of await this.#store.contentQueue.downloading()) {
      const [host, pid] = (job.owner ?? '').split(':');
      if (job.owner === this.owner || host !== this.#host || pid === undefined) continue;
      if (processAlive(Number(pid))) continue;
      await this.#store.contentQueue.release(job.sha1, job.owner!, new Date().toISOString(), 'interrupted: the process downloading it ended; resumed');
    }
  }

  async #download(
    job: ContentJob,
    via: {
      readonly dispatcher: Dispatcher;
      readonly transport: SyncTransport;
      readonly retryBaseMs: number;
      readonly upstream: Parameters<typeof contentSourceUrl>[1];
    },
    signal: AbortSignal | undefined,
    onBytes: (n: number) => void,
  ): Promise<Outcome> {
    const queue = this.#store.contentQueue;
    const file = await this.#store.files.get(job.sha1);
    const later = (ms: number): string => new Date(Date.now() + ms).toISOString();
    const fail = async (message: string): Promise<Outcome> => {
      this.#options.logger?.warn({ sha1: job.sha1, attempts: job.attempts + 1, error: message }, 'content: download failed');
      await queue.markFailed(job.sha1, this.owner, message, later(retryDelayMs(job.attempts + 1, via.retryBaseMs)));
      return 'failed';
    };
    if (file === undefined) return fail('no file record for this digest');
    // Published earlier (by a run that died before recording it, or by `content copy`).
    if (await this.#content.has(file)) {
      await queue.markPresent(job.sha1);
      return 'present';
    }
    const url = contentSourceUrl(file, via.upstream);
    if (url === undefined) return fail('no download URL known for this file: synchronize again');
    try {
      await this.#fetchInto(file, url, via.dispatcher, signal, onBytes);
      await queue.markPresent(job.sha1);
      return 'present';
    } catch (error) {
      if (signal?.aborted) {
        await queue.release(job.sha1, this.owner, new Date().toISOString()).catch(() => undefined);
        return 'released';
      }
      // Still leased: the pass asks the upstream for it, then lets it wait (#askUpstream).
      if (error instanceof UpstreamMissing) return 'waiting';
      if (error instanceof ContentBusyError) {
        await queue.release(job.sha1, this.owner, later(1000));
        return 'released';
      }
      if (error instanceof DigestMismatchError) return fail(`the upstream sent wrong bytes (${error.message}); not published`);
      // A proxy refusing our credentials or an untrusted certificate, said as the sync says it.
      const explained = await via.transport.explainFailure(error, url).catch(() => undefined);
      return fail(`${url}: ${explained ?? (error as Error).message}`);
    }
  }

  /** GET with a Range from the partial's end, following redirects, into publish. */
  async #fetchInto(file: StoredFile, url: string, dispatcher: Dispatcher, signal: AbortSignal | undefined, onBytes: (n: number) => void): Promise<void> {
    let offset = await this.#content.partialSize(file);
    if (offset >= file.size) offset = 0; // a full partial was bad or torn; never trust it whole
    const timeout = this.#options.timeoutMs ?? 120_000;
    let target = url;
    for (let hop = 0; ; hop++) {
      const response = await request(target, {
        method: 'GET',
        dispatcher,
        headers: { 'user-agent': 'openwsus-dss', ...(offset > 0 && { range: `bytes=${offset}-` }) },
        headersTimeout: timeout,
        bodyTimeout: timeout,
        ...(signal !== undefined && { signal }),
      });
      const status = response.statusCode;
      if ([301, 302, 303, 307, 308].includes(status) && hop < MAX_REDIRECTS) {
        const location = response.headers.location;
        await response.body.dump();
        if (typeof location !== 'string') throw new Error(`HTTP ${status} without a Location`);
        target = new URL(location, target).toString();
        continue;
      }
      if (status === 404) {
        await response.body.dump();
        throw new UpstreamMissing(`HTTP 404 from ${target}`);
      }
      if (status === 416 && offset > 0) {
        // The partial is longer than the upstream's file: start over.
        await response.body.dump();
        offset = 0;
        continue;
      }
      if (status !== 200 && status !== 206) {
        await response.body.dump();
        throw new Error(`HTTP ${status}`);
      }
      const resumed = status === 206 && offset > 0 && contentRangeStart(response.headers['content-range']) === offset;
      if (status === 206 && !resumed) {
        await response.body.dump();
        throw new Error(`HTTP 206 with Content-Range ${String(response.headers['content-range'])} for a request from byte ${offset}`);
      }
      await this.#content.publishFromStream(file, response.body, {
        ...(resumed ? { resumeOffset: offset } : { resumable: true }),
        ...(signal !== undefined && { signal }),
        onBytes,
      });
      return;
    }
  }

  /**
   * DownloadFiles to the upstream server for the files it answered 404 for, still leased to this
   * worker: asked ones wait (not a failure), unknown ones (FileDigestsMissing) fail. Returns how
   * many failed.
   */
  async #askUpstream(jobs: readonly ContentJob[], settings: DownstreamSettings, dispatcher: Dispatcher, worker: ContentWorkerSettings): Promise<number> {
    const queue = this.#store.contentQueue;
    const later = new Date(Date.now() + (this.#options.lazyRetryMs ?? worker.retryDelayMs)).toISOString();
    const unknown = new Set<string>();
    let note = 'the upstream server does not have it yet (HTTP 404); asked it with DownloadFiles';
    if (settings.source !== 'server') {
      // Microsoft Update has every file it lists: a 404 there is a real failure.
      for (const job of jobs) unknown.add(job.sha1);
    } else {
      for (let i = 0; i < jobs.length; i += MAX_DOWNLOAD_FILES) {
        const batch = jobs.slice(i, i + MAX_DOWNLOAD_FILES).map((j) => j.sha1);
        try {
          const client = new UpstreamClient({ origin: upstreamOrigin(settings), serverId: this.#store.serverId, serverName: this.#options.serverName ?? (await serverNameOf(this.#store)), dispatcher });
          await client.downloadFiles(batch);
          this.#options.logger?.info({ files: batch.length }, 'content: asked the upstream server to fetch files it lacks (DownloadFiles)');
        } catch (error) {
          if (error instanceof SoapFault && error.errorCode === 'FileDigestsMissing') {
            const named = new Set(error.message.split(/[|\s]+/));
            for (const d of batch) if (named.has(d)) unknown.add(d);
          } else {
            note = `the upstream server does not have it yet (HTTP 404); DownloadFiles failed: ${(error as Error).message}`;
            this.#options.logger?.warn({ error: (error as Error).message }, 'content: DownloadFiles failed; the files are tried again later');
          }
        }
      }
    }
    for (const job of jobs) {
      if (unknown.has(job.sha1)) {
        const message = settings.source === 'server' ? 'the upstream server answers 404 and does not know this file (FileDigestsMissing)' : 'HTTP 404 from Microsoft Update';
        await queue.markFailed(job.sha1, this.owner, message, new Date(Date.now() + retryDelayMs(job.attempts + 1, worker.retryDelayMs)).toISOString());
      } else {
        await queue.release(job.sha1, this.owner, later, note);
      }
    }
    return unknown.size;
  }
}

function contentRangeStart(value: string | string[] | undefined): number | undefined {
  const m = typeof value === 'string' ? /^bytes\s+(\d+)-/i.exec(value) : null;
  return m === null ? undefined : Number(m[1]);
}

// One metadata synchronization of this server from its upstream (MS-WSUSSS, WSUS-PROTOCOLS §2;
// DESIGN §4 "Synchronize"): handshake, config data, categories, then the updates the selected
// products and classifications take, each phase's revisions stored in batches and its anchor
// written in the transaction of its last batch, so a crash repeats at most one phase and never
// loses or duplicates anything. The run is recorded in sync_run as it goes.
import { hostname } from 'node:os';
import type { Dispatcher } from 'undici';
import { ANCHORS, INTERRUPTED_RUN_ERROR, type SyncCounts, type SyncPhase, type SyncRun } from '../domain/sync-run.ts';
import {
  expandProducts,
  knownClassifications,
  resolveDownstreamSettings,
  selectedLanguages,
  SettingError,
  upstreamOrigin,
  type DownstreamSettings,
} from '../domain/settings.ts';
import { filterLocalized, offeredLanguages, planLanguages, unavailableLanguagesMessage } from '../domain/language-selection.ts';
import { batches, classifyRevision, planFetch, withDelta } from '../domain/sync-plan.ts';
import { ruleCandidate } from '../domain/approval-automation.ts';
import type { RevisionKey } from '../domain/update.ts';
import { decodeUpdateBlob } from '../metadata/cab/index.ts';
import { ingestUpdate } from '../metadata/update-parser.ts';
import { SoapClientError, SoapFault } from '../soap/index.ts';
import { heldRevisions, processAlive, withSyncLock, type RevisionInput, type Store, type StoreTransaction } from '../store/index.ts';
import { reconcileContentQueueIfChanged, type QueueReconciliation } from './content-downloader.ts';
import { synchronizeDeployments, type DeploymentsReport } from './replica.ts';
import { upstreamClientFor } from './server-name.ts';
import { createSyncTransport } from './transport.ts';
import { UpstreamClient, UpstreamProtocolError, DSS_PROTOCOL_VERSION, type RetryPolicy, type UpstreamConfigData } from './upstream-client.ts';

/** The ids sent in the last completed updates phase: they go with Delta=true next time. */
export const UPDATES_FILTER_ANCHOR = 'upstream.updates.filter';
/** The warning task while selected languages are not offered by the upstream. */
export const LANGUAGES_TASK = 'sync.languages-unavailable';
/** The filter anchor's value once a replica asked for every update. */
const EVERYTHING_FILTER = 'everything';
/** What the upstream's GetConfigData said last (the content phase reads it: CatalogOnlySync, LazySync). */
export const UPSTREAM_CONFIG_SETTING = 'internal.upstreamConfig';

export interface SyncProgress {
  readonly phase: SyncPhase;
  /** Revisions fetched of this phase so far, of `total`. */
  readonly done: number;
  readonly total: number;
  readonly counts: SyncCounts;
}

export interface SyncEngineOptions {
  readonly store: Store;
  /** accountName sent to the upstream (default: setting `server.name`, else this host's name). */
  readonly serverName?: string;
  /** For `languages = locale` (default: the process's locale). */
  readonly locale?: string;
  readonly dispatcher?: Dispatcher;
  readonly retry?: RetryPolicy;
  /** GetUpdateData calls in flight (default 4). */
  readonly concurrency?: number;
  /** Per call (default 120 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: SyncProgress) => void;
  readonly onRetry?: (operation: string, attempt: number, error: Error) => void;
}

export interface SyncReport {
  readonly run: SyncRun;
  readonly upstream: string;
  /** Revisions listed by GetRevisionIdList, and fetched of them (the rest were held). */
  readonly categories: { readonly listed: number; readonly fetched: number };
  readonly updates: { readonly listed: number; readonly fetched: number };
  /** Replica mode only: what GetDeployments changed. */
  readonly deployments?: DeploymentsReport;
  /** Files newly queued for download, and waiting ones no longer wanted. */
  readonly content?: QueueReconciliation;
  /** Products and classifications the updates filter named (products expanded). */
  readonly filter: { readonly products: readonly string[]; readonly classifications: readonly string[] };
  readonly calls: Readonly<Record<string, number>>;
  readonly ms: number;
}

/** A synchronization that failed; the run was recorded with `message` as its error. */
export class SyncError extends Error {
  override name = 'SyncError';
  readonly run: SyncRun | undefined;
  constructor(message: string, run: SyncRun | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.run = run;
  }
}

/** What an administrator reads in `sync status` when a run fails. */
export function describeSyncFailure(error: unknown, origin: string): string {
  if (error instanceof SoapFault) {
    if (error.errorCode === 'IncompatibleProtocolVersion') {
      return `the upstream server at ${origin} does not accept protocol version ${DSS_PROTOCOL_VERSION} (IncompatibleProtocolVersion): it cannot be synchronized from`;
    }
    return `the upstream server at ${origin} answered with a ${error.describe()}`;
  }
  if (error instanceof SoapClientError) {
    if (error.problem === 'aborted') return 'cancelled';
    const what = error.problem === 'network' || error.problem === 'timeout' ? 'cannot reach the upstream server' : 'unusable answer from the upstream server';
    // The client's message repeats the URL; the origin says it once.
    const prefix = `${error.operation} at ${error.url}: `;
    const detail = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    // Web services are not redirected (a loop or a portal in the way): following would hide it.
    const redirect = error.statusCode !== undefined && error.statusCode >= 300 && error.statusCode < 400 ? '; a redirect, which a synchronization does not follow: check upstream.server, upstream.port and upstream.ssl' : '';
    return `${what} at ${origin} (${error.operation}: ${detail}${redirect})`;
  }
  if (error instanceof UpstreamProtocolError) return `the upstream server at ${origin} broke the protocol: ${error.message}`;
  return (error as Error)?.message ?? String(error);
}

interface PreviousFilter {
  readonly products: readonly string[];
  readonly classifications: readonly string[];
}

function readPreviousFilter(text: string | undefined): PreviousFilter {
  if (text === undefined) return { products: [], classifications: [] };
  try {
    const v = JSON.parse(text) as PreviousFilter;
    return { products: Array.isArray(v.products) ? v.products : [], classifications: Array.isArray(v.classifications) ? v.classifications : [] };
  } catch {
    return { products: [], classifications: [] };
  }
}

class Run {
  readonly counts = { newRevisions: 0, revisedRevisions: 0, expiredRevisions: 0, categories: 0, files: 0 };
  phase: SyncPhase = 'handshake';
  readonly report = {
    categories: { listed: 0, fetched: 0 },
    updates: { listed: 0, fetched: 0 },
    filter: { products: [] as string[], classifications: [] as string[] },
    deployments: undefined as DeploymentsReport | undefined,
    content: undefined as QueueReconciliation | undefined,
  };
  readonly #store: Store;
  readonly #options: SyncEngineOptions;
  readonly #settings: DownstreamSettings;
  readonly #client: UpstreamClient;
  readonly #runId: number;
  /** Languages whose localized data is kept (undefined: all), decided with the upstream's config. */
  #keptLanguages: readonly string[] | undefined;

  constructor(options: SyncEngineOptions, settings: DownstreamSettings, client: UpstreamClient, runId: number) {
    this.#store = options.store;
    this.#options = options;
    this.#settings = settings;
    this.#client = client;
    this.#runId = runId;
  }

  async #enter(phase: SyncPhase): Promise<void> {
    this.phase = phase;
    await this.#store.syncRuns.update(this.#runId, { phase, counts: this.counts });
    this.#options.onProgress?.({ phase, done: 0, total: 0, counts: { ...this.counts } });
  }

  async all(): Promise<void> {
    await this.#metadata();
    // After the metadata, so the deployments name revisions this server holds (§2.8).
    if (this.#settings.replica) {
      await this.#enter('deployments');
      this.report.deployments = await synchronizeDeployments(this.#store, this.#client);
    }
    // What the catalog and approvals now call for goes into the download queue, which the
    // running server works off (content-downloader.ts).
    await this.#enter('content');
    this.report.content = await reconcileContentQueueIfChanged(this.#store, this.#options.locale);
  }

  async #metadata(): Promise<void> {
    const store = this.#store;
    await this.#enter('handshake');
    await this.#client.handshake();

    await this.#enter('config');
    const config = await this.#client.getConfigData(await store.anchors.get(ANCHORS.config));
    await this.#storeConfig(config);

    await this.#enter('categories');
    const configList = await this.#client.getRevisionIdList({ getConfig: true, ...this.#anchor(await store.anchors.get(ANCHORS.categories)) });
    this.report.categories.listed = configList.revisions.length;
    await this.#fetch('categories', configList.revisions, config.maxNumberOfUpdatesPerRequest, async (tx) => {
      await tx.anchors.set(ANCHORS.categories, configList.anchor);
    });

    await this.#enter('updates');
    if (this.#settings.replica) {
      await this.#everything(config.maxNumberOfUpdatesPerRequest);
      return;
    }
    // Expanded at every run, from the categories held now: a product the upstream added under a
    // selected family is taken from its first synchronization on.
    const categories = await store.catalog.categories();
    const products = expandProducts(categories, this.#settings.products);
    const classifications = knownClassifications(categories, this.#settings.classifications);
    this.report.filter = { products, classifications };
    // An empty list selects nothing, and no list would select everything: nothing to ask.
    if (products.length === 0 || classifications.length === 0) return;
    const anchor = await store.anchors.get(ANCHORS.updates);
    const previous = readPreviousFilter(await store.anchors.get(UPDATES_FILTER_ANCHOR));
    const hasAnchor = anchor !== undefined && anchor !== '';
    const list = await this.#client.getRevisionIdList({
      getConfig: false,
      ...this.#anchor(anchor),
      categories: withDelta(products, new Set(previous.products), hasAnchor),
      classifications: withDelta(classifications, new Set(previous.classifications), hasAnchor),
    });
    this.report.updates.listed = list.revisions.length;
    await this.#fetch('updates', list.revisions, config.maxNumberOfUpdatesPerRequest, async (tx) => {
      await tx.anchors.set(ANCHORS.updates, list.anchor);
      await tx.anchors.set(UPDATES_FILTER_ANCHOR, JSON.stringify({ products, classifications }));
    });
  }

  /**
   * A replica takes what its upstream has, whatever its own selection says: no product or
   * classification list, which an upstream answers with every update (WSUS-PROTOCOLS §2.5). The
   * anchor of a filtered list is not used for it: changes since then would miss what the old
   * filter left out.
   */
  async #everything(batchSize: number): Promise<void> {
    const store = this.#store;
    this.report.filter = { products: [], classifications: [] };
    const previous = await store.anchors.get(UPDATES_FILTER_ANCHOR);
    const anchor = previous === EVERYTHING_FILTER ? await store.anchors.get(ANCHORS.updates) : undefined;
    const list = await this.#client.getRevisionIdList({ getConfig: false, ...this.#anchor(anchor) });
    this.report.updates.listed = list.revisions.length;
    await this.#fetch('updates', list.revisions, batchSize, async (tx) => {
      await tx.anchors.set(ANCHORS.updates, list.anchor);
      await tx.anchors.set(UPDATES_FILTER_ANCHOR, EVERYTHING_FILTER);
    });
  }

  #anchor(anchor: string | undefined): { anchor?: string } {
    return anchor === undefined || anchor === '' ? {} : { anchor };
  }

  async #storeConfig(config: UpstreamConfigData): Promise<void> {
    const store = this.#store;
    await store.transaction(async (tx) => {
      await tx.languages.upsert(config.languages);
      // An upstream leaves its language list out when nothing changed since our config anchor:
      // what it offered last time still holds.
      const previous = (await tx.settings.get(UPSTREAM_CONFIG_SETTING)) as { offeredLanguages?: string[] } | undefined;
      const offered = config.languages.length > 0 ? offeredLanguages(config.languages) : (previous?.offeredLanguages ?? []);
      // Only `languages = locale` needs it, and Intl takes a good tenth of a second to set up.
      const locale = this.#settings.languages.kind === 'locale' ? (this.#options.locale ?? Intl.DateTimeFormat().resolvedOptions().locale) : '';
      if (offered.length > 0) {
        const plan = planLanguages(this.#settings.languages, locale, offered);
        this.#keptLanguages = plan.kept;
        await tx.languages.setEnabled([...(plan.kept ?? offered)]);
        const [open] = await tx.tasks.list({ kind: LANGUAGES_TASK });
        if (plan.unavailable.length > 0) await tx.tasks.raise({ kind: LANGUAGES_TASK, message: unavailableLanguagesMessage(plan.unavailable, this.#client.origin) });
        else if (open !== undefined) await tx.tasks.resolve(open.id);
      } else {
        this.#keptLanguages = selectedLanguages(this.#settings.languages, locale);
      }
      const { languages: _languages, newConfigAnchor: _anchor, ...rest } = config;
      await tx.settings.set(UPSTREAM_CONFIG_SETTING, { ...rest, offeredLanguages: offered });
      if (config.newConfigAnchor !== '') await tx.anchors.set(ANCHORS.config, config.newConfigAnchor);
    });
  }

  /**
   * Fetches the listed revisions not held, `batchSize` a call and several calls in flight, and
   * stores each batch as it comes, in order; `finish` (the phase's anchor) joins the transaction
   * of the last batch, or runs alone when nothing was new.
   */
  async #fetch(phase: 'categories' | 'updates', listed: readonly RevisionKey[], batchSize: number, finish: (tx: StoreTransaction) => Promise<void>): Promise<void> {
    const store = this.#store;
    const held = await heldRevisions(store, listed.map((k) => k.updateId));
    const { wanted } = planFetch(listed, held);
    const list = batches(wanted, batchSize);
    this.report[phase].fetched = wanted.length;
    if (list.length === 0) {
      await store.transaction(finish);
      return;
    }
    let next = 0;
    let written = 0;
    let done = 0;
    let failed = false;
    let chain: Promise<void> = Promise.resolve();
    const worker = async (): Promise<void> => {
      while (!failed && next < list.length) {
        const batch = list[next++]!;
        let inputs: { input: RevisionInput; change: ReturnType<typeof classifyRevision>; files: number }[];
        try {
          const answer = await this.#client.getUpdateData(batch, (packed) => decodeUpdateBlob(packed));
          if (answer.updates.length !== batch.length) throw new UpstreamProtocolError(`GetUpdateData: ${batch.length} revisions asked, ${answer.updates.length} returned`);
          inputs = answer.updates.map((u, i) => {
            const asked = batch[i]!;
            const ingested = ingestUpdate(u.xml);
            const { record, fragments } = filterLocalized(ingested.record, ingested.fragments, this.#keptLanguages);
            if (record.key.updateId !== asked.updateId || record.key.revisionNumber !== asked.revisionNumber) {
              throw new UpstreamProtocolError(
                `GetUpdateData: ${asked.updateId}/${asked.revisionNumber} was asked, the document sent is ${record.key.updateId}/${record.key.revisionNumber}`,
              );
            }
            // FileDigestList names the files of this revision (§2.6): a digest the document does
            // not list means the answer and the document disagree.
            const digests = new Set(record.files.map((f) => f.sha1));
            const stray = u.fileDigests.find((d) => !digests.has(d));
            if (stray !== undefined) throw new UpstreamProtocolError(`GetUpdateData: the file digest ${stray} sent for ${asked.updateId}/${asked.revisionNumber} is not one of its document's files`);
            const muUrls: Record<string, string> = {};
            for (const f of record.files) {
              const url = answer.fileUrls.get(f.sha1);
              if (url !== undefined) muUrls[f.sha1] = url;
            }
            return {
              input: { record, fragments, muUrls },
              change: classifyRevision(record.properties.publicationState, held.get(asked.updateId)),
              files: record.files.length,
            };
          });
        } catch (error) {
          failed = true;
          throw error;
        }
        const write = chain.then(async () => {
          const last = written === list.length - 1;
          await store.transaction(async (tx) => {
            await tx.catalog.upsertRevisions(inputs.map((x) => x.input));
            // Automatic approvals with the revisions they concern; a replica takes its approvals from upstream.
            if (phase === 'updates' && !this.#settings.replica) {
              await tx.approvalRules.applyToSynchronized(inputs.map((x) => ({ ...ruleCandidate(x.input.record), change: x.change })));
            }
            if (last) await finish(tx);
          });
          written++;
          for (const x of inputs) {
            if (phase === 'categories') this.counts.categories++;
            else if (x.change === 'new') this.counts.newRevisions++;
            else if (x.change === 'revised') this.counts.revisedRevisions++;
            else this.counts.expiredRevisions++;
            this.counts.files += x.files;
          }
          done += inputs.length;
          await store.syncRuns.update(this.#runId, { counts: this.counts });
          this.#options.onProgress?.({ phase, done, total: wanted.length, counts: { ...this.counts } });
        });
        chain = write;
        try {
          await write;
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    const workers = Array.from({ length: Math.max(1, Math.min(this.#options.concurrency ?? 4, list.length)) }, worker);
    const results = await Promise.allSettled(workers);
    const rejected = results.find((r) => r.status === 'rejected');
    if (rejected !== undefined) throw (rejected as PromiseRejectedResult).reason;
  }
}

async function resetAnchors(store: Store): Promise<void> {
  await store.transaction(async (tx) => {
    for (const name of [ANCHORS.config, ANCHORS.categories, ANCHORS.updates, ANCHORS.deployments, UPDATES_FILTER_ANCHOR]) await tx.anchors.delete(name);
  });
}

/**
 * Runs one synchronization now. Throws SyncLockedError when one is already running, SettingError
 * when the settings do not say where the upstream is or how to reach it (proxy, upstream.caFile),
 * and SyncError (with the recorded run) when the run failed.
 */
export async function synchronize(options: SyncEngineOptions): Promise<SyncReport> {
  const { store } = options;
  const started = performance.now();
  const { settings } = resolveDownstreamSettings(await store.settings.all());
  const origin = upstreamOrigin(settings);
  // Every request of the run goes through it: direct or by the proxy, trusting upstream.caFile.
  const transport = await createSyncTransport(settings, store.settings, options.dispatcher);
  const lock = { host: hostname(), pid: process.pid, isAlive: processAlive };
  return withSyncLock(store, lock, async () => {
    // Holding the lock, a run still marked running belongs to a process that died.
    for (let stale = await store.syncRuns.running(); stale !== undefined; stale = await store.syncRuns.running()) {
      await store.syncRuns.update(stale.id, { result: 'failed', error: INTERRUPTED_RUN_ERROR });
    }
    const recorded = await store.syncRuns.start('handshake');
    const client = await upstreamClientFor(store, origin, transport.dispatcher, options);
    let run = new Run(options, settings, client, recorded.id);
    try {
      try {
        await run.all();
      } catch (error) {
        if (!(error instanceof SoapFault && error.errorCode === 'ServerChanged')) throw error;
        // Another server answers at this address (or it was rebuilt): our anchors mean nothing to
        // it. Start over from no anchors; what is held already is not fetched again.
        await resetAnchors(store);
        const counts = run.counts;
        run = new Run(options, settings, client, recorded.id);
        Object.assign(run.counts, counts);
        await run.all();
      }
      const final = await store.syncRuns.update(recorded.id, { phase: 'done', counts: run.counts, result: 'succeeded', error: null });
      return {
        run: final,
        upstream: origin,
        categories: run.report.categories,
        updates: run.report.updates,
        filter: run.report.filter,
        ...(run.report.deployments !== undefined && { deployments: run.report.deployments }),
        ...(run.report.content !== undefined && { content: run.report.content }),
        calls: Object.fromEntries(client.calls),
        ms: performance.now() - started,
      };
    } catch (error) {
      const cancelled = options.signal?.aborted === true;
      const explained = cancelled ? undefined : await transport.explainFailure(error, origin);
      const message = cancelled ? 'cancelled' : explained !== undefined ? `cannot reach the upstream server at ${origin}: ${explained}` : describeSyncFailure(error, origin);
      const final = await store.syncRuns.update(recorded.id, { counts: run.counts, result: cancelled ? 'cancelled' : 'failed', error: message }).catch(() => undefined);
      throw new SyncError(message, final, error);
    }
  }).finally(() => transport.close().catch(() => {}));
}

// The downstream side of reporting rollup (MS-WSUSSS 3.2.4.5, WSUS-PROTOCOLS §2.9): this server
// tells its upstream about itself and the servers below it, then (when the upstream asks for
// detail) about every computer it knows (its own and those its downstream servers rolled up to
// it), then the status of updates on them, in the batch sizes the upstream announces.
//
// Incremental: what the upstream acknowledged of each computer is kept (rollup_sent), so a rollup
// sends only computers that changed and only status rows changed since. A computer goes in full
// (Details and its complete status list) when it is new to the upstream, when the upstream's
// rollup reset id changed, when the upstream says it is out of sync, when its details changed
// (groups, name, IP address, OS...: compared by fingerprint at each rollup, whoever changed
// them), or when its agent sent a complete status list since (rows may have been dropped).
// Resumable: state is written batch by batch after the upstream's answer, so a rollup killed
// half-way is finished by the next one and the upstream, which upserts by id, holds nothing twice.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Computer } from '../domain/computer.ts';
import {
  attributesFingerprint,
  detailsFingerprint,
  emptyServerSummary,
  NEVER,
  parentsFirst,
  planComputer,
  rollupVersion,
  serverBatches,
  summarizationState,
  ZERO_GUID,
  ROLLUP_SETTING_KEYS,
  type ClientSummary,
  type ComputerDetails,
  type ComputerInfo,
  type ComputerStatus,
  type DownstreamServerInfo,
  type OperatingSystemInfo,
  type RollupConfiguration,
  type SentComputer,
  type UpdateStatusEntry,
} from '../domain/rollup.ts';
import { batches as chunks } from '../domain/sync-plan.ts';
import { resolveDownstreamSettings, upstreamOrigin, SettingError } from '../domain/settings.ts';
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from '../domain/wellknown.ts';
import { soapCall, SoapClientError, SoapXmlBuilder, type SoapNode } from '../soap/index.ts';
import type { Store } from '../store/index.ts';
import type { RolledUpComputer } from '../store/rollup-repository.ts';
import { serverNameOf, upstreamClientFor } from './server-name.ts';
import { createSyncTransport } from './transport.ts';
import { DEFAULT_RETRY, UpstreamClient, UpstreamProtocolError, type RetryPolicy } from './upstream-client.ts';

export const REPORTING_PATH = '/ReportingWebService/ReportingWebService.asmx';
export const REPORTING_NS = 'http://www.microsoft.com/SoftwareDistribution';
/** `{ serverId, resetGuid }` of the upstream the last rollup went to. */
export const ROLLUP_UPSTREAM_ANCHOR = 'rollup.upstream';
/**
 * Status rows per RollupComputerStatus call, whatever the upstream's computer limit: 500
 * computers × 200 updates would be a 25 MB request, past what an upstream reads (8 MiB), so a
 * call carries fewer computers when they have many rows (MS-WSUSSS lets the DSS send fewer).
 */
const STATUS_ROWS_PER_CALL = 10_000;
/** RollupComputerStatus calls answered "busy" before the rollup gives up (about 10 minutes of waits). */
const BUSY_ATTEMPTS = 25;
/** When this server last finished a rollup (ISO). */
export const ROLLUP_DONE_ANCHOR = 'rollup.lastRollupAt';

export type RollupPhase = 'configuration' | 'servers' | 'computers' | 'out-of-sync' | 'status';

export interface RollupProgress {
  readonly phase: RollupPhase;
  readonly done: number;
  readonly total: number;
}

export interface RollupOptions {
  readonly store: Store;
  /** This server's version, as RollupDownstreamServers reports it. */
  readonly version: string;
  /** FullDomainName and DSS accountName (default: setting `server.name`, else this host's name). */
  readonly serverName?: string;
  readonly dispatcher?: Dispatcher;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** After each acknowledged batch. */
  readonly onProgress?: (progress: RollupProgress) => void;
  /** Wait before resending status the upstream was too busy for (doubled each time up to 30 times it, with jitter; default 1 s). */
  readonly busyDelayMs?: number;
}

export interface RollupReport {
  readonly upstream: string;
  readonly detailed: boolean;
  /** The upstream's reset id changed (or it is a new upstream): everything was sent in full. */
  readonly reset: boolean;
  readonly servers: number;
  readonly computers: number;
  /** Computers sent with their Details. */
  readonly details: number;
  readonly outOfSync: number;
  /** Computers whose status was sent, and of them in full. */
  readonly statusComputers: number;
  readonly fullStatus: number;
  readonly statusRows: number;
  readonly busyRetries: number;
  readonly calls: Readonly<Record<string, number>>;
  readonly ms: number;
}

export class RollupError extends Error {
  override name = 'RollupError';
}

const xmlTime = (iso: string): Date => new Date(iso);

/** What the rollup tells of a computer's operating system: in its details, and counted per kind. */
function operatingSystemOf(c: Computer): OperatingSystemInfo {
  return {
    osMajor: c.osMajor ?? 0,
    osMinor: c.osMinor ?? 0,
    osBuild: c.osBuild ?? 0,
    osServicePackMajor: c.osServicePackMajor ?? 0,
    osServicePackMinor: c.osServicePackMinor ?? 0,
    osLocale: c.osLocale ?? '',
    processorArchitecture: c.processorArchitecture ?? '',
  };
}

function localDetails(c: Computer): ComputerDetails {
  return {
    // All Computers is implied; the groups a computer was put in are what the upstream wants.
    targetGroupIds: c.groupIds.filter((g) => g !== ALL_COMPUTERS_GROUP_ID),
    requestedTargetGroupNames: [],
    ipAddress: c.ipAddress ?? '',
    fullDomainName: c.dnsName,
    ...operatingSystemOf(c),
    osDescription: c.osDescription ?? '',
    computerMake: c.manufacturer ?? '',
    computerModel: c.model ?? '',
    biosVersion: c.biosVersion ?? '',
    biosName: c.biosName ?? '',
    biosReleaseDate: c.biosReleaseDate ?? NEVER,
    clientVersion: c.clientVersion ?? '',
  };
}

/** A computer this server rolls up, wherever it scans. */
interface Source {
  readonly info: ComputerInfo;
  readonly details?: ComputerDetails;
  readonly local: boolean;
  /** Forwarded: the local time its last complete status list arrived here. */
  readonly fullReceivedAt?: string;
  readonly hasStatus: boolean;
}

function localSource(c: Computer, selfId: string, hasStatus: boolean): Source {
  return {
    info: {
      computerId: c.id,
      parentServerId: selfId,
      lastSyncTime: c.lastSyncAt ?? NEVER,
      lastSyncResult: c.lastSyncAt === undefined ? 0 : 1,
      lastReportedRebootTime: NEVER,
      lastReportedStatusTime: c.lastReportAt ?? NEVER,
      lastInventoryTime: NEVER,
    },
    details: localDetails(c),
    local: true,
    hasStatus: hasStatus || c.lastReportAt !== undefined,
  };
}

function forwardedSource(c: RolledUpComputer): Source {
  return {
    info: {
      computerId: c.computerId,
      parentServerId: c.parentServerId,
      lastSyncTime: c.lastSyncTime,
      lastSyncResult: c.lastSyncResult,
      lastReportedRebootTime: c.lastReportedRebootTime,
      lastReportedStatusTime: c.lastReportedStatusTime,
      lastInventoryTime: c.lastInventoryTime,
    },
    ...(c.details !== undefined && { details: c.details }),
    local: false,
    ...(c.fullReceivedAt !== undefined && { fullReceivedAt: c.fullReceivedAt }),
    hasStatus: c.statusReceivedAt !== undefined,
  };
}

// ---- the wire -------------------------------------------------------------------------------

function writeServer(b: SoapXmlBuilder, s: DownstreamServerInfo): void {
  b.start('DownstreamServerRollupInfo')
    .element('ServerId', s.serverId)
    .element('FullDomainName', s.fullDomainName)
    .element('LastSyncTime', xmlTime(s.lastSyncTime))
    .element('ParentServerId', s.parentServerId)
    .element('Version', s.version)
    .element('IsReplica', s.isReplica)
    .element('LastRollupTime', xmlTime(s.lastRollupTime))
    .start('ServerSummary');
  for (const [k, v] of Object.entries(s.summary)) b.element(k, v);
  b.end().start('ClientSummaries');
  for (const c of s.clientSummaries) {
    b.start('DownstreamServerRollupClientSummary')
      .element('OSMajorVersion', c.osMajor)
      .element('OSMinorVersion', c.osMinor)
      .element('OSBuildNumber', c.osBuild)
      .element('OSServicePackMajorNumber', c.osServicePackMajor)
      .element('OSServicePackMinorNumber', c.osServicePackMinor)
      .element('OSLocale', c.osLocale)
      .element('SuiteMask', 0)
      .element('OldProductType', 0)
      .element('NewProductType', 0)
      .element('SystemMetrics', 0)
      .element('ProcessorArchitecture', c.processorArchitecture)
      .element('Count', c.count)
      .empty('ActivitySummaries')
      .end();
  }
  b.end().end();
}

function writeComputer(b: SoapXmlBuilder, c: ComputerInfo, details: ComputerDetails | undefined): void {
  b.start('ComputerRollupInfo', {
    ComputerId: c.computerId,
    LastSyncTime: xmlTime(c.lastSyncTime),
    LastSyncResult: c.lastSyncResult,
    LastReportedRebootTime: xmlTime(c.lastReportedRebootTime),
    LastReportedStatusTime: xmlTime(c.lastReportedStatusTime),
    LastInventoryTime: xmlTime(c.lastInventoryTime),
    ParentServerId: c.parentServerId,
  });
  if (details !== undefined) {
    b.start('Details', {
      IPAddress: details.ipAddress,
      FullDomainName: details.fullDomainName,
      OSMajorVersion: details.osMajor,
      OSMinorVersion: details.osMinor,
      OSBuildNumber: details.osBuild,
      OSServicePackMajorNumber: details.osServicePackMajor,
      OSServicePackMinorNumber: details.osServicePackMinor,
      OSLocale: details.osLocale,
      OSDescription: details.osDescription,
      ComputerMake: details.computerMake,
      ComputerModel: details.computerModel,
      BiosVersion: details.biosVersion,
      BiosName: details.biosName,
      BiosReleaseDate: xmlTime(details.biosReleaseDate),
      ProcessorArchitecture: details.processorArchitecture,
      SuiteMask: 0,
      OldProductType: 0,
      NewProductType: 0,
      SystemMetrics: 0,
      ClientVersion: details.clientVersion,
    });
    b.start('TargetGroupIdList');
    for (const g of details.targetGroupIds) b.element('guid', g);
    b.end().start('RequestedTargetGroupNames');
    for (const n of details.requestedTargetGroupNames) b.element('string', n);
    b.end().end();
  }
  b.end();
}

function writeStatus(b: SoapXmlBuilder, s: ComputerStatus): void {
  b.start('ComputerStatusRollupInfo')
    .element('InstanceId', s.instanceId)
    .element('ComputerId', s.computerId)
    .element('EffectiveLastDetectionTime', xmlTime(s.effectiveLastDetectionTime))
    .element('RollupNumber', s.rollupNumber)
    .element('IsFullRollup', s.isFullRollup)
    .start('UpdateStatus');
  for (const u of s.updates) {
    b.start('ComputerStatusRollupUpdateStatus').element('UpdateId', u.updateId).element('SummarizationState', u.state).element('LastChangeTime', xmlTime(u.lastChangeTime)).end();
  }
  b.end().end();
}

function readConfiguration(r: SoapNode | undefined): RollupConfiguration {
  if (r === undefined) throw new UpstreamProtocolError('GetRollupConfiguration returned nothing');
  const positive = (name: string): number => {
    const n = r.int(name);
    if (n < 1) throw new UpstreamProtocolError(`GetRollupConfiguration: ${name} ${n} is not positive`);
    return n;
  };
  return {
    doDetailedRollup: r.bool('DoDetailedRollup'),
    rollupResetGuid: r.guid('RollupResetGuid'),
    serverId: r.guid('ServerId'),
    downstreamServersMaxBatchSize: positive('RollupDownstreamServersMaxBatchSize'),
    computersMaxBatchSize: positive('RollupComputersMaxBatchSize'),
    outOfSyncMaxBatchSize: positive('GetOutOfSyncComputersMaxBatchSize'),
    computerStatusMaxBatchSize: positive('RollupComputerStatusMaxBatchSize'),
  };
}

// ---- what this server says about itself ------------------------------------------------------

type StatusCountsByComputer = Awaited<ReturnType<Store['clientEvents']['statusCountsByComputer']>>;

async function selfInfo(
  store: Store,
  options: RollupOptions,
  replica: boolean,
  computers: readonly Computer[],
  counts: StatusCountsByComputer,
  now: string,
): Promise<DownstreamServerInfo> {
  const summary = emptyServerSummary();
  const [stats, declines, groups, runs] = await Promise.all([
    store.catalog.stats(),
    store.declines.list(),
    store.groups.list(),
    store.syncRuns.list({ limit: 20 }),
  ]);
  const updates = Object.entries(stats.revisionsByType)
    .filter(([type]) => type === 'Software' || type === 'Driver')
    .reduce((n, [, v]) => n + (v ?? 0), 0);
  const approved = new Set<string>();
  for await (const a of store.approvals.iterate()) if (a.action === 'Install') approved.add(a.updateId);
  summary.UpdateCount = updates;
  summary.DeclinedUpdateCount = declines.length;
  summary.ApprovedUpdateCount = approved.size;
  summary.NotApprovedUpdateCount = Math.max(0, updates - declines.length - approved.size);
  summary.ExpiredUpdateCount = stats.expired;
  summary.CustomComputerTargetGroupCount = groups.filter((g) => !g.builtin && g.id !== ALL_COMPUTERS_GROUP_ID && g.id !== UNASSIGNED_COMPUTERS_GROUP_ID).length;
  summary.ComputerTargetCount = computers.length;
  const needing = new Set<string>();
  const failing = new Set<string>();
  for (const [computerId, c] of counts) {
    if ((c.NotInstalled ?? 0) + (c.Downloaded ?? 0) > 0) needing.add(computerId);
    if ((c.Failed ?? 0) > 0) failing.add(computerId);
  }
  summary.ComputerTargetsNeedingUpdatesCount = needing.size;
  summary.ComputerTargetsWithUpdateErrorsCount = failing.size;
  summary.ComputersUpToDateCount = [...counts.keys()].filter((id) => !needing.has(id) && !failing.has(id)).length;
  const byOs = new Map<string, ClientSummary>();
  for (const c of computers) {
    const s = operatingSystemOf(c);
    const key = JSON.stringify(s);
    byOs.set(key, { ...s, count: (byOs.get(key)?.count ?? 0) + 1 });
  }
  const lastSync = runs.find((r) => r.result === 'succeeded' && r.endedAt !== undefined)?.endedAt ?? NEVER;
  return {
    serverId: store.serverId,
    fullDomainName: options.serverName ?? (await serverNameOf(store)),
    lastSyncTime: lastSync,
    parentServerId: ZERO_GUID,
    version: rollupVersion(options.version),
    isReplica: replica,
    lastRollupTime: now,
    summary,
    clientSummaries: [...byOs.values()],
  };
}

// ---- the rollup ------------------------------------------------------------------------------

/**
 * One rollup to the upstream server the settings name. Throws SettingError when there is none
 * (upstream.source is not `server`), RollupError or the SOAP error when the upstream refuses.
 */
export async function rollUp(options: RollupOptions): Promise<RollupReport> {
  const started = performance.now();
  const { store } = options;
  const { settings } = resolveDownstreamSettings(await store.settings.all());
  if (settings.source !== 'server') throw new SettingError('upstream.source', 'rollup goes to an upstream server: upstream.source is not "server"');
  const origin = upstreamOrigin(settings);
  const transport = await createSyncTransport(settings, store.settings, options.dispatcher);
  try {
    const client = await upstreamClientFor(store, origin, transport.dispatcher, options);
    return await new Rollup(options, client, origin, transport.dispatcher, settings.replica, started).run();
  } finally {
    await transport.close().catch(() => {});
  }
}

class Rollup {
  readonly #options: RollupOptions;
  readonly #store: Store;
  readonly #client: UpstreamClient;
  readonly #origin: string;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #replica: boolean;
  readonly #started: number;
  readonly #calls = new Map<string, number>();
  readonly #report = { reset: false, servers: 0, computers: 0, details: 0, outOfSync: 0, statusComputers: 0, fullStatus: 0, statusRows: 0, busyRetries: 0 };

  constructor(options: RollupOptions, client: UpstreamClient, origin: string, dispatcher: Dispatcher | undefined, replica: boolean, started: number) {
    this.#options = options;
    this.#store = options.store;
    this.#client = client;
    this.#origin = origin;
    this.#dispatcher = dispatcher;
    this.#replica = replica;
    this.#started = started;
  }

  async #call(operation: string, parameters: (b: SoapXmlBuilder) => void): Promise<SoapNode | undefined> {
    const cookie = await this.#client.cookie();
    const b = new SoapXmlBuilder().start('cookie').element('Expiration', cookie.expiration).element('EncryptedData', cookie.data).end();
    parameters(b);
    const retry = this.#options.retry ?? DEFAULT_RETRY;
    // Every rollup call is an upsert by id upstream: sending one again after a dropped
    // connection changes nothing.
    for (let attempt = 1; ; attempt++) {
      this.#calls.set(operation, (this.#calls.get(operation) ?? 0) + 1);
      try {
        const result = await soapCall({
          url: `${this.#origin}${REPORTING_PATH}`,
          namespace: REPORTING_NS,
          operation,
          body: b,
          ...(this.#dispatcher !== undefined && { dispatcher: this.#dispatcher }),
          ...(this.#options.signal !== undefined && { signal: this.#options.signal }),
          timeoutMs: this.#options.timeoutMs ?? 120_000,
          userAgent: 'openwsus-dss',
        });
        return result.result;
      } catch (error) {
        const transient =
          error instanceof SoapClientError &&
          (error.problem === 'network' || error.problem === 'timeout' || (error.problem === 'http' && [429, 502, 503, 504].includes(error.statusCode ?? 0)));
        if (!transient || attempt >= retry.attempts) throw error;
        await sleep(retry.baseDelayMs * 2 ** (attempt - 1), undefined, this.#options.signal === undefined ? {} : { signal: this.#options.signal });
      }
    }
  }

  #progress(phase: RollupPhase, done: number, total: number): void {
    this.#options.onProgress?.({ phase, done, total });
  }

  async run(): Promise<RollupReport> {
    const store = this.#store;
    // The handshake registers this server upstream, as a synchronization would.
    await this.#client.handshake();
    const config = readConfiguration(await this.#call('GetRollupConfiguration', () => {}));
    this.#progress('configuration', 1, 1);
    const upstream = JSON.stringify({ serverId: config.serverId, resetGuid: config.rollupResetGuid });
    if ((await store.anchors.get(ROLLUP_UPSTREAM_ANCHOR)) !== upstream) {
      await store.rollupSent.clear();
      await store.anchors.set(ROLLUP_UPSTREAM_ANCHOR, upstream);
      this.#report.reset = true;
    }
    const now = new Date().toISOString();
    const computers = await store.computers.list();
    // One read of every computer's status counts (a scan of all status rows) serves both the
    // server's summary and which computers have status to send.
    const statusCounts = await store.clientEvents.statusCountsByComputer();
    await this.#servers(config, computers, statusCounts, now);
    if (config.doDetailedRollup) {
      const forwarded = await store.rollup.computers();
      const sources = [
        ...computers.map((c) => localSource(c, store.serverId, statusCounts.has(c.id))),
        ...forwarded.map(forwardedSource),
      ];
      const sent = await store.rollupSent.all();
      await this.#computers(config, sources, sent);
      await this.#outOfSync(config, sent);
      await this.#status(config, sources, sent);
    }
    await store.anchors.set(ROLLUP_DONE_ANCHOR, now);
    return {
      upstream: this.#origin,
      detailed: config.doDetailedRollup,
      ...this.#report,
      calls: Object.fromEntries([...this.#client.calls, ...this.#calls]),
      ms: performance.now() - this.#started,
    };
  }

  async #servers(config: RollupConfiguration, computers: readonly Computer[], statusCounts: StatusCountsByComputer, now: string): Promise<void> {
    const self = await selfInfo(this.#store, this.#options, this.#replica, computers, statusCounts, now);
    const below = (await this.#store.rollup.servers()).map(
      (s): DownstreamServerInfo => ({
        serverId: s.id,
        fullDomainName: s.name,
        lastSyncTime: s.lastSyncTime,
        parentServerId: s.parentId,
        version: s.version,
        isReplica: s.isReplica,
        lastRollupTime: s.lastRollupTime,
        summary: s.summary,
        clientSummaries: s.clientSummaries,
      }),
    );
    // This server first: the servers below hang from it.
    const batches = serverBatches([self, ...parentsFirst(below)], config.downstreamServersMaxBatchSize);
    for (const [i, batch] of batches.entries()) {
      await this.#call('RollupDownstreamServers', (b) => {
        b.element('clientTime', new Date()).start('downstreamServers');
        for (const s of batch) writeServer(b, s);
        b.end();
      });
      this.#report.servers += batch.length;
      this.#progress('servers', i + 1, batches.length);
    }
  }

  async #computers(config: RollupConfiguration, sources: readonly Source[], sent: Map<string, SentComputer>): Promise<void> {
    const due = sources
      .map((s) => {
        const details = s.details === undefined ? undefined : detailsFingerprint(s.details);
        const attributes = attributesFingerprint(s.info);
        const before = sent.get(s.info.computerId);
        // A forwarded computer without details has none to send: only its attributes count.
        const plan = planComputer(before, { details: details ?? before?.detailsFingerprint ?? '', attributes, replacedSince: false });
        return { source: s, details, attributes, plan };
      })
      .filter((d) => d.plan.sendComputer);
    const send = async (items: typeof due, withDetails: (d: (typeof due)[number]) => boolean): Promise<string[]> => {
      const wanted: string[] = [];
      const batches = chunks(items, config.computersMaxBatchSize);
      for (const [i, batch] of batches.entries()) {
        const result = await this.#call('RollupComputers', (b) => {
          b.element('clientTime', new Date()).start('computers');
          for (const d of batch) writeComputer(b, d.source.info, withDetails(d) ? d.source.details : undefined);
          b.end();
        });
        const asked = new Set<string>();
        for (const c of result?.items() ?? []) {
          const id = c.attr('ComputerId')?.toLowerCase();
          const change = c.attr('Change');
          if (id !== undefined && change === 'NewParent') asked.add(id);
          // `Deleted`: the upstream wants no more of it; it is simply sent again if it changes.
        }
        const updates = batch.map((d) => {
          const before = sent.get(d.source.info.computerId);
          const detailsSent = withDetails(d) && d.source.details !== undefined;
          const next: SentComputer = {
            rollupNumber: before?.rollupNumber ?? 0,
            attributesFingerprint: d.attributes,
            // Asked for them again (NewParent): none held upstream until they are sent.
            ...(!asked.has(d.source.info.computerId) && detailsSent && { detailsFingerprint: d.details! }),
            ...(!asked.has(d.source.info.computerId) && !detailsSent && before?.detailsFingerprint !== undefined && { detailsFingerprint: before.detailsFingerprint }),
            // New details mean a full status list next (see planComputer); keep the watermark otherwise.
            ...(!d.plan.fullStatus && before?.statusSince !== undefined && { statusSince: before.statusSince }),
          };
          sent.set(d.source.info.computerId, next);
          return { computerId: d.source.info.computerId, ...next };
        });
        await this.#store.rollupSent.save(updates);
        this.#report.computers += batch.length;
        this.#report.details += batch.filter((d) => withDetails(d) && d.source.details !== undefined && !asked.has(d.source.info.computerId)).length;
        for (const id of asked) wanted.push(id);
        this.#progress('computers', i + 1, batches.length);
      }
      return wanted;
    };
    const wanted = new Set(await send(due, (d) => d.plan.sendDetails));
    // MS-WSUSSS 3.2.4.5 step 4.4: those the upstream asked details of go again, once, with them.
    const again = due.filter((d) => wanted.has(d.source.info.computerId) && d.source.details !== undefined);
    if (again.length > 0) await send(again, () => true);
  }

  async #outOfSync(config: RollupConfiguration, sent: Map<string, SentComputer>): Promise<void> {
    const numbers = [...sent].filter(([, s]) => s.rollupNumber > 0);
    const batches = chunks(numbers, config.outOfSyncMaxBatchSize);
    for (const [i, batch] of batches.entries()) {
      const result = await this.#call('GetOutOfSyncComputers', (b) => {
        b.element('parentServerId', this.#store.serverId).start('lastRollupNumbers');
        for (const [id, s] of batch) b.start('ComputerLastRollupNumber').element('ComputerId', id).element('RollupNumber', s.rollupNumber).end();
        b.end();
      });
      const ids = (result?.items() ?? []).map((n) => n.asString().toLowerCase());
      const marked = ids.filter((id) => sent.has(id)).map((id) => {
        const { statusSince: _, ...rest } = sent.get(id)!;
        sent.set(id, rest);
        return { computerId: id, ...rest };
      });
      await this.#store.rollupSent.save(marked);
      this.#report.outOfSync += marked.length;
      this.#progress('out-of-sync', i + 1, batches.length);
    }
  }

  async #status(config: RollupConfiguration, sources: readonly Source[], sent: Map<string, SentComputer>): Promise<void> {
    const store = this.#store;
    // Rows changed from this instant on go next time (changed_at >= since: none is lost).
    const since = new Date().toISOString();
    const complete = await store.rollupSent.lastCompleteReports();
    const candidates = sources.filter((s) => s.hasStatus && sent.has(s.info.computerId));
    const batches = chunks(candidates, config.computerStatusMaxBatchSize);
    const isFull = (s: Source): boolean => {
      const watermark = sent.get(s.info.computerId)!.statusSince;
      if (watermark === undefined) return true;
      return (s.local ? (complete.get(s.info.computerId) ?? '') : (s.fullReceivedAt ?? '')) >= watermark;
    };
    /** Rows of these computers: all of them for full ones, else those changed since the oldest watermark. */
    const rowsOf = async <T>(sources: readonly Source[], read: (ids: string[], since?: string) => Promise<Map<string, T[]>>): Promise<Map<string, T[]>> => {
      const full = sources.filter(isFull).map((s) => s.info.computerId);
      const delta = sources.filter((s) => !isFull(s));
      const oldest = delta.map((s) => sent.get(s.info.computerId)!.statusSince!).sort()[0];
      const [a, b] = await Promise.all([read(full), delta.length === 0 ? new Map<string, T[]>() : read(delta.map((s) => s.info.computerId), oldest)]);
      return new Map([...a, ...b]);
    };
    for (const [i, batch] of batches.entries()) {
      const [local, forwarded] = await Promise.all([
        rowsOf(batch.filter((s) => s.local), (ids, since) => store.rollupSent.localStatusOf(ids, since)),
        rowsOf(batch.filter((s) => !s.local), (ids, since) => store.rollup.statusOf(ids, since)),
      ]);
      const statuses: ComputerStatus[] = [];
      for (const s of batch) {
        const id = s.info.computerId;
        const before = sent.get(id)!;
        const watermark = before.statusSince;
        const full = isFull(s);
        let updates: UpdateStatusEntry[];
        if (s.local) {
          updates = (local.get(id) ?? [])
            .filter((r) => full || r.changedAt >= watermark!)
            .map((r) => ({ updateId: r.updateId, state: summarizationState(r.status), lastChangeTime: r.changedAt }));
        } else {
          updates = (forwarded.get(id) ?? [])
            .filter((r) => full || r.receivedAt >= watermark!)
            .map((r) => ({ updateId: r.updateId, state: r.state, lastChangeTime: r.lastChangeTime }));
        }
        if (!full && updates.length === 0) continue;
        statuses.push({ instanceId: randomUUID(), computerId: id, effectiveLastDetectionTime: NEVER, rollupNumber: before.rollupNumber + 1, isFullRollup: full, updates });
      }
      for (const part of byRows(statuses, STATUS_ROWS_PER_CALL)) await this.#sendStatus(part);
      const updated = statuses.map((st) => {
        const next: SentComputer = { ...sent.get(st.computerId)!, rollupNumber: st.rollupNumber, statusSince: since };
        sent.set(st.computerId, next);
        return { computerId: st.computerId, ...next };
      });
      await store.rollupSent.save(updated);
      this.#report.statusComputers += statuses.length;
      this.#report.fullStatus += statuses.filter((s) => s.isFullRollup).length;
      this.#report.statusRows += statuses.reduce((n, s) => n + s.updates.length, 0);
      this.#progress('status', i + 1, batches.length);
    }
  }

  /** RollupComputerStatus, sent again after a pause while the upstream says it is busy. */
  async #sendStatus(statuses: readonly ComputerStatus[]): Promise<void> {
    const base = this.#options.busyDelayMs ?? 1000;
    for (let attempt = 0; ; attempt++) {
      const result = await this.#call('RollupComputerStatus', (b) => {
        b.element('clientTime', new Date()).element('parentServerId', this.#store.serverId).start('computers');
        for (const s of statuses) writeStatus(b, s);
        b.end();
      });
      if (result?.asBool() === true) return;
      if (attempt >= BUSY_ATTEMPTS) throw new RollupError(`the upstream server at ${this.#origin} stayed busy: status of ${statuses.length} computers not sent, the next rollup sends it`);
      this.#report.busyRetries++;
      // Many downstream servers wait on one upstream: spread their returns (up to 30 s apart).
      const delay = Math.min(base * 2 ** attempt, 30 * base) * (0.5 + Math.random());
      await sleep(delay, undefined, this.#options.signal === undefined ? {} : { signal: this.#options.signal });
    }
  }
}

/** Consecutive slices holding at most `maxRows` status rows each (a bigger computer alone). */
function byRows(statuses: readonly ComputerStatus[], maxRows: number): ComputerStatus[][] {
  const out: ComputerStatus[][] = [];
  let current: ComputerStatus[] = [];
  let rows = 0;
  for (const s of statuses) {
    if (current.length > 0 && rows + s.updates.length > maxRows) {
      out.push(current);
      current = [];
      rows = 0;
    }
    current.push(s);
    rows += s.updates.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The part of a pino logger the schedule writes to. */
export interface RollupLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface RollupScheduleOptions {
  readonly store: Store;
  readonly logger: RollupLogger;
  readonly version: string;
  /** Longest sleep between two looks at the settings and the sync history (default 60 s). */
  readonly pollMs?: number;
  readonly now?: () => Date;
}

/**
 * Rollup while `openwsus serve` runs: after each synchronization that ended since the last
 * rollup (whoever ran it), and every `rollup.intervalMinutes` (0: only after synchronizations).
 * Settings are read at every look, so a change takes effect without a restart.
 */
export class RollupSchedule {
  readonly #options: RollupScheduleOptions;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  readonly #startedAt: number;

  constructor(options: RollupScheduleOptions) {
    this.#options = options;
    this.#startedAt = (options.now ?? (() => new Date()))().getTime();
  }

  start(): void {
    this.#arm(0);
  }

  #arm(ms: number): void {
    if (this.#abort.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#running = this.look().finally(() => {
        this.#running = undefined;
        this.#arm(this.#options.pollMs ?? 60_000);
      });
    }, ms);
    this.#timer.unref();
  }

  /** Whether a rollup is due now, and if so runs it. */
  async look(): Promise<void> {
    const { store, logger } = this.#options;
    const now = (this.#options.now ?? (() => new Date()))();
    try {
      if ((await store.settings.get('upstream.source')) !== 'server') return;
      const interval = await store.settings.get(ROLLUP_SETTING_KEYS.intervalMinutes);
      const minutes = typeof interval === 'number' ? interval : 240;
      const last = (await store.anchors.get(ROLLUP_DONE_ANCHOR)) ?? '';
      const synced = (await store.syncRuns.list({ limit: 5 })).find((r) => r.result === 'succeeded' && r.endedAt !== undefined)?.endedAt ?? '';
      const afterSync = synced !== '' && synced > last;
      // Never rolled up: the first periodic one is an interval after the server started, not at once.
      const since = last === '' ? this.#startedAt : Date.parse(last);
      const periodic = minutes > 0 && now.getTime() - since >= minutes * 60_000;
      if (!afterSync && !periodic) return;
      const report = await rollUp({ store, version: this.#options.version, signal: this.#abort.signal });
      logger.info({ rollup: { ...report, ms: Math.round(report.ms) } }, `rollup to ${report.upstream}: ${report.servers} servers, ${report.computers} computers, status of ${report.statusComputers}`);
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      logger.warn({ error: (error as Error).message }, `rollup failed (tried again at the next look): ${(error as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }
}

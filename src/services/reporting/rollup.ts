// The rollup operations of the Reporting web service (MS-WSUSSS 3.1.4.13-17, WSUS-PROTOCOLS §2.9):
// downstream servers report themselves, the servers below them, their computers and the status of
// updates on those. They share the service path with the agents' ReportEventBatch, so
// services/client/reporting.ts registers them beside it.
//
// Who calls: a Windows downstream server sends the dummy cookie the spec prescribes (empty
// EncryptedData); openwsus sends the server cookie of its handshake. A real cookie is checked and
// names the caller; with the dummy one the caller is the server id the call names, which must be
// a downstream server that authenticated here (GetAuthorizationCookie). Either way a caller only
// reports servers and computers below itself. Every batch is checked whole before anything is
// stored, then stored in one transaction: a refused call leaves nothing behind.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  checkServerBatch,
  emptyServerSummary,
  isSummarizationState,
  NEVER,
  ROLLUP_SETTING_KEYS,
  SERVER_SUMMARY_FIELDS,
  WINDOWS_ROLLUP_LIMITS,
  ZERO_GUID,
  type ClientSummary,
  type ComputerDetails,
  type ComputerInfo,
  type ComputerStatus,
  type DownstreamServerInfo,
  type RollupConfiguration,
} from '../../domain/rollup.ts';
import { invalidParameter, parseDateTime, parseGuid, parseInt32, SoapFault, type SoapHandler, type SoapNode, type SoapOperation } from '../../soap/index.ts';
import type { Store } from '../../store/index.ts';
import { encryptedDataOf } from '../cookie-data.ts';
import { CookieAuthority } from '../upstream/cookies.ts';
import { readList } from '../upstream/wire.ts';

export const ROLLUP_RESET_ANCHOR = 'rollup.resetGuid';
/**
 * RollupComputerStatus calls stored at once; past it the answer is false (busy, retry later).
 * Each holds its parsed request (a few MB) until stored.
 */
const STATUS_CALLS_AT_ONCE = 4;
const MAX_TEXT = 256;

export interface RollupDeps {
  readonly store: Store;
  readonly now: () => Date;
  readonly random?: (size: number) => Uint8Array;
  /** Concurrent RollupComputerStatus calls before answering busy (tests lower it). */
  readonly statusCallsAtOnce?: number;
  /** Asked before each RollupComputerStatus is stored: true answers busy (tests force the downstream's wait). */
  readonly statusBusy?: () => boolean;
}

const refused = (message: string): SoapFault => new SoapFault('InternalServerError', message, { reason: message });

/** The upstream's rollup configuration now: the setting, the reset id (made once), the limits. */
export async function rollupConfiguration(store: Store): Promise<RollupConfiguration> {
  const detailed = await store.settings.get(ROLLUP_SETTING_KEYS.detailed);
  const statusBatch = await store.settings.get(ROLLUP_SETTING_KEYS.statusBatchSize);
  let reset = await store.anchors.get(ROLLUP_RESET_ANCHOR);
  if (reset === undefined) {
    await store.anchors.set(ROLLUP_RESET_ANCHOR, randomUUID());
    // Two front ends may make one at once: the stored one is the one.
    reset = (await store.anchors.get(ROLLUP_RESET_ANCHOR))!;
  }
  return {
    doDetailedRollup: typeof detailed === 'boolean' ? detailed : true,
    rollupResetGuid: reset,
    serverId: store.serverId,
    downstreamServersMaxBatchSize: WINDOWS_ROLLUP_LIMITS.downstreamServers,
    computersMaxBatchSize: WINDOWS_ROLLUP_LIMITS.computers,
    outOfSyncMaxBatchSize: WINDOWS_ROLLUP_LIMITS.outOfSync,
    computerStatusMaxBatchSize: typeof statusBatch === 'number' && statusBatch >= 1 ? statusBatch : WINDOWS_ROLLUP_LIMITS.computerStatus,
  };
}

/**
 * A new rollup reset id: every downstream server sees it in GetRollupConfiguration and sends
 * all its computers and their status in full at its next rollup. Returns the new id.
 */
export async function resetRollup(store: Store): Promise<string> {
  const id = randomUUID();
  await store.anchors.set(ROLLUP_RESET_ANCHOR, id);
  return id;
}

// ---- reading the wire ---------------------------------------------------------------------

function time(node: SoapNode, name: string): string {
  return node.dateTime(name).toISOString();
}

function attrOf<T>(node: SoapNode, name: string, parse: (text: string) => T | undefined, what: string, fallback?: T): T {
  const text = node.attr(name);
  if (text === undefined) {
    if (fallback !== undefined) return fallback;
    throw node.invalid(`attribute ${name} missing`);
  }
  const value = parse(text.trim());
  if (value === undefined) throw node.invalid(`attribute ${name} is not ${what}`);
  return value;
}

const attrTime = (node: SoapNode, name: string): string => attrOf(node, name, (t) => parseDateTime(t)?.toISOString(), 'an xs:dateTime', NEVER);
const attrInt = (node: SoapNode, name: string): number => attrOf(node, name, parseInt32, 'an int', 0);
const attrText = (node: SoapNode, name: string, max = MAX_TEXT): string => {
  const text = node.attr(name) ?? '';
  if (text.length > max) throw node.invalid(`attribute ${name} is longer than ${max} characters`);
  return text;
};

function count(node: SoapNode, name: string): number {
  const n = node.optInt(name) ?? 0;
  if (n < 0) throw node.invalid(`${name} is negative`);
  return n;
}

function readClientSummary(node: SoapNode): ClientSummary {
  return {
    osMajor: count(node, 'OSMajorVersion'),
    osMinor: count(node, 'OSMinorVersion'),
    osBuild: count(node, 'OSBuildNumber'),
    osServicePackMajor: count(node, 'OSServicePackMajorNumber'),
    osServicePackMinor: count(node, 'OSServicePackMinorNumber'),
    osLocale: (node.optString('OSLocale') ?? '').slice(0, MAX_TEXT),
    processorArchitecture: (node.optString('ProcessorArchitecture') ?? '').slice(0, MAX_TEXT),
    count: count(node, 'Count'),
  };
}

function readServer(node: SoapNode): DownstreamServerInfo {
  const summaryNode = node.child('ServerSummary');
  const summary = emptyServerSummary();
  if (summaryNode !== undefined) for (const f of SERVER_SUMMARY_FIELDS) summary[f] = count(summaryNode, f);
  const version = node.optString('Version') ?? '';
  if (!/^[0-9]+(\.[0-9]+){0,3}$/.test(version) || version.length > 32) throw node.invalid(`Version ${JSON.stringify(version)} is not one to four numbers`);
  const name = node.optString('FullDomainName') ?? '';
  if (name.length > MAX_TEXT) throw node.invalid('FullDomainName is too long');
  return {
    serverId: node.guid('ServerId'),
    fullDomainName: name,
    lastSyncTime: time(node, 'LastSyncTime'),
    parentServerId: node.guid('ParentServerId'),
    version,
    isReplica: node.bool('IsReplica'),
    lastRollupTime: time(node, 'LastRollupTime'),
    summary,
    clientSummaries: node.child('ClientSummaries')?.items().map(readClientSummary) ?? [],
  };
}

function readDetails(node: SoapNode): ComputerDetails {
  const groupIds = node.child('TargetGroupIdList')?.items().map((g) => g.asGuid()) ?? [];
  const names = node.child('RequestedTargetGroupNames')?.items().map((n) => n.asString()) ?? [];
  if (names.some((n) => n.length > MAX_TEXT)) throw node.invalid('a requested group name is longer than 256 characters');
  return {
    targetGroupIds: groupIds,
    requestedTargetGroupNames: names,
    ipAddress: attrText(node, 'IPAddress'),
    fullDomainName: attrText(node, 'FullDomainName'),
    osMajor: attrInt(node, 'OSMajorVersion'),
    osMinor: attrInt(node, 'OSMinorVersion'),
    osBuild: attrInt(node, 'OSBuildNumber'),
    osServicePackMajor: attrInt(node, 'OSServicePackMajorNumber'),
    osServicePackMinor: attrInt(node, 'OSServicePackMinorNumber'),
    osLocale: attrText(node, 'OSLocale'),
    osDescription: attrText(node, 'OSDescription'),
    computerMake: attrText(node, 'ComputerMake'),
    computerModel: attrText(node, 'ComputerModel'),
    biosVersion: attrText(node, 'BiosVersion'),
    biosName: attrText(node, 'BiosName'),
    biosReleaseDate: attrTime(node, 'BiosReleaseDate'),
    processorArchitecture: attrText(node, 'ProcessorArchitecture'),
    clientVersion: attrText(node, 'ClientVersion'),
  };
}

function computerId(text: string | undefined, node: SoapNode): string {
  const id = (text ?? '').trim().toLowerCase();
  if (id === '' || id.length > MAX_TEXT) throw node.invalid('ComputerId missing or too long');
  return id;
}

function readComputer(node: SoapNode): ComputerInfo {
  const details = node.child('Details');
  const lastSyncResult = attrInt(node, 'LastSyncResult');
  if (lastSyncResult < 0 || lastSyncResult > 2) throw node.invalid(`LastSyncResult ${lastSyncResult} is not 0, 1 or 2`);
  return {
    computerId: computerId(node.attr('ComputerId'), node),
    parentServerId: attrOf(node, 'ParentServerId', parseGuid, 'a GUID'),
    lastSyncTime: attrTime(node, 'LastSyncTime'),
    lastSyncResult,
    lastReportedRebootTime: attrTime(node, 'LastReportedRebootTime'),
    lastReportedStatusTime: attrTime(node, 'LastReportedStatusTime'),
    lastInventoryTime: attrTime(node, 'LastInventoryTime'),
    ...(details !== undefined && !details.isNil && { details: readDetails(details) }),
  };
}

function readStatus(node: SoapNode): ComputerStatus {
  const rollupNumber = node.int('RollupNumber');
  if (rollupNumber < 1) throw node.invalid(`RollupNumber ${rollupNumber} is below 1`);
  const seen = new Set<string>();
  const updates = (node.child('UpdateStatus')?.items() ?? []).map((u) => {
    const state = u.int('SummarizationState');
    if (!isSummarizationState(state)) throw u.invalid(`SummarizationState ${state} is not a known state (0-6)`);
    const updateId = u.guid('UpdateId');
    if (seen.has(updateId)) throw u.invalid(`update ${updateId} listed twice`);
    seen.add(updateId);
    return { updateId, state, lastChangeTime: time(u, 'LastChangeTime') };
  });
  return {
    instanceId: node.guid('InstanceId'),
    computerId: computerId(node.optString('ComputerId'), node),
    effectiveLastDetectionTime: time(node, 'EffectiveLastDetectionTime'),
    rollupNumber,
    isFullRollup: node.bool('IsFullRollup'),
    updates,
  };
}

function noDuplicates(ids: readonly string[], name: string): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw invalidParameter(name, `${id} listed twice`);
    seen.add(id);
  }
}

// ---- the operations -----------------------------------------------------------------------

export function rollupOperations(deps: RollupDeps): Record<string, SoapHandler> {
  const { store, now } = deps;
  const cookies = new CookieAuthority(store, now, deps.random ?? ((size) => randomBytes(size)));
  const statusAtOnce = deps.statusCallsAtOnce ?? STATUS_CALLS_AT_ONCE;
  let statusCalls = 0;

  /** The server a real cookie names; undefined for the spec's dummy cookie. */
  const cookieCaller = async (op: SoapOperation): Promise<string | undefined> => {
    if (encryptedDataOf(op.child('cookie')) === undefined) return undefined;
    return (await cookies.verify(op)).downstreamId;
  };

  /** A downstream server that authenticated here, or the fault for an unknown one. */
  const knownDownstream = async (id: string): Promise<void> => {
    if ((await store.downstreams.get(id)) === undefined) throw refused(`server ${id} is not a downstream server of this server (it must synchronize from it first)`);
  };

  const detailedOnly = async (): Promise<RollupConfiguration> => {
    const config = await rollupConfiguration(store);
    if (!config.doDetailedRollup) throw refused('this server does not collect computers and their status (setting rollup.detailed is false)');
    return config;
  };

  /** The caller of a call naming `parentServerId`, and the servers at or below it. */
  const subtreeOf = async (op: SoapOperation): Promise<{ caller: string; servers: Set<string> } | undefined> => {
    const parentServerId = parseGuid(op.child('parentServerId')?.asString() ?? '');
    if (parentServerId === undefined) throw invalidParameter('parentServerId', 'not a GUID');
    const fromCookie = await cookieCaller(op);
    if (fromCookie !== undefined && fromCookie !== parentServerId) throw invalidParameter('parentServerId', `${parentServerId} is not the calling server ${fromCookie}`);
    const hierarchy = await store.rollup.hierarchy();
    if ((await store.downstreams.get(parentServerId)) === undefined || !hierarchy.has(parentServerId)) return undefined;
    return { caller: parentServerId, servers: new Set([parentServerId, ...(await store.rollup.below(parentServerId))]) };
  };

  return {
    GetRollupConfiguration: async (op, request) => {
      await cookieCaller(op);
      const c = await rollupConfiguration(store);
      return request.result((x) =>
        x
          .element('DoDetailedRollup', c.doDetailedRollup)
          .element('RollupResetGuid', c.rollupResetGuid)
          .element('ServerId', c.serverId)
          .element('RollupDownstreamServersMaxBatchSize', c.downstreamServersMaxBatchSize)
          .element('RollupComputersMaxBatchSize', c.computersMaxBatchSize)
          .element('GetOutOfSyncComputersMaxBatchSize', c.outOfSyncMaxBatchSize)
          .element('RollupComputerStatusMaxBatchSize', c.computerStatusMaxBatchSize),
      );
    },

    RollupDownstreamServers: async (op, request) => {
      const callerId = await cookieCaller(op);
      op.dateTime('clientTime');
      const config = await rollupConfiguration(store);
      const servers = readList(op, 'downstreamServers', Number.MAX_SAFE_INTEGER, readServer);
      const summaries = servers.reduce((n, s) => n + s.clientSummaries.length, 0);
      if (summaries > config.downstreamServersMaxBatchSize) {
        throw invalidParameter('downstreamServers', `${summaries} client summaries, more than the ${config.downstreamServersMaxBatchSize} allowed`);
      }
      const hierarchy = await store.rollup.hierarchy();
      if (servers.length === 0) return;
      // The caller's own entry has the zero parent; a batch split off after it hangs below it.
      const self = servers.find((s) => s.parentServerId === ZERO_GUID)?.serverId;
      const viaId = callerId ?? self ?? topOf(hierarchy, servers[0]!.parentServerId, store.serverId);
      if (viaId === undefined) throw refused(`parent server ${servers[0]!.parentServerId} is unknown to this server`);
      await knownDownstream(viaId);
      const problem = checkServerBatch(servers, {
        selfId: store.serverId,
        callerId: viaId,
        below: hierarchy.has(viaId) ? await store.rollup.below(viaId) : new Set(),
        known: new Set(hierarchy.keys()),
      });
      if (problem !== undefined) {
        if (problem.kind === 'unknown-parent') throw refused(problem.message);
        throw invalidParameter('downstreamServers', problem.message);
      }
      const resolved = servers.map((s) => (s.parentServerId === ZERO_GUID ? { ...s, parentServerId: store.serverId } : s));
      const saved = await store.rollup.saveServers(viaId, resolved, now().toISOString());
      request.log.debug({ downstream: viaId, servers: servers.length, saved }, 'rollup: servers stored');
    },

    RollupComputers: async (op, request) => {
      const callerId = await cookieCaller(op);
      op.dateTime('clientTime');
      const config = await detailedOnly();
      const computers = readList(op, 'computers', config.computersMaxBatchSize, readComputer);
      noDuplicates(computers.map((c) => c.computerId), 'computers');
      const hierarchy = await store.rollup.hierarchy();
      let viaId = callerId;
      for (const c of computers) {
        if (!hierarchy.has(c.parentServerId)) throw refused(`parent server ${c.parentServerId} of computer ${c.computerId} is unknown to this server`);
        const top = topOf(hierarchy, c.parentServerId, store.serverId);
        if (top === undefined || (viaId !== undefined && top !== viaId)) {
          throw invalidParameter('computers', `parent server ${c.parentServerId} of computer ${c.computerId} is not below the calling server`);
        }
        viaId = top;
      }
      if (viaId === undefined) return request.result();
      await knownDownstream(viaId);
      const wanted = await store.rollup.saveComputers(viaId, computers, now().toISOString());
      request.log.debug({ downstream: viaId, computers: computers.length, detailsWanted: wanted.length }, 'rollup: computers stored');
      return request.result((x) => {
        for (const id of wanted) x.empty('ChangedComputer', { ComputerId: id, Change: 'NewParent' });
      });
    },

    GetOutOfSyncComputers: async (op, request) => {
      const config = await detailedOnly();
      const subtree = await subtreeOf(op);
      const numbers = readList(op, 'lastRollupNumbers', config.outOfSyncMaxBatchSize, (n) => {
        const rollupNumber = n.int('RollupNumber');
        if (rollupNumber < 0) throw n.invalid('RollupNumber is negative');
        return { computerId: computerId(n.optString('ComputerId'), n), rollupNumber };
      });
      // MS-WSUSSS 3.1.4.16: an unknown parent gets an empty list.
      const ids = subtree === undefined ? [] : await store.rollup.outOfSync(subtree.servers, numbers);
      return request.result((x) => {
        for (const id of ids) x.element('string', id);
      });
    },

    RollupComputerStatus: async (op, request) => {
      op.dateTime('clientTime');
      const config = await detailedOnly();
      const subtree = await subtreeOf(op);
      if (subtree === undefined) throw refused(`server ${op.child('parentServerId')?.asString() ?? '?'} is unknown to this server`);
      const statuses = readList(op, 'computers', config.computerStatusMaxBatchSize, readStatus);
      noDuplicates(statuses.map((s) => s.computerId), 'computers');
      if (statusCalls >= statusAtOnce || deps.statusBusy?.() === true) {
        request.log.info({ downstream: subtree.caller }, 'rollup: busy, the downstream server will send its status again later');
        return request.result((x) => x.text(false));
      }
      statusCalls++;
      try {
        const stored = await store.rollup.saveStatus(subtree.servers, statuses, now().toISOString());
        request.log.debug({ downstream: subtree.caller, computers: statuses.length, stored }, 'rollup: status stored');
      } finally {
        statusCalls--;
      }
      return request.result((x) => x.text(true));
    },
  };
}

/** The direct downstream server `id` hangs below (itself when direct); undefined off the tree. */
function topOf(hierarchy: ReadonlyMap<string, string>, id: string, selfId: string): string | undefined {
  const seen = new Set<string>();
  for (let at = id; !seen.has(at); ) {
    seen.add(at);
    const parent = hierarchy.get(at);
    if (parent === undefined) return undefined;
    if (parent === selfId) return at;
    at = parent;
  }
  return undefined;
}

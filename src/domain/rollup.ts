// Reporting rollup (MS-WSUSSS 3.1.4.13-17, 3.2.4.5; WSUS-PROTOCOLS §2.9): what a downstream server
// tells its upstream about itself, the servers below it, their computers and the status of updates
// on them, and the rules both sides apply. Pure: no I/O, no clock.
import { createHash } from 'node:crypto';
import type { UpdateStatus } from './client-event.ts';

/** "Never" on the wire of every rollup time stamp. */
export const NEVER = '1753-01-01T00:00:00.000Z';
export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

/** Settings of rollup, both roles. */
export const ROLLUP_SETTING_KEYS = {
  /** Upstream: ask downstream servers for computers and status (DoDetailedRollup). */
  detailed: 'rollup.detailed',
  /** Downstream: minutes between rollups of `serve` (0: only after each synchronization). */
  intervalMinutes: 'rollup.intervalMinutes',
  /** Upstream: most computers per RollupComputerStatus call it accepts. */
  statusBatchSize: 'rollup.statusBatchSize',
} as const;

/** The limits a Windows USS announces (WSUS-PROTOCOLS §2.9). */
export const WINDOWS_ROLLUP_LIMITS = {
  downstreamServers: 5000,
  computers: 1500,
  outOfSync: 20000,
  computerStatus: 500,
} as const;

export interface RollupConfiguration {
  readonly doDetailedRollup: boolean;
  readonly rollupResetGuid: string;
  readonly serverId: string;
  readonly downstreamServersMaxBatchSize: number;
  readonly computersMaxBatchSize: number;
  readonly outOfSyncMaxBatchSize: number;
  readonly computerStatusMaxBatchSize: number;
}

/** DownstreamServerRollupServerSummary, in wire order. */
export const SERVER_SUMMARY_FIELDS = [
  'UpdateCount',
  'DeclinedUpdateCount',
  'ApprovedUpdateCount',
  'NotApprovedUpdateCount',
  'UpdatesWithStaleUpdateApprovalsCount',
  'ExpiredUpdateCount',
  'CriticalOrSecurityUpdatesNotApprovedForInstallCount',
  'WsusInfrastructureUpdatesNotApprovedForInstallCount',
  'UpdatesWithClientErrorsCount',
  'UpdatesWithServerErrorsCount',
  'UpdatesNeedingFilesCount',
  'UpdatesNeededByComputersCount',
  'UpdatesUpToDateCount',
  'CustomComputerTargetGroupCount',
  'ComputerTargetCount',
  'ComputerTargetsNeedingUpdatesCount',
  'ComputerTargetsWithUpdateErrorsCount',
  'ComputersUpToDateCount',
] as const;
export type ServerSummaryField = (typeof SERVER_SUMMARY_FIELDS)[number];
export type ServerSummary = Readonly<Record<ServerSummaryField, number>>;

export function emptyServerSummary(): Record<ServerSummaryField, number> {
  return Object.fromEntries(SERVER_SUMMARY_FIELDS.map((f) => [f, 0])) as Record<ServerSummaryField, number>;
}

/** A computer's operating system and architecture, as the rollup tells them. */
export interface OperatingSystemInfo {
  readonly osMajor: number;
  readonly osMinor: number;
  readonly osBuild: number;
  readonly osServicePackMajor: number;
  readonly osServicePackMinor: number;
  readonly osLocale: string;
  readonly processorArchitecture: string;
}

/** One DownstreamServerRollupClientSummary: computers of one OS and architecture. */
export interface ClientSummary extends OperatingSystemInfo {
  readonly count: number;
}

/** DownstreamServerRollupInfo. Times ISO-8601 UTC. */
export interface DownstreamServerInfo {
  readonly serverId: string;
  readonly fullDomainName: string;
  readonly lastSyncTime: string;
  /** Zero GUID for the server making the call. */
  readonly parentServerId: string;
  readonly version: string;
  readonly isReplica: boolean;
  readonly lastRollupTime: string;
  readonly summary: ServerSummary;
  readonly clientSummaries: readonly ClientSummary[];
}

/** ComputerRollupDetails: sent the first time, and whenever it changed. */
export interface ComputerDetails extends OperatingSystemInfo {
  readonly targetGroupIds: readonly string[];
  readonly requestedTargetGroupNames: readonly string[];
  readonly ipAddress: string;
  readonly fullDomainName: string;
  readonly osDescription: string;
  readonly computerMake: string;
  readonly computerModel: string;
  readonly biosVersion: string;
  readonly biosName: string;
  readonly biosReleaseDate: string;
  readonly clientVersion: string;
}

/** ComputerRollupInfo. */
export interface ComputerInfo {
  readonly computerId: string;
  readonly parentServerId: string;
  readonly lastSyncTime: string;
  /** 0 unknown, 1 succeeded, 2 failed. */
  readonly lastSyncResult: number;
  readonly lastReportedRebootTime: string;
  readonly lastReportedStatusTime: string;
  readonly lastInventoryTime: string;
  readonly details?: ComputerDetails;
}

export interface UpdateStatusEntry {
  readonly updateId: string;
  /** SummarizationState (see SUMMARIZATION_STATES). */
  readonly state: number;
  readonly lastChangeTime: string;
}

/** ComputerStatusRollupInfo. */
export interface ComputerStatus {
  readonly instanceId: string;
  readonly computerId: string;
  readonly effectiveLastDetectionTime: string;
  readonly rollupNumber: number;
  readonly isFullRollup: boolean;
  readonly updates: readonly UpdateStatusEntry[];
}

/**
 * SummarizationState values (MS-WSUSSS 3.1.4.17.3.4): 0 not applicable, 2 not installed,
 * 3 downloaded, 4 installed, 5 failed, 6 installed pending a reboot. 1 is WSUS's own
 * UpdateInstallationState "not applicable" (MS-WSUSAR); accepted as such, never sent.
 */
const STATE_OF: Readonly<Record<UpdateStatus, number>> = {
  NotApplicable: 0,
  NotInstalled: 2,
  Downloaded: 3,
  Installed: 4,
  Failed: 5,
  InstalledPendingReboot: 6,
};

export function summarizationState(status: UpdateStatus): number {
  return STATE_OF[status];
}

export function isSummarizationState(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 6;
}

/** The four counts an administrator reads per update (WSUS console wording). */
export type StatusBucket = 'Installed' | 'Needed' | 'Failed' | 'NotApplicable';

export function bucketOfState(state: number): StatusBucket {
  switch (state) {
    case 4:
    case 6:
      return 'Installed';
    case 2:
    case 3:
      return 'Needed';
    case 5:
      return 'Failed';
    default:
      return 'NotApplicable';
  }
}

export function bucketOfStatus(status: UpdateStatus): StatusBucket {
  return bucketOfState(STATE_OF[status]);
}

/** A version as RollupDownstreamServers wants it: one to four integers, at most 32 characters. */
export function rollupVersion(version: string): string {
  const m = /^[0-9]+(\.[0-9]+){0,3}/.exec(version);
  return m === null ? '0' : m[0].slice(0, 32);
}

function digest(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

/**
 * What the upstream must learn again when it changes: a change of group membership, name, IP
 * address or operating system (or any other detail) makes the computer's next rollup a full one.
 */
export function detailsFingerprint(details: ComputerDetails): string {
  return digest([
    [...details.targetGroupIds].sort(),
    [...details.requestedTargetGroupNames].sort(),
    details.ipAddress,
    details.fullDomainName.toLowerCase(),
    details.osMajor,
    details.osMinor,
    details.osBuild,
    details.osServicePackMajor,
    details.osServicePackMinor,
    details.osLocale,
    details.osDescription,
    details.computerMake,
    details.computerModel,
    details.biosVersion,
    details.biosName,
    details.biosReleaseDate,
    details.processorArchitecture,
    details.clientVersion,
  ]);
}

/** The attributes RollupComputers carries besides the details; a change sends the computer again. */
export function attributesFingerprint(info: Omit<ComputerInfo, 'details' | 'computerId'>): string {
  return digest([info.parentServerId, info.lastSyncTime, info.lastSyncResult, info.lastReportedRebootTime, info.lastReportedStatusTime, info.lastInventoryTime]);
}

/** What the downstream remembers of one computer it rolled up (its "rollup revision"). */
export interface SentComputer {
  /** Details the upstream holds; undefined: it holds none (never sent, or it asked again). */
  readonly detailsFingerprint?: string;
  readonly attributesFingerprint?: string;
  /** LastSentStatusRollupNumber: 0 before the first status rollup. */
  readonly rollupNumber: number;
  /** Status rows changed at or after this (ISO) are sent next; undefined: a full rollup is due. */
  readonly statusSince?: string;
}

export interface ComputerPlan {
  /** RollupComputers carries it (new, changed attributes or details). */
  readonly sendComputer: boolean;
  /** With its Details. */
  readonly sendDetails: boolean;
  /** RollupComputerStatus with IsFullRollup: every status it has. */
  readonly fullStatus: boolean;
}

/**
 * What one computer's next rollup sends. Full: new to the upstream, details changed (group, name,
 * IP, OS...), the upstream said it is out of sync (statusSince cleared), or its agent sent a
 * complete status list since (statuses may have been dropped, which a delta cannot say).
 */
export function planComputer(sent: SentComputer | undefined, now: { details: string; attributes: string; replacedSince: boolean }): ComputerPlan {
  const detailsChanged = sent?.detailsFingerprint !== now.details;
  const fullStatus = sent === undefined || detailsChanged || sent.statusSince === undefined || now.replacedSince;
  return { sendComputer: detailsChanged || sent?.attributesFingerprint !== now.attributes, sendDetails: detailsChanged, fullStatus };
}

/**
 * Splits servers into RollupDownstreamServers calls of at most `max` client summaries, keeping
 * their order (parents first), a server with too many summaries split in several entries
 * (MS-WSUSSS 3.2.4.5 step 2.4). A server without summaries still costs nothing against `max`.
 */
export function serverBatches(servers: readonly DownstreamServerInfo[], max: number): DownstreamServerInfo[][] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`batch size must be at least 1, got ${max}`);
  const pieces: DownstreamServerInfo[] = [];
  for (const s of servers) {
    if (s.clientSummaries.length <= max) pieces.push(s);
    else for (let i = 0; i < s.clientSummaries.length; i += max) pieces.push({ ...s, clientSummaries: s.clientSummaries.slice(i, i + max) });
  }
  const out: DownstreamServerInfo[][] = [];
  let current: DownstreamServerInfo[] = [];
  let used = 0;
  for (const p of pieces) {
    if (current.length > 0 && used + p.clientSummaries.length > max) {
      out.push(current);
      current = [];
      used = 0;
    }
    current.push(p);
    used += p.clientSummaries.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Servers ordered parents first; a server whose parent is not among them comes first. */
export function parentsFirst<T extends { serverId: string; parentServerId: string }>(servers: readonly T[]): T[] {
  const byId = new Map(servers.map((s) => [s.serverId, s]));
  const out: T[] = [];
  const placed = new Set<string>();
  const place = (s: T, path: Set<string>): void => {
    if (placed.has(s.serverId) || path.has(s.serverId)) return;
    path.add(s.serverId);
    const parent = byId.get(s.parentServerId);
    if (parent !== undefined) place(parent, path);
    placed.add(s.serverId);
    out.push(s);
  };
  for (const s of servers) place(s, new Set());
  return out;
}

export type ServerBatchProblem = { readonly index: number; readonly kind: 'unknown-parent' | 'not-below-caller' | 'self' | 'caller-mismatch' | 'two-callers' | 'own-parent'; readonly message: string };

/**
 * Checks a RollupDownstreamServers batch against the hierarchy the upstream knows: the caller's
 * own entry (zero parent) must be the caller, every other entry must hang below the caller (a
 * server it already reported, or one earlier in the batch). `below` is the set of server ids
 * known below the caller. Returns the first problem, or undefined.
 */
export function checkServerBatch(
  servers: readonly Pick<DownstreamServerInfo, 'serverId' | 'parentServerId'>[],
  context: { readonly selfId: string; readonly callerId?: string; readonly below: ReadonlySet<string>; readonly known: ReadonlySet<string> },
): ServerBatchProblem | undefined {
  const below = new Set(context.below);
  let caller = context.callerId;
  for (const [index, s] of servers.entries()) {
    if (s.serverId === context.selfId) return { index, kind: 'self', message: `server ${s.serverId} is this server` };
    if (s.serverId === s.parentServerId) return { index, kind: 'own-parent', message: `server ${s.serverId} names itself as its parent` };
    if (s.parentServerId === ZERO_GUID) {
      if (caller !== undefined && caller !== s.serverId) {
        return { index, kind: context.callerId !== undefined ? 'caller-mismatch' : 'two-callers', message: `server ${s.serverId} reports itself as a direct downstream server, but the caller is ${caller}` };
      }
      caller = s.serverId;
      continue;
    }
    if (caller === undefined || (s.parentServerId !== caller && !below.has(s.parentServerId))) {
      const kind = context.known.has(s.parentServerId) || s.parentServerId === context.selfId ? 'not-below-caller' : 'unknown-parent';
      return { index, kind, message: kind === 'unknown-parent' ? `parent server ${s.parentServerId} of ${s.serverId} is unknown` : `parent server ${s.parentServerId} of ${s.serverId} is not below the calling server` };
    }
    below.add(s.serverId);
  }
  return undefined;
}

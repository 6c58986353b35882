// What a Windows Update Agent reports (WSUS-PROTOCOLS §4.8) and the update status it implies.
// Pure: events in, status changes out.

export interface ReportingEvent {
  /** The agent's GUID for this event: a resent batch repeats it. */
  readonly eventInstanceId: string;
  readonly namespaceId: number;
  readonly eventId: number;
  readonly sourceId: number;
  /** Zero GUID and 0 when the event concerns no update. */
  readonly updateId: string;
  readonly revisionNumber: number;
  /** Signed 32-bit. */
  readonly win32HResult: number;
  readonly appName: string;
  /** ISO-8601 UTC. */
  readonly timeAtTarget: string;
  readonly replacementStrings: readonly string[];
  /** `Key=Value` strings as sent. */
  readonly miscData: readonly string[];
}

/**
 * Per computer × update (DESIGN §3). Unknown is the absence of a status: the computer never
 * reported; an update a status report (event 156) leaves out is NotApplicable.
 */
export type UpdateStatus = 'NotApplicable' | 'NotInstalled' | 'Downloaded' | 'Installed' | 'InstalledPendingReboot' | 'Failed';

export const UPDATE_STATUSES: readonly (UpdateStatus | 'Unknown')[] = ['Unknown', 'NotApplicable', 'NotInstalled', 'Downloaded', 'Installed', 'InstalledPendingReboot', 'Failed'];

export interface StatusChange {
  readonly updateId: string;
  readonly status: UpdateStatus;
  /** Statuses this change does not override (a 156 `U=` entry keeps Downloaded and Failed). */
  readonly keeps?: readonly UpdateStatus[];
}

export interface StatusReport {
  /** Event 156 lists every applicable leaf update: what it leaves out is NotApplicable now. */
  readonly replacesAll: boolean;
  readonly changes: readonly StatusChange[];
}

/** Event ids of namespace 1 (the SUSDB event table, fixtures wsus-m0-reports). */
export const EVENT = {
  clientStatus: 156,
  downloadFailed: 161,
  downloadSucceeded: 162,
  downloadSucceededFromPeer: 164,
  installFailed: 182,
  installSucceeded: 183,
  installSucceededRebootRequired: 184,
  /** The same three as written by other installers of the agent (templates identical to 182-184). */
  installSucceededAlt: [190, 197],
  installSucceededRebootRequiredAlt: [191, 199],
  installFailedAlt: [195, 198],
  /** "Installation pending": what the agent sends for an install that needs a reboot (HRESULT WU_S_REBOOT_REQUIRED). */
  installPending: 201,
  installSucceededPostReboot: 203,
  installFailedPostReboot: 204,
  uninstallSucceeded: 222,
  uninstallSucceededRebootRequired: 224,
} as const;

/** WU_S_REBOOT_REQUIRED (0x00240005): the operation succeeded and needs a restart. */
export const WU_S_REBOOT_REQUIRED = 0x00240005;

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

function miscList(event: ReportingEvent, key: string): string[] {
  const prefix = `${key}=`;
  const entry = event.miscData.find((m) => m.startsWith(prefix));
  if (entry === undefined) return [];
  return entry
    .slice(prefix.length)
    .split(';')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s));
}

/** What one event about one update says of it; undefined when it says nothing of its status. */
function statusOfUpdateEvent(event: ReportingEvent): StatusChange | undefined {
  const id = event.eventId;
  const change = (status: UpdateStatus, keeps?: readonly UpdateStatus[]): StatusChange => ({ updateId: event.updateId, status, ...(keeps ? { keeps } : {}) });
  if (id === EVENT.downloadSucceeded || id === EVENT.downloadSucceededFromPeer) return change('Downloaded', ['Installed', 'InstalledPendingReboot']);
  // A failed download is a failed update in WSUS's counts: it will not install until it downloads.
  if (id === EVENT.downloadFailed) return change('Failed', ['Installed', 'InstalledPendingReboot']);
  if (id === EVENT.installSucceeded || id === EVENT.installSucceededPostReboot || (EVENT.installSucceededAlt as readonly number[]).includes(id)) return change('Installed');
  if (id === EVENT.installSucceededRebootRequired || (EVENT.installSucceededRebootRequiredAlt as readonly number[]).includes(id)) return change('InstalledPendingReboot');
  if (id === EVENT.installPending && (event.win32HResult >>> 0) === WU_S_REBOOT_REQUIRED) return change('InstalledPendingReboot');
  if (id === EVENT.installFailed || id === EVENT.installFailedPostReboot || (EVENT.installFailedAlt as readonly number[]).includes(id)) return change('Failed');
  if (id === EVENT.uninstallSucceeded || id === EVENT.uninstallSucceededRebootRequired) return change('NotInstalled');
  return undefined;
}

/**
 * The status an event tells, as a real WSUS reads it (WSUS-PROTOCOLS §4.8): event 156's `U=`
 * (applicable, not installed), `V=` (installed) and `g=` (failed; the real agent moved an update
 * from U to g after its install failed) lists, every other update NotApplicable; download,
 * install and uninstall results for the event's update. A 156 `U=` entry does not undo Downloaded
 * or Failed: the list cannot tell them from "not installed".
 *
 * Choices: "installation pending" (201) with WU_S_REBOOT_REQUIRED and 184 give
 * InstalledPendingReboot (the real WSUS showed no such state for 201; the agent does say the
 * install waits for a restart, and its next 156 after the restart lists the update as installed);
 * a failed download counts as Failed; a failed uninstall changes nothing (the update stays as it
 * was).
 */
export function statusFromEvent(event: ReportingEvent): StatusReport | undefined {
  if (event.namespaceId !== 1) return undefined;
  if (event.eventId === EVENT.clientStatus) {
    const changes: StatusChange[] = [];
    const listed = new Set<string>();
    const add = (updateId: string, status: UpdateStatus, keeps?: readonly UpdateStatus[]) => {
      if (listed.has(updateId)) return;
      listed.add(updateId);
      changes.push({ updateId, status, ...(keeps ? { keeps } : {}) });
    };
    // Installed first: an id in two lists is installed.
    for (const updateId of miscList(event, 'V')) add(updateId, 'Installed');
    for (const updateId of miscList(event, 'g')) add(updateId, 'Failed');
    for (const updateId of miscList(event, 'U')) add(updateId, 'NotInstalled', ['Downloaded', 'Failed']);
    return { replacesAll: true, changes };
  }
  if (event.updateId === ZERO_GUID) return undefined;
  const change = statusOfUpdateEvent(event);
  return change === undefined ? undefined : { replacesAll: false, changes: [change] };
}

/**
 * The statuses after `reports`, applied in order to `current` (update id -> status of one
 * computer). Pure; the repository stores the difference.
 */
export function applyStatusReports(current: ReadonlyMap<string, UpdateStatus>, reports: readonly StatusReport[]): Map<string, UpdateStatus> {
  let state = new Map(current);
  for (const report of reports) {
    const next = report.replacesAll ? new Map<string, UpdateStatus>() : state;
    for (const c of report.changes) {
      const previous = state.get(c.updateId);
      next.set(c.updateId, previous !== undefined && c.keeps?.includes(previous) ? previous : c.status);
    }
    state = next;
  }
  return state;
}

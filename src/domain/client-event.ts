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

/** Per computer × update (DESIGN §3); an update a status report leaves out is NotApplicable. */
export type UpdateStatus = 'NotApplicable' | 'NotInstalled' | 'Downloaded' | 'Installed' | 'InstalledPendingReboot' | 'Failed';

export interface StatusChange {
  readonly updateId: string;
  readonly status: UpdateStatus;
}

export interface StatusReport {
  /** Event 156 lists every applicable leaf update: what it leaves out is NotApplicable now. */
  readonly replacesAll: boolean;
  readonly changes: readonly StatusChange[];
}

export const EVENT = {
  clientStatus: 156,
  installFailed: 182,
  installSucceeded: 183,
  installSucceededRebootRequired: 184,
} as const;

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

/**
 * The status an event tells, as a real WSUS reads it: event 156's `U=` (applicable, not
 * installed) and `V=` (installed) lists; 182 failed, 183 installed, 184 installed pending a reboot
 * for the event's update. Other events change no status.
 */
export function statusFromEvent(event: ReportingEvent): StatusReport | undefined {
  if (event.namespaceId !== 1) return undefined;
  if (event.eventId === EVENT.clientStatus) {
    const changes: StatusChange[] = [];
    for (const updateId of miscList(event, 'U')) changes.push({ updateId, status: 'NotInstalled' });
    for (const updateId of miscList(event, 'V')) changes.push({ updateId, status: 'Installed' });
    return { replacesAll: true, changes };
  }
  const status: UpdateStatus | undefined =
    event.eventId === EVENT.installFailed
      ? 'Failed'
      : event.eventId === EVENT.installSucceeded
        ? 'Installed'
        : event.eventId === EVENT.installSucceededRebootRequired
          ? 'InstalledPendingReboot'
          : undefined;
  if (status === undefined || event.updateId === ZERO_GUID) return undefined;
  return { replacesAll: false, changes: [{ updateId: event.updateId, status }] };
}

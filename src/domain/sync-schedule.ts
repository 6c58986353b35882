// When the automatic synchronization runs (issue 4, "Schedule"): at the slots of the day
// nextScheduledSync (settings.ts) gives, each moved by an offset of up to 30 minutes, as WSUS
// spreads its downstream servers over the half hour after the scheduled time so they do not all
// ask their upstream at once. The offset is drawn from the server id and the slot instead of a
// random generator: a server that re-reads its settings or restarts keeps the same time for the
// same slot, while different servers still land at different minutes.
import { nextScheduledSync, type DownstreamSettings } from './settings.ts';

export const MAX_SCHEDULE_OFFSET_MS = 30 * 60_000;

/** The offset of one slot of one server, in [0, 30 min), whole seconds. */
export function scheduleOffsetMs(serverId: string, slot: Date): number {
  // FNV-1a over "<server id>|<slot>": stable, evenly spread, no I/O.
  let hash = 0x811c9dc5;
  for (const ch of `${serverId.toLowerCase()}|${slot.toISOString()}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % (MAX_SCHEDULE_OFFSET_MS / 1000)) * 1000;
}

export interface ScheduledSync {
  /** The slot of the schedule (firstSyncTime + k × 24 h / syncsPerDay). */
  readonly slot: Date;
  /** When it runs: the slot plus this server's offset. */
  readonly at: Date;
}

/**
 * The automatic synchronization that follows `since` (the start of the last run, manual or not,
 * or when the server began watching if none ran): the first slot after it, moved by the offset.
 * A slot missed while the server was down is therefore due at once when it starts again (one run,
 * not one per missed slot), and a run made by hand after a slot moves the next one to the
 * following slot. Undefined in manual mode.
 */
export function nextSyncDue(schedule: DownstreamSettings['schedule'], serverId: string, since: Date): ScheduledSync | undefined {
  const slot = nextScheduledSync(schedule, since);
  if (slot === undefined) return undefined;
  return { slot, at: new Date(slot.getTime() + scheduleOffsetMs(serverId, slot)) };
}

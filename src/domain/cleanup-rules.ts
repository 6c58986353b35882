// What the cleanup removes or declines (issue 8), as pure rules over the facts the store reads
// for one candidate. They follow the WSUS Server Cleanup Wizard (CleanupScope in the WSUS
// administration API), step by step:
//
// - computers: a computer that has not contacted the server (sync, report or registration) for
//   `computerDays` days is deleted with its status and events (CleanupObsoleteComputers).
// - events: client events older than `eventDays` days are deleted (WSUS keeps reporting rows
//   until its own purge; openwsus bounds them).
// - expired: an update Microsoft expired that is not approved anywhere is declined
//   (DeclineExpiredUpdates: "decline expired unapproved updates").
// - superseded: an update is declined when all hold (DeclineSupersededUpdates): it is not approved
//   for any group, it has been on the server at least `supersededDays` days (WSUS: 30), no
//   computer reports it needed, and an update superseding it is approved for install (and is not
//   itself declined).
// - revisions: a revision that is not the newest of its update, is named by no approval and by no
//   newest bundle, and whose update's newest revision has been on the server `revisionDays` days,
//   is deleted (CompressUpdates). Upstream answers (GetRevisionIdList) and client scans only ever
//   name newest revisions, and the grace makes sure a downstream that listed the old one has long
//   fetched the new one; so no anchor or change position has to move.
// - files: a content file no newest revision of a needed update uses is deleted from the content
//   directory (CleanupUnneededContentFiles). Needed: approved (or bundled by an approved bundle)
//   and not declined; with downstream servers, or without deferred downloads, every update that is
//   not declined (a downstream may approve what we did not).
// - compact: give freed pages back (SQLite) or vacuum the tables the run touched (PostgreSQL).
//
// Declines are local decisions: a replica takes its declines from its upstream, so there the two
// decline steps are skipped.

export const CLEANUP_STEPS = ['computers', 'events', 'expired', 'superseded', 'revisions', 'files', 'compact'] as const;
export type CleanupStep = (typeof CLEANUP_STEPS)[number];

/** Steps that decline updates: an administrator's decision, never a replica's. */
export const DECLINE_STEPS: readonly CleanupStep[] = ['expired', 'superseded'];

export const CLEANUP_SETTING_KEYS = {
  enabled: 'cleanup.enabled',
  time: 'cleanup.time',
  computerDays: 'cleanup.computerDays',
  supersededDays: 'cleanup.supersededDays',
  revisionDays: 'cleanup.revisionDays',
  eventDays: 'cleanup.eventDays',
} as const;

export interface CleanupPolicy {
  readonly computerDays: number;
  readonly supersededDays: number;
  readonly revisionDays: number;
  readonly eventDays: number;
}

export const DEFAULT_CLEANUP_POLICY: CleanupPolicy = { computerDays: 30, supersededDays: 30, revisionDays: 30, eventDays: 90 };

/** Daily, at this UTC time, in `openwsus serve`. */
export const DEFAULT_CLEANUP_TIME = '04:00';

/** The policy from stored settings (values already validated by the settings registry). */
export function cleanupPolicy(stored: Readonly<Record<string, unknown>>): CleanupPolicy {
  const days = (key: string, fallback: number): number => {
    const v = stored[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback;
  };
  return {
    computerDays: days(CLEANUP_SETTING_KEYS.computerDays, DEFAULT_CLEANUP_POLICY.computerDays),
    supersededDays: days(CLEANUP_SETTING_KEYS.supersededDays, DEFAULT_CLEANUP_POLICY.supersededDays),
    revisionDays: days(CLEANUP_SETTING_KEYS.revisionDays, DEFAULT_CLEANUP_POLICY.revisionDays),
    eventDays: days(CLEANUP_SETTING_KEYS.eventDays, DEFAULT_CLEANUP_POLICY.eventDays),
  };
}

export class CleanupStepError extends Error {
  override name = 'CleanupStepError';
}

/** `--steps a,b` in the canonical order; an unknown name is an error that lists the known ones. */
export function parseSteps(text: string | undefined): CleanupStep[] {
  if (text === undefined || text.trim() === '' || text.trim() === 'all') return [...CLEANUP_STEPS];
  const wanted = new Set(text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''));
  const unknown = [...wanted].filter((s) => !(CLEANUP_STEPS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new CleanupStepError(`unknown cleanup step ${unknown.map((s) => `"${s}"`).join(', ')}; steps are ${CLEANUP_STEPS.join(', ')}`);
  return CLEANUP_STEPS.filter((s) => wanted.has(s));
}

/** The steps a server runs: a replica leaves declines to its upstream. */
export function applicableSteps(steps: readonly CleanupStep[], isReplica: boolean): { run: CleanupStep[]; skipped: CleanupStep[] } {
  const skipped = isReplica ? steps.filter((s) => DECLINE_STEPS.includes(s)) : [];
  return { run: steps.filter((s) => !skipped.includes(s)), skipped };
}

const DAY_MS = 86_400_000;

/** ISO time `days` days before `now`: anything at or before it is old enough. */
export function cutoff(now: Date, days: number): string {
  return new Date(now.getTime() - days * DAY_MS).toISOString();
}

function atOrBefore(time: string | undefined, limit: string): boolean {
  return time !== undefined && Date.parse(time) <= Date.parse(limit);
}

export interface ComputerContact {
  readonly lastSyncAt?: string;
  readonly lastReportAt?: string;
  readonly registeredAt?: string;
  readonly createdAt: string;
}

/** The last time a computer was heard of. */
export function lastContact(c: ComputerContact): string {
  const times = [c.lastSyncAt, c.lastReportAt, c.registeredAt, c.createdAt].filter((t): t is string => t !== undefined && !Number.isNaN(Date.parse(t)));
  return times.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b), c.createdAt);
}

export function isObsoleteComputer(c: ComputerContact, now: Date, days: number): boolean {
  return atOrBefore(lastContact(c), cutoff(now, days));
}

export interface UpdateDeclineFacts {
  readonly publicationState: string;
  readonly declined: boolean;
  /** Approved (any action) for at least one group. */
  readonly approved: boolean;
}

export function shouldDeclineExpired(u: UpdateDeclineFacts): boolean {
  return u.publicationState === 'Expired' && !u.declined && !u.approved;
}

/** Statuses in which a computer still needs an update (WSUS's "Needed" count). */
export const NEEDED_STATUSES = ['NotInstalled', 'Downloaded', 'Failed', 'InstalledPendingReboot'] as const;

export interface SupersededFacts extends UpdateDeclineFacts {
  /** When the update first arrived on this server (its oldest stored revision). */
  readonly firstReceivedAt: string;
  /** Computers whose status for it is one of NEEDED_STATUSES. */
  readonly neededBy: number;
  /** Some newest revision that supersedes it belongs to an update approved for install and not declined. */
  readonly supersededByApproved: boolean;
}

export function shouldDeclineSuperseded(u: SupersededFacts, now: Date, days: number): boolean {
  return !u.declined && !u.approved && u.neededBy === 0 && u.supersededByApproved && atOrBefore(u.firstReceivedAt, cutoff(now, days));
}

export interface RevisionUse {
  readonly isLatest: boolean;
  /** An approval names this very revision. */
  readonly approved: boolean;
  /** A newest bundle revision names this very revision as a member. */
  readonly bundledByLatest: boolean;
  /** When the update's newest revision arrived. */
  readonly newestReceivedAt: string | undefined;
}

export function isUnusedRevision(r: RevisionUse, now: Date, days: number): boolean {
  return !r.isLatest && !r.approved && !r.bundledByLatest && atOrBefore(r.newestReceivedAt, cutoff(now, days));
}

/** One newest revision that uses a file, as the files step sees it. */
export interface FileUser {
  readonly declined: boolean;
  /** Its update is approved, or a newest bundle of an approved, non-declined update bundles it. */
  readonly approved: boolean;
}

export interface FilePolicy {
  /** Files of every update that is not declined stay (downstream servers, or no deferred downloads). */
  readonly keepUnapproved: boolean;
}

export function isFileNeeded(users: readonly FileUser[], policy: FilePolicy): boolean {
  return users.some((u) => !u.declined && (u.approved || policy.keepUnapproved));
}

/** The next daily run strictly after `now`, at `time` (HH:MM, UTC). */
export function nextCleanupTime(time: string, now: Date): Date {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(time) ?? /^(04):(00)$/.exec(DEFAULT_CLEANUP_TIME)!;
  const at = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), Number(m[1]), Number(m[2]));
  return new Date(at > now.getTime() ? at : at + DAY_MS);
}

export interface SqliteSpace {
  readonly pageCount: number;
  readonly freePages: number;
  readonly pageSize: number;
  /** PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental. */
  readonly autoVacuum: number;
}

/** A full VACUUM rewrites the file under an exclusive lock: only when small enough to be quick. */
export const MAX_VACUUM_BYTES = 64 * 1024 * 1024;

export type SqliteCompaction = { readonly kind: 'incremental'; readonly pages: number } | { readonly kind: 'vacuum' } | { readonly kind: 'none'; readonly reason: string };

/**
 * The smallest page the cleanup comes down to: below it a transaction is all overhead (measured:
 * in a busy serving process much of a page's time is waiting for the event loop between its
 * statements, which smaller pages do not shorten but multiply).
 */
export const MIN_CLEANUP_BATCH = 50;

/**
 * The next page size of a cleanup step, from how long the last page's transaction took: halved
 * when it was slow (a loaded database, or rows heavier than usual), doubled back towards the
 * configured size once pages are quick again (under a quarter of the limit), never below
 * MIN_CLEANUP_BATCH (unless configured smaller) nor above the configured size.
 */
export function nextBatchSize(current: number, configured: number, lastMs: number, slowMs: number): number {
  if (lastMs > slowMs) return Math.max(Math.min(MIN_CLEANUP_BATCH, configured), Math.floor(current / 2));
  if (lastMs < slowMs / 4) return Math.min(configured, current * 2);
  return current;
}

export function sqliteCompaction(space: SqliteSpace): SqliteCompaction {
  if (space.freePages === 0) return { kind: 'none', reason: 'no free pages' };
  if (space.autoVacuum === 2) return { kind: 'incremental', pages: space.freePages };
  if (space.freePages * 5 < space.pageCount) return { kind: 'none', reason: 'under a fifth of the file is free' };
  if (space.pageCount * space.pageSize > MAX_VACUUM_BYTES) return { kind: 'none', reason: `the file is over ${MAX_VACUUM_BYTES / 1048576} MiB: a VACUUM would block writers too long (run it during a maintenance window)` };
  return { kind: 'vacuum' };
}

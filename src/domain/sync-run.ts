// A synchronization run and the anchors it leaves behind (DESIGN §3 "Sync run", WSUS-PROTOCOLS §2.5).
// Pure types: the store persists them, the sync engine fills them.

export type SyncPhase = 'handshake' | 'config' | 'categories' | 'updates' | 'deployments' | 'content' | 'done';

export type SyncResult = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface SyncCounts {
  /** Revisions stored for the first time. */
  readonly newRevisions: number;
  /** Known revisions whose document changed. */
  readonly revisedRevisions: number;
  readonly expiredRevisions: number;
  readonly categories: number;
  readonly files: number;
}

export const ZERO_SYNC_COUNTS: SyncCounts = {
  newRevisions: 0,
  revisedRevisions: 0,
  expiredRevisions: 0,
  categories: 0,
  files: 0,
};

/**
 * The error recorded for a run whose process ended before it did (kill -9, power loss): found so
 * when the run is read, or by the next synchronization, whichever comes first.
 */
export const INTERRUPTED_RUN_ERROR = 'interrupted: the process running it ended before it finished';

export interface SyncRun {
  readonly id: number;
  /** ISO-8601 UTC. */
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly phase: SyncPhase;
  readonly counts: SyncCounts;
  readonly result: SyncResult;
  readonly error?: string;
}

/**
 * Names of the anchors a downstream keeps about its upstream. Each is written only when the phase
 * it marks has committed, so a crash repeats at most one phase (DESIGN §3).
 */
export const ANCHORS = {
  /** `NewConfigAnchor` of GetConfigData. */
  config: 'upstream.config',
  /** Anchor of GetRevisionIdList with GetConfig=true (categories, classifications, detectoids). */
  categories: 'upstream.categories',
  /** Anchor of GetRevisionIdList with GetConfig=false (software and drivers). */
  updates: 'upstream.updates',
  /** Anchor of GetDeployments (replica mode). */
  deployments: 'upstream.deployments',
} as const;

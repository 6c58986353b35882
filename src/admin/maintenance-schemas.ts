// What the maintenance routes (cleanup, content verification) accept and answer. Kept apart from
// schemas.ts, which spreads MAINTENANCE_RESPONSES into its RESPONSE_SCHEMAS.
import { z } from 'zod';
import { CLEANUP_STEPS } from '../domain/cleanup-rules.ts';

export const CleanupStartBody = z
  .strictObject({
    /** The steps to run, in the fixed order whatever the order given (all by default). */
    steps: z.array(z.enum(CLEANUP_STEPS)).min(1).max(CLEANUP_STEPS.length).optional(),
    /** Count what would go, change nothing. */
    dryRun: z.boolean().optional(),
  })
  .optional();

export const CleanupStatusQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(10) });

export const ContentVerifyBody = z
  .strictObject({
    /** Record missing and corrupt files absent and queue them for download again. */
    fix: z.boolean().optional(),
    /** Start from the first file instead of the saved position. */
    restart: z.boolean().optional(),
  })
  .optional();

const StepCounts = z.record(z.string(), z.record(z.string(), z.number()));

const CleanupRun = z.object({
  id: z.number(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  steps: z.array(z.string()),
  step: z.string().optional(),
  cursor: z.string().optional(),
  counts: StepCounts,
  result: z.enum(['running', 'done', 'failed']),
  owner: z.string(),
  updatedAt: z.string(),
  error: z.string().optional(),
});

const CleanupReport = z.object({
  runId: z.number().optional(),
  resumed: z.boolean(),
  dryRun: z.boolean(),
  startedAt: z.string(),
  steps: z.array(z.string()),
  skipped: z.record(z.string(), z.string()),
  counts: StepCounts,
  batches: z.number(),
  longestTransactionMs: z.number(),
  longestByStep: z.record(z.string(), z.number()),
  smallestBatch: z.number(),
  elapsedMs: z.number(),
});

export const CleanupStatus = z.object({
  running: z.boolean(),
  dryRun: z.boolean(),
  progress: z.object({ step: z.string(), batches: z.number(), counts: StepCounts }).nullable(),
  lastReport: CleanupReport.nullable(),
  lastError: z.string().nullable(),
  runs: z.array(CleanupRun),
});

const VerifyCounts = { checked: z.number(), ok: z.number(), bytesHashed: z.number() };

export const ContentVerifyStatus = z.object({
  running: z.boolean(),
  fix: z.boolean(),
  progress: z.object({ ...VerifyCounts, missing: z.number(), corrupt: z.number() }).nullable(),
  lastReport: z
    .object({
      ...VerifyCounts,
      resumedAfter: z.string().optional(),
      missing: z.array(z.string()),
      corrupt: z.array(z.object({ path: z.string(), error: z.string() })),
      requeued: z.number(),
    })
    .nullable(),
  lastError: z.string().nullable(),
});

export const MAINTENANCE_RESPONSES = { CleanupStatus, ContentVerifyStatus } as const;

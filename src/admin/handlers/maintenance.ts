// Cleanup and content verification started through the API (maintenance-runner.ts runs them).
import { applicableSteps, CLEANUP_STEPS, type CleanupStep } from '../../domain/cleanup-rules.ts';
import { resolveDownstreamSettings } from '../../domain/settings.ts';
import type { Handler } from '../context.ts';
import { ApiProblem } from '../problem.ts';

export const maintenanceHandlers: Record<string, Handler> = {
  getCleanupStatus: async (ctx) => ctx.maintenance.cleanupStatus((ctx.query as { limit: number }).limit),

  startCleanup: async (ctx) => {
    const body = (ctx.body ?? {}) as { steps?: CleanupStep[]; dryRun?: boolean };
    const steps = body.steps === undefined ? undefined : CLEANUP_STEPS.filter((s) => body.steps!.includes(s));
    const { settings } = resolveDownstreamSettings(await ctx.store.settings.all());
    // A replica's declines are its upstream's: asking it for nothing but declines is a mistake worth saying.
    if (steps !== undefined && applicableSteps(steps, settings.replica).run.length === 0) {
      throw new ApiProblem(409, `a replica takes its declines from its upstream server: steps ${steps.join(', ')} do not run here`);
    }
    const status = await ctx.maintenance.startCleanup({ ...(steps !== undefined && { steps }), dryRun: body.dryRun === true });
    const run = status.dryRun ? undefined : status.runs[0];
    await ctx.audit('cleanup.start', run === undefined ? undefined : String(run.id), { steps: run?.steps ?? steps ?? CLEANUP_STEPS, dryRun: body.dryRun === true });
    return status;
  },

  cancelCleanup: async (ctx) => {
    if (!(await ctx.maintenance.cancelCleanup())) throw new ApiProblem(409, 'no cleanup is running on this server');
    await ctx.audit('cleanup.cancel', undefined);
  },

  getContentVerifyStatus: async (ctx) => ctx.maintenance.verifyStatus(),

  startContentVerify: async (ctx) => {
    const body = (ctx.body ?? {}) as { fix?: boolean; restart?: boolean };
    const status = await ctx.maintenance.startVerify(body);
    await ctx.audit('content.verify', undefined, { fix: body.fix === true, restart: body.restart === true });
    return status;
  },

  cancelContentVerify: async (ctx) => {
    if (!(await ctx.maintenance.cancelVerify())) throw new ApiProblem(409, 'no content verification is running on this server');
    await ctx.audit('content.verify.cancel', undefined);
  },
};

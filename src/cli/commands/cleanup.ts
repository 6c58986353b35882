// `openwsus cleanup`: the maintenance run (src/maintenance/cleanup.ts) by hand. `openwsus serve`
// runs it every day (cleanup.enabled, cleanup.time); this command runs it now, or says what it
// would do (--dry-run). Interrupted (Ctrl-C, a crash, kill -9), it resumes where it stopped.
import type { Command } from 'commander';
import { CliError, commandContext, integerFlag, printJson } from '../context.ts';
import { withStore } from '../store.ts';

interface CleanupFlags {
  steps?: string;
  dryRun?: boolean;
  json?: boolean;
  batchSize: string;
  asOf?: string;
}

function describe(counts: Readonly<Record<string, number>> | undefined): string {
  if (counts === undefined) return 'not run';
  return Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description('remove what the server no longer needs: old revisions, quiet computers, old events, unneeded files; decline expired and superseded updates; compact the database')
    .option('--steps <list>', 'only these steps, comma-separated: computers, events, expired, superseded, revisions, files, compact (default: all)')
    .option('--dry-run', 'count what would be removed or declined, change nothing')
    .option('--batch-size <n>', 'candidates per transaction', '200')
    .option('--as-of <time>', 'judge ages as of this time (ISO-8601; default now), e.g. with --dry-run to see what next month would take')
    .option('--json', 'print the report as JSON')
    .action(async (options: CleanupFlags, command: Command) => {
      const context = commandContext(command);
      const { CleanupStepError, parseSteps } = await import('../../domain/cleanup-rules.ts');
      let steps;
      try {
        steps = parseSteps(options.steps);
      } catch (error) {
        if (error instanceof CleanupStepError) throw new CliError(error.message, 2);
        throw error;
      }
      const batchSize = integerFlag('--batch-size', options.batchSize, 1);
      const asOf = options.asOf === undefined ? undefined : new Date(options.asOf);
      if (asOf !== undefined && Number.isNaN(asOf.getTime())) throw new CliError(`--as-of must be a time such as 2026-12-01T00:00Z, got "${options.asOf}"`, 2);
      const { runCleanup, CleanupBusyError } = await import('../../maintenance/cleanup.ts');
      const { ContentStore } = await import('../../content/index.ts');
      const controller = new AbortController();
      const onSignal = (): void => controller.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const tty = process.stderr.isTTY && !options.json;
      let lastLog = 0;
      try {
        const report = await withStore(context, (store) =>
          runCleanup(store, ContentStore.inDataDir(context.config.data), {
            steps,
            dryRun: options.dryRun === true,
            batchSize,
            ...(asOf !== undefined && { now: asOf }),
            signal: controller.signal,
            onProgress: (p) => {
              const line = `cleanup ${p.step}: ${describe(p.counts)}`;
              if (tty) process.stderr.write(`\r\x1b[K${line}`);
              else if (Date.now() - lastLog > 2000) {
                lastLog = Date.now();
                context.logger.info({ progress: 'cleanup', step: p.step, batches: p.batches, ...p.counts }, line);
              }
            },
          }),
        );
        if (tty) process.stderr.write('\r\x1b[K');
        if (options.json) {
          printJson(report);
          return;
        }
        const verb = report.dryRun ? 'would clean' : report.resumed ? 'resumed and finished the cleanup' : 'cleaned';
        process.stdout.write(`${verb} (run clock ${report.startedAt}, ${report.batches} batches, ${(report.elapsedMs / 1000).toFixed(1)} s, longest transaction ${report.longestTransactionMs} ms)\n`);
        for (const step of report.steps) process.stdout.write(`  ${step.padEnd(10)}  ${describe(report.counts[step])}\n`);
        for (const [step, why] of Object.entries(report.skipped)) process.stdout.write(`  ${step.padEnd(10)}  skipped: ${why}\n`);
      } catch (error) {
        if (tty) process.stderr.write('\n');
        if (controller.signal.aborted) throw new CliError('cleanup interrupted: run openwsus cleanup again to resume where it stopped', 130);
        if (error instanceof CleanupBusyError) throw new CliError(error.message);
        throw error;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

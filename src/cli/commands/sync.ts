// `openwsus sync`: synchronize the catalog from the upstream server now, and the history of runs.
import type { Command } from 'commander';
import { CliError, commandContext, integerFlag, printJson } from '../context.ts';
import { remoteClient } from '../api-client.ts';
import { withStore } from '../store.ts';
import { createProgress } from '../progress.ts';

export function registerSync(program: Command): void {
  const sync = program
    .command('sync')
    .description('synchronize the update catalog from the upstream server now, and wait (see config get for where from)')
    .option('--json', 'print the summary as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteSync(remote, options);
      const { synchronize, SyncError } = await import('../../sync/index.ts');
      const { SettingError } = await import('../../domain/settings.ts');
      const { SyncLockedError } = await import('../../store/index.ts');
      const controller = new AbortController();
      const abort = (): void => controller.abort();
      process.once('SIGINT', abort);
      const progress = createProgress('sync', context.logger, { unit: 'revisions' });
      let phase = '';
      try {
        const report = await withStore(context, (store) =>
          synchronize({
            store,
            signal: controller.signal,
            onProgress: (p) => {
              if (p.phase !== phase) {
                phase = p.phase;
                context.logger.info({ phase }, `sync: ${phase}`);
              }
              progress.update(p.done, p.total, { phase: p.phase });
            },
            onRetry: (operation, attempt, error) => context.logger.warn({ operation, attempt, error: error.message }, `sync: ${operation} failed, retrying`),
          }),
        );
        progress.stop();
        await (await import('./downstream.ts')).rollupAfterSync(context);
        const c = report.run.counts;
        if (options.json) {
          printJson({ id: report.run.id, result: report.run.result, upstream: report.upstream, counts: c, categories: report.categories, updates: report.updates, ...(report.deployments !== undefined && { deployments: report.deployments }), ...(report.content !== undefined && { content: report.content }), ms: Math.round(report.ms) });
          return;
        }
        process.stdout.write(
          `synchronized from ${report.upstream} in ${(report.ms / 1000).toFixed(1)} s (run ${report.run.id}): ` +
            `${c.newRevisions} new, ${c.revisedRevisions} revised, ${c.expiredRevisions} expired, ${c.categories} categories; ` +
            `${report.updates.listed} updates listed, ${report.updates.fetched} fetched\n`,
        );
        if (report.content !== undefined && report.content.queued + report.content.dropped > 0) {
          process.stdout.write(`content: ${report.content.queued} files queued for download${report.content.dropped > 0 ? `, ${report.content.dropped} no longer wanted` : ''} (the running server downloads them; or openwsus content download)\n`);
        }
        const d = report.deployments;
        if (d !== undefined) {
          // Replica mode: what the upstream's approvals, groups and declines changed here.
          process.stdout.write(
            `replica: ${d.approvalsUpserted} approvals set, ${d.approvalsDeleted} removed; ${d.groupsUpserted} groups set, ${d.groupsDeleted} deleted; ` +
              `${d.declinesAdded} declines added, ${d.declinesRemoved} removed` +
              `${d.skipped > 0 ? `; ${d.skipped} approvals wait for their updates' metadata` : ''}\n`,
          );
        }
      } catch (error) {
        progress.stop();
        if (error instanceof SyncError) throw new CliError(`synchronization failed${error.run ? ` (run ${error.run.id})` : ''}: ${error.message}`);
        if (error instanceof SyncLockedError) throw new CliError(`cannot start a synchronization: ${error.message}`);
        if (error instanceof SettingError) throw new CliError(`cannot synchronize: ${error.message}`);
        throw error;
      } finally {
        process.removeListener('SIGINT', abort);
      }
    });

  sync
    .command('status')
    .description('the last synchronization runs, newest first, with their counts')
    .option('--json', 'print as JSON')
    .option('--limit <n>', 'how many runs', '10')
    .action(async (options: { json?: boolean; limit: string }, command: Command) => {
      const context = commandContext(command);
      const limit = integerFlag('--limit', options.limit, 1);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteSyncStatus(remote, { json: options.json || command.optsWithGlobals<{ json?: boolean }>().json, limit });
      const runs = await withStore(context, (store) => store.syncRuns.list({ limit }));
      // `sync --json` shares the flag: commander gives it to whichever command it meets first.
      if (options.json || command.optsWithGlobals<{ json?: boolean }>().json) {
        printJson(runs);
        return;
      }
      if (runs.length === 0) {
        process.stdout.write('no synchronization has run yet\n');
        return;
      }
      for (const r of runs) {
        const c = r.counts;
        process.stdout.write(
          `#${r.id} ${r.startedAt} ${r.result}${r.result === 'running' || r.result === 'failed' ? ` (${r.phase})` : ''}: ` +
            `${c.newRevisions} new, ${c.revisedRevisions} revised, ${c.expiredRevisions} expired, ${c.categories} categories, ${c.files} files` +
            `${r.endedAt ? `, ended ${r.endedAt}` : ''}${r.error ? `\n    error: ${r.error}` : ''}\n`,
        );
      }
    });
}

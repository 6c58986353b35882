// `openwsus content verify`: re-hash the content directory against the metadata; with --fix,
// re-queue what is missing or corrupt. Interrupted, the next run resumes where it stopped.
import type { Command } from 'commander';
import { CliError, commandContext, printJson } from '../context.ts';
import { createProgress } from '../progress.ts';
import { withStore } from '../store.ts';

export function registerContentVerify(content: Command): void {
  content
    .command('verify')
    .description('re-hash every file the metadata says is present; --fix re-queues missing and corrupt ones (resumes an interrupted run)')
    .option('--fix', 'record missing and corrupt files absent, remove corrupt copies, and queue them for download again')
    .option('--restart', 'start from the first file instead of where an interrupted run stopped')
    .option('--json', 'print the report as JSON')
    .action(async (options: { fix?: boolean; restart?: boolean; json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { ContentStore } = await import('../../content/index.ts');
      const { verifyContentStore } = await import('../../maintenance/content-verify.ts');
      const controller = new AbortController();
      const onSignal = (): void => controller.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      const progress = createProgress('content verify', context.logger, { unit: 'files' });
      let report;
      try {
        report = await withStore(context, (store) =>
          verifyContentStore(store, ContentStore.inDataDir(context.config.data), {
            fix: options.fix === true,
            restart: options.restart === true,
            signal: controller.signal,
            onProgress: (p) => progress.update(p.checked, undefined, { missing: p.missing, corrupt: p.corrupt }),
          }),
        );
      } catch (error) {
        if (controller.signal.aborted) throw new CliError('content verify interrupted: run it again to resume where it stopped', 130);
        throw error;
      } finally {
        progress.stop();
        process.off('SIGINT', onSignal);
      }
      if (options.json) printJson(report);
      else {
        const from = report.resumedAfter === undefined ? '' : ` (resumed after ${report.resumedAfter})`;
        process.stdout.write(`checked ${report.checked} files${from}: ${report.ok} ok, ${report.missing.length} missing, ${report.corrupt.length} corrupt, ${report.bytesHashed} bytes hashed${options.fix ? `; ${report.requeued} queued for download again` : ''}\n`);
        for (const c of report.corrupt) process.stdout.write(`  corrupt: ${c.path}: ${c.error}\n`);
      }
      const bad = report.missing.length + report.corrupt.length;
      if (bad > 0 && !options.fix) throw new CliError(`${bad} file(s) missing or corrupt: run openwsus content verify --fix to queue them for download again`);
    });
}

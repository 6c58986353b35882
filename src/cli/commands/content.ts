import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, commandContext, integerFlag, printJson } from '../context.ts';
import { SQLITE_FILE_NAME, withStore } from '../store.ts';
import { createProgress } from '../progress.ts';
import { registerContentVerify } from './content-verify.ts';

export function registerContent(program: Command): void {
  const content = program.command('content').description('content files in the WSUS layout (<data>/content/XX/SHA1.ext)');
  registerContentVerify(content);
  content
    .command('copy')
    .description('copy content files from one data directory to another, verifying each SHA-1; run again to resume')
    .argument('<src-data>', 'source data directory (its content/ folder is read)')
    .argument('<dst-data>', 'destination data directory')
    .option('--verify-existing', 'hash files already in the destination instead of trusting size and time')
    .option('--json', 'print the result as JSON')
    .action(async (src: string, dst: string, options: { verifyExisting?: boolean; json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { logger } = context;
      if (!existsSync(join(resolve(src), 'content'))) {
        throw new CliError(`${src} has no content/ folder: give the source server's data directory`);
      }
      const { ContentStore, copyContent } = await import('../../content/index.ts');
      const { reconcileContent } = await import('../../transfer/content-state.ts');
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const progress = createProgress('content copy', logger, { unit: 'bytes' });
      const result = await copyContent(resolve(src), resolve(dst), {
        signal: controller.signal,
        checkExisting: options.verifyExisting ? 'digest' : 'quick',
        onProgress: (p) => progress.update(p.bytesDone, p.bytesTotal, { files: p.filesDone, filesTotal: p.filesTotal }),
      });
      progress.stop();
      // When the destination is a server's data directory, its database learns what arrived.
      const dstData = resolve(dst);
      let found: number | undefined;
      if (context.config.database || existsSync(join(dstData, SQLITE_FILE_NAME))) {
        const destination = { ...context, config: { ...context.config, data: dstData } };
        found = await withStore(destination, async (store) => (await reconcileContent(store, ContentStore.inDataDir(dstData))).found);
      }
      const summary = { filesRecordedPresent: found, copied: result.copied, skipped: result.skipped, corrupt: result.corrupt, bytes: result.bytes, corruptFiles: result.corruptFiles.map((c) => ({ path: c.relPath, error: c.error.message })) };
      if (options.json) printJson(summary);
      else {
        process.stdout.write(`copied ${result.copied} files (${result.bytes} bytes), ${result.skipped} already present, ${result.corrupt} corrupt in the source${found === undefined ? "" : `; ${found} more files recorded present in the destination database`}\n`);
        for (const c of summary.corruptFiles) process.stdout.write(`  corrupt: ${c.path}: ${c.error}\n`);
      }
      if (result.corrupt > 0) process.exitCode = 1;
    });

  content
    .command('status')
    .description('the download queue: files queued, downloading, present and failed, with the failures')
    .option('--json', 'print as JSON')
    .option('--limit <n>', 'how many failures to list', '20')
    .action(async (options: { json?: boolean; limit: string }, command: Command) => {
      const limit = integerFlag('--limit', options.limit, 0);
      const status = await withStore(commandContext(command), async (store) => {
        const counts = await store.contentQueue.counts();
        const failures = limit === 0 ? [] : await store.contentQueue.list('failed', limit);
        const files = new Map((await store.files.getMany(failures.map((f) => f.sha1))).map((f) => [f.sha1, f]));
        return {
          counts,
          failures: failures.map((f) => ({ sha1: f.sha1, fileName: files.get(f.sha1)?.fileName, attempts: f.attempts, error: f.lastError, nextAttemptAt: f.nextAttemptAt })),
        };
      });
      if (options.json || command.optsWithGlobals<{ json?: boolean }>().json) {
        printJson(status);
        return;
      }
      const c = status.counts;
      process.stdout.write(`content: ${c.queued} queued, ${c.downloading} downloading, ${c.present} present, ${c.failed} failed\n`);
      for (const f of status.failures) {
        process.stdout.write(`  failed ${f.attempts}x: ${f.fileName ?? f.sha1}: ${f.error ?? ''} (next try ${f.nextAttemptAt})\n`);
      }
    });

  content
    .command('download')
    .description('download the queued files now (failed ones again too), and wait until the queue is worked off')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { ContentStore } = await import('../../content/index.ts');
      const { ContentDownloader, reconcileContentQueue } = await import('../../sync/content-downloader.ts');
      const controller = new AbortController();
      const abort = (): void => controller.abort();
      process.once('SIGINT', abort);
      const progress = createProgress('content download', context.logger, { unit: 'files' });
      try {
        const result = await withStore(context, async (store) => {
          const reconciled = await reconcileContentQueue(store);
          await store.contentQueue.dueNow();
          const start = await store.contentQueue.counts();
          const total = start.queued + start.downloading + start.failed;
          const done = { present: 0, failed: 0, bytes: 0 };
          const downloader = new ContentDownloader({
            store,
            content: ContentStore.inDataDir(context.config.data),
            logger: context.logger,
            onProgress: (p) => progress.update(done.present + done.failed + p.present + p.failed, total, { bytes: done.bytes + p.bytes }),
          });
          // Until nothing waits: files a lazy upstream is still fetching, or another process holds,
          // come due later; each failure is tried once per run.
          for (;;) {
            const pass = await downloader.runOnce({ signal: controller.signal });
            done.present += pass.present;
            done.failed += pass.failed;
            done.bytes += pass.bytes;
            const now = await store.contentQueue.counts();
            if (controller.signal.aborted || now.queued + now.downloading === 0) return { ...reconciled, ...done, queue: now };
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
        });
        progress.stop();
        if (options.json) {
          printJson(result);
        } else {
          const q = result.queue;
          process.stdout.write(
            `downloaded ${result.present} files (${result.bytes} bytes), ${result.failed} failed; ` +
              `queue: ${q.queued} queued, ${q.downloading} downloading, ${q.present} present, ${q.failed} failed\n`,
          );
        }
        if (result.queue.failed > 0) process.exitCode = 1;
      } finally {
        progress.stop();
        process.removeListener('SIGINT', abort);
      }
    });
}

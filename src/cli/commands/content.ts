import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, commandContext, printJson } from '../context.ts';
import { SQLITE_FILE_NAME, withStore } from '../store.ts';
import { createProgress } from '../progress.ts';

export function registerContent(program: Command): void {
  const content = program.command('content').description('content files in the WSUS layout (<data>/content/XX/SHA1.ext)');
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
}

import type { Command } from 'commander';
import { resolve } from 'node:path';
import { commandContext, printJson } from '../context.ts';
import { withStore } from '../store.ts';
import { createProgress } from '../progress.ts';

export function registerTransfer(program: Command): void {
  program
    .command('export')
    .description('write the catalog metadata to one compressed, checksummed file (like wsusutil export)')
    .argument('<file>', 'export file to write')
    .option('--approvals', 'also export computer groups and approvals')
    .option('--json', 'print the manifest as JSON')
    .action(async (file: string, options: { approvals?: boolean; json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { exportCatalog } = await import('../../transfer/export-job.ts');
      const manifest = await withStore(context, async (store) => {
        const progress = createProgress('export', context.logger, { unit: 'revisions' });
        const result = await exportCatalog(store, resolve(file), { approvals: options.approvals ?? false, onProgress: (d, t) => progress.update(d, t) });
        progress.stop(result.counts);
        return result;
      });
      if (options.json) printJson(manifest);
      else process.stdout.write(`exported ${Object.entries(manifest.counts).map(([k, v]) => `${v} ${k}`).join(', ')} to ${file}\n`);
    });
  program
    .command('import')
    .description('load an export file in one transaction (like wsusutil import); a corrupt file changes nothing')
    .argument('<file>', 'export file to read')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { importCatalogFile } = await import('../../transfer/import-job.ts');
      const { reconcileContent } = await import('../../transfer/content-state.ts');
      const { ContentStore } = await import('../../content/index.ts');
      const summary = await withStore(context, async (store) => {
        const progress = createProgress('import', context.logger, { unit: 'revisions' });
        const result = await importCatalogFile(store, resolve(file), { onProgress: (n) => progress.update(n) });
        progress.stop({ ...result });
        // Content travels separately (`content copy`); count what is already on disk as present.
        const content = await reconcileContent(store, ContentStore.inDataDir(context.config.data));
        return { ...result, contentFilesFound: content.found };
      });
      if (options.json) printJson(summary);
      else {
        process.stdout.write(
          `imported ${summary.revisions} revisions (${summary.inserted} new, ${summary.replaced} replaced, ${summary.unchanged} unchanged), ` +
            `${summary.languages} languages, ${summary.groups} groups, ${summary.approvals} approvals, ${summary.declines} declines; ` +
            `${summary.contentFilesFound} content files found on disk\n`,
        );
      }
    });
}

// `openwsus updates import DOC.xml|BLOB.cab… [--files DIR]`: add an update from the Microsoft
// Update Catalog (or any update document) with its prerequisites and files, as a sync would.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CliError, commandContext, printJson } from '../context.ts';
import { withStore } from '../store.ts';

export function registerUpdateImport(updates: Command): void {
  updates
    .command('import')
    .description('add updates from their documents (XML, or the update-blob cabinet), prerequisites included, with their files')
    .argument('<documents...>', 'update documents: the update and any prerequisites it needs that the catalog lacks')
    .option('--files <dir>', 'directory holding the files the documents list (by file name or by SHA-1), digest-checked and published')
    .option('--json', 'print the result as JSON')
    .action(async (documents: string[], options: { files?: string; json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { ContentStore } = await import('../../content/index.ts');
      const { importUpdates, UpdateImportError } = await import('../../transfer/update-import.ts');
      let report;
      try {
        report = await withStore(context, (store) =>
          importUpdates(store, ContentStore.inDataDir(context.config.data), documents.map((d) => resolve(d)), {
            ...(options.files !== undefined && { filesDir: resolve(options.files) }),
          }),
        );
      } catch (error) {
        if (error instanceof UpdateImportError) throw new CliError(error.message);
        throw error;
      }
      if (options.json) {
        printJson(report);
        return;
      }
      for (const u of report.updates) process.stdout.write(`imported ${u.updateId} rev ${u.revisionNumber} ("${u.title}"), ${u.files} file(s)\n`);
      process.stdout.write(`${report.stored} revision(s) new or changed; ${report.filesPublished} file(s) published`);
      process.stdout.write(report.filesAbsent.length > 0 ? `; not in --files (downloaded later): ${report.filesAbsent.join(', ')}\n` : '\n');
    });
}

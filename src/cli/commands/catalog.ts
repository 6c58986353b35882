import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CatalogStats } from '../../domain/catalog-records.ts';
import { commandContext, integerFlag, printJson } from '../context.ts';
import { withStore } from '../store.ts';

/** The generator's fixed part: categories and detectoids (src/catalog/plan.ts MIN_UPDATES). */
export const MIN_UPDATES = 67;
import { createProgress } from '../progress.ts';

function describeStats(s: CatalogStats): string {
  const lines = [
    `revisions: ${s.revisions} stored, ${s.latestRevisions} latest, ${s.expired} expired`,
    `by type (latest): ${Object.entries(s.revisionsByType).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `categories: ${Object.entries(s.categories.byType).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `files: ${Object.entries(s.files).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `languages: ${s.languages.filter((l) => l.enabled).map((l) => l.shortName).join(', ') || 'none'} enabled of ${s.languages.length}`,
  ];
  return lines.join('\n') + '\n';
}

export function registerCatalog(program: Command): void {
  const catalog = program.command('catalog').description('sample catalogs and catalog statistics');
  catalog
    .command('generate')
    .description('write an export file shaped like Microsoft Update (deterministic for a seed)')
    .requiredOption('--updates <n>', `number of update revisions, categories and detectoids included (at least ${MIN_UPDATES})`)
    .requiredOption('--out <file>', 'export file to write')
    .option('--seed <seed>', 'seed: the same seed gives the same catalog', '1')
    .option('--content <dir>', 'also write the payload files there, in the WSUS layout (e.g. <data>/content)')
    .option('--languages <list>', 'comma-separated languages of localized properties (en is always there)')
    .action(async (options: { updates: string; out: string; seed: string; content?: string; languages?: string }, command: Command) => {
      const { logger } = commandContext(command);
      const updates = integerFlag('--updates', options.updates, MIN_UPDATES);
      const { writeGeneratedCatalog } = await import('../../catalog/export.ts');
      const progress = createProgress('catalog generate', logger, { total: updates, unit: 'revisions' });
      const result = await writeGeneratedCatalog(
        {
          updates,
          seed: options.seed,
          ...(options.languages ? { languages: options.languages.split(',').map((l) => l.trim()).filter(Boolean) } : {}),
        },
        resolve(options.out),
        { ...(options.content ? { contentDir: resolve(options.content) } : {}), onProgress: (done, total) => progress.update(done, total) },
      );
      progress.stop();
      process.stdout.write(
        `wrote ${result.documents} revisions to ${options.out}` +
          (options.content ? `, ${result.files} files (${result.bytes} bytes) to ${options.content}` : '') +
          '\n',
      );
    });
  catalog
    .command('stats')
    .description('counts of revisions by type, categories, files present and absent, languages')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const stats = await withStore(commandContext(command), (store) => store.catalog.stats());
      if (options.json) printJson(stats);
      else process.stdout.write(describeStats(stats));
    });
}

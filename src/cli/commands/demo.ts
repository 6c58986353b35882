import type { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBootConfig } from '../../app/config.ts';
import { integerFlag } from '../context.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start a server holding a generated sample catalog (data in ./demo-data unless --data is given)')
    .option('--updates <n>', 'size of the sample catalog', '3000')
    .option('--port <port>', 'HTTP port', '8530')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (options: { updates: string; port: string; host: string }, command: Command) => {
      const flags = command.optsWithGlobals<{ data?: string; database?: string; config?: string }>();
      const config = loadBootConfig({
        configFile: flags.config,
        flags: { data: flags.data ?? './demo-data', database: flags.database, host: options.host, port: integerFlag('--port', options.port) },
      });
      const { createLogger } = await import('../../app/log.ts');
      const { startServer } = await import('../../app/server.ts');
      const { writeGeneratedCatalog } = await import('../../catalog/export.ts');
      const { importCatalogFile } = await import('../../transfer/import-job.ts');
      const { reconcileContent } = await import('../../transfer/content-state.ts');
      const { ContentStore } = await import('../../content/index.ts');
      const say = (line: string): void => void process.stderr.write(`${line}\n`);

      mkdirSync(config.data, { recursive: true });
      const catalogFile = join(config.data, `sample-${options.updates}.owx`);
      if (!existsSync(catalogFile)) {
        say(`generating a sample catalog of ${options.updates} revisions with its content…`);
        await writeGeneratedCatalog({ updates: integerFlag('--updates', options.updates, 67), seed: 'demo' }, catalogFile, {
          contentDir: join(config.data, 'content'),
        });
      }
      const logger = createLogger(config.logLevel, 1);
      const server = await startServer(config, logger);
      const imported = await importCatalogFile(server.store, catalogFile);
      await reconcileContent(server.store, ContentStore.inDataDir(config.data));
      const stats = await server.store.catalog.stats();
      const url = server.listeners[0]!.url;
      say(
        [
          '',
          `openwsus demo is serving ${stats.revisions} revisions (${imported.inserted} new) from ${resolve(config.data)}`,
          `  health:  ${url}/health`,
          `  stats:   npx openwsus --data ${config.data} catalog stats`,
          '  stop:    Ctrl-C',
          '',
        ].join('\n'),
      );
      const stop = async (): Promise<void> => {
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}

import type { Command } from 'commander';
import { loadBootConfig } from '../../app/config.ts';
import { integerFlag } from '../context.ts';

interface ServeFlags {
  data?: string;
  database?: string;
  config?: string;
  logLevel?: string;
  host?: string;
  port?: string;
  httpsPort?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the server: HTTP on 8530, HTTPS on 8531 when a certificate is configured')
    .option('--host <address>', 'address to listen on (env OPENWSUS_HOST; default 0.0.0.0)')
    .option('--port <port>', 'HTTP port (env OPENWSUS_PORT; default 8530)')
    .option('--https-port <port>', 'HTTPS port (env OPENWSUS_HTTPS_PORT; default 8531)')
    .option('--tls-cert <file>', 'PEM certificate for HTTPS (env OPENWSUS_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key for HTTPS (env OPENWSUS_TLS_KEY)')
    .action(async (_options: unknown, command: Command) => {
      const f = command.optsWithGlobals<ServeFlags>();
      const config = loadBootConfig({
        configFile: f.config,
        flags: {
          data: f.data,
          database: f.database,
          logLevel: f.logLevel,
          host: f.host,
          port: f.port === undefined ? undefined : integerFlag('--port', f.port),
          httpsPort: f.httpsPort === undefined ? undefined : integerFlag('--https-port', f.httpsPort),
          tlsCert: f.tlsCert,
          tlsKey: f.tlsKey,
        },
      });
      const { createLogger } = await import('../../app/log.ts');
      const { startServer } = await import('../../app/server.ts');
      const logger = createLogger(config.logLevel, 1);
      const server = await startServer(config, logger);
      const stop = async (signal: string): Promise<void> => {
        logger.info({ signal }, 'shutting down');
        await server.close();
        logger.flush();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}

// The composition root of a running server: configuration → store → HTTP listeners.
import type { FastifyInstance } from 'fastify';
import { dataPaths, type BootConfig } from './config.ts';
import { createHttpServer, type HealthReport } from './http.ts';
import type { Logger } from './log.ts';
import { VERSION } from './version.ts';
import { openStore, type Store } from '../store/index.ts';
import { ContentStore } from '../content/index.ts';
import { registerContentRoutes } from '../services/content-route.ts';
import { registerUpstreamServices } from '../services/upstream/index.ts';
import { ClientContext, registerClientServices } from '../services/client/index.ts';
import { SyncScheduler } from '../sync/scheduler.ts';
import { synchronize } from '../sync/index.ts';
import { API_PREFIX, createAdministration } from '../admin/index.ts';
import { registerConsole } from '../admin/console/index.ts';
import { RollupSchedule } from '../sync/rollup.ts';
import { CleanupSchedule } from '../maintenance/schedule.ts';
import { ContentDownloader } from '../sync/content-downloader.ts';

/** How long running requests may take to finish at shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningServer {
  readonly store: Store;
  readonly listeners: readonly { readonly url: string; readonly app: FastifyInstance }[];
  close(): Promise<void>;
}

export interface ServerOptions {
  /** The automatic synchronization's clock and how often it re-reads the schedule (tests). */
  readonly schedule?: { readonly now?: () => Date; readonly pollMs?: number };
}

export async function startServer(config: BootConfig, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const store = await openStore({ dataDir: config.data, ...(config.database ? { database: config.database } : {}) });
  const started = Date.now();
  const health = async (): Promise<HealthReport> => {
    const checks: Record<string, string> = {};
    try {
      await store.changes.current();
      checks.database = 'ok';
    } catch (error) {
      checks.database = `failing: ${(error as Error).message}`;
    }
    return {
      status: Object.values(checks).every((c) => c === 'ok') ? 'ok' : 'degraded',
      version: VERSION,
      serverId: store.serverId,
      database: store.dialect,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      checks,
    };
  };

  const content = ContentStore.inDataDir(config.data);
  // One client context for every listener: they share the per-group scan scopes.
  const clients = new ClientContext({ store });
  // The content download queue (started below, once serving): made first, so the API can wake it.
  const downloader = new ContentDownloader({ store, content, logger: logger.child({ component: 'content' }) });
  // The administration API (/api/v1): creates the first administrator on a fresh database.
  const administration = await createAdministration({ store, logger: logger.child({ component: 'admin' }), synchronize, content });
  // An approval, a decline or a setting changed through the API, and the end of a synchronization
  // run here, want their files now rather than at the downloader's next check (content.checkIntervalSeconds).
  administration.sync.subscribe((event) => event.type === 'end' && downloader.wake());
  const routes = async (app: FastifyInstance): Promise<void> => {
    app.addHook('onResponse', async (request, reply) => {
      if (request.method !== 'GET' && reply.statusCode < 300 && request.url.startsWith(API_PREFIX)) downloader.wake();
    });
    registerContentRoutes(app, { content, serverHeader: `openwsus/${VERSION}` });
    await registerUpstreamServices(app, { store });
    await registerClientServices(app, clients);
    await administration.register(app);
    registerConsole(app);
  };
  const listeners: { url: string; app: FastifyInstance }[] = [];
  try {
    const plain = await createHttpServer({ logger, health, routes });
    listeners.push({ url: await plain.listen({ host: config.host, port: config.port }), app: plain });
    if (config.tlsCert && config.tlsKey) {
      const secure = await createHttpServer({ logger, health, routes, tls: { cert: config.tlsCert, key: config.tlsKey } });
      listeners.push({ url: await secure.listen({ host: config.host, port: config.httpsPort }), app: secure });
    } else if (config.tlsCert || config.tlsKey) {
      logger.warn('HTTPS needs both tlsCert and tlsKey; serving HTTP only');
    }
  } catch (error) {
    await Promise.allSettled(listeners.map((l) => l.app.close()));
    await store.close();
    throw error;
  }
  logger.info(
    { urls: listeners.map((l) => l.url), data: config.data, content: dataPaths(config.data).content, database: store.dialect, serverId: store.serverId },
    'openwsus is serving',
  );
  // Automatic synchronization (schedule.mode = automatic); idle in manual mode.
  // Scheduled runs go through the administration's runner: one synchronization at a time, with progress for the console.
  const scheduler = new SyncScheduler({ store, logger: logger.child({ component: 'sync-schedule' }), run: (signal) => administration.sync.run(signal), ...options.schedule });
  scheduler.start();
  // The content download queue: resumes what a previous run left, then follows synchronizations
  // and approvals (also those made by other processes, through the change sequence).
  downloader.start();
  // The daily cleanup (cleanup.enabled, cleanup.time); resumes a run a previous process left unfinished.
  const cleanup = new CleanupSchedule({ store, content, logger: logger.child({ component: 'cleanup' }) });
  cleanup.start();
  // Reporting rollup to the upstream: after each synchronization and every rollup.intervalMinutes.
  const rollups = new RollupSchedule({ store, version: VERSION, logger: logger.child({ component: 'rollup' }) });
  rollups.start();
  return {
    store,
    listeners,
    async close() {
      // Stop taking requests, let the running ones finish, then close the store they use. A
      // keep-alive socket whose request ends during shutdown would stay open for its keep-alive
      // timeout, so sockets are closed as they go idle; stragglers are cut after the grace.
      const started = Date.now();
      const sweep = setInterval(() => {
        const late = Date.now() - started > SHUTDOWN_GRACE_MS;
        for (const l of listeners) late ? l.app.server.closeAllConnections() : l.app.server.closeIdleConnections();
      }, 100);
      await Promise.allSettled([...listeners.map((l) => l.app.close()), scheduler.stop(), downloader.stop(), administration.close(), cleanup.stop(), rollups.stop()]);
      clearInterval(sweep);
      await store.close();
    },
  };
}

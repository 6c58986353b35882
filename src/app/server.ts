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

/** How long running requests may take to finish at shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningServer {
  readonly store: Store;
  readonly listeners: readonly { readonly url: string; readonly app: FastifyInstance }[];
  close(): Promise<void>;
}

export async function startServer(config: BootConfig, logger: Logger): Promise<RunningServer> {
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
  const routes = async (app: FastifyInstance): Promise<void> => {
    registerContentRoutes(app, { content, serverHeader: `openwsus/${VERSION}` });
    await registerUpstreamServices(app, { store });
    await registerClientServices(app, clients);
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
      await Promise.allSettled(listeners.map((l) => l.app.close()));
      clearInterval(sweep);
      await store.close();
    },
  };
}

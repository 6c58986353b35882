// The HTTP side of a server: one fastify instance per listener (HTTP on 8530, HTTPS on 8531 when
// a certificate is configured), both carrying the same routes.
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './log.ts';
import { VERSION } from './version.ts';

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly version: string;
  readonly serverId: string;
  readonly database: string;
  readonly uptimeSeconds: number;
  readonly checks: Readonly<Record<string, string>>;
}

export interface HttpOptions {
  readonly logger: Logger;
  readonly health: () => Promise<HealthReport>;
  /** Registers the protocol, content and admin routes; called once per listener. */
  readonly routes?: (app: FastifyInstance) => void | Promise<void>;
  readonly tls?: { readonly cert: string; readonly key: string };
  /** SOAP bodies of several MB are normal (GetRevisionIdList with 24,509 ids is 3 MB). */
  readonly bodyLimit?: number;
}

export async function createHttpServer(options: HttpOptions): Promise<FastifyInstance> {
  const common = {
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 32 * 1024 * 1024,
    // At shutdown, idle keep-alive sockets (a downstream's pooled connection) are closed at once;
    // requests still running finish first (server.ts bounds the wait).
    forceCloseConnections: 'idle' as const,
    // IIS paths are case-insensitive and WSUS clients rely on it (WSUS-PROTOCOLS §2.1).
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
  };
  // One route table for both listeners; the TLS one differs only in its server.
  const app = (
    options.tls
      ? Fastify({ ...common, https: { cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) } })
      : Fastify(common)
  ) as unknown as FastifyInstance;
  app.get('/health', async (_request, reply) => {
    const report = await options.health();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).type('application/problem+json').send({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: `no resource at ${request.url}`,
    });
  });
  await options.routes?.(app);
  return app;
}

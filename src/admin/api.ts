// The administration REST API (/api/v1) as a fastify plugin: every route of the table in
// openapi.ts, each authenticated, authorized, validated and answered the same way; every error
// a problem document (RFC 9457); every change written to the audit log by its handler.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Logger } from '../app/log.ts';
import type { Store } from '../store/index.ts';
import type { AccessControl } from './auth.ts';
import { ANSWERED, type HandlerContext } from './context.ts';
import { HANDLERS } from './handlers/index.ts';
import { fastifyPath, ROUTES, type RouteSpec } from './openapi.ts';
import { ApiProblem, fieldErrors, problemBody, sendProblem } from './problem.ts';
import type { MaintenanceRunner } from './maintenance-runner.ts';
import { StartRefused } from './start-refused.ts';
import type { SyncRunner } from './sync-runner.ts';

/** JSON bodies of the API are small; a larger one is refused with 413 before it is read. */
export const API_BODY_LIMIT = 1024 * 1024;

export interface AdminApiOptions {
  readonly store: Store;
  readonly sync: SyncRunner;
  readonly maintenance: MaintenanceRunner;
  readonly access: AccessControl;
  readonly logger?: Logger;
}

function validate(where: 'params' | 'query' | 'body', schema: z.ZodType | undefined, value: unknown): unknown {
  if (schema === undefined) {
    const empty = value === undefined || value === null || (typeof value === 'object' && Object.keys(value as object).length === 0);
    if (!empty) throw new ApiProblem(400, `this request takes no ${where === 'body' ? 'body' : `${where} parameters`}`, { errors: [{ field: where, message: 'not allowed here' }] });
    return where === 'body' ? undefined : {};
  }
  const parsed = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (!parsed.success) {
    const errors = fieldErrors(where, parsed.error);
    throw new ApiProblem(400, `invalid ${where}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
  }
  return parsed.data;
}

/** Fastify's own errors (body too large, bad JSON, wrong content type) as problem documents. */
function problemOf(error: unknown): ApiProblem | undefined {
  if (error instanceof ApiProblem) return error;
  if (error instanceof StartRefused) return new ApiProblem(error.status, error.message);
  const e = error as { statusCode?: number; code?: string; message?: string; name?: string };
  if (e?.name === 'ReplicaChangeRefused') return new ApiProblem(409, e.message ?? 'refused on a replica');
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const detail = e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `the request body is larger than ${API_BODY_LIMIT} bytes` : (e.message ?? 'bad request');
    return new ApiProblem(e.statusCode, detail);
  }
  return undefined;
}

export async function registerAdminApi(app: FastifyInstance, options: AdminApiOptions): Promise<void> {
  const missing = ROUTES.filter((r) => HANDLERS[r.operationId] === undefined).map((r) => r.operationId);
  if (missing.length > 0) throw new Error(`administration routes without a handler: ${missing.join(', ')}`);
  await app.register(async (api) => {
    // JSON only: fastify's built-in text/plain parser would hand a string to every route.
    api.removeContentTypeParser('text/plain');
    api.setErrorHandler((error, request, reply) => {
      const problem = problemOf(error);
      if (problem !== undefined) return sendProblem(reply, problem, request.url);
      request.log.error({ err: error }, 'administration request failed');
      return reply.code(500).type('application/problem+json').send(problemBody(500, 'the server failed to answer; see its log', request.url));
    });
    for (const route of ROUTES) api.route({ method: route.method, url: fastifyPath(route.path), bodyLimit: API_BODY_LIMIT, handler: handlerFor(route, options) });
  });
}

function handlerFor(route: RouteSpec, options: AdminApiOptions) {
  const handler = HANDLERS[route.operationId]!;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const principal = await options.access.authenticate(request);
    options.access.authorize(route.access, principal, request);
    const ctx: HandlerContext = {
      store: options.store,
      sync: options.sync,
      maintenance: options.maintenance,
      access: options.access,
      principal,
      params: validate('params', route.params, request.params),
      query: validate('query', route.query, request.query),
      body: validate('body', route.body, request.body),
      request,
      reply,
      audit: (action, target, detail) =>
        options.store.audit.record({
          actor: principal?.account.name ?? 'anonymous',
          via: principal?.via ?? 'anonymous',
          action,
          ...(target !== undefined && { target }),
          detail: detail ?? null,
        }),
    };
    const result = await handler(ctx);
    if (result === ANSWERED) return reply;
    reply.header('cache-control', 'no-store');
    if ((route.status ?? 200) === 204) return reply.code(204).send();
    return reply.code(route.status ?? 200).send(result);
  };
}


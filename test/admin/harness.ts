// An administration API on a real store, answered in-process with fastify's inject (no socket),
// with one signed-in Administrator session, one Reporter session and an Administrator token.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse, RouteOptions } from 'fastify';
import { createHttpServer } from '../../src/app/http.ts';
import { createLogger } from '../../src/app/log.ts';
import { createAdministration, type Administration } from '../../src/admin/index.ts';
import type { AuthOptions } from '../../src/admin/auth.ts';
import { createAccount, createToken } from '../../src/admin/operations/accounts.ts';
import type { SynchronizeFn } from '../../src/admin/sync-runner.ts';
import type { Store } from '../../src/store/index.ts';
import type { ContentStore } from '../../src/content/index.ts';
import { synchronize } from '../../src/sync/index.ts';

export const ADMIN_PASSWORD = 'correct horse battery staple';
export const REPORTER_PASSWORD = 'reporter password 1';

export interface Caller {
  readonly cookie?: string;
  readonly csrf?: string;
  readonly bearer?: string;
}

export interface ApiHarness {
  readonly app: FastifyInstance;
  readonly administration: Administration;
  readonly admin: Caller;
  readonly reporter: Caller;
  readonly token: Caller;
  readonly anonymous: Caller;
  /** A request as `who`; a session's changes carry its CSRF token unless `csrf: false`. */
  call(who: Caller, method: InjectOptions['method'], url: string, body?: unknown, options?: { csrf?: boolean; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  login(name: string, password: string): Promise<Caller>;
  close(): Promise<void>;
}

export async function apiHarness(
  store: Store,
  options: { auth?: AuthOptions; synchronize?: SynchronizeFn; onRoute?: (route: RouteOptions) => void; content?: ContentStore } = {},
): Promise<ApiHarness> {
  const logger = createLogger('silent');
  const administration = await createAdministration({
    store,
    logger,
    synchronize: options.synchronize ?? synchronize,
    ...(options.content !== undefined && { content: options.content }),
    env: { OPENWSUS_ADMIN_PASSWORD: ADMIN_PASSWORD },
    auth: { failureDelayMs: 0, ...options.auth },
  });
  const app = await createHttpServer({
    logger,
    health: async () => ({ status: 'ok', version: 'test', serverId: store.serverId, database: store.dialect, uptimeSeconds: 0, checks: {} }),
    routes: (a) => {
      if (options.onRoute !== undefined) a.addHook('onRoute', options.onRoute);
      return administration.register(a);
    },
  });
  await app.ready();
  const call: ApiHarness['call'] = (who, method, url, body, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (who.cookie !== undefined) headers.cookie = who.cookie;
    if (who.bearer !== undefined) headers.authorization = `Bearer ${who.bearer}`;
    if (who.csrf !== undefined && opts.csrf !== false && method !== 'GET') headers['x-csrf-token'] = who.csrf;
    return app.inject({ method, url, headers, ...(body !== undefined && { payload: body as object }) });
  };
  const login = async (name: string, password: string): Promise<Caller> => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { name, password } });
    if (res.statusCode !== 201) throw new Error(`login ${name}: ${res.statusCode} ${res.body}`);
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
    return { cookie, csrf: res.json().csrfToken };
  };
  await createAccount(store, { name: 'reporter', role: 'Reporters', password: REPORTER_PASSWORD });
  const token = await createToken(store, { name: 'tests', account: 'admin', createdBy: 'tests' });
  return {
    app,
    administration,
    admin: await login('admin', ADMIN_PASSWORD),
    reporter: await login('reporter', REPORTER_PASSWORD),
    token: { bearer: token.token },
    anonymous: {},
    call,
    login,
    close: async () => {
      await administration.close();
      await app.close();
    },
  };
}

/** What the database holds that any change would touch: compared before and after refused calls. */
export async function snapshot(store: Store): Promise<string> {
  const [settings, groups, approvals, declines, computers, accounts, tokens, audit, rules, tasks] = await Promise.all([
    store.settings.all(),
    store.groups.list(),
    store.approvals.listUpdates({ approved: true, limit: 500 }),
    store.declines.list(),
    store.computers.list(),
    store.accounts.list(),
    store.accounts.listTokens(),
    store.audit.list({ limit: 500 }),
    store.approvalRules.list(),
    store.tasks.list({ all: true }),
  ]);
  // Sign-in times and token use move on reads; they are not changes.
  const stable = {
    settings,
    groups,
    approvals,
    declines,
    computers: computers.map((c) => ({ id: c.id, groups: c.groupIds })),
    accounts: accounts.map(({ lastLoginAt: _l, ...a }) => a),
    tokens: tokens.map(({ lastUsedAt: _u, ...t }) => t),
    audit: audit.filter((e) => e.action !== 'session.login'),
    rules,
    tasks,
  };
  return JSON.stringify(stable);
}

// The administration API's route table and the OpenAPI 3.1 document made from it. The plugin
// (api.ts) registers exactly these routes, each with the handler of its operationId, so the
// document served at /api/v1/openapi.json and the routes fastify answers are one list.
import { z } from 'zod';
import { VERSION } from '../app/version.ts';
import * as M from './maintenance-schemas.ts';
import * as S from './schemas.ts';

export const API_PREFIX = '/api/v1';

/** Who may call a route: anyone, any signed-in account (Reporters read), or Administrators. */
export type Access = 'public' | 'reader' | 'admin';
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteSpec {
  readonly operationId: string;
  readonly method: Method;
  /** Under API_PREFIX, OpenAPI style: `/updates/{updateId}`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: Access;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Success status and what it carries: a schema name, `csv`/`events` streams, or nothing (204). */
  readonly status?: 200 | 201 | 202 | 204;
  readonly response?: S.ResponseName | 'OpenApi';
  /** Also answers text/csv when `format=csv`. */
  readonly csv?: boolean;
  /** Answers text/event-stream. */
  readonly events?: boolean;
}

const r = (spec: RouteSpec): RouteSpec => spec;

export const ROUTES: readonly RouteSpec[] = [
  // ---- access ----
  r({ operationId: 'getOpenApi', method: 'GET', path: '/openapi.json', summary: 'This document', tag: 'meta', access: 'public', response: 'OpenApi' }),
  r({ operationId: 'login', method: 'POST', path: '/session', summary: 'Sign in: sets the session cookie and answers the CSRF token', tag: 'access', access: 'public', body: S.LoginBody, response: 'Session', status: 201 }),
  r({ operationId: 'getSession', method: 'GET', path: '/session', summary: 'Who is signed in (session or token)', tag: 'access', access: 'reader', response: 'Session' }),
  r({ operationId: 'logout', method: 'DELETE', path: '/session', summary: 'Sign out: ends the session', tag: 'access', access: 'reader', status: 204 }),
  r({ operationId: 'changeOwnPassword', method: 'POST', path: '/session/password', summary: 'Change the signed-in account\'s password (other sessions end)', tag: 'access', access: 'reader', body: S.PasswordChangeBody, status: 204 }),
  r({ operationId: 'listAccounts', method: 'GET', path: '/accounts', summary: 'Local accounts', tag: 'access', access: 'admin', response: 'AccountList' }),
  r({ operationId: 'createAccount', method: 'POST', path: '/accounts', summary: 'Create an account', tag: 'access', access: 'admin', body: S.AccountCreateBody, response: 'Account', status: 201 }),
  r({ operationId: 'getAccount', method: 'GET', path: '/accounts/{name}', summary: 'One account', tag: 'access', access: 'admin', params: S.AccountParams, response: 'Account' }),
  r({ operationId: 'changeAccount', method: 'PATCH', path: '/accounts/{name}', summary: 'Change role, password or disable an account', tag: 'access', access: 'admin', params: S.AccountParams, body: S.AccountChangeBody, response: 'Account' }),
  r({ operationId: 'deleteAccount', method: 'DELETE', path: '/accounts/{name}', summary: 'Delete an account (not the last administrator); its sessions and tokens end', tag: 'access', access: 'admin', params: S.AccountParams, status: 204 }),
  r({ operationId: 'listTokens', method: 'GET', path: '/tokens', summary: 'API tokens (never their secret)', tag: 'access', access: 'admin', response: 'ApiTokenList' }),
  r({ operationId: 'createToken', method: 'POST', path: '/tokens', summary: 'Create an API token: the answer shows it once', tag: 'access', access: 'admin', body: S.TokenCreateBody, response: 'CreatedToken', status: 201 }),
  r({ operationId: 'revokeToken', method: 'DELETE', path: '/tokens/{tokenId}', summary: 'Revoke an API token', tag: 'access', access: 'admin', params: S.TokenParams, status: 204 }),
  r({ operationId: 'listAudit', method: 'GET', path: '/audit', summary: 'Audit log of changes, newest first', tag: 'access', access: 'admin', query: S.AuditQuery, response: 'AuditPage' }),

  // ---- overview ----
  r({ operationId: 'getServer', method: 'GET', path: '/server', summary: 'This server: version, id, database, replica or not', tag: 'overview', access: 'reader', response: 'ServerInfo' }),
  r({ operationId: 'getOverview', method: 'GET', path: '/overview', summary: 'Sync status, counts, computer status, warnings', tag: 'overview', access: 'reader', response: 'Overview' }),
  r({ operationId: 'listTasks', method: 'GET', path: '/tasks', summary: 'Things to look at (open ones unless all=true)', tag: 'overview', access: 'reader', query: S.TaskListQuery, response: 'TaskList' }),
  r({ operationId: 'resolveTask', method: 'POST', path: '/tasks/{taskId}/resolve', summary: 'Mark a task resolved', tag: 'overview', access: 'admin', params: S.TaskParams, response: 'Task' }),
  r({ operationId: 'listWarnings', method: 'GET', path: '/warnings', summary: 'Configuration warnings (language mismatch, bad stored settings, failed sync, open tasks)', tag: 'overview', access: 'reader', response: 'WarningList' }),

  // ---- options ----
  r({ operationId: 'listSettings', method: 'GET', path: '/settings', summary: 'Every setting with its metadata; secrets never shown', tag: 'options', access: 'reader', response: 'SettingList' }),
  r({ operationId: 'patchSettings', method: 'PATCH', path: '/settings', summary: 'Change several settings at once (all or nothing)', tag: 'options', access: 'admin', body: S.SettingsPatchBody, response: 'SettingList' }),
  r({ operationId: 'getSetting', method: 'GET', path: '/settings/{key}', summary: 'One setting', tag: 'options', access: 'reader', params: S.KeyParams, response: 'Setting' }),
  r({ operationId: 'putSetting', method: 'PUT', path: '/settings/{key}', summary: 'Set one setting', tag: 'options', access: 'admin', params: S.KeyParams, body: S.SettingValueBody, response: 'Setting' }),
  r({ operationId: 'deleteSetting', method: 'DELETE', path: '/settings/{key}', summary: 'Forget a setting: its default applies again', tag: 'options', access: 'admin', params: S.KeyParams, response: 'Setting' }),
  r({ operationId: 'getCategories', method: 'GET', path: '/categories', summary: 'Product tree and classifications with the selection', tag: 'options', access: 'reader', response: 'CategoryTree' }),
  r({ operationId: 'putCategorySelection', method: 'PUT', path: '/categories/selection', summary: 'Select products (a parent takes its children) and classifications', tag: 'options', access: 'admin', body: S.SelectionBody, response: 'CategoryTree' }),
  r({ operationId: 'listLanguages', method: 'GET', path: '/languages', summary: 'Languages the upstream offers and the selection', tag: 'options', access: 'reader', response: 'LanguageList' }),
  r({ operationId: 'getSchedule', method: 'GET', path: '/schedule', summary: 'Synchronization schedule and the next automatic run', tag: 'options', access: 'reader', response: 'Schedule' }),

  // ---- synchronizations ----
  r({ operationId: 'getSyncStatus', method: 'GET', path: '/sync', summary: 'Whether a synchronization runs, its progress, the last run', tag: 'synchronizations', access: 'reader', response: 'SyncStatus' }),
  r({ operationId: 'startSync', method: 'POST', path: '/sync', summary: 'Synchronize now (409 while one runs)', tag: 'synchronizations', access: 'admin', body: S.SyncStartBody, response: 'SyncStatus', status: 202 }),
  r({ operationId: 'cancelSync', method: 'DELETE', path: '/sync', summary: 'Stop the running synchronization', tag: 'synchronizations', access: 'admin', status: 204 }),
  r({ operationId: 'syncEvents', method: 'GET', path: '/sync/events', summary: 'Live progress as server-sent events (state, progress, end)', tag: 'synchronizations', access: 'reader', events: true }),
  r({ operationId: 'listSyncRuns', method: 'GET', path: '/sync/runs', summary: 'Synchronization history, newest first', tag: 'synchronizations', access: 'reader', query: S.RunListQuery, response: 'SyncRunPage' }),
  r({ operationId: 'getSyncRun', method: 'GET', path: '/sync/runs/{runId}', summary: 'One synchronization run', tag: 'synchronizations', access: 'reader', params: S.RunParams, response: 'SyncRun' }),

  // ---- maintenance (cleanup, content verification) ----
  r({ operationId: 'getCleanupStatus', method: 'GET', path: '/cleanup', summary: 'Whether a cleanup runs, its per-step counts, the recorded runs', tag: 'maintenance', access: 'reader', query: M.CleanupStatusQuery, response: 'CleanupStatus' }),
  r({ operationId: 'startCleanup', method: 'POST', path: '/cleanup', summary: 'Clean up now (resumes an unfinished run; 409 while one runs; a replica leaves declines to its upstream)', tag: 'maintenance', access: 'admin', body: M.CleanupStartBody, response: 'CleanupStatus', status: 202 }),
  r({ operationId: 'cancelCleanup', method: 'DELETE', path: '/cleanup', summary: 'Stop the running cleanup (the next run resumes it)', tag: 'maintenance', access: 'admin', status: 204 }),
  r({ operationId: 'getContentVerifyStatus', method: 'GET', path: '/content/verify', summary: 'Whether a content verification runs, its progress, the last report', tag: 'maintenance', access: 'reader', response: 'ContentVerifyStatus' }),
  r({ operationId: 'startContentVerify', method: 'POST', path: '/content/verify', summary: 'Re-hash the content directory now (fix: re-queue missing and corrupt files)', tag: 'maintenance', access: 'admin', body: M.ContentVerifyBody, response: 'ContentVerifyStatus', status: 202 }),
  r({ operationId: 'cancelContentVerify', method: 'DELETE', path: '/content/verify', summary: 'Stop the running content verification (the next one resumes it)', tag: 'maintenance', access: 'admin', status: 204 }),

  // ---- updates ----
  r({ operationId: 'listUpdates', method: 'GET', path: '/updates', summary: 'Updates (newest revision each), filtered, a page at a time', tag: 'updates', access: 'reader', query: S.UpdateListQuery, response: 'UpdatePage' }),
  r({ operationId: 'getUpdate', method: 'GET', path: '/updates/{updateId}', summary: 'One update: revisions, files, supersedence, approvals, status counts', tag: 'updates', access: 'reader', params: S.UpdateParams, response: 'UpdateDetails' }),
  r({ operationId: 'getUpdateStatus', method: 'GET', path: '/updates/{updateId}/status', summary: 'How each computer stands on an update', tag: 'updates', access: 'reader', params: S.UpdateParams, response: 'UpdateStatus' }),
  r({ operationId: 'approveUpdates', method: 'POST', path: '/updates/approve', summary: 'Approve updates for a group (action, optional deadline)', tag: 'updates', access: 'admin', body: S.ApproveBody, response: 'BulkResult' }),
  r({ operationId: 'unapproveUpdates', method: 'POST', path: '/updates/unapprove', summary: 'Take back approvals for a group', tag: 'updates', access: 'admin', body: S.UnapproveBody, response: 'BulkResult' }),
  r({ operationId: 'reinstateUpdates', method: 'POST', path: '/updates/reinstate', summary: 'Take declines back: the updates are offered again, not approved', tag: 'updates', access: 'admin', body: S.DeclineBody, response: 'BulkResult' }),
  r({ operationId: 'declineUpdates', method: 'POST', path: '/updates/decline', summary: 'Decline updates', tag: 'updates', access: 'admin', body: S.DeclineBody, response: 'BulkResult' }),

  // ---- computers ----
  r({ operationId: 'listGroups', method: 'GET', path: '/groups', summary: 'Computer groups, depth first, with computer counts', tag: 'computers', access: 'reader', response: 'GroupList' }),
  r({ operationId: 'createGroup', method: 'POST', path: '/groups', summary: 'Create a group (under All Computers unless parentId)', tag: 'computers', access: 'admin', body: S.GroupCreateBody, response: 'Group', status: 201 }),
  r({ operationId: 'getGroup', method: 'GET', path: '/groups/{groupId}', summary: 'One group', tag: 'computers', access: 'reader', params: S.GroupParams, response: 'Group' }),
  r({ operationId: 'deleteGroup', method: 'DELETE', path: '/groups/{groupId}', summary: 'Delete an empty group; its approvals go with it', tag: 'computers', access: 'admin', params: S.GroupParams, status: 204 }),
  r({ operationId: 'listComputers', method: 'GET', path: '/computers', summary: 'Computers, a page at a time', tag: 'computers', access: 'reader', query: S.ComputerListQuery, response: 'ComputerPage' }),
  r({ operationId: 'getComputer', method: 'GET', path: '/computers/{computerId}', summary: 'One computer: inventory, status per update, recent events', tag: 'computers', access: 'reader', params: S.ComputerParams, response: 'ComputerDetails' }),
  r({ operationId: 'deleteComputer', method: 'DELETE', path: '/computers/{computerId}', summary: 'Forget a computer with its statuses and events (allowed on a replica: computers are local)', tag: 'computers', access: 'admin', params: S.ComputerParams, status: 204 }),
  r({ operationId: 'moveComputer', method: 'PUT', path: '/computers/{computerId}/group', summary: 'Put a computer in a group (server-side targeting)', tag: 'computers', access: 'admin', params: S.ComputerParams, body: S.ComputerMoveBody, response: 'Computer' }),

  // ---- downstream servers ----
  r({ operationId: 'listDownstreamServers', method: 'GET', path: '/downstream-servers', summary: 'Downstream servers that synchronize from this one', tag: 'downstream', access: 'reader', response: 'DownstreamList' }),
  r({ operationId: 'getDownstreamServer', method: 'GET', path: '/downstream-servers/{serverId}', summary: 'One downstream server', tag: 'downstream', access: 'reader', params: S.ServerParams, response: 'DownstreamServer' }),
  r({ operationId: 'listDownstreamComputers', method: 'GET', path: '/downstream-servers/{serverId}/computers', summary: 'Computers a downstream server rolled up', tag: 'downstream', access: 'reader', params: S.ServerParams, query: S.PageQuery, response: 'RolledUpComputerPage' }),
  r({ operationId: 'resetRollup', method: 'POST', path: '/downstream-servers/rollup-reset', summary: 'New rollup reset id: every downstream server sends all its computers and status in full at its next rollup', tag: 'downstream', access: 'admin', response: 'RollupReset' }),

  // ---- automatic approval rules ----
  r({ operationId: 'listRules', method: 'GET', path: '/approval-rules', summary: 'Automatic approval rules', tag: 'rules', access: 'reader', response: 'RuleList' }),
  r({ operationId: 'createRule', method: 'POST', path: '/approval-rules', summary: 'Create an automatic approval rule', tag: 'rules', access: 'admin', body: S.RuleCreateBody, response: 'Rule', status: 201 }),
  r({ operationId: 'changeRule', method: 'PATCH', path: '/approval-rules/{ruleId}', summary: 'Enable or disable an automatic approval rule', tag: 'rules', access: 'admin', params: S.RuleParams, body: S.RuleChangeBody, response: 'Rule' }),
  r({ operationId: 'runRule', method: 'POST', path: '/approval-rules/{ruleId}/run', summary: 'Apply a rule to the updates already in the catalog now', tag: 'rules', access: 'admin', params: S.RuleParams, response: 'RuleRunResult' }),
  r({ operationId: 'deleteRule', method: 'DELETE', path: '/approval-rules/{ruleId}', summary: 'Delete an automatic approval rule', tag: 'rules', access: 'admin', params: S.RuleParams, status: 204 }),

  // ---- reports ----
  r({ operationId: 'reportUpdates', method: 'GET', path: '/reports/updates', summary: 'Status summary per update (JSON or CSV)', tag: 'reports', access: 'reader', query: S.ReportQuery, response: 'ReportPage', csv: true }),
  r({ operationId: 'reportGroups', method: 'GET', path: '/reports/groups', summary: 'Status summary per computer group (JSON or CSV)', tag: 'reports', access: 'reader', query: S.ReportAllQuery, response: 'ReportList', csv: true }),
  r({ operationId: 'reportComputers', method: 'GET', path: '/reports/computers', summary: 'Status summary per computer (JSON or CSV)', tag: 'reports', access: 'reader', query: S.ReportQuery, response: 'ReportPage', csv: true }),
];

/** `/updates/{updateId}` → `/updates/:updateId` (fastify's form). */
export function fastifyPath(path: string): string {
  return API_PREFIX + path.replace(/\{(\w+)\}/g, ':$1');
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

function responses(route: RouteSpec): Record<string, unknown> {
  const status = String(route.status ?? 200);
  const out: Record<string, unknown> = {};
  if (route.events) {
    out[status] = { description: 'server-sent events: `state` (SyncStatus) first, then `progress` (SyncProgress), `end` (SyncStatus) last', content: { 'text/event-stream': { schema: { type: 'string' } } } };
  } else if (route.response === 'OpenApi') {
    out[status] = { description: 'an OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } };
  } else if (route.response !== undefined) {
    const content: Record<string, unknown> = { 'application/json': { schema: { $ref: `#/components/schemas/${route.response}` } } };
    if (route.csv) content['text/csv'] = { schema: { type: 'string' } };
    out[status] = { description: 'OK', content };
  } else {
    out[status] = { description: 'done' };
  }
  const problem = (description: string) => ({ description, content: PROBLEM });
  if (route.params || route.query || route.body) out['400'] = problem('invalid input: `errors` names each field');
  if (route.access !== 'public') out['401'] = problem('no valid session or token');
  if (route.access === 'admin') out['403'] = problem('the account is not an Administrator, or a CSRF token is missing');
  if (route.params) out['404'] = problem('no such resource');
  if (route.method !== 'GET') out['409'] = problem('refused in the current state (a replica\'s own change, a synchronization running, a name taken)');
  if (route.body) out['413'] = problem('request body too large');
  if (route.operationId === 'login') out['429'] = problem('too many failed sign-ins: wait `Retry-After` seconds');
  return out;
}

function parameters(route: RouteSpec): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (schema === undefined) continue;
    const js = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, s] of Object.entries(js.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name) ? true : false, schema: s });
    }
  }
  return out;
}

let cached: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document of ROUTES. */
export function openApiDocument(): Record<string, unknown> {
  if (cached !== undefined) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      security: route.access === 'public' ? [] : [{ session: [] }, { bearer: [] }],
      'x-access': route.access,
      responses: responses(route),
    };
    const params = parameters(route);
    if (params.length > 0) operation.parameters = params;
    if (route.body !== undefined) operation.requestBody = { required: !route.body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchema(route.body) } } };
    (paths[API_PREFIX + route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  const schemas = Object.fromEntries(Object.entries(S.RESPONSE_SCHEMAS).map(([name, schema]) => [name, jsonSchema(schema)]));
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'openwsus administration API',
      version: VERSION,
      description:
        'Sign in with POST /api/v1/session (session cookie, HttpOnly, SameSite=Strict) and send the answered csrfToken as the ' +
        'X-CSRF-Token header with every state-changing request; scripts send an API token as `Authorization: Bearer`. ' +
        'Errors are RFC 9457 problem documents.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'openwsus_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
  };
  return cached;
}

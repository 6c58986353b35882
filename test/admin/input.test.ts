// Bad input on the administration API: wrong types, unknown fields, huge pages, injection in
// filters and names, CSRF without its token, expired and revoked tokens, a replica's refusals,
// password guessing. Each answer is a problem document, and nothing changes.
import assert from 'node:assert/strict';
import { sha256 } from '../../src/admin/auth.ts';
import { replicaMessage } from '../../src/domain/replica-guard.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { IDS, seedAdminCatalog, seedFleet } from '../cli/admin-catalog.ts';
import { forEachBackend } from '../support/db.ts';
import { apiHarness, REPORTER_PASSWORD, snapshot } from './harness.ts';

type Res = { statusCode: number; headers: Record<string, unknown>; json(): any; body: string };

function problem(res: Res, status: number, detail?: RegExp): any {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', res.body);
  const body = res.json();
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(body.type, 'about:blank');
  if (detail !== undefined) assert.match(body.detail, detail);
  return body;
}

function fields(body: { errors?: { field: string }[] }): string[] {
  return (body.errors ?? []).map((e) => e.field);
}

forEachBackend('administration API refuses bad input with a problem document and changes nothing', async ({ store }) => {
  await seedAdminCatalog(store);
  await seedFleet(store);
  const h = await apiHarness(store);
  try {
    const { admin } = h;
    const before = await snapshot(store);

    // Wrong types, unknown fields, bad values: each field named.
    assert.deepEqual(fields(problem(await h.call(admin, 'GET', '/api/v1/updates?limit=abc'), 400)), ['query.limit']);
    assert.deepEqual(fields(problem(await h.call(admin, 'GET', '/api/v1/updates?limit=100000'), 400, /500/)), ['query.limit'], 'pages are capped');
    assert.deepEqual(fields(problem(await h.call(admin, 'GET', '/api/v1/updates?sort=title'), 400)), ['query.sort']);
    assert.deepEqual(fields(problem(await h.call(admin, 'GET', '/api/v1/updates?declined=maybe'), 400)), ['query.declined']);
    assert.deepEqual(fields(problem(await h.call(admin, 'POST', '/api/v1/updates/approve', { updateIds: 'all', groupId: ALL_COMPUTERS_GROUP_ID, action: 'Destroy' }), 400)).sort(), ['body.action', 'body.updateIds']);
    assert.deepEqual(fields(problem(await h.call(admin, 'POST', '/api/v1/updates/approve', { updateIds: [IDS.stack], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install', admin: 'someone else' }), 400)), ['body.admin']);
    assert.deepEqual(fields(problem(await h.call(admin, 'POST', '/api/v1/updates/decline', { updateIds: Array.from({ length: 501 }, () => IDS.stack) }), 400)), ['body.updateIds']);
    assert.deepEqual(fields(problem(await h.call(admin, 'POST', '/api/v1/updates/approve', { updateIds: [IDS.stack], groupId: ALL_COMPUTERS_GROUP_ID, action: 'PreDeploymentCheck', deadline: '2026-12-01T00:00:00Z' }), 400)), ['body.deadline']);
    assert.deepEqual(fields(problem(await h.call(admin, 'POST', '/api/v1/updates/approve', { updateIds: [IDS.stack], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install', deadline: 'tomorrow' }), 400)), ['body.deadline']);
    assert.deepEqual(fields(problem(await h.call(admin, 'POST', '/api/v1/updates/approve', { updateIds: [IDS.stack], groupId: '3d7e1c2a-0000-4000-8000-000000000000', action: 'Install' }), 400)), ['body.groupId']);
    assert.deepEqual(fields(problem(await h.call(admin, 'PUT', '/api/v1/settings/upstream.port', { value: '8530' }), 400)), ['body.value']);
    assert.deepEqual(fields(problem(await h.call(admin, 'PUT', '/api/v1/settings/upstream.port', { value: 70000 }), 400)), ['body.value']);
    problem(await h.call(admin, 'PUT', '/api/v1/settings/no.such.key', { value: 1 }), 404, /unknown setting/);
    problem(await h.call(admin, 'GET', '/api/v1/settings/internal.secretKey'), 404);
    // Several settings are all or nothing: one bad value and none is stored.
    const patch = problem(await h.call(admin, 'PATCH', '/api/v1/settings', { 'upstream.server': 'wsus1', 'upstream.port': -1, 'no.such': true }), 400, /nothing was changed/);
    assert.deepEqual(fields(patch).sort(), ['body.no.such', 'body.upstream.port']);
    assert.deepEqual(fields(problem(await h.call(admin, 'PUT', '/api/v1/categories/selection', { classifications: ['3d7e1c2a-0000-4000-8000-000000000000'] }), 400)), ['body.classifications.0']);
    assert.deepEqual(fields(problem(await h.call(admin, 'POST', '/api/v1/groups', { name: '   ' }), 400)), ['body.name']);
    assert.deepEqual(fields(problem(await h.call(admin, 'POST', '/api/v1/accounts', { name: 'x y', role: 'Root', password: 'short' }), 400)).sort(), ['body.name', 'body.password', 'body.role']);
    assert.deepEqual(fields(problem(await h.call(admin, 'DELETE', '/api/v1/session', { bye: true }), 400)), ['body']);
    problem(await h.call(admin, 'GET', '/api/v1/updates/not-a-guid'), 400);
    // The body itself: not JSON, not an object, too large, another media type.
    problem(await h.app.inject({ method: 'POST', url: '/api/v1/groups', headers: { cookie: admin.cookie!, 'x-csrf-token': admin.csrf!, 'content-type': 'application/json' }, payload: '{"name": ' }), 400);
    problem(await h.call(admin, 'POST', '/api/v1/groups', ['Pilot']), 400);
    problem(await h.call(admin, 'POST', '/api/v1/groups', { name: 'x'.repeat(2 * 1024 * 1024) }), 413, /larger than/);
    problem(await h.app.inject({ method: 'POST', url: '/api/v1/groups', headers: { cookie: admin.cookie!, 'x-csrf-token': admin.csrf!, 'content-type': 'text/plain' }, payload: 'name=Pilot' }), 415);
    // Unknown things.
    problem(await h.call(admin, 'GET', `/api/v1/updates/${'3d7e1c2a-0000-4000-8000-000000000000'}`), 404);
    problem(await h.call(admin, 'GET', '/api/v1/computers/nobody'), 404);
    problem(await h.call(admin, 'GET', '/api/v1/accounts/nobody'), 404);
    problem(await h.call(admin, 'DELETE', '/api/v1/tokens/999'), 404);
    problem(await h.call(admin, 'GET', '/api/v1/no-such-thing'), 404);
    problem(await h.call(admin, 'POST', '/api/v1/updates/approve', { updateIds: ['3d7e1c2a-0000-4000-8000-000000000000'], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install' }), 404, /unknown update/);
    problem(await h.call(admin, 'POST', '/api/v1/updates/approve', { updateIds: [IDS.detectoid], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install' }), 422, /detectoid/);
    // Conflicts.
    problem(await h.call(admin, 'POST', '/api/v1/updates/approve', { updateIds: [IDS.stack], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Uninstall' }), 409, /cannot be uninstalled/);
    problem(await h.call(admin, 'POST', '/api/v1/groups', { name: 'unassigned computers' }), 409, /already exists/);
    problem(await h.call(admin, 'DELETE', `/api/v1/groups/${ALL_COMPUTERS_GROUP_ID}`), 409);
    problem(await h.call(admin, 'DELETE', '/api/v1/accounts/admin'), 409, /itself/);
    problem(await h.call(admin, 'PATCH', '/api/v1/accounts/admin', { role: 'Reporters' }), 409, /last enabled Administrator/);
    problem(await h.call(admin, 'DELETE', '/api/v1/sync'), 409);
    problem(await h.call(admin, 'POST', '/api/v1/tokens', { name: 'old', expiresAt: '2001-01-01T00:00:00Z' }), 400, /past/);

    // CSRF: a change with the session cookie and no (or another session's) token is refused.
    problem(await h.call(admin, 'POST', '/api/v1/groups', { name: 'Pilot' }, { csrf: false }), 403, /x-csrf-token/);
    problem(await h.call(admin, 'POST', '/api/v1/groups', { name: 'Pilot' }, { csrf: false, headers: { 'x-csrf-token': h.reporter.csrf! } }), 403, /x-csrf-token/);
    problem(await h.call(admin, 'DELETE', '/api/v1/session', undefined, { csrf: false }), 403);

    // Tokens: expired, revoked, for a disabled account.
    const owner = (await store.accounts.get('admin'))!;
    await store.accounts.createToken({ name: 'expired', accountId: owner.id, tokenHash: sha256('owt_expired'), prefix: 'owt_ex', createdBy: 'test', expiresAt: '2001-01-01T00:00:00.000Z' });
    problem(await h.call({ bearer: 'owt_expired' }, 'GET', '/api/v1/settings'), 401, /revoked or expired/);
    const created = await h.call(admin, 'POST', '/api/v1/tokens', { name: 'short-lived' });
    const live = created.json();
    await h.call(admin, 'DELETE', `/api/v1/tokens/${live.id}`);
    problem(await h.call({ bearer: live.token }, 'POST', '/api/v1/groups', { name: 'Pilot' }), 401);
    const reporterToken = (await h.call(admin, 'POST', '/api/v1/tokens', { name: 'reports', account: 'reporter' })).json();
    problem(await h.call({ bearer: reporterToken.token }, 'POST', '/api/v1/updates/decline', { updateIds: [IDS.stack] }), 403, /Reporter/);
    await h.call(admin, 'PATCH', '/api/v1/accounts/reporter', { disabled: true });
    problem(await h.call({ bearer: reporterToken.token }, 'GET', '/api/v1/settings'), 401);
    problem(await h.call(h.reporter, 'GET', '/api/v1/settings'), 401, /sign in/);
    await h.call(admin, 'PATCH', '/api/v1/accounts/reporter', { disabled: false });

    // Nothing above changed anything but the tokens and the account switched off and on again.
    const strip = (s: string) => {
      const v = JSON.parse(s);
      return JSON.stringify({ ...v, tokens: undefined, audit: v.audit.filter((e: { action: string }) => !e.action.startsWith('tokens.') && e.action !== 'accounts.change'), accounts: v.accounts.map((a: { name: string }) => a.name) });
    };
    assert.equal(strip(await snapshot(store)), strip(before), 'refused requests changed nothing');
  } finally {
    await h.close();
  }
});

forEachBackend('administration API stores injection attempts verbatim and never runs them', async ({ store }) => {
  await seedAdminCatalog(store);
  await seedFleet(store);
  const h = await apiHarness(store);
  try {
    const sqlText = "x' OR '1'='1'; DROP TABLE revision; --";
    const page = await h.call(h.admin, 'GET', `/api/v1/updates?text=${encodeURIComponent(sqlText)}`);
    assert.equal(page.statusCode, 200);
    assert.equal(page.json().total, 0, 'the text is matched literally');
    assert.equal((await h.call(h.admin, 'GET', `/api/v1/updates?classification=${encodeURIComponent("' OR 1=1 --")}`)).json().total, 0);
    assert.equal((await h.call(h.admin, 'GET', `/api/v1/updates?text=${encodeURIComponent('%')}`)).json().total, 0, 'LIKE wildcards are literal');
    assert.equal((await h.call(h.admin, 'GET', '/api/v1/audit?actor=' + encodeURIComponent("admin' --"))).json().events.length, 0);
    assert.equal((await h.call(h.admin, 'GET', '/api/v1/updates')).json().total, 6, 'the catalog is intact');

    const names = ["Robert'); DROP TABLE computer_group;--", '<script>alert(1)</script>', '=HYPERLINK("http://evil.example","x")'];
    for (const name of names) {
      const res = await h.call(h.admin, 'POST', '/api/v1/groups', { name });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().name, name, 'stored and returned verbatim');
    }
    const listed = (await h.call(h.admin, 'GET', '/api/v1/groups')).json().groups.map((g: { name: string }) => g.name);
    for (const name of names) assert.ok(listed.includes(name));
    assert.match(String((await h.call(h.admin, 'GET', '/api/v1/groups')).headers['content-type']), /^application\/json/, 'names travel as JSON data, never as HTML');
    // In CSV a formula is defused so a spreadsheet shows it as text.
    const csv = (await h.call(h.admin, 'GET', '/api/v1/reports/groups?format=csv')).body;
    assert.ok(csv.includes(`"'=HYPERLINK(""http://evil.example"",""x"")"`), csv);
    assert.ok(csv.includes('"<script>alert(1)</script>"'));
    // Account names are restricted to plain characters; a password may hold anything.
    assert.equal((await h.call(h.admin, 'POST', '/api/v1/accounts', { name: "o'brien; --", role: 'Reporters', password: 'a long password' })).statusCode, 400);
    const odd = await h.call(h.admin, 'POST', '/api/v1/accounts', { name: 'obrien', role: 'Reporters', password: "'; DROP TABLE account; -- <script>" });
    assert.equal(odd.statusCode, 201);
    await h.login('obrien', "'; DROP TABLE account; -- <script>");
    assert.equal((await store.accounts.list()).length, 3);
  } finally {
    await h.close();
  }
});

forEachBackend('administration API: a replica refuses local changes with 409 and the replica message', async ({ store }) => {
  await seedAdminCatalog(store);
  await seedFleet(store);
  const h = await apiHarness(store);
  try {
    const pilot = (await h.call(h.admin, 'POST', '/api/v1/groups', { name: 'Pilot' })).json();
    await h.call(h.admin, 'PATCH', '/api/v1/settings', { 'upstream.source': 'server', 'upstream.server': 'root.corp.example', 'upstream.replica': true });
    const message = replicaMessage({ source: 'server', server: 'root.corp.example', ssl: false });
    const before = await snapshot(store);
    for (const [method, url, body] of [
      ['POST', '/api/v1/updates/approve', { updateIds: [IDS.stack], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install' }],
      ['POST', '/api/v1/updates/unapprove', { updateIds: [IDS.stack], groupId: ALL_COMPUTERS_GROUP_ID }],
      ['POST', '/api/v1/updates/decline', { updateIds: [IDS.stack] }],
      ['POST', '/api/v1/updates/reinstate', { updateIds: [IDS.stack] }],
      ['POST', '/api/v1/groups', { name: 'Servers' }],
      ['DELETE', `/api/v1/groups/${pilot.id}`, undefined],
      ['PUT', '/api/v1/settings/products', { value: [ALL_COMPUTERS_GROUP_ID] }],
      ['PUT', '/api/v1/categories/selection', { classifications: [IDS.security] }],
      ['DELETE', '/api/v1/settings/classifications', undefined],
      ['POST', '/api/v1/approval-rules', { name: 'r', groupIds: [ALL_COMPUTERS_GROUP_ID] }],
      ['PUT', `/api/v1/computers/${IDS.pc1}/group`, { groupId: pilot.id }],
    ] as const) {
      const res = await h.call(h.admin, method, url, body);
      const p = problem(res, 409);
      assert.ok(p.detail.endsWith(message), `${method} ${url}: ${p.detail}`);
    }
    assert.equal(await snapshot(store), before, 'a replica changed nothing');
    // What a replica may still change locally: its own settings.
    assert.equal((await h.call(h.admin, 'PUT', '/api/v1/settings/upstream.port', { value: 8531 })).statusCode, 200);
  } finally {
    await h.close();
  }
});

forEachBackend('administration sign-in: wrong passwords lock the account for a while; the lock answers 429', async ({ store }) => {
  const h = await apiHarness(store, { auth: { lockAfterFailures: 3, lockMs: 60_000, failuresPerAddress: 3 } });
  try {
    const attempt = (name: string, password: string, ip = '127.0.0.1') => h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { name, password }, remoteAddress: ip });
    // From several addresses, so the per-address cap is not what stops them.
    for (let i = 0; i < 3; i++) problem(await attempt('reporter', 'guess', `10.0.1.${i}`), 401, /wrong account name or password/);
    const locked = problem(await attempt('reporter', REPORTER_PASSWORD, '10.0.2.1'), 429, /try again in/);
    assert.ok(locked);
    const retry = Number((await attempt('reporter', REPORTER_PASSWORD, '10.0.2.2')).headers['retry-after']);
    assert.ok(retry > 0 && retry <= 60, String(retry));
    // An unknown name answers like a wrong password, not "no such account".
    problem(await attempt('nobody', 'guess', '10.0.0.9'), 401, /wrong account name or password/);
    // One address guessing across accounts is cut off too.
    for (let i = 0; i < 3; i++) await attempt(`nobody${i}`, 'guess', '10.0.0.7');
    problem(await attempt('admin', 'whatever', '10.0.0.7'), 429, /this address/);
    // Locked accounts do not block others, and a signed-in session carries on.
    assert.equal((await h.call(h.reporter, 'GET', '/api/v1/session')).statusCode, 200);
    assert.equal((await attempt('admin', 'correct horse battery staple', '10.0.0.8')).statusCode, 201);
  } finally {
    await h.close();
  }
});

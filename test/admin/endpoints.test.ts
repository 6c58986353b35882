// Every administration endpoint as an Administrator, and every endpoint's authorization: anonymous
// callers get 401, Reporters 403 on changes (and nothing changes), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { ROUTES } from '../../src/admin/openapi.ts';
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { rollupConfiguration } from '../../src/services/reporting/rollup.ts';
import type { Store } from '../../src/store/index.ts';
import { IDS, seedAdminCatalog, seedFleet } from '../cli/admin-catalog.ts';
import { forEachBackend } from '../support/db.ts';
import { ADMIN_PASSWORD, apiHarness, snapshot } from './harness.ts';

const DOWNSTREAM_ID = '9a1c6c8e-3f7b-4c0a-8d5e-2b6f0e4d1a11';

async function seed(store: Store): Promise<void> {
  await seedAdminCatalog(store);
  await seedFleet(store);
  await store.tasks.raise({ kind: 'upstream.downstream-refused', subject: DOWNSTREAM_ID, message: 'a downstream server was refused' });
  await store.downstreams.register({ id: DOWNSTREAM_ID, accountName: 'dss1.corp.example' });
}

/** A URL for a route with its path parameters filled with plausible values. */
function sampleUrl(path: string): string {
  return (
    '/api/v1' +
    path
      .replace('{name}', 'reporter')
      .replace('{updateId}', IDS.cumulative)
      .replace('{groupId}', UNASSIGNED_COMPUTERS_GROUP_ID)
      .replace('{computerId}', IDS.pc1)
      .replace('{serverId}', DOWNSTREAM_ID)
      .replace(/\{\w+\}/, '1')
  );
}

// Authorization does not depend on the backend (sessions and tokens on both are exercised below and
// in input.test.ts): SQLite only, to keep the suite's time.
forEachBackend('administration API: anonymous callers get 401 and Reporters 403 on changes, nothing changed', async ({ store }) => {
  await seed(store);
  const h = await apiHarness(store);
  try {
    const before = await snapshot(store);
    for (const route of ROUTES) {
      const url = sampleUrl(route.path);
      const body = route.body === undefined ? undefined : {};
      const anonymous = await h.call(h.anonymous, route.method, url, body);
      if (route.access === 'public') {
        assert.notEqual(anonymous.statusCode, 401, `${route.method} ${url} is public`);
        continue;
      }
      assert.equal(anonymous.statusCode, 401, `anonymous ${route.method} ${url}: ${anonymous.body}`);
      assert.equal(anonymous.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(anonymous.json().status, 401);
      assert.match(String(anonymous.headers['www-authenticate']), /^Bearer/);

      // Signing out is a Reporter's to do (tested on its own below); here it would end the session.
      if (route.operationId === 'logout') continue;
      const reporter = await h.call(h.reporter, route.method, url, body);
      if (route.access === 'admin') {
        assert.equal(reporter.statusCode, 403, `Reporter ${route.method} ${url}: ${reporter.body}`);
        assert.match(reporter.json().detail, /only Administrators/);
      } else if (route.method === 'GET') {
        assert.ok(reporter.statusCode < 400 || reporter.statusCode === 404, `Reporter reads ${route.method} ${url}: ${reporter.statusCode} ${reporter.body}`);
      }
    }
    // A Reporter's own session is theirs to end; everything else is as it was.
    assert.equal(await snapshot(store), before, 'refused calls changed nothing');
    // A wrong or malformed bearer token is refused even where a session cookie would do.
    for (const authorization of ['Bearer owt_not-a-token', 'Basic YWRtaW46eA==', 'Bearer']) {
      const res = await h.app.inject({ method: 'GET', url: '/api/v1/settings', headers: { authorization, cookie: h.admin.cookie! } });
      assert.equal(res.statusCode, 401, authorization);
    }
  } finally {
    await h.close();
  }
}, { only: ['sqlite'] });

forEachBackend('administration API: every endpoint works for an Administrator and is recorded in the audit log', async ({ store }) => {
  await seed(store);
  const h = await apiHarness(store);
  const covered = new Set<string>();
  const as = async (operationId: string, caller: typeof h.admin, method: string, url: string, body?: unknown, expected = 200) => {
    const route = ROUTES.find((r) => r.operationId === operationId);
    assert.ok(route, operationId);
    assert.equal(route.method, method, `${operationId} is ${route.method}`);
    const res = await h.call(caller, method as 'GET', `/api/v1${url}`, body);
    assert.equal(res.statusCode, expected, `${operationId} ${method} ${url}: ${res.body}`);
    covered.add(operationId);
    return res;
  };
  const ok = (operationId: string, method: string, url: string, body?: unknown, expected = 200) => as(operationId, h.admin, method, url, body, expected);
  try {
    // Access.
    assert.equal((await ok('getOpenApi', 'GET', '/openapi.json')).json().openapi, '3.1.0');
    const session = (await ok('getSession', 'GET', '/session')).json();
    assert.deepEqual([session.account, session.role, session.via], ['admin', 'Administrators', 'session']);
    assert.equal((await as('getSession', h.token, 'GET', '/session')).json().via, 'token');
    const created = (await ok('createAccount', 'POST', '/accounts', { name: 'ops', role: 'Reporters', password: 'a long password' }, 201)).json();
    assert.deepEqual([created.name, created.role, created.disabled], ['ops', 'Reporters', false]);
    assert.equal(created.password, undefined);
    assert.deepEqual((await ok('listAccounts', 'GET', '/accounts')).json().accounts.map((a: { name: string }) => a.name), ['admin', 'ops', 'reporter']);
    assert.equal((await ok('getAccount', 'GET', '/accounts/OPS')).json().name, 'ops', 'names without regard to case');
    assert.equal((await ok('changeAccount', 'PATCH', '/accounts/ops', { role: 'Administrators' })).json().role, 'Administrators');
    const ops = await h.login('ops', 'a long password');
    await ok('deleteAccount', 'DELETE', '/accounts/ops', undefined, 204);
    assert.equal((await h.call(ops, 'GET', '/api/v1/session')).statusCode, 401, 'a deleted account\'s session ends');
    const token = (await ok('createToken', 'POST', '/tokens', { name: 'ci', expiresAt: '2099-01-01T00:00:00Z' }, 201)).json();
    assert.match(token.token, /^owt_/);
    assert.equal(token.expiresAt, '2099-01-01T00:00:00.000Z');
    assert.equal((await h.call({ bearer: token.token }, 'GET', '/api/v1/session')).statusCode, 200);
    const listed = (await ok('listTokens', 'GET', '/tokens')).json().tokens;
    assert.ok(listed.every((t: Record<string, unknown>) => t.token === undefined && !JSON.stringify(t).includes(token.token.slice(10))), 'a token is shown once');
    await ok('revokeToken', 'DELETE', `/tokens/${token.id}`, undefined, 204);
    assert.equal((await h.call({ bearer: token.token }, 'GET', '/api/v1/session')).statusCode, 401, 'a revoked token is refused');

    // Overview.
    const server = (await ok('getServer', 'GET', '/server')).json();
    assert.deepEqual([server.serverId, server.replica], [store.serverId, false]);
    const overview = (await ok('getOverview', 'GET', '/overview')).json();
    assert.deepEqual(overview.counts, { updates: 6, approved: 0, declined: 0, computers: 3, groups: 2, downstreamServers: 1 });
    // pc1 needs the stack update, pc2 failed the cumulative one, pc3 never reported.
    assert.deepEqual(overview.status, { installed: 0, needed: 1, failed: 1, notApplicable: 0, unknown: 1 });
    const tasks = (await ok('listTasks', 'GET', '/tasks')).json().tasks;
    assert.equal(tasks.length, 1);
    assert.ok((await ok('listWarnings', 'GET', '/warnings')).json().warnings.some((w: { kind: string }) => w.kind === 'upstream.downstream-refused'));
    assert.ok((await ok('resolveTask', 'POST', `/tasks/${tasks[0].id}/resolve`)).json().resolvedAt);
    assert.equal((await h.call(h.admin, 'GET', '/api/v1/tasks')).json().tasks.length, 0);

    // Options.
    const settings = (await ok('listSettings', 'GET', '/settings')).json();
    assert.ok(settings.settings.some((s: { key: string; secret: boolean }) => s.key === 'proxy.password' && s.secret));
    await ok('patchSettings', 'PATCH', '/settings', { 'upstream.source': 'server', 'upstream.server': 'wsus1.corp.example', 'upstream.port': 8530, 'proxy.password': 'Pr0xy secret' });
    assert.equal(await store.settings.get('upstream.server'), 'wsus1.corp.example');
    const secret = (await ok('getSetting', 'GET', '/settings/proxy.password')).json();
    assert.equal(secret.value, '********');
    assert.ok(!JSON.stringify(await store.settings.all()).includes('Pr0xy secret'), 'secrets are sealed before they are stored');
    assert.ok(!(await h.call(h.admin, 'GET', '/api/v1/audit')).body.includes('Pr0xy secret'), 'nor written to the audit log');
    assert.equal((await ok('putSetting', 'PUT', '/settings/upstream.port', { value: 8531 })).json().value, 8531);
    const reset = (await ok('deleteSetting', 'DELETE', '/settings/upstream.port')).json();
    assert.deepEqual([reset.value, reset.isDefault], [null, true]);
    const tree = (await ok('getCategories', 'GET', '/categories')).json();
    assert.deepEqual(tree.classifications.map((c: { title: string }) => c.title), ['Critical Updates', 'Security Updates']);
    const chosen = (await ok('putCategorySelection', 'PUT', '/categories/selection', { classifications: [IDS.security.toUpperCase()] })).json();
    assert.deepEqual(chosen.selection.classifications, [IDS.security]);
    assert.deepEqual(await store.settings.get('classifications'), [IDS.security]);
    assert.equal((await ok('listLanguages', 'GET', '/languages')).json().selection, 'all');
    assert.equal((await ok('getSchedule', 'GET', '/schedule')).json().mode, 'manual');
    await h.call(h.admin, 'PATCH', '/api/v1/settings', { 'schedule.mode': 'automatic', 'schedule.firstSyncTime': '03:00' });
    const next = Date.parse((await h.call(h.admin, 'GET', '/api/v1/schedule')).json().nextSyncAt);
    assert.ok(next > Date.now() - 86_400_000 && next < Date.now() + 2 * 86_400_000, 'the next automatic run, within a day');
    await h.call(h.admin, 'DELETE', '/api/v1/settings/schedule.mode');

    // Synchronizations (starting and cancelling one: sync.test.ts).
    assert.equal((await ok('getSyncStatus', 'GET', '/sync')).json().running, false);
    const events = await ok('syncEvents', 'GET', '/sync/events');
    assert.match(String(events.headers['content-type']), /^text\/event-stream/);
    assert.match(events.body, /^event: state\n/);
    assert.deepEqual((await ok('listSyncRuns', 'GET', '/sync/runs')).json().runs, []);
    assert.equal((await as('getSyncRun', h.admin, 'GET', '/sync/runs/1', undefined, 404)).json().status, 404);

    // Updates.
    const page = (await ok('listUpdates', 'GET', '/updates?limit=2')).json();
    assert.deepEqual([page.total, page.updates.length], [6, 2]);
    const details = (await ok('getUpdate', 'GET', `/updates/${IDS.cumulative}`)).json();
    assert.deepEqual([details.revisionNumber, details.kb, details.revisions.map((r: { revisionNumber: number }) => r.revisionNumber)], [2, 'KB5070001', [2, 1]]);
    assert.deepEqual(details.classifications, ['Security Updates']);
    // Across the hierarchy: this server's own computers (nothing rolled up from below here).
    assert.deepEqual([details.hierarchyStatus.installed, details.hierarchyStatus.failed, details.hierarchyStatus.downstream.Installed], [1, 1, 0]);
    const status = (await ok('getUpdateStatus', 'GET', `/updates/${IDS.cumulative}/status`)).json();
    assert.deepEqual(status.counts, { installed: 1, needed: 0, failed: 1, notApplicable: 0, unknown: 1 });
    const approved = (await ok('approveUpdates', 'POST', '/updates/approve', { updateIds: [IDS.cumulative, IDS.stack], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install', deadline: '2026-12-01T18:00:00+01:00' })).json();
    assert.deepEqual(approved.results.map((r: { outcome: string }) => r.outcome), ['changed', 'changed']);
    const approvals = await store.approvals.ofUpdate(IDS.cumulative);
    assert.deepEqual(approvals.map((a) => [a.revisionNumber, a.action, a.deadline, a.adminName]), [[2, 'Install', '2026-12-01T17:00:00.000Z', 'admin']]);
    const again = (await ok('approveUpdates', 'POST', '/updates/approve', { updateIds: [IDS.cumulative], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install', deadline: '2026-12-01T17:00:00Z' })).json();
    assert.equal(again.results[0].outcome, 'unchanged');
    const unapproved = (await ok('unapproveUpdates', 'POST', '/updates/unapprove', { updateIds: [IDS.stack, IDS.twinA], groupId: ALL_COMPUTERS_GROUP_ID })).json();
    assert.deepEqual(unapproved.results.map((r: { outcome: string }) => r.outcome), ['changed', 'unchanged']);
    const declined = (await ok('declineUpdates', 'POST', '/updates/decline', { updateIds: [IDS.twinB] })).json();
    assert.equal(declined.results[0].outcome, 'changed');
    assert.deepEqual((await store.declines.list()).map((d) => [d.updateId, d.adminName]), [[IDS.twinB, 'admin']]);
    const reinstated = (await ok('reinstateUpdates', 'POST', '/updates/reinstate', { updateIds: [IDS.twinB, IDS.twinA] })).json();
    assert.deepEqual(reinstated.results.map((r: { outcome: string }) => r.outcome), ['changed', 'unchanged']);
    assert.deepEqual(await store.declines.list(), []);
    await h.call(h.admin, 'POST', '/api/v1/updates/decline', { updateIds: [IDS.twinB] });

    // Computers.
    const groups = (await ok('listGroups', 'GET', '/groups')).json().groups;
    assert.deepEqual(groups.map((g: { name: string }) => g.name), ['All Computers', 'Unassigned Computers']);
    const group = (await ok('createGroup', 'POST', '/groups', { name: 'Pilot' }, 201)).json();
    assert.deepEqual([group.name, group.parentId, group.builtin], ['Pilot', ALL_COMPUTERS_GROUP_ID, false]);
    assert.equal((await ok('getGroup', 'GET', `/groups/${group.id}`)).json().name, 'Pilot');
    const computers = (await ok('listComputers', 'GET', '/computers?text=PC2')).json();
    assert.deepEqual(computers.computers.map((c: { name: string }) => c.name), ['pc2.corp.example']);
    const moved = (await ok('moveComputer', 'PUT', `/computers/${IDS.pc1}/group`, { groupId: group.id })).json();
    assert.deepEqual(moved.groups, [{ id: group.id, name: 'Pilot' }]);
    const pc1 = (await ok('getComputer', 'GET', `/computers/${IDS.pc1}`)).json();
    assert.deepEqual(pc1.statuses.map((s: { status: string }) => s.status).sort(), ['Installed', 'NotInstalled']);
    assert.equal((await h.call(h.admin, 'DELETE', `/api/v1/groups/${group.id}`)).statusCode, 409, 'a group with computers stays');
    await h.call(h.admin, 'PUT', `/api/v1/computers/${IDS.pc1}/group`, { groupId: UNASSIGNED_COMPUTERS_GROUP_ID });
    await ok('deleteGroup', 'DELETE', `/groups/${group.id}`, undefined, 204);

    // Downstream servers.
    assert.equal((await ok('listDownstreamServers', 'GET', '/downstream-servers')).json().servers[0].accountName, 'dss1.corp.example');
    assert.equal((await ok('getDownstreamServer', 'GET', `/downstream-servers/${DOWNSTREAM_ID}`)).json().id, DOWNSTREAM_ID);
    assert.deepEqual((await ok('listDownstreamComputers', 'GET', `/downstream-servers/${DOWNSTREAM_ID}/computers`)).json().computers, []);
    const resetBefore = (await rollupConfiguration(store)).rollupResetGuid;
    const rollupReset = (await ok('resetRollup', 'POST', '/downstream-servers/rollup-reset')).json();
    assert.equal((await rollupConfiguration(store)).rollupResetGuid, rollupReset.rollupResetId, 'downstream servers are offered the new id');
    assert.notEqual(rollupReset.rollupResetId, resetBefore);

    // Automatic approval rules.
    const rule = (await ok('createRule', 'POST', '/approval-rules', { name: 'Security to all', classificationIds: [IDS.security], groupIds: [ALL_COMPUTERS_GROUP_ID], enabled: false }, 201)).json();
    assert.ok((await ok('listRules', 'GET', '/approval-rules')).json().rules.some((r: { name: string }) => r.name === 'Security to all'));
    assert.equal((await ok('changeRule', 'PATCH', `/approval-rules/${rule.id}`, { enabled: true })).json().enabled, true);
    const run = (await ok('runRule', 'POST', `/approval-rules/${rule.id}/run`)).json();
    assert.ok(run.approved >= 1, JSON.stringify(run));
    await ok('deleteRule', 'DELETE', `/approval-rules/${rule.id}`, undefined, 204);

    // Reports.
    const byUpdate = (await ok('reportUpdates', 'GET', '/reports/updates')).json();
    const cumulativeRow = byUpdate.rows.find((r: { id: string }) => r.id === IDS.cumulative);
    assert.deepEqual(cumulativeRow, { id: IDS.cumulative, name: '2026-11 Cumulative Update (KB5070001)', installed: 1, needed: 0, failed: 1, notApplicable: 0, unknown: 1 });
    const csv = await ok('reportGroups', 'GET', '/reports/groups?format=csv');
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.equal(csv.body.split('\r\n')[1], `"${ALL_COMPUTERS_GROUP_ID}","All Computers","0","1","1","0","1"`);
    const byComputer = (await ok('reportComputers', 'GET', '/reports/computers')).json();
    assert.deepEqual(byComputer.rows.find((r: { id: string }) => r.id === IDS.pc1), { id: IDS.pc1, name: 'pc1.corp.example', installed: 1, needed: 1, failed: 0, notApplicable: 0, unknown: 0 });

    // Deleting a computer forgets it with its statuses; a second delete finds nothing.
    await ok('deleteComputer', 'DELETE', `/computers/${IDS.pc3}`, undefined, 204);
    assert.equal((await h.call(h.admin, 'GET', `/api/v1/computers/${IDS.pc3}`)).statusCode, 404);
    assert.equal((await h.call(h.admin, 'DELETE', `/api/v1/computers/${IDS.pc3}`)).statusCode, 404);
    assert.deepEqual((await ok('listComputers', 'GET', '/computers?limit=1&offset=1')).json().computers.map((c: { name: string }) => c.name), ['pc2.corp.example'], 'paged by name in SQL');
    assert.equal((await ok('listComputers', 'GET', '/computers?limit=1')).json().total, 2);
    assert.equal((await store.clientEvents.statusOf(IDS.pc3)).size, 0, 'its statuses went with it');

    const audit = (await ok('listAudit', 'GET', '/audit?limit=500')).json().events;
    const actions = audit.map((e: { action: string }) => e.action);
    for (const action of ['accounts.create', 'accounts.change', 'accounts.delete', 'tokens.create', 'tokens.revoke', 'tasks.resolve', 'settings.set', 'settings.unset', 'updates.approve', 'updates.unapprove', 'updates.decline', 'updates.reinstate', 'groups.create', 'groups.delete', 'computers.move', 'computers.delete', 'downstream.rollupReset', 'rules.create', 'rules.change', 'rules.run', 'rules.delete']) {
      assert.ok(actions.includes(action), `audit has ${action}`);
    }
    const approve = audit.find((e: { action: string }) => e.action === 'updates.approve');
    assert.deepEqual([approve.actor, approve.via, approve.target], ['admin', 'session', 'All Computers']);
    assert.ok(audit.filter((e: { action: string }) => e.action === 'tokens.revoke').every((e: { via: string }) => e.via === 'session'));

    // Last: a password change ends the sessions, then signing out.
    const other = await h.login('admin', ADMIN_PASSWORD);
    await ok('changeOwnPassword', 'POST', '/session/password', { currentPassword: ADMIN_PASSWORD, newPassword: 'a new long password' }, 204);
    assert.equal((await h.call(other, 'GET', '/api/v1/session')).statusCode, 401, 'sessions opened with the old password end');
    const fresh = await h.login('admin', 'a new long password');
    await as('logout', fresh, 'DELETE', '/session', undefined, 204);
    assert.equal((await h.call(fresh, 'GET', '/api/v1/session')).statusCode, 401, 'a signed-out session is gone');
    await as('login', h.anonymous, 'POST', '/session', { name: 'admin', password: 'a new long password' }, 201);

    // Cleanup and content verification: maintenance.test.ts.
    const elsewhere = ['startSync', 'cancelSync', 'getCleanupStatus', 'startCleanup', 'cancelCleanup', 'getContentVerifyStatus', 'startContentVerify', 'cancelContentVerify'];
    const missing = ROUTES.map((r) => r.operationId).filter((id) => !covered.has(id) && !elsewhere.includes(id));
    assert.deepEqual(missing, [], 'every route is exercised here, in sync.test.ts or in maintenance.test.ts');
  } finally {
    await h.close();
  }
});

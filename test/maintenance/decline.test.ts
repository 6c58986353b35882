// Declines and their consequences: a declined update leaves every scan (the SOAP level is in
// test/services/client-services.test.ts), is listed in the declined view, and a reinstated one is
// offered again as not approved, whatever approvals it had before the decline.
import assert from 'node:assert/strict';
import { ALL_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { ScopeCache } from '../../src/services/client/scopes.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeRevision } from '../store/records.ts';

forEachBackend('a declined update leaves the scan, shows as declined, and is reinstated not approved', async ({ store }) => {
  const x = guid(1, 'decline');
  const y = guid(2, 'decline');
  await store.catalog.upsertRevisions([makeRevision({ updateId: x, revisionNumber: 100 }), makeRevision({ updateId: y, revisionNumber: 100 })]);
  await store.approvals.upsert([
    { id: guid(1, 'deployment'), updateId: x, revisionNumber: 100, groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install', adminName: 't', createdAt: new Date().toISOString() },
  ]);
  const scopes = new ScopeCache(store);
  const offered = async (id: string): Promise<{ inScope: boolean; approved: boolean }> => {
    const { scope } = await scopes.scopeFor([ALL_COMPUTERS_GROUP_ID]);
    const i = scope.graph.byUpdateId.get(id)!;
    return { inScope: scope.action[i] !== 0, approved: scope.origin.get(i)?.approvalId !== undefined };
  };
  assert.deepEqual(await offered(x), { inScope: true, approved: true });

  await store.declines.upsert([{ updateId: x, adminName: 't', declinedAt: new Date().toISOString() }]);
  assert.equal((await offered(x)).inScope, false, 'declined: out of every scope');
  const declinedView = await store.approvals.listUpdates({ declined: true });
  assert.deepEqual(declinedView.updates.map((u) => u.updateId), [x]);

  const before = await store.changes.current();
  assert.equal(await store.declines.reinstate(x), true);
  assert.ok((await store.changes.current()) > before, 'a reinstate takes a change position, so scans see it');
  assert.equal(await store.declines.reinstate(x), false, 'not declined any more');
  assert.equal(await store.declines.reinstate(y), false);
  assert.deepEqual((await store.approvals.listUpdates({ declined: true })).updates, []);
  assert.deepEqual(await store.approvals.ofUpdate(x), [], 'the approval from before the decline does not come back');
  assert.equal((await offered(x)).approved, false, 'offered again, not approved');
});

// The repository methods behind the administration commands, on every backend.
import assert from 'node:assert/strict';
import { forEachBackend } from '../support/db.ts';
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { IDS, seedAdminCatalog, seedFleet } from '../cli/admin-catalog.ts';

const GROUP_A = '11111111-1111-4111-8111-111111111111';
const GROUP_B = '22222222-2222-4222-8222-222222222222';

function approval(updateId: string, groupId: string, n: number) {
  return { id: `00000000-0000-4000-8000-00000000000${n}`, updateId, revisionNumber: 1, groupId, action: 'Install' as const, adminName: 'test', createdAt: '2026-11-20T00:00:00.000Z' };
}

forEachBackend('groups: create, count computers, refuse deletes that would orphan, delete with approvals', async ({ store }) => {
  await seedAdminCatalog(store);
  await seedFleet(store);
  const start = await store.changes.current();
  await store.groups.create({ id: GROUP_A, name: 'Servers', parentId: ALL_COMPUTERS_GROUP_ID });
  await store.groups.create({ id: GROUP_B, name: 'Web', parentId: GROUP_A });
  assert.equal(await store.changes.current(), start + 2, 'each group creation takes a change position');
  await assert.rejects(store.groups.create({ id: '33333333-3333-4333-8333-333333333333', name: 'Web', parentId: GROUP_A }), 'the (parent, name) index refuses a twin');
  assert.deepEqual((await store.groups.list()).map((g) => g.name), ['All Computers', 'Unassigned Computers', 'Servers', 'Web']);

  const builtin = await store.groups.delete(UNASSIGNED_COMPUTERS_GROUP_ID);
  assert.equal(builtin.deleted, false);
  assert.equal(!builtin.deleted && builtin.reason, 'builtin');
  const parent = await store.groups.delete(GROUP_A);
  assert.equal(!parent.deleted && parent.reason, 'children');
  assert.match(!parent.deleted ? parent.message : '', /Web/);
  assert.equal(!(await store.groups.delete('44444444-4444-4444-8444-444444444444')).deleted, true);

  assert.equal(await store.computers.setGroups(IDS.pc1, [GROUP_B]), true);
  assert.equal(await store.computers.setGroups('55555555-5555-4555-8555-555555555555', [GROUP_B]), false, 'unknown computer');
  assert.deepEqual(await store.computers.groupsOf(IDS.pc1), [GROUP_B]);
  const counts = await store.groups.computerCounts();
  assert.equal(counts.get(GROUP_B), 1);
  assert.equal(counts.get(UNASSIGNED_COMPUTERS_GROUP_ID), 2);
  const busy = await store.groups.delete(GROUP_B);
  assert.equal(!busy.deleted && busy.reason, 'computers');

  await store.computers.setGroups(IDS.pc1, [UNASSIGNED_COMPUTERS_GROUP_ID]);
  await store.approvals.upsert([approval(IDS.stack, GROUP_B, 1), approval(IDS.stack, GROUP_A, 2)]);
  const before = await store.changes.current();
  const done = await store.groups.delete(GROUP_B);
  assert.deepEqual(done, { deleted: true, approvalsRemoved: 1 });
  assert.equal(await store.changes.current(), before + 2, 'one position for the approval it took, one for the group');
  assert.deepEqual((await store.approvals.ofUpdate(IDS.stack)).map((a) => a.groupId), [GROUP_A]);
  assert.equal((await store.groups.list()).some((g) => g.id === GROUP_B), false);
  assert.equal((await store.groups.delete(GROUP_A)).deleted, true, 'now empty');
});

forEachBackend('approvals: remove one, updates by KB, listing with filters and paging', async ({ store }) => {
  await seedAdminCatalog(store);
  await store.approvals.upsert([approval(IDS.cumulative, ALL_COMPUTERS_GROUP_ID, 1)]);
  await store.declines.upsert([{ updateId: IDS.twinB, adminName: 'test', declinedAt: '2026-11-20T00:00:00.000Z' }]);

  const kb = await store.approvals.updatesByKb('5070001');
  assert.deepEqual(kb.map((u) => [u.updateId, u.revisionNumber]), [[IDS.cumulative, 2]], 'latest revision only');
  assert.deepEqual(kb[0]!.classifications, ['Security Updates']);
  assert.equal(kb[0]!.approvals.length, 1);
  assert.deepEqual((await store.approvals.updatesByKb('5070003')).map((u) => u.updateId).sort(), [IDS.twinA, IDS.twinB].sort());
  assert.deepEqual(await store.approvals.updatesByKb('1234'), []);

  const all = await store.approvals.listUpdates();
  assert.equal(all.total, 6, 'software updates only, one row per update');
  assert.equal(all.updates.some((u) => u.updateId === IDS.detectoid || u.updateId === IDS.security), false);
  const page = await store.approvals.listUpdates({ limit: 4, offset: 4 });
  assert.equal(page.total, 6);
  assert.equal(page.updates.length, 2);
  assert.deepEqual((await store.approvals.listUpdates({ approved: true })).updates.map((u) => u.updateId), [IDS.cumulative]);
  const declined = await store.approvals.listUpdates({ declined: true });
  assert.deepEqual(declined.updates.map((u) => [u.updateId, u.declined]), [[IDS.twinB, true]]);
  assert.deepEqual((await store.approvals.listUpdates({ classification: 'critical updates' })).updates.map((u) => u.updateId), [IDS.stack]);
  assert.equal((await store.approvals.listUpdates({ classification: IDS.security })).total, 4);
  assert.deepEqual((await store.approvals.listUpdates({ text: 'STACK' })).updates.map((u) => u.updateId), [IDS.stack]);
  assert.deepEqual((await store.approvals.listUpdates({ text: 'KB5070005' })).updates.map((u) => u.updateId), [IDS.bundle]);
  assert.equal((await store.approvals.listUpdates({ text: '100%_' })).total, 0, 'LIKE wildcards are literal');

  const before = await store.changes.current();
  assert.equal(await store.approvals.remove(IDS.cumulative, ALL_COMPUTERS_GROUP_ID), true);
  assert.equal(await store.changes.current(), before + 1);
  assert.equal(await store.approvals.remove(IDS.cumulative, ALL_COMPUTERS_GROUP_ID), false);
  assert.equal(await store.changes.current(), before + 1, 'nothing removed, no position');
  assert.deepEqual(await store.approvals.ofUpdate(IDS.cumulative), []);
});

forEachBackend('computers by name and status per update and per computer', async ({ store }) => {
  await seedAdminCatalog(store);
  await seedFleet(store);
  assert.deepEqual((await store.computers.findByName('PC1')).map((c) => c.id), [IDS.pc1], 'host part, any case');
  assert.deepEqual((await store.computers.findByName('pc2.corp.example')).map((c) => c.id), [IDS.pc2]);
  assert.deepEqual((await store.computers.findByName(IDS.pc3)).map((c) => c.id), [IDS.pc3]);
  assert.deepEqual(await store.computers.findByName('pc'), []);
  assert.deepEqual(await store.computers.findByName('%'), [], 'LIKE wildcards are literal');

  const status = await store.clientEvents.statusOfUpdate(IDS.cumulative);
  assert.deepEqual(
    status.map((s) => [s.dnsName, s.status ?? null, s.reported]),
    [
      ['pc1.corp.example', 'Installed', true],
      ['pc2.corp.example', 'Failed', true],
      ['pc3.corp.example', null, false],
    ],
  );
  const stack = await store.clientEvents.statusOfUpdate(IDS.stack);
  assert.deepEqual(stack.map((s) => [s.status ?? null, s.reported]), [['NotInstalled', true], [null, true], [null, false]]);
  const perComputer = await store.clientEvents.statusCountsByComputer();
  assert.deepEqual(perComputer.get(IDS.pc1), { Installed: 1, NotInstalled: 1 });
  assert.deepEqual(perComputer.get(IDS.pc2), { Failed: 1 });
  assert.equal(perComputer.has(IDS.pc3), false);
});

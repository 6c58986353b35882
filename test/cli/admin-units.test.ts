// The name and time parsing of the administration commands, in-process (no process starts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError } from '../../src/cli/context.ts';
import { findGroup } from '../../src/cli/commands/groups.ts';
import { parseDeadline, resolveUpdate } from '../../src/cli/commands/updates.ts';
import { BUILTIN_GROUPS } from '../../src/domain/deployment.ts';
import { forEachBackend } from '../support/db.ts';
import { IDS, seedAdminCatalog } from './admin-catalog.ts';

function refusal(fn: () => unknown, code: number, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CliError && e.exitCode === code && message.test(e.message));
}

async function refusalAsync(promise: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof CliError && e.exitCode === code && message.test(e.message));
}

test('deadlines: dates, times, zones; nonsense and impossible dates are refused with an example', () => {
  assert.equal(parseDeadline('2026-12-01'), '2026-12-01T00:00:00.000Z');
  assert.equal(parseDeadline('2026-12-01T18:00'), '2026-12-01T18:00:00.000Z');
  assert.equal(parseDeadline('2026-12-01 18:00:30'), '2026-12-01T18:00:30.000Z');
  assert.equal(parseDeadline('2026-12-01T18:00+02:00'), '2026-12-01T16:00:00.000Z');
  assert.equal(parseDeadline(' 2026-12-01t18:00z '), '2026-12-01T18:00:00.000Z');
  for (const bad of ['tomorrow', '2026-02-30', '2026-13-01', '2026-12-01T25:00', '12/01/2026', '']) refusal(() => parseDeadline(bad), 2, /bad deadline .* 2026-12-01T18:00Z/);
});

test('groups are found by name in any case or by id; unknown and twin names say what to do', () => {
  const twins = [...BUILTIN_GROUPS, { id: '11111111-1111-4111-8111-111111111111', name: 'Lab', parentId: BUILTIN_GROUPS[0]!.id, builtin: false }, { id: '22222222-2222-4222-8222-222222222222', name: 'lab', parentId: '11111111-1111-4111-8111-111111111111', builtin: false }];
  assert.equal(findGroup(BUILTIN_GROUPS, 'unassigned computers').name, 'Unassigned Computers');
  assert.equal(findGroup(BUILTIN_GROUPS, BUILTIN_GROUPS[0]!.id.toUpperCase()).name, 'All Computers');
  refusal(() => findGroup(BUILTIN_GROUPS, 'Desktops'), 1, /unknown group "Desktops"; known groups: All Computers, Unassigned Computers/);
  refusal(() => findGroup(twins, 'LAB'), 1, /more than one group is named "LAB": give its id instead \(11111111-.*, 22222222-/);
  assert.equal(findGroup(twins, '22222222-2222-4222-8222-222222222222').name, 'lab');
});

forEachBackend('updates are named by id or KB; categories, detectoids and non-ids are refused', async ({ store }) => {
  await seedAdminCatalog(store);
  assert.deepEqual((await resolveUpdate(store, 'KB5070001')).key, { updateId: IDS.cumulative, revisionNumber: 2 });
  assert.deepEqual((await resolveUpdate(store, '5070002')).key.updateId, IDS.stack);
  assert.deepEqual((await resolveUpdate(store, IDS.bundle.toUpperCase())).key.updateId, IDS.bundle);
  await refusalAsync(resolveUpdate(store, 'KB5070003'), 1, /KB5070003 is ambiguous: 2 updates carry it/);
  await refusalAsync(resolveUpdate(store, 'KB1'), 1, /unknown update: no update in the catalog has KB1/);
  await refusalAsync(resolveUpdate(store, '99999999-9999-4999-8999-999999999999'), 1, /not in the catalog \(synchronize or import first\)/);
  await refusalAsync(resolveUpdate(store, IDS.detectoid), 1, /is a detectoid .* not an update that can be approved/);
  await refusalAsync(resolveUpdate(store, IDS.security), 1, /is a category/);
  await refusalAsync(resolveUpdate(store, 'not-an-id'), 2, /neither an update id \(a GUID\) nor a KB number such as KB5070001/);
});

// `openwsus groups|updates|computers` as an admin runs them, on SQLite: happy paths, the errors
// that say what to fix, and what the commands leave in the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { IDS, seedAdminCatalog, seedFleet } from './admin-catalog.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'openwsus-admin-'));
test.after(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs a command on the test's data directory, as user "alice". */
const cli = (...args: string[]): Promise<CliResult> => runCli(['--data', dataDir, ...args], { env: { USER: 'alice' } });

/** Opens the store between commands (one process holds it at a time). */
async function inStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function fails(r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.match(r.stderr, message);
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

interface GroupJson {
  id: string;
  name: string;
  parentId?: string;
  builtin: boolean;
  computers: number;
  computersInTree: number;
}

test('groups, approvals, declines, listing, status and moves from the command line', { timeout: 300_000 }, async () => {
  await inStore(async (store) => {
    await seedAdminCatalog(store);
    await seedFleet(store);
  });

  // Groups: create two levels, refuse what WSUS refuses.
  const start = await inStore((s) => s.changes.current());
  assert.match(ok(await cli('groups', 'create', 'Servers')).stdout, /created group "Servers" .* under "All Computers"/);
  ok(await cli('groups', 'create', 'Web', '--parent', 'servers'));
  assert.equal(await inStore((s) => s.changes.current()), start + 2, 'group creations take change positions');
  // Refusals change nothing, so they run side by side.
  const [twin, underUnassigned] = await Promise.all([cli('groups', 'create', 'WEB'), cli('groups', 'create', 'Lab', '--parent', 'Unassigned Computers')]);
  fails(twin, 1, /a group named "Web" already exists/);
  fails(underUnassigned, 1, /Unassigned Computers cannot have subgroups/);

  // Computers: list, then move one into Web.
  const computers = stdoutJson<{ name: string; ipAddress: string; os: string; groups: string[]; lastSyncAt: string | null; lastReportAt: string | null; updates: { needed: number; failed: number } }[]>(
    ok(await cli('computers', 'list', '--json')),
  );
  assert.deepEqual(computers.map((c) => [c.name, c.ipAddress, c.groups]), [
    ['pc1.corp.example', '10.0.0.11', ['Unassigned Computers']],
    ['pc2.corp.example', '10.0.0.12', ['Unassigned Computers']],
    ['pc3.corp.example', '10.0.0.13', ['Unassigned Computers']],
  ]);
  assert.equal(computers[0]!.os, 'Windows 11 Enterprise');
  assert.equal(computers[0]!.lastSyncAt, '2026-11-20T10:00:00.000Z');
  assert.equal(computers[2]!.lastReportAt, null);
  assert.deepEqual([computers[0]!.updates.needed, computers[1]!.updates.failed], [1, 1]);
  assert.match(ok(await cli('computers', 'move', 'PC1', '--group', 'Web')).stdout, /moved pc1\.corp\.example to "Web"/);
  const [unknownComputer, toAll] = await Promise.all([cli('computers', 'move', 'pc9', '--group', 'Web'), cli('computers', 'move', 'pc2', '--group', 'All Computers')]);
  fails(unknownComputer, 1, /unknown computer "pc9"/);
  fails(toAll, 1, /every computer is in All Computers/);
  assert.deepEqual(await inStore((s) => s.computers.groupsOf(IDS.pc1)), [(await inStore((s) => s.groups.list())).find((g) => g.name === 'Web')!.id]);

  const tree = stdoutJson<GroupJson[]>(ok(await cli('groups', 'list', '--json')));
  assert.deepEqual(tree.map((g) => [g.name, g.computers, g.computersInTree]), [
    ['All Computers', 3, 3],
    ['Unassigned Computers', 2, 2],
    ['Servers', 0, 1],
    ['Web', 1, 1],
  ]);
  assert.equal(tree.find((g) => g.name === 'Web')!.parentId, tree.find((g) => g.name === 'Servers')!.id);
  const text = ok(await cli('groups', 'list')).stdout;
  assert.match(text, /^All Computers\s+3\s+3\s+a0a08746-/m);
  assert.match(text, /^ {2}Servers\s+0\s+1\s/m, 'a parent counts the computers of its subgroups too');
  assert.match(text, /^ {4}Web\s+1\s+1\s/m, 'subgroups are indented under their parent');

  // Approvals: by KB (latest revision), with a deadline; the store sees them.
  const before = await inStore((s) => s.changes.current());
  // Different updates and groups: concurrent writers wait for each other (busy_timeout).
  const [approved, bundle, detect] = await Promise.all([
    cli('updates', 'approve', 'KB5070001', '--group', 'Servers', '--action', 'install', '--deadline', '2026-12-01T18:00'),
    cli('updates', 'approve', IDS.bundle.toUpperCase(), '--group', 'web', '--action', 'uninstall', '--admin', 'bob'),
    cli('updates', 'approve', 'kb5070002', '--group', 'All Computers', '--action', 'detect'),
  ]);
  assert.match(ok(approved).stdout, new RegExp(`approved ${IDS.cumulative} rev 2 .* for Install in "Servers" with deadline 2026-12-01T18:00:00.000Z`));
  ok(bundle);
  ok(detect);
  const stored = await inStore(async (s) => ({ approvals: await Array.fromAsync(s.approvals.iterate()), position: await s.changes.current(), groups: await s.groups.list() }));
  const groupId = (name: string) => stored.groups.find((g) => g.name === name)!.id;
  assert.deepEqual(
    stored.approvals.map((a) => [a.updateId, a.revisionNumber, a.groupId, a.action, a.deadline ?? null, a.adminName]).sort((x, y) => String(x[3]).localeCompare(String(y[3]))),
    [
      [IDS.cumulative, 2, groupId('Servers'), 'Install', '2026-12-01T18:00:00.000Z', 'alice'],
      [IDS.stack, 1, ALL_COMPUTERS_GROUP_ID, 'PreDeploymentCheck', null, 'alice'],
      [IDS.bundle, 1, groupId('Web'), 'Uninstall', null, 'bob'],
    ],
  );
  assert.equal(stored.position, before + 3, 'each approval takes a change position');

  // Approval errors name what to fix (more of them in-process: admin-units.test.ts).
  const approve = (id: string, ...rest: string[]) => cli('updates', 'approve', id, '--group', 'Servers', '--action', 'install', ...rest);
  const [again, ambiguous, unknownKb, unknownGroup, badDeadline, noUninstall] = await Promise.all([
    approve('KB5070001', '--deadline', '2026-12-01T18:00Z'),
    approve('KB5070003'),
    approve('KB9999999'),
    cli('updates', 'approve', 'KB5070001', '--group', 'Desktops', '--action', 'install'),
    approve('KB5070001', '--deadline', 'next friday'),
    cli('updates', 'approve', 'KB5070002', '--group', 'Servers', '--action', 'uninstall'),
  ]);
  assert.match(ok(again).stdout, /already approved/);
  fails(ambiguous, 1, new RegExp(`KB5070003 is ambiguous: 2 updates[^]*${IDS.twinA}`));
  fails(unknownKb, 1, /unknown update: no update in the catalog has KB9999999/);
  fails(unknownGroup, 1, /unknown group "Desktops"; known groups: All Computers, Unassigned Computers, Servers, Web/);
  fails(badDeadline, 2, /bad deadline "next friday": use .*2026-12-01T18:00Z/);
  fails(noUninstall, 1, /cannot be uninstalled: its document has no UninstallationBehavior/);
  assert.equal(await inStore((s) => s.changes.current()), stored.position, 'refusals and a repeated approval change nothing');

  // Take one back, decline another; the declined one is listed as such and cannot be approved.
  ok(await cli('updates', 'unapprove', 'KB5070002', '--group', 'All Computers'));
  fails(await cli('updates', 'unapprove', 'KB5070002', '--group', 'All Computers'), 1, /is not approved for "All Computers"/);
  const beforeDecline = await inStore((s) => s.changes.current());
  assert.match(ok(await cli('updates', 'decline', IDS.twinB)).stdout, /^declined: /);
  assert.equal(await inStore((s) => s.changes.current()), beforeDecline + 1);
  fails(await cli('updates', 'approve', IDS.twinB, '--group', 'Servers', '--action', 'install'), 1, /is declined/);

  interface ListJson {
    total: number;
    updates: { updateId: string; kb: string | null; classifications: string[]; declined: boolean; approvals: { group: string; action: string }[] }[];
  }
  const declined = stdoutJson<ListJson>(ok(await cli('updates', 'list', '--declined', '--json')));
  assert.deepEqual(declined.updates.map((u) => [u.updateId, u.kb, u.declined]), [[IDS.twinB, 'KB5070003', true]]);
  const approvedList = stdoutJson<ListJson>(ok(await cli('updates', 'list', '--approved', '--classification', 'Security Updates', '--text', 'cumulative', '--json')));
  assert.deepEqual(approvedList.updates.map((u) => [u.updateId, u.classifications, u.approvals]), [[IDS.cumulative, ['Security Updates'], [{ group: 'Servers', action: 'Install', deadline: '2026-12-01T18:00:00.000Z', admin: 'alice' }]]]);
  const [paged, misspelt] = await Promise.all([cli('updates', 'list', '--limit', '2'), cli('updates', 'list', '--classification', 'Securty Updates')]);
  assert.match(ok(paged).stdout, /1-2 of 6 \(next page: --offset 2\)/);
  fails(misspelt, 1, /unknown classification "Securty Updates"; known: Critical Updates, Security Updates/);

  // Status per update: counts and each computer.
  const status = stdoutJson<{ revisionNumber: number; counts: Record<string, number>; computers: { name: string; status: string }[] }>(ok(await cli('updates', 'status', 'KB5070001', '--json')));
  assert.equal(status.revisionNumber, 2);
  assert.deepEqual(status.counts, { Installed: 1, Needed: 0, Failed: 1, NotApplicable: 0, Unknown: 1 });
  assert.deepEqual(status.computers.map((c) => [c.name, c.status]), [['pc1.corp.example', 'Installed'], ['pc2.corp.example', 'Failed'], ['pc3.corp.example', 'Unknown']]);

  // Deleting groups: built-ins, parents and groups with computers are refused; an empty one goes with its approvals.
  const [builtin, parent, occupied] = await Promise.all([cli('groups', 'delete', 'Unassigned Computers'), cli('groups', 'delete', 'Servers'), cli('groups', 'delete', 'Web')]);
  fails(builtin, 1, /cannot delete group: "Unassigned Computers" is built in/);
  fails(parent, 1, /has subgroups \(Web\): delete or move them first/);
  fails(occupied, 1, /has 1 computer\(s\): move them to another group first/);
  ok(await cli('computers', 'move', IDS.pc1, '--group', 'Unassigned Computers'));
  assert.match(ok(await cli('groups', 'delete', 'web')).stdout, /deleted group "Web" and its 1 approval\(s\)/);
  const after = await inStore(async (s) => ({ groups: (await s.groups.list()).map((g) => g.name), approvals: (await s.approvals.ofUpdate(IDS.bundle)).length, pc1: await s.computers.groupsOf(IDS.pc1) }));
  assert.deepEqual(after, { groups: ['All Computers', 'Unassigned Computers', 'Servers'], approvals: 0, pc1: [UNASSIGNED_COMPUTERS_GROUP_ID] });
});

test('the new commands answer --help without a database', async () => {
  const help = ok(await runCli(['updates', 'approve', '--help']));
  assert.match(help.stdout, /--action <action>/);
  assert.match(help.stdout, /--deadline <time>/);
});

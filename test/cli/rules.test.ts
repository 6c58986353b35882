// Automatic approval rules: the repository (default rule, create/enable/delete, the hook a
// synchronization calls in its batch transaction, Run Rule, replica refusals) on every backend;
// `openwsus rules` in-process on SQLite, with the replica refusals of the other administration
// commands and the computer and status details; and a real synchronization from an in-process
// root, on an autonomous server and on a replica.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ruleCandidate, type SynchronizedRevision } from '../../src/domain/approval-automation.ts';
import { ALL_COMPUTERS_GROUP_ID as ALL, CLASSIFICATIONS } from '../../src/domain/wellknown.ts';
import { openStore, type RevisionInput, type Store } from '../../src/store/index.ts';
import { ApprovalRuleError } from '../../src/store/approval-rule-repository.ts';
import { DEFAULTS, type BootConfig } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer } from '../../src/app/server.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { expandProducts } from '../../src/domain/settings.ts';
import { parseUpdate } from '../../src/metadata/update-parser.ts';
import { synchronize } from '../../src/sync/index.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { cliInProcess as cli } from '../support/cli.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeRevision } from '../store/records.ts';
import { IDS, seedAdminCatalog, seedFleet } from './admin-catalog.ts';

const inClass = (id: string) => [{ updateIds: [id], isCategory: true }];

/** What the engine does with one batch of the updates phase. */
async function synchronizeBatch(store: Store, inputs: RevisionInput[], changes: SynchronizedRevision['change'][]) {
  return store.transaction(async (tx) => {
    await tx.catalog.upsertRevisions(inputs);
    return tx.approvalRules.applyToSynchronized(inputs.map((x, i) => ({ ...ruleCandidate(x.record), change: changes[i]! })));
  });
}

async function makeGroup(store: Store, name: string): Promise<string> {
  const id = guid(name.length, `group-${name}`);
  await store.groups.create({ id, name, parentId: ALL });
  return id;
}

forEachBackend('rules: default rule; create, switch, delete; applied in a synchronization batch; Run Rule; refused on a replica', async ({ store }) => {
  await rulesAreKept(store);
  await runRuleApplies(store);
  await rulesInSynchronization(store);
  await replicaRefuses(store);
});

async function rulesAreKept(store: Store): Promise<void> {
  const [first] = await store.approvalRules.list();
  assert.equal(first!.name, 'Default Automatic Approval Rule');
  assert.equal(first!.enabled, false);
  assert.equal(first!.builtin, true);
  assert.deepEqual([...first!.classificationIds].sort(), [CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.securityUpdates].sort());
  assert.deepEqual(first!.groupIds, [ALL]);
  await assert.rejects(store.approvalRules.delete(first!.id), (e: unknown) => e instanceof ApprovalRuleError && /built in .* disable it instead/.test(e.message));

  const lab = await makeGroup(store, 'Lab');
  const rule = await store.approvalRules.create({
    name: 'Lab security',
    enabled: true,
    classificationIds: [CLASSIFICATIONS.securityUpdates.toUpperCase()],
    productIds: [],
    groupIds: [lab, ALL],
    action: 'Install',
    deadline: { days: 3, time: '18:30' },
  });
  const listed = (await store.approvalRules.list()).find((r) => r.id === rule.id)!;
  assert.deepEqual(listed.classificationIds, [CLASSIFICATIONS.securityUpdates]);
  assert.deepEqual([...listed.groupIds].sort(), [ALL, lab].sort());
  assert.deepEqual(listed.deadline, { days: 3, time: '18:30' });
  await assert.rejects(
    store.approvalRules.create({ ...rule, name: 'LAB SECURITY' }),
    (e: unknown) => e instanceof ApprovalRuleError && /a rule named "Lab security" already exists/.test(e.message),
  );
  await assert.rejects(store.approvalRules.create({ ...rule, name: 'x', classificationIds: [] }), /needs classifications, products or both/);
  assert.equal(await store.approvalRules.setEnabled(rule.id, false), true);
  assert.equal((await store.approvalRules.list()).find((r) => r.id === rule.id)!.enabled, false);
  assert.equal(await store.approvalRules.setEnabled(9999, true), false);
  // Deleting a group takes it out of the rules.
  assert.equal((await store.groups.delete(lab)).deleted, true);
  assert.deepEqual((await store.approvalRules.list()).find((r) => r.id === rule.id)!.groupIds, [ALL]);
  assert.equal(await store.approvalRules.delete(rule.id), true);
  assert.equal(await store.approvalRules.delete(rule.id), false);
  assert.equal((await store.approvalRules.list()).length, 1);
}

/** New updates only, new revisions keep approvals, expiring revisions decline; each change takes a position. */
async function rulesInSynchronization(store: Store): Promise<void> {
  const lab = await makeGroup(store, 'Ring1');
  const G = (n: number) => guid(n, 'rules-sync');
  const [defaultRule] = await store.approvalRules.list();
  await store.approvalRules.setEnabled(defaultRule!.id, true);
  await store.approvalRules.create({ name: 'tools', enabled: false, classificationIds: [CLASSIFICATIONS.tools], productIds: [], groupIds: [lab], action: 'Install' });
  const classes = [
    makeRevision({ updateId: CLASSIFICATIONS.securityUpdates, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Security Updates' }),
    makeRevision({ updateId: CLASSIFICATIONS.tools, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Tools' }),
  ];
  await store.catalog.upsertRevisions(classes);
  const sec = makeRevision({ updateId: G(1), revisionNumber: 1, prerequisites: inClass(CLASSIFICATIONS.securityUpdates) });
  const tool = makeRevision({ updateId: G(2), revisionNumber: 1, prerequisites: inClass(CLASSIFICATIONS.tools) });
  const before = await store.changes.current();
  assert.deepEqual(await synchronizeBatch(store, [sec, tool], ['new', 'new']), { approved: 1, declined: 0 });
  const approvals = await store.approvals.ofUpdate(G(1));
  assert.deepEqual(approvals.map((a) => [a.groupId, a.action, a.revisionNumber, a.adminName]), [[ALL, 'Install', 1, 'WUS Server']]);
  assert.deepEqual(await store.approvals.ofUpdate(G(2)), []);
  const positions = await store.changes.since(before);
  assert.ok(positions.some((p) => p.kind === 'approval'), 'the automatic approval takes a change position');

  // An administrator's approval of the tools update, then a new revision of both: approvals follow.
  await store.approvals.upsert([{ id: 'a0000000-0000-4000-8000-000000000001', updateId: G(2), revisionNumber: 1, groupId: lab, action: 'Install', adminName: 'alice', createdAt: '2026-11-01T00:00:00.000Z' }]);
  const sec2 = makeRevision({ updateId: G(1), revisionNumber: 2, prerequisites: inClass(CLASSIFICATIONS.securityUpdates) });
  const tool2 = makeRevision({ updateId: G(2), revisionNumber: 2, prerequisites: inClass(CLASSIFICATIONS.tools) });
  assert.deepEqual(await synchronizeBatch(store, [sec2, tool2], ['revised', 'revised']), { approved: 2, declined: 0 });
  assert.deepEqual((await store.approvals.ofUpdate(G(1))).map((a) => a.revisionNumber), [2]);
  assert.deepEqual((await store.approvals.ofUpdate(G(2))).map((a) => [a.groupId, a.revisionNumber]), [[lab, 2]]);

  // A revision that expires the update declines it; with the option off it stays.
  const expired = makeRevision({ updateId: G(1), revisionNumber: 3, publicationState: 'Expired', prerequisites: inClass(CLASSIFICATIONS.securityUpdates) });
  assert.deepEqual(await synchronizeBatch(store, [expired], ['expired']), { approved: 0, declined: 1 });
  assert.deepEqual((await store.declines.list()).filter((d) => d.adminName === 'WUS Server').map((d) => d.updateId), [G(1)]);
  await store.settings.set('approvals.declineExpired', false);
  await store.settings.set('approvals.approveNewRevisions', false);
  const expired2 = makeRevision({ updateId: G(2), revisionNumber: 3, publicationState: 'Expired', prerequisites: inClass(CLASSIFICATIONS.tools) });
  assert.deepEqual(await synchronizeBatch(store, [expired2], ['expired']), { approved: 0, declined: 0 });
  // An update that arrives expired, never held before, is not declined either.
  await store.settings.set('approvals.declineExpired', true);
  const bornExpired = makeRevision({ updateId: G(4), revisionNumber: 1, publicationState: 'Expired', prerequisites: inClass(CLASSIFICATIONS.tools) });
  assert.deepEqual(await synchronizeBatch(store, [bornExpired], ['expired']), { approved: 0, declined: 0 });

  // Disabled: nothing for a new security update.
  await store.approvalRules.setEnabled(defaultRule!.id, false);
  const sec3 = makeRevision({ updateId: G(3), revisionNumber: 1, prerequisites: inClass(CLASSIFICATIONS.securityUpdates) });
  assert.deepEqual(await synchronizeBatch(store, [sec3], ['new']), { approved: 0, declined: 0 });
  assert.deepEqual(await store.approvals.ofUpdate(G(3)), []);
}

/** Run Rule applies a rule to the updates held, leaving declined updates and groups already approved alone. */
async function runRuleApplies(store: Store): Promise<void> {
  await seedAdminCatalog(store);
  const lab = await makeGroup(store, 'Pilot');
  await store.approvals.upsert([{ id: 'a0000000-0000-4000-8000-000000000002', updateId: IDS.twinA, revisionNumber: 1, groupId: lab, action: 'PreDeploymentCheck', adminName: 'alice', createdAt: '2026-11-01T00:00:00.000Z' }]);
  await store.declines.upsert([{ updateId: IDS.twinB, adminName: 'alice', declinedAt: '2026-11-01T00:00:00.000Z' }]);
  const rule = await store.approvalRules.create({ name: 'Security to Lab', enabled: false, classificationIds: [IDS.security], productIds: [], groupIds: [lab], action: 'Install' });
  const before = await store.changes.current();
  // Security updates: cumulative (rev 2), twinA (approved for Lab), twinB (declined), bundle; the bundled child is not explicitly deployable.
  assert.deepEqual(await store.approvalRules.run(rule.id), { approved: 2, declined: 0 });
  assert.equal(await store.changes.current(), before + 2);
  assert.deepEqual((await store.approvals.ofUpdate(IDS.cumulative)).map((a) => [a.groupId, a.revisionNumber, a.action]), [[lab, 2, 'Install']]);
  assert.deepEqual((await store.approvals.ofUpdate(IDS.bundle)).map((a) => a.action), ['Install']);
  assert.deepEqual((await store.approvals.ofUpdate(IDS.twinA)).map((a) => a.action), ['PreDeploymentCheck']);
  assert.deepEqual(await store.approvals.ofUpdate(IDS.twinB), []);
  assert.deepEqual(await store.approvals.ofUpdate(IDS.stack), []);
  // Running it again changes nothing.
  assert.deepEqual(await store.approvalRules.run(rule.id), { approved: 0, declined: 0 });
  assert.equal(await store.changes.current(), before + 2);
}

async function replicaRefuses(store: Store): Promise<void> {
  await store.settings.set('upstream.source', 'server');
  await store.settings.set('upstream.server', 'uss.example');
  await store.settings.set('upstream.replica', true);
  const [rule] = await store.approvalRules.list();
  await assert.rejects(store.approvalRules.run(rule!.id), /cannot run automatic approval rules: this server is a replica of http:\/\/uss\.example:8530/);
  await assert.rejects(store.approvalRules.setEnabled(rule!.id, true), /cannot change automatic approval rules: this server is a replica/);
  await assert.rejects(store.approvalRules.create({ name: 'x', enabled: true, classificationIds: [CLASSIFICATIONS.tools], productIds: [], groupIds: [ALL], action: 'Install' }), /replica/);
  assert.equal((await store.approvalRules.list())[0]!.enabled, false);
}

test('openwsus rules list|create|enable|disable|run|delete, with errors that say what to fix', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'openwsus-rules-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openStore({ dataDir: dir });
  await seedAdminCatalog(store);
  await seedFleet(store);
  await store.computers.register(IDS.pc1, { dnsName: 'pc1.corp.example', osDescription: 'Windows 11 Enterprise', manufacturer: 'QEMU', model: 'Standard PC (Q35 + ICH9, 2009)' }, '10.0.0.11');
  await store.close();
  const run = (...args: string[]) => cli(['--data', dir, ...args]);

  const listed = await run('rules', 'list', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  const parsed = JSON.parse(listed.stdout) as { rules: { name: string; enabled: boolean; classifications: string[]; groups: string[] }[]; options: Record<string, boolean> };
  assert.deepEqual(parsed.rules.map((r) => [r.name, r.enabled, [...r.classifications].sort(), r.groups]), [
    ['Default Automatic Approval Rule', false, ['Critical Updates', 'Security Updates'], ['All Computers']],
  ]);
  assert.deepEqual(parsed.options, { approveNewRevisions: true, declineExpired: true });

  const created = await run('rules', 'create', 'Security now', '--classification', 'security updates', '--group', 'All Computers', '--deadline-days', '2', '--deadline-time', '06:00', '--json');
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual(JSON.parse(created.stdout), {
    id: 2,
    name: 'Security now',
    enabled: true,
    builtin: false,
    action: 'Install',
    classifications: ['Security Updates'],
    products: [],
    groups: ['All Computers'],
    deadline: { days: 2, time: '06:00' },
  });
  const text = await run('rules', 'list');
  assert.match(text.stdout, /2 {2}Security now {2}\[enabled\]\n {4}when classification Security Updates: approve for install in All Computers, deadline 2 day\(s\) after approval at 06:00 UTC/);

  for (const [args, code, message] of [
    [['rules', 'create', 'x', '--group', 'All Computers'], 2, /needs --classification, --product or both/],
    [['rules', 'create', 'x', '--classification', 'Security Updates'], 2, /at least one --group/],
    [['rules', 'create', 'x', '--classification', 'Security Updates', '--group', 'All Computers', '--action', 'uninstall'], 2, /--action must be install/],
    [['rules', 'create', 'x', '--classification', 'Securty', '--group', 'All Computers'], 1, /unknown classification "Securty"; known: Critical Updates, Security Updates/],
    [['rules', 'create', 'x', '--product', 'Windows 11', '--group', 'All Computers'], 1, /unknown product "Windows 11"; the catalog has none yet/],
    [['rules', 'create', 'x', '--classification', 'Tools', '--group', 'Desktops'], 1, /unknown group "Desktops"/],
    [['rules', 'create', 'x', '--classification', 'Tools', '--group', 'All Computers', '--deadline-time', '06:00'], 2, /--deadline-time needs --deadline-days/],
    [['rules', 'create', 'x', '--classification', 'Tools', '--group', 'All Computers', '--deadline-days', '1', '--deadline-time', '6pm'], 2, /--deadline-time must be HH:MM/],
    [['rules', 'create', 'security NOW', '--classification', 'Tools', '--group', 'All Computers'], 1, /a rule named "Security now" already exists/],
    [['rules', 'enable', 'nope'], 1, /unknown rule "nope"; rules: 1 "Default Automatic Approval Rule", 2 "Security now"/],
    [['rules', 'delete', 'default automatic approval rule'], 1, /is built in and cannot be deleted: disable it instead/],
  ] as const) {
    const r = await run(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }

  const ran = await run('rules', 'run', '2', '--json');
  assert.equal(ran.code, 0, ran.stderr);
  // Security Updates, explicitly deployable: cumulative, twinA, twinB, bundle.
  assert.deepEqual(JSON.parse(ran.stdout), { rule: 'Security now', approved: 4 });
  assert.match((await run('rules', 'disable', 'Security now')).stdout, /disabled rule "Security now"/);
  assert.match((await run('rules', 'disable', 'Security now')).stdout, /already disabled/);
  assert.match((await run('rules', 'enable', '1')).stdout, /enabled rule "Default Automatic Approval Rule"/);
  assert.match((await run('rules', 'delete', 'Security now')).stdout, /deleted rule "Security now"/);
  const after = JSON.parse((await run('rules', 'list', '--json')).stdout) as { rules: { name: string; enabled: boolean }[] };
  assert.deepEqual(after.rules.map((r) => [r.name, r.enabled]), [['Default Automatic Approval Rule', true]]);

  // Computer details and the seven statuses per computer.
  const computers = JSON.parse((await run('computers', 'list', '--json')).stdout) as { name: string; ipAddress: string; os: string; make: string | null; model: string | null; lastSyncAt: string | null; lastReportAt: string | null }[];
  assert.deepEqual(
    computers.map((c) => [c.name, c.ipAddress, c.os, c.make, c.model, c.lastSyncAt !== null, c.lastReportAt !== null]),
    [
      ['pc1.corp.example', '10.0.0.11', 'Windows 11 Enterprise', 'QEMU', 'Standard PC (Q35 + ICH9, 2009)', true, true],
      ['pc2.corp.example', '10.0.0.12', 'Windows 11 Enterprise', null, null, false, true],
      ['pc3.corp.example', '10.0.0.13', 'Windows 11 Enterprise', null, null, false, false],
    ],
  );
  const status = JSON.parse((await run('updates', 'status', 'KB5070002', '--json')).stdout) as { statuses: Record<string, number>; computers: { name: string; detail: string }[] };
  assert.deepEqual(status.statuses, { Unknown: 1, NotApplicable: 1, NotInstalled: 1, Downloaded: 0, Installed: 0, InstalledPendingReboot: 0, Failed: 0 });
  assert.deepEqual(status.computers.map((c) => [c.name, c.detail]), [['pc1.corp.example', 'NotInstalled'], ['pc2.corp.example', 'NotApplicable'], ['pc3.corp.example', 'Unknown']]);
  assert.equal((await run('groups', 'create', 'Ring2')).code, 0);

  // On a replica, refused before anything is read or written.
  assert.equal((await run('config', 'set', 'upstream.source', 'server')).code, 0);
  assert.equal((await run('config', 'set', 'upstream.server', 'uss.example')).code, 0);
  assert.equal((await run('config', 'set', 'upstream.replica', 'true')).code, 0);
  const refused = await run('rules', 'run', 'no such rule');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /cannot run automatic approval rules: this server is a replica of http:\/\/uss\.example:8530/);
  const groupsBefore = (await run('groups', 'list', '--json')).stdout;
  const approvalsBefore = (await run('updates', 'list', '--json', '--limit', '1000')).stdout;
  // Names that do not exist show that the replica check comes first.
  for (const [args, what] of [
    [['updates', 'approve', 'KB5070002', '--group', 'Ring2', '--action', 'install'], 'change approvals'],
    [['updates', 'approve', 'KB0', '--group', 'nowhere', '--action', 'install'], 'change approvals'],
    [['updates', 'unapprove', 'KB5070001', '--group', 'All Computers'], 'change approvals'],
    [['updates', 'decline', 'KB5070002'], 'decline updates'],
    [['groups', 'create', 'Ring3'], 'create groups'],
    [['groups', 'delete', 'Ring2'], 'delete groups'],
    [['groups', 'delete', 'no such group'], 'delete groups'],
    [['computers', 'move', 'pc1', '--group', 'Ring2'], 'move computers between groups'],
    [['rules', 'create', 'x', '--classification', 'Tools', '--group', 'All Computers'], 'change automatic approval rules'],
    [['rules', 'disable', '1'], 'change automatic approval rules'],
  ] as const) {
    const r = await run(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, `openwsus: cannot ${what}: this server is a replica of http://uss.example:8530: approvals, groups, declines, products and classifications come from the upstream; change them there\n`, args.join(' '));
  }
  assert.equal((await run('groups', 'list', '--json')).stdout, groupsBefore);
  assert.equal((await run('updates', 'list', '--json', '--limit', '1000')).stdout, approvalsBefore);
  assert.deepEqual((JSON.parse((await run('computers', 'list', '--json')).stdout) as { groups: string[] }[]).map((c) => c.groups), [['Unassigned Computers'], ['Unassigned Computers'], ['Unassigned Computers']]);
});

// In a real synchronization: an in-process root serving a generated catalog.
async function configure(store: Store, port: number, replica: boolean): Promise<void> {
  await store.settings.set('upstream.source', 'server');
  await store.settings.set('upstream.server', '127.0.0.1');
  await store.settings.set('upstream.port', port);
  await store.settings.set('products', [WINDOWS_PRODUCT_FAMILY_ID]);
  await store.settings.set('classifications', Object.values(CLASSIFICATIONS));
  if (replica) await store.settings.set('upstream.replica', true);
}

const SECURITY_OR_CRITICAL = new Set<string>([CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates]);

forEachBackend(
  'a synchronization approves the new updates the enabled rules match, once; a replica applies none',
  async ({ t, store }) => {
    const work = mkdtempSync(join(tmpdir(), 'openwsus-rules-sync-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const file = join(work, 'catalog.owx');
    await writeGeneratedCatalog({ updates: 100, seed: 'rules' }, file);
    const config: BootConfig = { ...DEFAULTS, data: join(work, 'root'), host: '127.0.0.1', port: 0, logLevel: 'silent' };
    const root = await startServer(config, createLogger('silent'));
    t.after(() => root.close());
    await importCatalogFile(root.store, file);
    const port = Number(new URL(root.listeners[0]!.url).port);
    await configure(store, port, false);
    const [defaultRule] = await store.approvalRules.list();
    await store.approvalRules.setEnabled(defaultRule!.id, true);
    // A product family (its products arrive in the same synchronization) and a classification, with a deadline.
    const ring = await makeGroup(store, 'Windows ring');
    const others: string[] = Object.values(CLASSIFICATIONS).filter((c) => !SECURITY_OR_CRITICAL.has(c));
    await store.approvalRules.create({ name: 'Windows, not security', enabled: true, classificationIds: others, productIds: [WINDOWS_PRODUCT_FAMILY_ID], groupIds: [ring], action: 'Install', deadline: { days: 3, time: '04:00' } });
    await synchronize({ store, serverName: 'dss.rules.test' });

    // What each rule should have approved, worked out here with the settings' own product expansion.
    const windows = new Set(expandProducts(await store.catalog.categories(), [WINDOWS_PRODUCT_FAMILY_ID]));
    const expected: Record<string, Set<string>> = { [ALL]: new Set(), [ring]: new Set() };
    const all = (await store.approvals.listUpdates({ limit: 1000 })).updates;
    for (const u of all) {
      const record = parseUpdate((await store.catalog.getLatest(u.updateId))!.xml);
      if (!record.properties.explicitlyDeployable || record.properties.publicationState === 'Expired') continue;
      const categories = record.prerequisites.filter((p) => p.isCategory).flatMap((p) => p.updateIds.map((id) => id.toLowerCase()));
      if (categories.some((c) => SECURITY_OR_CRITICAL.has(c))) expected[ALL]!.add(u.updateId);
      if (categories.some((c) => others.includes(c)) && categories.some((c) => windows.has(c))) expected[ring]!.add(u.updateId);
    }
    assert.ok(expected[ALL]!.size >= 3 && expected[ring]!.size >= 3, `the catalog has updates for both rules (${expected[ALL]!.size}, ${expected[ring]!.size})`);
    const approved = (await store.approvals.listUpdates({ approved: true, limit: 1000 })).updates;
    for (const group of [ALL, ring]) {
      const made = approved.flatMap((u) => u.approvals.filter((a) => a.groupId === group).map((a) => ({ u, a })));
      assert.deepEqual(new Set(made.map(({ u }) => u.updateId)), expected[group], group);
      for (const { u, a } of made) {
        assert.deepEqual([a.action, a.adminName, a.revisionNumber, a.deadline !== undefined], ['Install', 'WUS Server', u.revisionNumber, group === ring]);
      }
    }
    assert.ok(approved.length < all.length, 'updates of other classifications stay unapproved');
    // Nothing new upstream: no rule acts again.
    const position = await store.changes.current();
    await synchronize({ store, serverName: 'dss.rules.test' });
    assert.equal(await store.changes.current(), position);

    // A replica with the same rule enabled takes its approvals from the upstream only (none there).
    const replicaDir = mkdtempSync(join(tmpdir(), 'openwsus-rules-replica-'));
    const replica = await openStore({ dataDir: replicaDir });
    try {
      await configure(replica, port, true);
      const [rule] = await replica.approvalRules.list();
      // Enabled before the server became a replica (the refusal is tested elsewhere): a raw write.
      await replica.db.withTables<{ approval_rule: { rule_id: number; enabled: boolean } }>().updateTable('approval_rule').set({ enabled: true }).where('rule_id', '=', rule!.id).execute();
      await synchronize({ store: replica, serverName: 'replica.rules.test' });
      assert.ok((await replica.catalog.stats()).revisions > 67);
      assert.equal((await replica.approvals.listUpdates({ approved: true })).total, 0);
    } finally {
      await replica.close();
      rmSync(replicaDir, { recursive: true, force: true });
    }
  },
  { only: ['sqlite'] },
);

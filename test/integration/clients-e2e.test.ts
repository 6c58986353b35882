// Windows Update clients end to end (issue 5 "Done when"), on each backend: a root openwsus holds
// a generated catalog with its content; a downstream `bin/openwsus serve` process synchronizes
// from it (`openwsus sync`), gets a group and approvals from an administrator (`openwsus groups
// create`, `updates approve`) and the approved files from the root (`openwsus content download`,
// the content queue: deferred downloads fetch only approved updates' files); then simulated
// clients (src/simulator) of that group scan it over HTTP:
//
// 1. each gets exactly the approved updates for Install (automatic detection approvals aside),
//    with their bundle members, prerequisites and categories, downloads the files with ranged
//    GETs and matching digests, and reports; `updates status --json` and `computers list --json`
//    tell the same story;
// 2. a declined update leaves their scans (OutOfScopeRevisionIDs);
// 3. a changed approval (a deadline added) reaches them as ChangedUpdates;
// 4. a computer moved to another group (server-side targeting) gets that group's approvals once
//    its cookie is renewed, and loses the old group's.
//
// The root runs in this process (startServer), the downstream as a real process; the admin
// commands run in this process through the CLI's main() (the same code `bin/openwsus` runs).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { DEFAULTS, type BootConfig } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer } from '../../src/app/server.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { ContentStore } from '../../src/content/index.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { ALL_NEEDED, Fleet, SimulatedClient, type ClientScanResult } from '../../src/simulator/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import type { ScanRevision } from '../../src/store/scan-catalog-repository.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { reconcileContent } from '../../src/transfer/content-state.ts';
import { availableBackends } from '../support/db.ts';
import { cliInProcess as cli } from '../support/cli.ts';
import { createBackendDatabase, startServeProcess } from '../support/server-process.ts';

const CATALOG = { updates: 120, seed: 'clients-e2e' } as const;
const CLASSES = [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.updates, CLASSIFICATIONS.definitionUpdates];
const COMPUTERS = 3;

const work = mkdtempSync(join(tmpdir(), 'openwsus-it-clients-'));
after(() => rmSync(work, { recursive: true, force: true }));
const catalogFile = join(work, 'catalog.owx');
const rootContent = join(work, 'root-content');
await writeGeneratedCatalog(CATALOG, catalogFile, { contentDir: rootContent });

function bootConfig(data: string, database: string): BootConfig {
  return { ...DEFAULTS, data, database, host: '127.0.0.1', port: 0, httpsPort: 0, logLevel: 'silent' };
}

interface Picked {
  /** An approved bundle with a prerequisite (a detectoid: the generated catalog's updates require those and categories). */
  readonly bundle: ScanRevision;
  /** Approved, then declined. */
  readonly declined: ScanRevision;
  /** Approved, then given a deadline. */
  readonly deadline: ScanRevision;
  /** Approved for the other group only. */
  readonly lab: ScanRevision;
}

/** Software updates of the downstream's catalog to approve, chosen for what they exercise. */
function pick(revisions: readonly ScanRevision[], withFiles: ReadonlySet<number>): Picked {
  const byId = new Map(revisions.map((r) => [r.updateId, r]));
  const software = revisions.filter((r) => r.updateType === 'Software' && r.publicationState !== 'Expired');
  const members = new Set(software.flatMap((r) => r.bundledUpdateIds ?? []));
  const prerequisiteOf = new Set(software.flatMap((r) => r.prerequisites.flatMap((c) => (c.isCategory ? [] : c.updateIds))));
  const bundle = software.find((r) => (r.bundledUpdateIds?.length ?? 0) > 0 && r.prerequisites.some((c) => !c.isCategory && c.updateIds.some((id) => byId.has(id))));
  assert.ok(bundle !== undefined, 'the catalog has a bundle with a prerequisite');
  // Updates a computer is offered by themselves (not carried by a bundle), with files of their own or their members'.
  const hasFiles = (r: ScanRevision): boolean => withFiles.has(r.revisionId) || (r.bundledUpdateIds ?? []).some((m) => withFiles.has(byId.get(m)?.revisionId ?? -1));
  const others = software.filter((r) => r !== bundle && !members.has(r.updateId) && !prerequisiteOf.has(r.updateId) && hasFiles(r));
  assert.ok(others.length >= 3, `three more updates with files (${others.length})`);
  return { bundle, declined: others[0]!, deadline: others[1]!, lab: others[2]! };
}

function installs(result: ClientScanResult): string[] {
  return result.offered.filter((u) => u.action === 'Install').map((u) => u.updateId).sort();
}

function okScan(result: ClientScanResult): ClientScanResult {
  assert.ok(result.ok, `${result.dnsName} scan ${result.scan}: ${result.error}`);
  return result;
}

async function scenario(t: TestContext, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const rootDir = mkdtempSync(join(work, `root-${dialect}-`));
  const dssDir = mkdtempSync(join(work, `dss-${dialect}-`));
  const dssDb = await createBackendDatabase(dialect, dssDir);
  t.after(() => dssDb.drop());

  // The root: the catalog and its content, served in this process (on SQLite: what is under
  // test on each backend is the downstream that serves the clients).
  const root = await startServer(bootConfig(rootDir, `sqlite:${join(rootDir, 'openwsus.db')}`), createLogger('silent'));
  t.after(() => root.close());
  await importCatalogFile(root.store, catalogFile);
  cpSync(rootContent, join(rootDir, 'content'), { recursive: true });
  await reconcileContent(root.store, ContentStore.inDataDir(rootDir));
  const rootPort = new URL(root.listeners[0]!.url).port;

  // The downstream, administered with the CLI.
  const dss = async (...args: string[]) => {
    const r = await cli(['--data', dssDir, '--database', dssDb.url, ...args]);
    assert.equal(r.code, 0, `openwsus ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const inStore = async <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
    const store = await openStore({ database: dssDb.url, dataDir: dssDir });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  };
  // Setup, not under test here (test/sync/config-cli.test.ts is): one store session instead of six commands.
  await inStore(async (store) => {
    for (const [key, value] of [
      ['upstream.source', 'server'],
      ['upstream.server', '127.0.0.1'],
      ['upstream.port', Number(rootPort)],
      ['products', [WINDOWS_PRODUCT_FAMILY_ID]],
      ['classifications', CLASSES],
      ['clients.targetingMode', 'client'],
    ] as const) {
      await store.settings.set(key, value);
    }
  });
  const synced = JSON.parse(await dss('sync', '--json')) as { result: string };
  assert.equal(synced.result, 'succeeded');

  const { picked, revisions, filesOf } = await inStore(async (store) => {
    const revisions = await store.scanCatalog.revisions();
    const files = await store.files.ofRevisions(revisions.map((r) => r.revisionId));
    const withFiles = new Set([...files].filter(([, f]) => f.length > 0).map(([id]) => id));
    return { picked: pick(revisions, withFiles), revisions, filesOf: files };
  });
  const approved = [picked.bundle, picked.declined, picked.deadline].map((r) => r.updateId).sort();
  await dss('groups', 'create', 'Pilot');
  await dss('groups', 'create', 'Lab');
  for (const id of approved) await dss('updates', 'approve', id, '--group', 'Pilot', '--action', 'install');
  await dss('updates', 'approve', picked.lab.updateId, '--group', 'Lab', '--action', 'install');
  const downloaded = JSON.parse(await dss('content', 'download', '--json')) as { present: number; failed: number };
  assert.equal(downloaded.failed, 0, 'the approved files come from the root');
  assert.ok(downloaded.present > 0);

  const server = await startServeProcess({ dataDir: dssDir, database: dssDb.url });
  t.after(async () => {
    await server.stop();
  });

  // 1. First scans.
  const fleet = new Fleet({ serverUrl: server.url, count: COMPUTERS, seed: 5, group: 'Pilot', profile: ALL_NEEDED, concurrency: COMPUTERS });
  t.after(() => fleet.close());
  const first = (await fleet.scanAll()).map(okScan);
  const byUpdate = new Map(revisions.map((r) => [r.updateId, r]));
  for (const r of first) {
    assert.equal(r.kind, 'first');
    assert.deepEqual(installs(r), approved, `${r.dnsName}: exactly the approved updates for Install`);
    assert.ok(
      r.offered.every((u) => u.action === 'Install' || u.action === 'PreDeploymentCheck'),
      `${r.dnsName}: everything else is there for detection only: ${r.offered.filter((u) => u.action !== 'Install' && u.action !== 'PreDeploymentCheck').map((u) => u.action)}`,
    );
    const client = fleet.clients[r.index]!;
    for (const id of approved) {
      const rev = byUpdate.get(id)!;
      for (const member of rev.bundledUpdateIds ?? []) assert.equal(client.heldUpdate(member)?.action, 'Bundle', `${id}: bundle member ${member}`);
      for (const clause of rev.prerequisites) {
        assert.ok(clause.updateIds.some((p) => client.heldUpdate(p) !== undefined), `${id}: a prerequisite of ${clause.updateIds} is held`);
      }
      for (const category of rev.categoryIds) assert.ok(client.heldUpdate(category) !== undefined, `${id}: category ${category} is held`);
    }
    // Every approved update downloaded and verified; the bundle's bytes are its members' files.
    assert.deepEqual(r.downloads.map((d) => d.updateId).sort(), approved);
    assert.ok(r.downloads.every((d) => d.ok && d.files > 0), JSON.stringify(r.downloads));
    const memberRevisions = (picked.bundle.bundledUpdateIds ?? []).map((m) => byUpdate.get(m)!.revisionId);
    const bundleBytes = [picked.bundle.revisionId, ...memberRevisions].flatMap((id) => filesOf.get(id) ?? []).reduce((n, f) => n + f.size, 0);
    assert.equal(r.downloads.find((d) => d.updateId === picked.bundle.updateId)!.bytes, bundleBytes);
    assert.ok(r.reported?.accepted, 'ReportEventBatch answered true');
    assert.deepEqual(r.reported.eventIds.slice(0, 2), [147, 156]);
  }

  const status = JSON.parse(await dss('updates', 'status', picked.bundle.updateId, '--json')) as { counts: Record<string, number>; computers: { name: string; status: string }[] };
  assert.equal(status.counts.Needed, COMPUTERS, JSON.stringify(status));
  assert.deepEqual(status.computers.map((c) => c.name).sort(), fleet.clients.map((c) => c.dnsName).sort());
  const computers = JSON.parse(await dss('computers', 'list', '--json')) as { name: string; groups: string[]; lastSyncAt: string | null; lastReportAt: string | null; updates: { needed: number; installed: number } }[];
  assert.equal(computers.length, COMPUTERS);
  for (const c of computers) {
    const r = first.find((x) => x.dnsName === c.name)!;
    assert.deepEqual(c.groups, ['Pilot']);
    assert.ok(c.lastSyncAt !== null && c.lastReportAt !== null);
    assert.equal(c.updates.needed, r.reported!.notInstalled, `${c.name}: needed = its 156 U= list`);
    assert.equal(c.updates.installed, 0);
  }

  // One computer installs what it downloaded: status follows its 183 events and its next 156.
  const installer = new SimulatedClient({ serverUrl: server.url, index: 0, seed: 5, group: 'Pilot', profile: ALL_NEEDED, install: true });
  okScan(await installer.scan());
  okScan(await installer.scan());
  const afterInstall = JSON.parse(await dss('updates', 'status', picked.bundle.updateId, '--json')) as { counts: Record<string, number> };
  assert.equal(afterInstall.counts.Installed, 1);
  assert.equal(afterInstall.counts.Needed, COMPUTERS - 1);

  // 2. A declined update leaves every scan.
  await dss('updates', 'decline', picked.declined.updateId);
  // 3. A deadline added to an approval reaches clients as a changed deployment.
  await dss('updates', 'approve', picked.deadline.updateId, '--group', 'Pilot', '--action', 'install', '--deadline', '2031-01-01');
  const second = (await fleet.scanAll()).map(okScan);
  for (const r of second) {
    assert.equal(r.kind, 'incremental');
    assert.ok(r.outOfScope.includes(picked.declined.revisionId), `${r.dnsName}: the declined update is out of scope (${r.outOfScope})`);
    assert.deepEqual(installs(r), approved.filter((id) => id !== picked.declined.updateId));
    assert.ok(r.changedUpdates >= 1, `${r.dnsName}: ChangedUpdates`);
    assert.equal(r.newUpdates, 0, 'nothing new to send');
    const held = fleet.clients[r.index]!.heldUpdate(picked.deadline.updateId)!;
    assert.match(held.deadline ?? '', /^2031-01-01/);
    assert.equal(r.downloads.length, approved.length - 1, 'needed updates are downloaded again (nothing installed)');
  }

  // 4. Server-side targeting: the administrator moves one computer to Lab.
  await dss('config', 'set', 'clients.targetingMode', 'server');
  const moved = fleet.clients[1]!;
  await dss('computers', 'move', moved.dnsName, '--group', 'Lab');
  moved.renewCookie();
  const third = okScan(await moved.scan());
  assert.deepEqual(installs(third), [picked.lab.updateId], 'the moved computer gets Lab approvals only');
  assert.ok(third.changedUpdates > 0 || third.outOfScope.length > 0, 'its Pilot approvals changed or left');
  const stay = okScan(await fleet.clients[2]!.scan());
  assert.deepEqual(installs(stay), approved.filter((id) => id !== picked.declined.updateId), 'the others keep Pilot');
  const listed = JSON.parse(await dss('computers', 'list', '--json')) as { name: string; groups: string[] }[];
  assert.deepEqual(listed.find((c) => c.name === moved.dnsName)!.groups, ['Lab']);
}

for (const dialect of availableBackends()) {
  test(`simulated clients scan, download and report against a downstream synchronized from a root [${dialect}]`, { timeout: 300_000 }, (t) => scenario(t, dialect));
}

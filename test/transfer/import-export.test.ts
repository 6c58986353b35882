import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createPostgresDatabase, forEachBackend } from '../support/db.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { exportCatalog } from '../../src/transfer/export-job.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { openStore, type Store } from '../../src/store/index.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-transfer-'));
const catalogFile = join(work, 'catalog.owx');
const ready = writeGeneratedCatalog({ updates: 400, seed: 'transfer' }, catalogFile);

async function snapshot(store: Store) {
  const revisions: string[] = [];
  for await (const r of store.catalog.iterate()) revisions.push(`${r.key.updateId}/${r.key.revisionNumber}:${r.isLatest}:${r.fragments.core.length}`);
  return {
    stats: await store.catalog.stats(),
    revisions,
    groups: await store.groups.list(),
    approvals: await Array.fromAsync(store.approvals.iterate()),
    declines: await store.declines.list(),
  };
}

forEachBackend('import loads a generated catalog; importing it again changes nothing', async ({ store }) => {
  await ready;
  const first = await importCatalogFile(store, catalogFile);
  assert.equal(first.revisions, 400);
  assert.equal(first.inserted, 400);
  assert.equal((await store.catalog.stats()).revisions, 400);
  const seq = await store.changes.current();
  const before = await snapshot(store);
  const again = await importCatalogFile(store, catalogFile);
  assert.equal(again.inserted, 0);
  assert.equal(again.unchanged, 400);
  assert.equal(await store.changes.current(), seq, 'a second import takes no change position');
  assert.deepEqual(await snapshot(store), before);
});

forEachBackend('export --approvals carries groups, approvals and declines to another server', async ({ store, dialect }) => {
  await ready;
  await importCatalogFile(store, catalogFile);
  const some = (await Array.fromAsync(store.catalog.iterate({ latestOnly: true }))).filter((r) => r.updateType === 'Software').slice(0, 3);
  const group = { id: '11111111-2222-3333-4444-555555555555', name: 'Pilot', parentId: ALL_COMPUTERS_GROUP_ID, builtin: false };
  await store.groups.upsert([group]);
  await store.approvals.upsert([
    { id: 'aaaaaaaa-0000-0000-0000-000000000001', updateId: some[0]!.key.updateId, revisionNumber: some[0]!.key.revisionNumber, groupId: group.id, action: 'Install', deadline: '2026-12-01T00:00:00.000Z', adminName: 'admin', createdAt: '2026-11-20T10:00:00.000Z' },
    { id: 'aaaaaaaa-0000-0000-0000-000000000002', updateId: some[1]!.key.updateId, revisionNumber: some[1]!.key.revisionNumber, groupId: ALL_COMPUTERS_GROUP_ID, action: 'PreDeploymentCheck', adminName: 'admin', createdAt: '2026-11-20T10:00:00.000Z' },
  ]);
  await store.declines.upsert([{ updateId: some[2]!.key.updateId, adminName: 'admin', declinedAt: '2026-11-21T00:00:00.000Z' }]);
  const file = join(work, `approvals-${dialect}-${Date.now()}.owx`);
  const manifest = await exportCatalog(store, file, { approvals: true });
  assert.equal(manifest.counts.revision, 400);
  assert.equal(manifest.counts.group, 3);
  assert.equal(manifest.counts.approval, 2);
  assert.equal(manifest.counts.decline, 1);
  const source = await snapshot(store);
  await store.close();

  // A second, empty server on the same backend.
  const other = await openOther(dialect);
  try {
  const summary = await importCatalogFile(other, file);
  assert.equal(summary.approvals, 2);
  const copy = await snapshot(other);
  assert.deepEqual(copy.revisions, source.revisions);
  assert.deepEqual(copy.groups, source.groups);
  assert.deepEqual(copy.approvals, source.approvals);
  assert.deepEqual(copy.declines, source.declines);
  assert.deepEqual(copy.stats.revisionsByType, source.stats.revisionsByType);

  // Without --approvals, none of them travel.
  const plain = join(work, `plain-${dialect}-${Date.now()}.owx`);
  const plainManifest = await exportCatalog(other, plain);
  assert.equal(plainManifest.counts.approval, undefined);
  assert.equal(plainManifest.counts.group, undefined);
  } finally {
    await other.close();
  }
});

/** A second, empty database on the same backend, removed when the store closes. */
async function openOther(dialect: string): Promise<Store> {
  if (dialect === 'sqlite') return openStore({ dataDir: mkdtempSync(join(tmpdir(), 'openwsus-other-')) });
  const db = await createPostgresDatabase();
  const store = await openStore({ database: db.url });
  const close = store.close.bind(store);
  return Object.assign(store, { close: async () => { await close(); await db.drop(); } });
}

forEachBackend('a truncated or corrupt export file is refused and the database stays as it was', async ({ store }) => {
  await ready;
  // A first, smaller catalog is already there.
  const small = join(work, `small-${Date.now()}.owx`);
  await writeGeneratedCatalog({ updates: 120, seed: 'other' }, small);
  await importCatalogFile(store, small);
  const before = await snapshot(store);
  const seq = await store.changes.current();

  const whole = readFileSync(catalogFile);
  const truncated = join(work, `truncated-${Date.now()}.owx`);
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.8)));
  await assert.rejects(importCatalogFile(store, truncated), /truncated/);

  // Valid gzip, valid records, but one byte of one document changed: only the checksum knows.
  const lines = gunzipSync(whole).toString('utf8').split('\n');
  const index = lines.findIndex((l, i) => i > 300 && l.includes('"type":"revision"'));
  lines[index] = lines[index]!.replace('<upd:Title>', '<upd:Title>X');
  const forged = join(work, `forged-${Date.now()}.owx`);
  writeFileSync(forged, gzipSync(lines.join('\n')));
  await assert.rejects(importCatalogFile(store, forged), /checksum mismatch/);

  assert.equal(await store.changes.current(), seq, 'no change position was taken');
  assert.deepEqual(await snapshot(store), before);
});

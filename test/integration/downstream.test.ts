// The downstream role across processes (DESIGN §7): a root `bin/openwsus serve` holding a
// generated catalog, and a downstream data directory configured with `openwsus config set` and
// synchronized with `openwsus sync`, on each backend:
//
// 1. the first sync brings every category, classification and detectoid the root has, and
//    exactly the updates the selection takes (the Windows family, expanded to its products, ∧
//    five classifications), each document byte for byte as the root holds it;
// 2. the root imports the next day's changes (a new product under Windows, new updates, new
//    revisions, expirations): the second sync brings exactly what changed within the selection,
//    the new product included because a selected family takes its future children;
// 3. a third sync with no change fetches nothing;
// 4. a sync while another holds the lock is refused, and changes nothing;
// 5. an unreachable upstream ends the run with a clear recorded error and the catalog unchanged.
//
// What the downstream should hold is worked out from the generator's documents (catalog-model.ts).
import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CATEGORY, generateCatalog, generateCatalogChanges, type CatalogDocument } from '../../src/catalog/index.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { ANCHORS, type SyncRun } from '../../src/domain/sync-run.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { openStore, withSyncLock, type Store } from '../../src/store/index.ts';
import { writeExport } from '../../src/transfer/format.ts';
import { runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { availableBackends } from '../support/db.ts';
import { createBackendDatabase, freePort, startServeProcess } from '../support/server-process.ts';
import { CatalogModel, keyString } from './catalog-model.ts';

const BASE = { updates: 600, seed: 'downstream' } as const;
const CLASSES = [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.drivers, CLASSIFICATIONS.updates, CLASSIFICATIONS.definitionUpdates];

const work = mkdtempSync(join(tmpdir(), 'openwsus-it-downstream-'));
after(() => rmSync(work, { recursive: true, force: true }));

const baseFile = join(work, 'base.owx');
await writeGeneratedCatalog(BASE, baseFile);
const baseDocs = [...generateCatalog(BASE).documents()];
const dayDocs = [...generateCatalogChanges({ base: BASE, day: 1 }).documents()];
const before = new CatalogModel(baseDocs);
const afterDay = before.clone().add(dayDocs);

const dayFile = join(work, 'day1.owx');
await writeExport(
  createWriteStream(dayFile),
  { created: new Date().toISOString(), software: 'openwsus integration test', sections: ['revisions'] },
  dayDocs.map((d) => ({ type: 'revision', xml: d.xml })),
);

/** Products below the Windows family in a model, however deep: what the selection expands to. */
function windowsProducts(model: CatalogModel): Set<string> {
  const children = new Map<string, string[]>();
  for (const d of model.newest.values()) {
    if (d.spec.properties.updateType !== 'Category') continue;
    for (const parent of CatalogModel.categoryIds(d)) children.set(parent, [...(children.get(parent) ?? []), d.key.updateId]);
  }
  const out = new Set<string>();
  const stack = [WINDOWS_PRODUCT_FAMILY_ID];
  while (stack.length > 0) {
    const id = stack.pop()!;
    const doc = model.newest.get(id);
    if (doc?.spec.category?.categoryType === 'Product') {
      if (out.has(id)) continue;
      out.add(id);
    }
    stack.push(...(children.get(id) ?? []));
  }
  return out;
}

const expected = (model: CatalogModel): Set<string> => new Set([...model.configKeys(), ...model.selectedKeys(windowsProducts(model), new Set(CLASSES))]);
const expectedBefore = expected(before);
const expectedAfter = expected(afterDay);
const newProduct = dayDocs.find((d) => d.change === 'new-category')!;

test('the day brings a new Windows product with selected updates, and changes outside the selection', () => {
  assert.ok(windowsProducts(afterDay).has(newProduct.key.updateId), 'the new product is under the Windows family');
  assert.ok(!windowsProducts(before).has(newProduct.key.updateId));
  const added = [...expectedAfter].filter((k) => !expectedBefore.has(k));
  assert.ok(added.some((k) => CatalogModel.categoryIds(afterDay.byKey.get(k)!).has(newProduct.key.updateId)), 'an update of the new product is selected');
  assert.ok(dayDocs.some((d) => !expectedAfter.has(keyString(d.key))), 'some changes are outside the selection');
  assert.ok(expectedBefore.size > 100 && expectedBefore.size < before.newest.size, `a subset is selected (${expectedBefore.size} of ${before.newest.size})`);
});

async function heldKeys(store: Store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const r of store.catalog.iterate({ pageSize: 500 })) out.set(keyString(r.key), r.xml);
  return out;
}

function ok(result: CliResult, what: string): CliResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

interface SyncSummary {
  readonly id: number;
  readonly result: string;
  readonly counts: SyncRun['counts'];
  readonly categories: { listed: number; fetched: number };
  readonly updates: { listed: number; fetched: number };
}

for (const dialect of availableBackends()) {
  test(`a downstream openwsus synchronizes from a root openwsus [${dialect}]`, { timeout: 600_000 }, async (t) => {
    const rootDir = mkdtempSync(join(work, 'root-'));
    const dssDir = mkdtempSync(join(work, 'dss-'));
    const rootDb = await createBackendDatabase(dialect, rootDir);
    const dssDb = await createBackendDatabase(dialect, dssDir);
    t.after(async () => {
      await rootDb.drop();
      await dssDb.drop();
    });
    const root = ['--data', rootDir, '--database', rootDb.url];
    const dss = ['--data', dssDir, '--database', dssDb.url];
    ok(await runCli([...root, 'import', baseFile]), 'root import');
    const server = await startServeProcess({ dataDir: rootDir, database: rootDb.url });
    t.after(async () => {
      await server.stop();
    });

    for (const [key, value] of [
      ['upstream.source', 'server'],
      ['upstream.server', '127.0.0.1'],
      ['upstream.port', String(server.port)],
      ['products', WINDOWS_PRODUCT_FAMILY_ID.toUpperCase()],
      ['classifications', CLASSES.join(',')],
    ] as const) {
      ok(await runCli([...dss, 'config', 'set', key, value]), `config set ${key}`);
    }

    const sync = async (): Promise<SyncSummary> => stdoutJson<SyncSummary>(ok(await runCli([...dss, 'sync', '--json']), 'sync'));
    const compare = async (want: Set<string>, model: CatalogModel): Promise<void> => {
      const dssStore = await openStore({ database: dssDb.url });
      const rootStore = await openStore({ database: rootDb.url });
      try {
        const held = await heldKeys(dssStore);
        const newestHeld = new Map<string, string>();
        for (const k of held.keys()) {
          const [id, rev] = k.split('/') as [string, string];
          const known = newestHeld.get(id);
          if (known === undefined || Number(known.split('/')[1]) < Number(rev)) newestHeld.set(id, k);
        }
        const missing = [...want].filter((k) => !held.has(k));
        const extra = [...newestHeld.values()].filter((k) => !want.has(k));
        assert.deepEqual(missing, [], 'every selected revision is held');
        assert.deepEqual(extra, [], 'nothing outside the selection is held');
        for (const [k, xml] of held) {
          const doc: CatalogDocument | undefined = model.byKey.get(k);
          assert.equal(xml, doc?.xml, `${k}: the generator's document`);
          const [updateId, revisionNumber] = k.split('/') as [string, string];
          assert.equal(xml, (await rootStore.catalog.getRevision({ updateId, revisionNumber: Number(revisionNumber) }))?.xml, `${k}: the root's document`);
        }
      } finally {
        await dssStore.close();
        await rootStore.close();
      }
    };

    // 1. Full.
    const first = await sync();
    assert.equal(first.result, 'succeeded');
    await compare(expectedBefore, before);
    const configBefore = before.configKeys().size;
    assert.equal(first.counts.categories, configBefore);
    assert.equal(first.counts.newRevisions + first.counts.revisedRevisions + first.counts.expiredRevisions, expectedBefore.size - configBefore);
    assert.equal(first.counts.revisedRevisions, 0);

    // 2. The root's day of changes: exactly those within the selection come down.
    ok(await runCli([...root, 'import', dayFile]), 'root import of the day');
    const second = await sync();
    await compare(expectedAfter, afterDay);
    const fresh = [...expectedAfter].filter((k) => !expectedBefore.has(k));
    const freshConfig = fresh.filter((k) => CatalogModel.isConfig(afterDay.byKey.get(k)!));
    assert.equal(second.counts.categories, freshConfig.length);
    assert.equal(second.updates.fetched, fresh.length - freshConfig.length);
    const freshUpdates = fresh.filter((k) => !CatalogModel.isConfig(afterDay.byKey.get(k)!));
    const expired = freshUpdates.filter((k) => afterDay.byKey.get(k)!.spec.properties.publicationState === 'Expired');
    const heldIds = new Set([...expectedBefore].map((k) => k.split('/')[0]!));
    const revised = freshUpdates.filter((k) => !expired.includes(k) && heldIds.has(k.split('/')[0]!));
    assert.equal(second.counts.expiredRevisions, expired.length, 'expirations');
    assert.equal(second.counts.revisedRevisions, revised.length, 'new revisions of held updates');
    assert.equal(second.counts.newRevisions, freshUpdates.length - expired.length - revised.length, 'new updates');
    assert.ok(second.counts.newRevisions > 0 && second.counts.expiredRevisions + second.counts.revisedRevisions > 0, JSON.stringify(second.counts));

    // 3. Nothing new.
    const started = performance.now();
    const third = await sync();
    assert.deepEqual(
      { ...third.counts, fetched: third.updates.fetched + third.categories.fetched },
      { newRevisions: 0, revisedRevisions: 0, expiredRevisions: 0, categories: 0, files: 0, fetched: 0 },
    );
    t.diagnostic(`no-change sync: ${Math.round(performance.now() - started)} ms (process start included)`);

    // 4. Another synchronization holds the lock.
    const holder = await openStore({ database: dssDb.url });
    try {
      await withSyncLock(holder, { host: hostname(), pid: process.pid, isAlive: () => true }, async () => {
        const refused = await runCli([...dss, 'sync']);
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, /already running/);
      });
    } finally {
      await holder.close();
    }

    // 5. The upstream is gone: a clear recorded error, nothing else changed.
    const snapshot = async (): Promise<unknown> => {
      const store = await openStore({ database: dssDb.url });
      try {
        return { anchors: await store.anchors.all(), held: [...(await heldKeys(store)).keys()].sort(), languages: await store.languages.list() };
      } finally {
        await store.close();
      }
    };
    const beforeFailure = await snapshot();
    ok(await runCli([...dss, 'config', 'set', 'upstream.port', String(await freePort())]), 'config set upstream.port');
    const failed = await runCli([...dss, 'sync']);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /synchronization failed \(run [0-9]+\): cannot reach the upstream server at http:\/\/127\.0\.0\.1:[0-9]+/);
    assert.deepEqual(await snapshot(), beforeFailure, 'a failed run changes nothing');
    const status = stdoutJson<SyncRun[]>(ok(await runCli([...dss, 'sync', 'status', '--json']), 'sync status'));
    assert.deepEqual(
      status.map((r) => r.result),
      ['failed', 'succeeded', 'succeeded', 'succeeded'],
      'the refused sync left no run',
    );
    assert.match(status[0]!.error ?? '', /cannot reach the upstream server/);
    const anchors = (beforeFailure as { anchors: Record<string, string> }).anchors;
    for (const name of [ANCHORS.config, ANCHORS.categories, ANCHORS.updates]) assert.ok(anchors[name], `anchor ${name} is kept`);
  });
}

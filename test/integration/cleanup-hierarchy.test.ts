// Cleanup across a hierarchy, in real processes: a root `openwsus serve` and a downstream that
// synchronizes from it with `openwsus sync`. Each is cleaned with `openwsus cleanup` (ages judged
// a year on, so every old revision goes): the root, then the downstream, then the root again.
// After each, the root publishes a day of changes (new revisions, expirations) and the
// downstream's incremental sync still succeeds and ends holding, for every update it has, the
// root's newest revision.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateCatalog, generateCatalogChanges } from '../../src/catalog/index.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { ingestUpdate } from '../../src/metadata/update-parser.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { startServeProcess } from '../support/server-process.ts';

const BASE = { updates: 200, seed: 'cleanup-hierarchy' } as const;
const A_YEAR_ON = new Date(Date.now() + 400 * 86_400_000).toISOString();

const work = mkdtempSync(join(tmpdir(), 'openwsus-it-cleanup-'));
after(() => rmSync(work, { recursive: true, force: true }));

function ok(result: CliResult, what: string): CliResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

async function withDb<T>(dir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ database: `sqlite:${join(dir, 'openwsus.db')}`, dataDir: dir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function publish(dir: string, docs: Iterable<{ xml: string }>): Promise<void> {
  await withDb(dir, async (store) => {
    await store.catalog.upsertRevisions([...docs].map((d) => ingestUpdate(d.xml)));
  });
}

/** Newest revision number per update id. */
async function newest(dir: string): Promise<{ newest: Map<string, number>; revisions: number }> {
  return withDb(dir, async (store) => {
    const out = new Map<string, number>();
    let revisions = 0;
    for await (const r of store.catalog.iterate({ pageSize: 500 })) {
      revisions++;
      out.set(r.key.updateId, Math.max(out.get(r.key.updateId) ?? 0, r.key.revisionNumber));
    }
    return { newest: out, revisions };
  });
}

interface SyncSummary {
  readonly result: string;
  readonly updates: { listed: number; fetched: number };
}

interface CleanupSummary {
  readonly counts: Record<string, Record<string, number>>;
}

test('a downstream and its upstream cleaned in either order keep synchronizing [sqlite]', { timeout: 300_000 }, async (t) => {
  const rootDir = mkdtempSync(join(work, 'root-'));
  const dssDir = mkdtempSync(join(work, 'dss-'));
  await publish(rootDir, generateCatalog(BASE).documents());
  const server = await startServeProcess({ dataDir: rootDir });
  t.after(async () => {
    await server.stop();
  });
  await withDb(dssDir, async (store) => {
    for (const [key, value] of [
      ['upstream.source', 'server'],
      ['upstream.server', '127.0.0.1'],
      ['upstream.port', server.port],
      ['products', [WINDOWS_PRODUCT_FAMILY_ID]],
      ['classifications', [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.updates]],
    ] as const) {
      await store.settings.set(key, value);
    }
  });
  const dss = ['--data', dssDir];
  const root = ['--data', rootDir];
  const sync = async (what: string): Promise<SyncSummary> => {
    const summary = stdoutJson<SyncSummary>(ok(await runCli([...dss, 'sync', '--json']), what));
    assert.equal(summary.result, 'succeeded', what);
    return summary;
  };
  const cleanup = async (args: string[], what: string): Promise<CleanupSummary> =>
    stdoutJson<CleanupSummary>(ok(await runCli([...args, 'cleanup', '--as-of', A_YEAR_ON, '--json']), what));
  /** Every update the downstream holds is at the root's newest revision. */
  const agree = async (what: string): Promise<void> => {
    const [up, down] = await Promise.all([newest(rootDir), newest(dssDir)]);
    const behind = [...down.newest].filter(([id, rev]) => up.newest.get(id) !== rev);
    assert.deepEqual(behind, [], `${what}: the downstream holds the root's newest revisions`);
  };

  await sync('first sync');
  await publish(rootDir, generateCatalogChanges({ base: BASE, day: 1 }).documents());
  await sync('day 1');
  await agree('day 1');

  // The root cleans first: its older revisions go, some expired updates are declined locally.
  const rootBefore = await newest(rootDir);
  const rootClean = await cleanup(root, 'root cleanup');
  assert.ok((rootClean.counts.revisions?.deleted ?? 0) > 0, `the root deletes old revisions: ${JSON.stringify(rootClean.counts)}`);
  assert.equal((await newest(rootDir)).revisions, rootBefore.revisions - rootClean.counts.revisions!.deleted!);
  await publish(rootDir, generateCatalogChanges({ base: BASE, day: 2 }).documents());
  const day2 = await sync('day 2, after the root cleaned');
  assert.ok(day2.updates.fetched > 0, 'the day brought changes');
  await agree('day 2');

  // Then the downstream cleans: its own older revisions go; syncing on works the same.
  const dssClean = await cleanup(dss, 'downstream cleanup');
  assert.ok((dssClean.counts.revisions?.deleted ?? 0) > 0, `the downstream deletes old revisions: ${JSON.stringify(dssClean.counts)}`);
  await publish(rootDir, generateCatalogChanges({ base: BASE, day: 3 }).documents());
  const day3 = await sync('day 3, after both cleaned');
  await agree('day 3');
  // And the root again, after the downstream: the other order.
  const rootAgain = await cleanup(root, 'root cleanup after the downstream');
  assert.ok((rootAgain.counts.revisions?.deleted ?? 0) > 0, `the root deletes the revisions days 2-3 replaced: ${JSON.stringify(rootAgain.counts)}`);
  await publish(rootDir, generateCatalogChanges({ base: BASE, day: 4 }).documents());
  const day4 = await sync('day 4, after the root cleaned again');
  assert.ok(day3.updates.fetched + day4.updates.fetched > 0, 'days 3 and 4 brought changes');
  await agree('day 4');
  const quiet = await sync('no change');
  assert.equal(quiet.updates.fetched, 0, 'nothing is fetched again');
});

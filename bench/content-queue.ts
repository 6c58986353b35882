// The cost of keeping the content download queue in step with the catalog when downloads are
// immediate (content.deferredDownloads = false): reconcileContentQueue (src/sync/content-downloader.ts)
// runs at the end of every synchronization and whenever the downloader sees the change sequence
// move, and then every file of every newest revision is a candidate. Per size, on a store that
// holds the generated catalog (imported in this process):
//
//   first        the queue empty: every wanted file is queued;
//   no change    again, nothing changed;
//   1% changes   after the day of changes bench/sync.ts uses (new updates, revisions, expiries).
//
//   node_modules/.bin/node bench/content-queue.ts [--sizes 10000,50000] [--seed 1]
//       [--backend sqlite|postgres] [--pg URL]
//
// Prints a Markdown table; writes the figures to bench/out/content-queue.json.
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCatalogChanges } from '../src/catalog/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { reconcileContentQueue } from '../src/sync/content-downloader.ts';
import { writeExport } from '../src/transfer/format.ts';
import { importCatalogFile } from '../src/transfer/import-job.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { createTemporaryDatabase, postgresProblem } from './lib/postgres.ts';
import { generatedCatalogFile } from './lib/catalog-file.ts';
import { formatInteger, formatTable, type Column } from './lib/table.ts';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out');

interface Row {
  readonly size: number;
  readonly kind: 'first' | 'no change' | '1% changes';
  readonly seconds: number;
  readonly queued: number;
  readonly dropped: number;
  /** Files waiting in the queue afterwards. */
  readonly waiting: number;
}

async function timed(store: Store, size: number, kind: Row['kind']): Promise<Row> {
  const started = performance.now();
  const r = await reconcileContentQueue(store, 'en-US');
  const seconds = (performance.now() - started) / 1000;
  const waiting = (await store.contentQueue.waiting()).size;
  process.stderr.write(`  ${kind}: ${seconds.toFixed(2)} s (${r.queued} queued, ${r.dropped} dropped)\n`);
  return { size, kind, seconds, queued: r.queued, dropped: r.dropped, waiting };
}

async function measure(size: number, seed: string, backend: 'sqlite' | 'postgres', pg: string): Promise<Row[]> {
  const file = await generatedCatalogFile(size, seed);
  const work = await mkdtemp(join(tmpdir(), `openwsus-bench-queue-${size}-`));
  const temporary = backend === 'postgres' ? await createTemporaryDatabase(pg, `openwsus_bench_queue_${size}`) : undefined;
  const store = await openStore(temporary !== undefined ? { database: temporary.url } : { dataDir: work });
  try {
    process.stderr.write(`${formatInteger(size)} revisions (${backend}): importing…\n`);
    await importCatalogFile(store, file);
    await store.settings.set('content.deferredDownloads', false);
    const rows = [await timed(store, size, 'first'), await timed(store, size, 'no change')];
    const docs = [...generateCatalogChanges({ base: { updates: size, seed }, day: 1, revisions: Math.round(size * 0.006), expirations: Math.round(size * 0.002) }).documents()];
    const changes = join(work, 'day1.owx');
    await writeExport(createWriteStream(changes), { created: new Date().toISOString(), software: 'bench/content-queue', sections: ['revisions'] }, docs.map((d) => ({ type: 'revision', xml: d.xml })));
    await importCatalogFile(store, changes);
    rows.push(await timed(store, size, '1% changes'));
    return rows;
  } finally {
    await store.close();
    await temporary?.drop();
    await rm(work, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,50000' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'sqlite' },
    pg: { type: 'string', default: process.env.OPENWSUS_TEST_PG ?? 'postgres://postgres@127.0.0.1:55432/postgres' },
  },
});
const backend = values.backend === 'postgres' ? 'postgres' : 'sqlite';
if (backend === 'postgres') {
  const problem = await postgresProblem(values.pg);
  if (problem !== undefined) throw new Error(`bench/content-queue: ${problem}`);
}
const rows: Row[] = [];
for (const size of values.sizes.split(',').map(Number)) rows.push(...(await measure(size, values.seed, backend, values.pg)));

const columns: Column<Row>[] = [
  { title: 'revisions', align: 'right', value: (r) => formatInteger(r.size) },
  { title: 'reconcile', value: (r) => r.kind },
  { title: 'seconds', align: 'right', value: (r) => r.seconds.toFixed(2) },
  { title: 'queued', align: 'right', value: (r) => formatInteger(r.queued) },
  { title: 'dropped', align: 'right', value: (r) => formatInteger(r.dropped) },
  { title: 'waiting after', align: 'right', value: (r) => formatInteger(r.waiting) },
];
const machine = describeMachine();
process.stdout.write(`content queue reconcile, immediate downloads, ${backend}; ${machineLine(machine)}\n\n${formatTable(columns, rows)}\n`);
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'content-queue.json'), `${JSON.stringify({ backend, machine, rows }, null, 2)}\n`);

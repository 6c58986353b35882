// Administration API pages on a large store: the updates table with each filter, computers and
// reports, timed through fastify inject (the whole request: authentication, validation, SQL, JSON).
//
//   node_modules/.bin/node bench/admin.ts [--updates 100000] [--computers 10000] [--backends sqlite,postgres]
//                                         [--repeat 20] [--deep 50000] [--pg URL] [--seed 1] [--keep FILE]
//
// The catalog is the generated export bench/import.ts uses (bench/out/catalog-N-seed-S.owx, made
// once); each backend gets a fresh database, the catalog imported with importCatalogFile, then
// seeded through the repositories: computers (touch, a report of 40 updates each with mixed
// statuses), approvals for 2,000 updates and 1,000 declines. Every page is requested --repeat
// times after one warm-up; the table shows p50 and p99 per request in milliseconds, and the CPU
// time the process spent per request (p50; on SQLite the queries run in this process, so this is
// the request's cost whatever else loads the machine). Aim: < 200 ms.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { writeGeneratedCatalog } from '../src/catalog/export.ts';
import type { StatusReport } from '../src/domain/client-event.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../src/domain/wellknown.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { importCatalogFile } from '../src/transfer/import-job.ts';
import { apiHarness, type ApiHarness } from '../test/admin/harness.ts';
import { machineLine } from './lib/machine.ts';
import { createTemporaryDatabase, postgresProblem } from './lib/postgres.ts';
import { formatInteger, formatTable } from './lib/table.ts';

const SCRIPT = fileURLToPath(import.meta.url);
const OUT = join(dirname(SCRIPT), 'out');
const ROOT = dirname(dirname(SCRIPT));
const STATUSES = ['Installed', 'NotInstalled', 'Failed', 'Downloaded', 'InstalledPendingReboot'] as const;

const { values: args } = parseArgs({
  options: {
    updates: { type: 'string', default: '100000' },
    computers: { type: 'string', default: '10000' },
    backends: { type: 'string', default: 'sqlite' },
    repeat: { type: 'string', default: '20' },
    deep: { type: 'string', default: '50000' },
    seed: { type: 'string', default: '1' },
    /** SQLite only: keep the database at this path and reuse it on the next run. */
    keep: { type: 'string' },
    pg: { type: 'string', default: process.env.OPENWSUS_BENCH_PG ?? 'postgres://postgres@127.0.0.1:55432/postgres' },
  },
});
const UPDATES = Number(args.updates);
const COMPUTERS = Number(args.computers);
const REPEAT = Number(args.repeat);
const DEEP = Number(args.deep);

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function exportFile(): Promise<string> {
  const file = join(OUT, `catalog-${UPDATES}-seed-${args.seed}.owx`);
  if (existsSync(file)) return file;
  mkdirSync(OUT, { recursive: true });
  log(`generating ${relative(ROOT, file)}…`);
  await writeGeneratedCatalog({ updates: UPDATES, seed: args.seed }, file);
  return file;
}

/** Approvals, declines, computers and their statuses, through the repositories. */
async function seed(store: Store): Promise<void> {
  const all = await store.approvals.listUpdates({ limit: 5000, offset: 0 });
  const ids = all.updates.map((u) => u.updateId);
  const now = new Date().toISOString();
  const approvals = ids.slice(0, 2000).map((updateId, i) => ({
    id: randomUUID(),
    updateId,
    revisionNumber: all.updates[i]!.revisionNumber,
    groupId: ALL_COMPUTERS_GROUP_ID,
    action: 'Install' as const,
    adminName: 'bench',
    createdAt: now,
  }));
  for (let i = 0; i < approvals.length; i += 500) await store.approvals.upsert(approvals.slice(i, i + 500));
  await store.declines.upsert(ids.slice(2000, 3000).map((updateId) => ({ updateId, adminName: 'bench', declinedAt: now })));
  const started = performance.now();
  for (let c = 0; c < COMPUTERS; c++) {
    const id = randomUUID();
    await store.computers.touch({ id, dnsName: `pc${String(c).padStart(5, '0')}.corp.example`, defaultGroupId: ALL_COMPUTERS_GROUP_ID });
    const report: StatusReport = {
      replacesAll: true,
      changes: Array.from({ length: 40 }, (_, k) => ({ updateId: ids[(c * 7 + k * 113) % ids.length]!, status: STATUSES[(c + k) % STATUSES.length]! })),
    };
    await store.clientEvents.applyStatus(id, [report], new Date());
    if ((c + 1) % 2000 === 0) log(`  ${formatInteger(c + 1)} computers seeded (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
}

/** What the filters ask for: a product, a classification, a KB number and title words the catalog has. */
async function samples(store: Store): Promise<{ approvable: number; sampleKb: string; sampleText: string; product: string; classification: string }> {
  const all = await store.approvals.listUpdates({ limit: 500, offset: 0 });
  const categories = await store.catalog.categories();
  const product = categories.find((c) => c.categoryType === 'Product')!;
  const classification = categories.find((c) => c.categoryType === 'UpdateClassification')!;
  const withKb = all.updates.find((u) => u.kbArticleId !== undefined)!;
  return {
    approvable: all.total,
    sampleKb: withKb.kbArticleId!,
    sampleText: withKb.title.split(/\s+/).slice(0, 2).join(' '),
    product: product.updateId,
    classification: classification.title,
  };
}

interface Timing {
  readonly backend: string;
  readonly page: string;
  readonly total: string;
  readonly p50: number;
  readonly p99: number;
  /** CPU time of this process per request (SQLite runs in it): what the request costs, whatever else runs. */
  readonly cpuP50: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function time(api: ApiHarness, backend: string, page: string, url: string): Promise<Timing> {
  const first = await api.call(api.token, 'GET', url);
  if (first.statusCode !== 200) throw new Error(`${url}: ${first.statusCode} ${first.body}`);
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const res = await api.call(api.token, 'GET', url);
    const used = process.cpuUsage(cpuStart);
    samples.push(performance.now() - start);
    cpu.push((used.user + used.system) / 1000);
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
  }
  samples.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const total = (first.json() as { total?: number }).total;
  return { backend, page, total: total === undefined ? '' : formatInteger(total), p50: percentile(samples, 50), p99: percentile(samples, 99), cpuP50: percentile(cpu, 50) };
}

async function runBackend(backend: 'sqlite' | 'postgres', file: string): Promise<Timing[]> {
  let cleanup: () => Promise<void>;
  let store: Store;
  let fresh = true;
  if (backend === 'sqlite' && args.keep !== undefined) {
    // A kept database is reused as it is: re-running after a change skips the import and seeding.
    fresh = !existsSync(args.keep);
    store = await openStore({ database: args.keep });
    cleanup = async () => {};
  } else if (backend === 'sqlite') {
    const dir = await mkdtemp(join(OUT, 'admin-'));
    store = await openStore({ database: join(dir, 'openwsus.db') });
    cleanup = () => rm(dir, { recursive: true, force: true });
  } else {
    const problem = await postgresProblem(args.pg);
    if (problem !== undefined) throw new Error(problem);
    const temp = await createTemporaryDatabase(args.pg, 'bench_admin');
    store = await openStore({ database: temp.url });
    cleanup = temp.drop;
  }
  try {
    if (fresh) {
      log(`${backend}: importing ${relative(ROOT, file)}…`);
      let started = performance.now();
      await importCatalogFile(store, file);
      log(`  imported in ${((performance.now() - started) / 1000).toFixed(0)} s; seeding ${formatInteger(COMPUTERS)} computers…`);
      started = performance.now();
      await seed(store);
      log(`  seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    const s = await samples(store);
    // The harness signs in a Reporter of its own making; a kept database has the last run's.
    await store.accounts.delete('reporter');
    const api = await apiHarness(store);
    try {
      const deep = Math.max(0, Math.min(DEEP, s.approvable - 50));
      const filters: [string, string][] = [
        ['none', ''],
        ['classification', `&classification=${encodeURIComponent(s.classification)}`],
        ['product', `&product=${s.product}`],
        ['approval=approved', '&approval=approved'],
        ['approval=unapproved', '&approval=unapproved'],
        ['status=needed', '&status=needed'],
        ['status=no-status', '&status=no-status'],
        ['text', `&text=${encodeURIComponent(s.sampleText)}`],
        ['kb', `&kb=KB${s.sampleKb}`],
        ['declined=true', '&declined=true'],
        ['declined=false', '&declined=false'],
      ];
      const timings: Timing[] = [];
      for (const [name, query] of filters) {
        for (const offset of [0, deep]) {
          timings.push(await time(api, backend, `updates ${name} @${formatInteger(offset)}`, `/api/v1/updates?limit=50&offset=${offset}${query}`));
          log(`  ${timings.at(-1)!.page}: p50 ${timings.at(-1)!.p50.toFixed(1)} ms`);
        }
      }
      const deepComputers = Math.max(0, COMPUTERS - 50);
      const someUpdate = (await store.approvals.listUpdates({ limit: 1, approved: true })).updates[0]!.updateId;
      for (const [page, url] of [
        ['computers @0', '/api/v1/computers?limit=50&offset=0'],
        [`computers @${formatInteger(deepComputers)}`, `/api/v1/computers?limit=50&offset=${deepComputers}`],
        ['computers text', '/api/v1/computers?limit=50&text=pc0999'],
        ['update details', `/api/v1/updates/${someUpdate}`],
        ['update status', `/api/v1/updates/${someUpdate}/status`],
        ['reports/updates @0', '/api/v1/reports/updates?limit=50&offset=0'],
        [`reports/updates @${formatInteger(deep)}`, `/api/v1/reports/updates?limit=50&offset=${deep}`],
        ['reports/computers @0', '/api/v1/reports/computers?limit=50&offset=0'],
        ['reports/groups', '/api/v1/reports/groups'],
        ['overview', '/api/v1/overview'],
      ] as const) {
        timings.push(await time(api, backend, page, url));
        log(`  ${timings.at(-1)!.page}: p50 ${timings.at(-1)!.p50.toFixed(1)} ms`);
      }
      return timings;
    } finally {
      await api.close();
    }
  } finally {
    await store.close();
    await cleanup();
  }
}

const file = await exportFile();
const rows: Timing[] = [];
for (const backend of args.backends.split(',') as ('sqlite' | 'postgres')[]) rows.push(...(await runBackend(backend, file)));
const ms = (n: number) => n.toFixed(1);
const table = formatTable<Timing>(
  [
    { title: 'backend', value: (r) => r.backend },
    { title: 'page (limit 50)', value: (r) => r.page },
    { title: 'total', value: (r) => r.total },
    { title: 'p50 ms', value: (r) => ms(r.p50) },
    { title: 'p99 ms', value: (r) => ms(r.p99) },
    { title: 'CPU p50 ms', value: (r) => ms(r.cpuP50) },
  ],
  rows,
);
const header = `${formatInteger(UPDATES)} generated updates, ${formatInteger(COMPUTERS)} computers × 40 statuses, ${REPEAT} requests per page. ${machineLine()}`;
console.log(`${header}\n\n${table}`);
writeFileSync(join(OUT, 'admin.json'), JSON.stringify({ updates: UPDATES, computers: COMPUTERS, repeat: REPEAT, rows }, null, 2));

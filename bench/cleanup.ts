// The cleanup (issue 8) on a big server, while clients scan it.
//
//   node_modules/.bin/node bench/cleanup.ts [--backends sqlite,postgres] [--revisions 50000]
//                                          [--obsolete 10000] [--events 100000] [--clients 4] [--pg URL]
//
// Builds, per backend, a catalog of --revisions revisions: --obsolete updates carry an older
// revision nothing needs any more (the revisions step deletes them), and among the others a
// supersedence set (30% of --obsolete superseded by an approved update, old enough: declined) and
// expired updates (10%: declined); --events stale client events (plus a tenth as many fresh ones);
// 1,000 computers of which half went quiet; one file row per revision. Then the client service
// (the real SOAP endpoints on loopback, in this process, on the same store, as `openwsus serve`
// runs the daily cleanup) is scanned by --clients simulated computers (src/simulator) in a loop:
// first without a cleanup (baseline), then during `runCleanup`. Prints the cleanup's wall time,
// its longest single transaction, counts, and the scan latency percentiles of both phases.
import { mkdtemp, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { pino } from 'pino';
import { createHttpServer } from '../src/app/http.ts';
import { ContentStore } from '../src/content/index.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS } from '../src/domain/wellknown.ts';
import { runCleanup, type CleanupReport } from '../src/maintenance/cleanup.ts';
import { registerClientServices } from '../src/services/client/index.ts';
import { SimulatedClient } from '../src/simulator/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { guid, makeFile, makeRevision } from '../test/store/records.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { createTemporaryDatabase, postgresProblem } from './lib/postgres.ts';
import { formatInteger, formatTable } from './lib/table.ts';

type Backend = 'sqlite' | 'postgres';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'sqlite,postgres' },
    revisions: { type: 'string', default: '50000' },
    obsolete: { type: 'string', default: '10000' },
    events: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '4' },
    pg: { type: 'string', default: process.env.OPENWSUS_BENCH_PG ?? 'postgres://postgres@127.0.0.1:55432/postgres' },
  },
});
const REVISIONS = Number(values.revisions);
const OBSOLETE = Number(values.obsolete);
const EVENTS = Number(values.events);
const CLIENTS = Number(values.clients);
const UPDATES = REVISIONS - OBSOLETE;
const SUPERSEDED = Math.floor(OBSOLETE * 0.3);
const EXPIRED = Math.floor(OBSOLETE * 0.1);
const NOW = new Date();
const daysAgo = (n: number): string => new Date(NOW.getTime() - n * 86_400_000).toISOString();
const PRODUCT = guid(1, 'bench-product');
// "Updates": not approved for detection automatically, so clients see the approved updates only.
const CLASSIFICATION = CLASSIFICATIONS.updates;
const update = (i: number): string => guid(i, 'bench-update');

function log(text: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

/** The catalog, the approvals and the clients' history, dated by hand. */
async function seed(store: Store): Promise<void> {
  const clauses = [
    { updateIds: [PRODUCT], isCategory: true },
    { updateIds: [CLASSIFICATION], isCategory: true },
  ];
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: PRODUCT, revisionNumber: 1, updateType: 'Category', categoryType: 'Product' }),
    makeRevision({ updateId: CLASSIFICATION, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification' }),
  ]);
  // Superseded: updates [OBSOLETE, OBSOLETE + SUPERSEDED), each by the update SUPERSEDED further on.
  const supersededBy = new Map<number, number>();
  for (let i = OBSOLETE; i < OBSOLETE + SUPERSEDED; i++) supersededBy.set(i + SUPERSEDED, i);
  const revision = (i: number, revisionNumber: number) =>
    makeRevision({
      updateId: update(i),
      revisionNumber,
      title: `Bench update ${i} r${revisionNumber}`,
      prerequisites: clauses,
      ...(supersededBy.has(i) && { supersedes: [update(supersededBy.get(i)!)] }),
      ...(i >= OBSOLETE + 2 * SUPERSEDED && i < OBSOLETE + 2 * SUPERSEDED + EXPIRED && { publicationState: 'Expired' as const }),
      files: [makeFile(`bench-${i}-${revisionNumber}.cab`, 1000)],
    });
  const BATCH = 1000;
  for (let start = 0; start < UPDATES; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(UPDATES, start + BATCH); i++) {
      if (i < OBSOLETE) batch.push(revision(i, 100));
      batch.push(revision(i, 101));
    }
    await store.catalog.upsertRevisions(batch);
    if (start % 10_000 === 0) log(`seeded ${start + batch.length} updates`);
  }
  await sql`update revision set received_at = ${daysAgo(120)} where revision_number = 100`.execute(store.db);
  await sql`update revision set received_at = ${daysAgo(60)} where revision_number <> 100`.execute(store.db);
  const approvals = [...supersededBy.keys()].map((i) => ({
    id: guid(i, 'bench-deployment'),
    updateId: update(i),
    revisionNumber: 101,
    groupId: ALL_COMPUTERS_GROUP_ID,
    action: 'Install' as const,
    adminName: 'bench',
    createdAt: daysAgo(50),
  }));
  for (let i = 0; i < approvals.length; i += 1000) await store.approvals.upsert(approvals.slice(i, i + 1000));
  log(`${approvals.length} approvals`);

  for (let c = 0; c < 1000; c++) await store.computers.touch({ id: guid(c, 'bench-computer'), dnsName: `pc${c}.bench.invalid`, defaultGroupId: ALL_COMPUTERS_GROUP_ID });
  await sql`update computer set created_at = ${daysAgo(300)}, last_sync_at = ${daysAgo(90)}`.execute(store.db);
  await sql`update computer set last_sync_at = ${daysAgo(1)} where dns_name like 'pc_.%' or dns_name like 'pc1%'`.execute(store.db);
  const series =
    store.dialect === 'postgres'
      ? sql`select i from generate_series(1, ${EVENTS + EVENTS / 10}) as i`
      : sql`select i from (with recursive n(i) as (select 1 union all select i + 1 from n where i < ${EVENTS + EVENTS / 10}) select i from n)`;
  await sql`insert into client_event (event_instance_id, computer_id, namespace_id, event_id, source_id, update_id, revision_number, win32_hresult, app_name, time_at_target, received_at, replacement_strings, misc_data)
    select 'bench-' || i, ${guid(1, 'bench-computer')}, 1, 183, 1, ${update(1)}, 101, 0, 'bench', ${daysAgo(200)},
      case when i <= ${EVENTS} then ${daysAgo(200)} else ${daysAgo(2)} end, '[]', '[]' from (${series}) s`.execute(store.db);
  log(`${EVENTS + EVENTS / 10} events`);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface ScanStats {
  readonly scans: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly failed: number;
}

/** Scans in a loop, each client after its previous scan, until `until` resolves. */
async function scanWhile(clients: readonly SimulatedClient[], until: Promise<unknown>): Promise<ScanStats> {
  let done = false;
  void until.finally(() => (done = true));
  const times: number[] = [];
  let failed = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (!done) {
        const t0 = performance.now();
        const result = await client.scan();
        times.push(performance.now() - t0);
        if (!result.ok) failed++;
      }
    }),
  );
  times.sort((a, b) => a - b);
  return { scans: times.length, p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1] ?? NaN, failed };
}

interface Row {
  readonly backend: Backend;
  readonly seedMs: number;
  readonly report: CleanupReport;
  readonly baseline: ScanStats;
  readonly during: ScanStats;
}

async function measure(backend: Backend): Promise<Row> {
  const dataDir = await mkdtemp(join(tmpdir(), 'openwsus-bench-cleanup-'));
  const pg = backend === 'postgres' ? await createTemporaryDatabase(values.pg!, 'openwsus_bench_cleanup') : undefined;
  const store = await openStore({ dataDir, ...(pg !== undefined && { database: pg.url }) });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const app = await createHttpServer({
    logger: pino({ level: 'warn' }, sink),
    health: async () => ({ status: 'ok', version: 'bench', serverId: store.serverId, database: store.dialect, uptimeSeconds: 0, checks: {} }),
    routes: async (instance) => registerClientServices(instance, { store }),
  });
  try {
    log(`${backend}: seeding ${formatInteger(REVISIONS)} revisions`);
    const t0 = performance.now();
    await seed(store);
    const seedMs = performance.now() - t0;
    const serverUrl = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    const clients = Array.from({ length: CLIENTS }, (_, index) => new SimulatedClient({ serverUrl, index, seed: 42, download: false, report: false, driverPass: false }));
    log(`${backend}: first scans`);
    await Promise.all(clients.map((c) => c.scan()));
    log(`${backend}: baseline scans (15 s)`);
    const baseline = await scanWhile(clients, new Promise((resolve) => setTimeout(resolve, 15_000)));
    log(`${backend}: cleanup with scans`);
    const cleanup = runCleanup(store, ContentStore.inDataDir(dataDir), { now: NOW });
    const during = await scanWhile(clients, cleanup);
    const report = await cleanup;
    return { backend, seedMs, report, baseline, during };
  } finally {
    await app.close();
    await store.close();
    await pg?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const backend of values.backends!.split(',').map((b) => b.trim()) as Backend[]) {
  if (backend === 'postgres') {
    const problem = await postgresProblem(values.pg!);
    if (problem !== undefined) {
      log(`postgres skipped: ${problem}`);
      continue;
    }
  }
  rows.push(await measure(backend));
}

const ms = (n: number): string => (Number.isNaN(n) ? '-' : formatInteger(n));
process.stdout.write(`\n${machineLine(describeMachine())}\n`);
process.stdout.write(`${formatInteger(REVISIONS)} revisions, ${formatInteger(OBSOLETE)} obsolete revisions, ${formatInteger(SUPERSEDED)} superseded and ${formatInteger(EXPIRED)} expired updates to decline, ${formatInteger(EVENTS)} stale events, ${CLIENTS} clients scanning\n\n`);
process.stdout.write(
  formatTable(
    [
      { title: 'backend', value: (r: Row) => r.backend },
      { title: 'cleanup wall', value: (r) => `${(r.report.elapsedMs / 1000).toFixed(1)} s`, align: 'right' },
      { title: 'batches', value: (r) => formatInteger(r.report.batches) },
      { title: 'longest tx ms', value: (r) => ms(r.report.longestTransactionMs) },
      { title: 'revisions deleted', value: (r) => formatInteger(r.report.counts.revisions?.deleted ?? 0) },
      { title: 'declined', value: (r) => formatInteger((r.report.counts.superseded?.declined ?? 0) + (r.report.counts.expired?.declined ?? 0)) },
      { title: 'events deleted', value: (r) => formatInteger(r.report.counts.events?.deleted ?? 0) },
      { title: 'computers deleted', value: (r) => formatInteger(r.report.counts.computers?.deleted ?? 0) },
      { title: 'scan p50/p99/max ms, baseline', value: (r) => `${ms(r.baseline.p50)} / ${ms(r.baseline.p99)} / ${ms(r.baseline.max)} (${r.baseline.scans})` },
      { title: 'scan p50/p99/max ms, during cleanup', value: (r) => `${ms(r.during.p50)} / ${ms(r.during.p99)} / ${ms(r.during.max)} (${r.during.scans}, ${r.during.failed} failed)` },
    ],
    rows,
  ),
);
for (const r of rows) process.stdout.write(`\n${r.backend}: longest transaction per step (ms) ${JSON.stringify(r.report.longestByStep)}; smallest page ${r.report.smallestBatch}; counts ${JSON.stringify(r.report.counts)}`);
process.stdout.write(`\nseed times: ${rows.map((r) => `${r.backend} ${(r.seedMs / 1000).toFixed(0)} s`).join(', ')}\n`);

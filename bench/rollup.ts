// Reporting rollup under load: a root `openwsus serve` process, and N downstream servers (each its
// own SQLite database, seeded directly with C computers × U update statuses, and its own process
// running src/sync/rollup.ts) rolling up to it at once: first the full rollup (every computer with
// its details and its complete status list), then an incremental one after 1 % of each
// downstream's computers changed the status of one update.
//
//   node_modules/.bin/node bench/rollup.ts [--computers 10000] [--updates 200] [--downstreams 10]
//       [--backend sqlite|postgres] [--pg URL] [--changed 0.01]
//
// Rows are status rows (computer × update) that reached the root; rows/s is rows over the wall
// time from the first downstream's start to the last one's end. The root's RSS is sampled every
// 50 ms (VmRSS) and its VmHWM read at the end. Prints a Markdown table; writes bench/out/rollup.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { UNASSIGNED_COMPUTERS_GROUP_ID } from '../src/domain/wellknown.ts';
import type { UpdateStatus } from '../src/domain/client-event.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { insertRows, insertSpec } from '../src/store/sql-util.ts';
import { rollUp, type RollupReport } from '../src/sync/rollup.ts';
import { procStatusKiB, RssSampler, startServeProcess } from '../test/support/server-process.ts';
import { reportResult, runChild } from './lib/child.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { createTemporaryDatabase, postgresProblem } from './lib/postgres.ts';
import { formatInteger, formatKiB, formatTable } from './lib/table.ts';

const SCRIPT = fileURLToPath(import.meta.url);
const OUT = join(dirname(SCRIPT), 'out');
const STATUSES: readonly UpdateStatus[] = ['NotInstalled', 'Installed', 'Installed', 'Installed', 'Failed', 'Downloaded', 'InstalledPendingReboot', 'NotApplicable'];

// ---------------------------------------------------------------------------------------------
// Child: `--downstream DATABASE --port N`: one rollup of that downstream, its report on stdout.

async function downstream(database: string, port: number, name: string): Promise<void> {
  const store = await openStore({ database });
  try {
    await store.settings.set('upstream.source', 'server');
    await store.settings.set('upstream.server', '127.0.0.1');
    await store.settings.set('upstream.port', port);
    const started = Date.now();
    const report = await rollUp({ store, version: '0.0.0', serverName: name, timeoutMs: 600_000 });
    reportResult({ ...report, startedAt: started, endedAt: Date.now() });
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Parent

/** C computers with U statuses each, written in bulk (what months of client reports leave). */
async function seed(store: Store, computers: number, updates: readonly string[], index: number): Promise<void> {
  const now = new Date(Date.now() - 3_600_000).toISOString();
  const ids = Array.from({ length: computers }, (_, i) => `c${index.toString(16).padStart(3, '0')}0000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
  await store.transaction(async (tx) => {
    const ctx = { db: tx.db, dialect: store.dialect };
    await insertRows(
      ctx,
      insertSpec('computer' as never, { computer_id: 'text', dns_name: 'text', ip_address: 'text', os_major: 'integer', os_minor: 'integer', os_build: 'integer', processor_architecture: 'text', last_sync_at: 'text', last_report_at: 'text', created_at: 'text' }),
      ids.map((id, i) => [id, `pc${i}.site${index}.corp.example`, `10.${index}.${(i >> 8) & 255}.${i & 255}`, 10, 0, 26100 + (i % 3), 'AMD64', now, now, now]),
    );
    await insertRows(ctx, insertSpec('computer_membership' as never, { computer_id: 'text', group_id: 'text' }), ids.map((id) => [id, UNASSIGNED_COMPUTERS_GROUP_ID]));
    const rows: unknown[][] = [];
    for (const [c, id] of ids.entries()) for (const [u, updateId] of updates.entries()) rows.push([id, updateId, STATUSES[(c * 7 + u * 13) % STATUSES.length]!, now]);
    await insertRows(ctx, insertSpec('update_status' as never, { computer_id: 'text', update_id: 'text', status: 'text', changed_at: 'text' }), rows);
  });
}

interface Row {
  readonly run: 'full' | 'incremental';
  readonly seconds: number;
  readonly computers: number;
  readonly statusRows: number;
  readonly rowsPerSecond: number;
  readonly rootPeakKiB: number;
  readonly rootHwmKiB: number;
  readonly downstreamPeakKiB: number;
  readonly calls: number;
}

async function rollupRound(run: Row['run'], databases: readonly string[], server: { pid: number; port: number }): Promise<Row> {
  const sampler = new RssSampler(server.pid, 50);
  const reports = await Promise.all(
    databases.map((db, i) => runChild<RollupReport & { startedAt: number; endedAt: number }>(SCRIPT, ['--downstream', db, '--port', String(server.port), '--name', `dss${i}.corp.example`])),
  );
  const rss = sampler.stop();
  for (const r of reports) process.stderr.write(`  ${run}: ${r.computers} computers (${r.details} with details), status of ${r.statusComputers} (${r.fullStatus} full, ${r.statusRows} rows), ${r.outOfSync} out of sync\n`);
  const seconds = (Math.max(...reports.map((r) => r.endedAt)) - Math.min(...reports.map((r) => r.startedAt))) / 1000;
  const statusRows = reports.reduce((n, r) => n + r.statusRows, 0);
  return {
    run,
    seconds,
    computers: reports.reduce((n, r) => n + r.statusComputers, 0),
    statusRows,
    rowsPerSecond: statusRows / seconds,
    rootPeakKiB: rss.peakKiB,
    rootHwmKiB: procStatusKiB(server.pid, 'VmHWM') ?? 0,
    downstreamPeakKiB: Math.max(...reports.map((r) => r.maxRssKiB)),
    calls: reports.reduce((n, r) => n + Object.values(r.calls).reduce((a, b) => a + b, 0), 0),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      downstream: { type: 'string' },
      port: { type: 'string' },
      name: { type: 'string' },
      computers: { type: 'string', default: '10000' },
      updates: { type: 'string', default: '200' },
      downstreams: { type: 'string', default: '10' },
      backend: { type: 'string', default: 'sqlite' },
      pg: { type: 'string', default: process.env.OPENWSUS_TEST_PG ?? 'postgres://postgres@127.0.0.1:55432/postgres' },
      changed: { type: 'string', default: '0.01' },
    },
  });
  if (values.downstream !== undefined) {
    await downstream(values.downstream, Number(values.port), values.name ?? 'dss.corp.example');
    return;
  }
  const computers = Number(values.computers);
  const updateCount = Number(values.updates);
  const count = Number(values.downstreams);
  const changed = Number(values.changed);
  const work = await mkdtemp(join(tmpdir(), 'openwsus-bench-rollup-'));
  const cleanups: (() => Promise<void>)[] = [() => rm(work, { recursive: true, force: true })];
  try {
    let rootDatabase = `sqlite:${join(work, 'root.db')}`;
    if (values.backend === 'postgres') {
      const problem = await postgresProblem(values.pg!);
      if (problem !== undefined) throw new Error(`PostgreSQL at ${values.pg}: ${problem}`);
      const db = await createTemporaryDatabase(values.pg!, `openwsus_bench_rollup_${process.pid}`);
      cleanups.unshift(db.drop);
      rootDatabase = db.url;
    }
    const updates = Array.from({ length: updateCount }, () => randomUUID());
    const databases: string[] = [];
    const seedStart = Date.now();
    for (let i = 0; i < count; i++) {
      const database = `sqlite:${join(work, `dss${i}.db`)}`;
      const store = await openStore({ database });
      try {
        await seed(store, computers, updates, i);
      } finally {
        await store.close();
      }
      databases.push(database);
      process.stderr.write(`seeded downstream ${i + 1}/${count} (${formatInteger(computers)} computers × ${updateCount} updates)\n`);
    }
    const seedSeconds = (Date.now() - seedStart) / 1000;
    const dataDir = join(work, 'root');
    mkdirSync(dataDir, { recursive: true });
    const server = await startServeProcess({ dataDir, database: rootDatabase, startTimeoutMs: 120_000 });
    cleanups.unshift(async () => void (await server.stop()));
    const rows: Row[] = [];
    process.stderr.write('full rollup…\n');
    rows.push(await rollupRound('full', databases, server));
    // 1 % of each downstream's computers report one changed status.
    for (const database of databases) {
      const store = await openStore({ database });
      try {
        const ids = (await store.computers.list()).map((c) => c.id).slice(0, Math.max(1, Math.round(computers * changed)));
        for (const id of ids) await store.clientEvents.applyStatus(id, [{ replacesAll: false, changes: [{ updateId: updates[0]!, status: 'Failed' }] }], new Date());
      } finally {
        await store.close();
      }
    }
    process.stderr.write('incremental rollup…\n');
    rows.push(await rollupRound('incremental', databases, server));
    const table = formatTable(
      [
        { title: 'rollup', value: (r: Row) => r.run },
        { title: 'computers sent', value: (r: Row) => formatInteger(r.computers), align: 'right' },
        { title: 'status rows', value: (r: Row) => formatInteger(r.statusRows), align: 'right' },
        { title: 'seconds', value: (r: Row) => r.seconds.toFixed(1), align: 'right' },
        { title: 'rows/s', value: (r: Row) => formatInteger(Math.round(r.rowsPerSecond)), align: 'right' },
        { title: 'calls', value: (r: Row) => formatInteger(r.calls), align: 'right' },
        { title: 'root peak RSS', value: (r: Row) => formatKiB(r.rootPeakKiB), align: 'right' },
        { title: 'downstream peak RSS', value: (r: Row) => formatKiB(r.downstreamPeakKiB), align: 'right' },
      ],
      rows,
    );
    const heading = `${count} downstreams × ${formatInteger(computers)} computers × ${updateCount} updates, root on ${values.backend} (seeding took ${seedSeconds.toFixed(0)} s)`;
    process.stdout.write(`${machineLine(describeMachine())}\n\n${heading}\n\n${table}\n`);
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'rollup.json'), JSON.stringify({ machine: describeMachine(), computers, updates: updateCount, downstreams: count, backend: values.backend, rows }, null, 2));
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

await main();

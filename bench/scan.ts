// Client scans against a real `bin/openwsus serve` holding a large catalog (issue 5 "Done when").
//
//   node_modules/.bin/node bench/scan.ts [--revisions 50000] [--clients 1000,10000] [--backends sqlite,postgres]
//                                        [--concurrency 32] [--first-sample 1000] [--seed 1] [--pg URL] [--keep]
//
// Setup, per backend: the generated catalog of --revisions (bench/out/catalog-N-seed-S.owx, made
// once) is imported with `openwsus import` into a fresh database; realistic approvals are set with
// the store (a "Workstations" group: every Security, Critical and Update Rollup update of the
// Windows products approved for Install, expired updates declined; Critical and Security are
// also approved for detection everywhere, as WSUS does by itself); the server then runs as its
// own process with client-side targeting.
//
// Per fleet size, fresh computers (their own seed) of "Workstations" scan with the simulator
// (src/simulator: handshake, SyncUpdates rounds with cache bookkeeping, the driver pass,
// GetExtendedUpdateInfo for the approved updates they need, the 147/156 report; no content
// download, and no XPRESS, which would cost the bench process more than the server):
//   first        every computer's first scan (empty cache)
//   incremental  every computer again, nothing changed on the server
//   +changes     every computer again after 10 more approvals and the decline of an approved update
// For each round: scans per second (wall), p50/p99 of one scan (handshake to report), the server
// process's CPU time per scan (from /proc/<pid>/stat: the fair cost on a busy machine), SOAP calls
// and revisions received per scan, and the server's RSS after the round and its peak.
// First scans of more than --first-sample computers: only --first-sample of them are timed as
// first scans one by one; the rest get the state of a timed computer of the same group copied
// (same server answers) plus their own handshake, so the incremental rounds run at full size
// without hours of identical first scans. The record says so.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { writeGeneratedCatalog } from '../src/catalog/export.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../src/domain/wellknown.ts';
import { Fleet, type ClientScanResult } from '../src/simulator/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { runCli } from '../test/support/cli.ts';
import { startServeProcess, type ServeProcess } from '../test/support/server-process.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { createTemporaryDatabase, postgresProblem } from './lib/postgres.ts';
import { formatInteger, formatKiB, formatTable, type Column } from './lib/table.ts';

type Backend = 'sqlite' | 'postgres';

const SCRIPT = fileURLToPath(import.meta.url);
const OUT = join(dirname(SCRIPT), 'out');
const ROOT = dirname(dirname(SCRIPT));

const { values: args } = parseArgs({
  options: {
    revisions: { type: 'string', default: '50000' },
    clients: { type: 'string', default: '1000,10000' },
    backends: { type: 'string', default: 'sqlite' },
    concurrency: { type: 'string', default: '32' },
    'first-sample': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    pg: { type: 'string', default: process.env.OPENWSUS_BENCH_PG ?? 'postgres://postgres@127.0.0.1:55432/postgres' },
    keep: { type: 'boolean', default: false },
  },
});
const REVISIONS = Number(args.revisions);
const FLEETS = args.clients!.split(',').map(Number);
const BACKENDS = args.backends!.split(',') as Backend[];
const CONCURRENCY = Number(args.concurrency);
const FIRST_SAMPLE = Number(args['first-sample']);
const SEED = args.seed!;
const APPROVED_CLASSES: ReadonlySet<string> = new Set([CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.updateRollups]);

const say = (line: string): void => void process.stderr.write(`${line}\n`);
const command = `node_modules/.bin/node bench/scan.ts ${process.argv.slice(2).join(' ')}`.trim();

interface Round {
  readonly backend: Backend;
  readonly clients: number;
  readonly round: string;
  /** Scans timed in this round. */
  readonly scans: number;
  readonly failed: number;
  readonly wallMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuMsPerScan: number;
  readonly callsPerScan: number;
  readonly revisionsPerScan: number;
  readonly changedPerScan: number;
  readonly serverRssKiB: number;
  readonly serverPeakRssKiB: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** utime + stime of a process, ms (Linux /proc; clock ticks of 100 Hz). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function ensureCatalog(): Promise<string> {
  const file = join(OUT, `catalog-${REVISIONS}-seed-${SEED}.owx`);
  if (!existsSync(file)) {
    mkdirSync(OUT, { recursive: true });
    say(`generating ${relative(ROOT, file)}…`);
    await writeGeneratedCatalog({ updates: REVISIONS, seed: SEED }, file);
  }
  return file;
}

/** WSUS-like approvals: the Windows family's Security, Critical and Update Rollup updates for Workstations; expired ones declined. */
async function approve(store: Store): Promise<{ approved: string[]; declined: number; spare: string[] }> {
  const group = await store.groups.create({ id: randomUUID(), name: 'Workstations', parentId: ALL_COMPUTERS_GROUP_ID });
  await store.settings.set('clients.targetingMode', 'client');
  const revisions = await store.scanCatalog.revisions();
  const categories = new Map(revisions.filter((r) => r.updateType === 'Category').map((r) => [r.updateId, r]));
  const underWindows = (id: string, depth = 0): boolean => {
    if (id === WINDOWS_PRODUCT_FAMILY_ID) return true;
    const c = categories.get(id);
    return depth < 8 && c !== undefined && c.categoryIds.some((p) => underWindows(p, depth + 1));
  };
  const members = new Set(revisions.flatMap((r) => r.bundledUpdateIds ?? []));
  const candidates = revisions.filter((r) => r.updateType === 'Software' && !members.has(r.updateId));
  const wanted = candidates.filter(
    (r) => r.publicationState !== 'Expired' && r.categoryIds.some((c) => APPROVED_CLASSES.has(c)) && r.categoryIds.some((c) => underWindows(c)),
  );
  const spare = candidates.filter((r) => r.publicationState !== 'Expired' && !wanted.includes(r)).map((r) => r.updateId);
  const keys = new Map((await store.catalog.summaries(wanted.map((r) => r.revisionId))).map((s) => [s.revisionId, s.key]));
  const now = new Date().toISOString();
  for (let i = 0; i < wanted.length; i += 500) {
    await store.approvals.upsert(
      wanted.slice(i, i + 500).map((r) => ({
        id: randomUUID(),
        updateId: r.updateId,
        revisionNumber: keys.get(r.revisionId)!.revisionNumber,
        groupId: group.id,
        action: 'Install' as const,
        adminName: 'bench',
        createdAt: now,
      })),
    );
  }
  const expired = revisions.filter((r) => r.updateType === 'Software' && r.publicationState === 'Expired').map((r) => r.updateId);
  if (expired.length > 0) await store.declines.upsert(expired.map((updateId) => ({ updateId, adminName: 'bench', declinedAt: now })));
  return { approved: wanted.map((r) => r.updateId), declined: expired.length, spare };
}

/** Every round so far, written after each one: a long run that is stopped keeps what it measured. */
const recorded: Round[] = [];
function record(r: Round): Round {
  recorded.push(r);
  say(formatTable(columns, [r]).split('\n')[2]!);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'scan.json'), JSON.stringify({ benchmark: 'scan', command, date: new Date().toISOString(), machine: describeMachine(), rows: recorded }, null, 2));
  return r;
}

async function round(backend: Backend, server: ServeProcess, fleet: Fleet, name: string, clients = fleet.clients): Promise<Round> {
  const cpu0 = cpuMsOf(server.pid);
  const started = performance.now();
  // What the table needs of each scan, taken as it ends: the results themselves are not kept.
  const scans: Scan[] = [];
  await fleet.scanAll(
    (r) => {
      scans.push({ ok: r.ok, error: r.error, totalMs: r.timings.totalMs, soapCalls: r.soapCalls, newUpdates: r.newUpdates, changed: r.changedUpdates + r.outOfScope.length });
      if (scans.length % 500 === 0 || (r.kind === 'first' && scans.length % 10 === 0)) say(`  ${name}: ${scans.length}/${clients.length} scans`);
    },
    clients,
    { keep: false },
  );
  const wallMs = performance.now() - started;
  const cpuMs = cpuMsOf(server.pid) - cpu0;
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  say(`  ${name}: done; this process (the simulated computers): RSS ${Math.round(rss / 1048576)} MiB, heap ${Math.round(heapUsed / 1048576)} MiB`);
  return record(summarize(backend, fleet.clients.length, name, scans, wallMs, cpuMs, server));
}

interface Scan {
  readonly ok: boolean;
  readonly error: string | undefined;
  readonly totalMs: number;
  readonly soapCalls: number;
  readonly newUpdates: number;
  readonly changed: number;
}

function summarize(backend: Backend, size: number, name: string, results: readonly Scan[], wallMs: number, cpuMs: number, server: ServeProcess): Round {
  const ok = results.filter((r) => r.ok);
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) say(`  ${failed.length} scans failed; first: ${failed[0]!.error}`);
  const times = ok.map((r) => r.totalMs).sort((a, b) => a - b);
  const mean = (f: (r: Scan) => number) => (ok.length === 0 ? 0 : ok.reduce((n, r) => n + f(r), 0) / ok.length);
  return {
    backend,
    clients: size,
    round: name,
    scans: results.length,
    failed: failed.length,
    wallMs,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    serverCpuMsPerScan: cpuMs / Math.max(1, results.length),
    callsPerScan: mean((r) => r.soapCalls),
    revisionsPerScan: mean((r) => r.newUpdates),
    changedPerScan: mean((r) => r.changed),
    serverRssKiB: server.rssKiB() ?? 0,
    serverPeakRssKiB: server.peakRssKiB() ?? 0,
  };
}

async function runBackend(backend: Backend, catalog: string): Promise<Round[]> {
  const dataDir = await mkdtemp(join(tmpdir(), `openwsus-bench-scan-${backend}-`));
  let database: string | undefined;
  let drop = async (): Promise<void> => {};
  if (backend === 'postgres') {
    const problem = await postgresProblem(args.pg!);
    if (problem !== undefined) throw new Error(`PostgreSQL at ${args.pg}: ${problem}`);
    const db = await createTemporaryDatabase(args.pg!, `openwsus_bench_scan_${process.pid}`);
    database = db.url;
    drop = db.drop;
  }
  const flags = ['--data', dataDir, ...(database === undefined ? [] : ['--database', database])];
  const rounds: Round[] = [];
  try {
    say(`[${backend}] importing ${relative(ROOT, catalog)}…`);
    const imported = await runCli([...flags, 'import', catalog], { timeoutMs: 3_600_000 });
    if (imported.code !== 0) throw new Error(`import failed: ${imported.stderr}`);
    const store = await openStore({ dataDir, ...(database === undefined ? {} : { database }) });
    let approvals: Awaited<ReturnType<typeof approve>>;
    try {
      approvals = await approve(store);
    } finally {
      await store.close();
    }
    say(`[${backend}] ${approvals.approved.length} updates approved for Workstations, ${approvals.declined} expired ones declined`);
    const server = await startServeProcess({ dataDir, ...(database === undefined ? {} : { database }), startTimeoutMs: 120_000 });
    try {
      for (const [k, size] of FLEETS.entries()) {
        const fleet = new Fleet({ serverUrl: server.url, count: size, seed: Number(SEED) * 1000 + k, group: 'Workstations', concurrency: CONCURRENCY, download: false, acceptXpress: false });
        try {
          say(`[${backend}] ${size} computers: first scans…`);
          const sample = fleet.clients.slice(0, Math.min(size, FIRST_SAMPLE));
          rounds.push(await round(backend, server, fleet, size > sample.length ? `first (${sample.length} timed)` : 'first', sample));
          if (size > sample.length) {
            say(`[${backend}] ${size} computers: the other ${size - sample.length} take a timed computer's state and shake hands…`);
            for (let i = sample.length; i < size; i++) fleet.clients[i]!.adoptCacheOf(sample[i % sample.length]!);
            rounds.push(await round(backend, server, fleet, `cache copied (${size - sample.length})`, fleet.clients.slice(sample.length)));
          }
          say(`[${backend}] ${size} computers: incremental rescans…`);
          rounds.push(await round(backend, server, fleet, 'incremental'));
          const store2 = await openStore({ dataDir, ...(database === undefined ? {} : { database }) });
          try {
            const group = (await store2.groups.list()).find((g) => g.name === 'Workstations')!;
            const picks = approvals.spare.splice(0, 10);
            const byId = new Map((await store2.scanCatalog.revisions()).filter((r) => picks.includes(r.updateId)).map((r) => [r.updateId, r.revisionId]));
            const keys = await store2.catalog.summaries(picks.map((id) => byId.get(id)!));
            const now = new Date().toISOString();
            await store2.approvals.upsert(
              keys.map((k) => ({ id: randomUUID(), updateId: k.key.updateId, revisionNumber: k.key.revisionNumber, groupId: group.id, action: 'Install' as const, adminName: 'bench', createdAt: now })),
            );
            await store2.declines.upsert([{ updateId: approvals.approved.pop()!, adminName: 'bench', declinedAt: now }]);
          } finally {
            await store2.close();
          }
          say(`[${backend}] ${size} computers: rescans after 10 approvals and a decline…`);
          rounds.push(await round(backend, server, fleet, '+changes'));
        } finally {
          await fleet.close();
        }
      }
    } finally {
      await server.stop();
    }
  } finally {
    await drop();
    if (!args.keep) await rm(dataDir, { recursive: true, force: true });
    else say(`[${backend}] data kept in ${dataDir}`);
  }
  return rounds;
}

const columns: Column<Round>[] = [
  { title: 'backend', value: (r) => r.backend },
  { title: 'clients', value: (r) => formatInteger(r.clients), align: 'right' },
  { title: 'round', value: (r) => r.round, align: 'left' },
  { title: 'scans/s', value: (r) => (r.scans / (r.wallMs / 1000)).toFixed(1) },
  { title: 'p50 ms', value: (r) => formatInteger(r.p50Ms) },
  { title: 'p99 ms', value: (r) => formatInteger(r.p99Ms) },
  { title: 'server CPU ms/scan', value: (r) => r.serverCpuMsPerScan.toFixed(1) },
  { title: 'SOAP calls/scan', value: (r) => r.callsPerScan.toFixed(1) },
  { title: 'new revisions/scan', value: (r) => formatInteger(r.revisionsPerScan) },
  { title: 'changed+gone/scan', value: (r) => r.changedPerScan.toFixed(1) },
  { title: 'server RSS', value: (r) => formatKiB(r.serverRssKiB) },
  { title: 'server peak RSS', value: (r) => formatKiB(r.serverPeakRssKiB) },
  { title: 'failed', value: (r) => String(r.failed) },
];

const catalog = await ensureCatalog();
const all: Round[] = [];
for (const backend of BACKENDS) all.push(...(await runBackend(backend, catalog)));
process.stdout.write(`\n${machineLine(describeMachine())}\n${command}\n\n${formatTable(columns, all)}`);
const firsts = all.filter((r) => r.round.startsWith('first'));
for (const inc of all.filter((r) => r.round === 'incremental')) {
  const first = firsts.find((f) => f.backend === inc.backend && f.clients === inc.clients);
  if (first !== undefined) process.stdout.write(`${inc.backend} ${inc.clients}: an incremental rescan costs the server ${(first.serverCpuMsPerScan / Math.max(0.01, inc.serverCpuMsPerScan)).toFixed(1)}x less CPU than a first scan\n`);
}

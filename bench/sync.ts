// The downstream role end to end: a root `openwsus serve` process holding a generated catalog, and
// a downstream synchronized from it with `openwsus sync --json` (a process of its own, as an
// administrator runs it), every product and classification selected so every revision comes down.
// Per size:
//
//   full          the first synchronization (empty downstream);
//   no change     the next one, nothing new upstream;
//   1% changes    the root imports a day of changes (src/catalog/changes.ts: new updates in the
//                 existing lines, new revisions, expiries, a new product) sized to ~1% of the
//                 catalog, then the downstream synchronizes.
//
// Wall time is the `openwsus sync` process from spawn to exit (process start included: that is
// what an administrator waits for); `engine` is the engine's own time from the report; `sync CPU`
// the process's CPU time, which a loaded machine does not inflate as it does wall time. Peak RSS:
// the sync process sampled every 50 ms from /proc/<pid>/status, the root's VmHWM since it started.
//
//   node_modules/.bin/node bench/sync.ts [--sizes 10000,50000] [--seed 1] [--backend sqlite|postgres]
//       [--pg URL] [--regenerate]
//
// Prints a Markdown table; writes the figures to bench/out/sync.json.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCatalogChanges } from '../src/catalog/index.ts';
import { writeExport } from '../src/transfer/format.ts';
import { openStore } from '../src/store/index.ts';
import { BIN, runCli } from '../test/support/cli.ts';
import { RssSampler, startServeProcess, type ServeProcess } from '../test/support/server-process.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { createTemporaryDatabase, postgresProblem } from './lib/postgres.ts';
import { generatedCatalogFile } from './lib/catalog-file.ts';
import { formatInteger, formatKiB, formatTable, type Column } from './lib/table.ts';

const SCRIPT = fileURLToPath(import.meta.url);
const OUT = join(dirname(SCRIPT), 'out');

interface SyncFigures {
  readonly seconds: number;
  readonly engineSeconds: number;
  readonly fetched: number;
  readonly listed: number;
  readonly counts: Record<string, number>;
  readonly peakRssKiB: number;
  /** CPU time of the sync process (last sample before it ended, 20 ms apart). */
  readonly cpuSeconds: number;
}

interface Row extends SyncFigures {
  readonly size: number;
  readonly kind: 'full' | 'no change' | '1% changes';
  readonly rootPeakRssKiB: number;
  /** Documents the root received for the row (the day's changes). */
  readonly changed: number;
}

function fail(message: string): never {
  process.stderr.write(`bench/sync: ${message}\n`);
  process.exit(2);
}

/** A day of changes to the catalog, about 1% of it: written as an export the root imports. */
async function changesFile(size: number, seed: string, dir: string): Promise<{ file: string; documents: number }> {
  const docs = [...generateCatalogChanges({ base: { updates: size, seed }, day: 1, revisions: Math.round(size * 0.006), expirations: Math.round(size * 0.002) }).documents()];
  const file = join(dir, 'day1.owx');
  await writeExport(createWriteStream(file), { created: new Date().toISOString(), software: 'bench/sync', sections: ['revisions'] }, docs.map((d) => ({ type: 'revision', xml: d.xml })));
  return { file, documents: docs.length };
}

async function ok(args: readonly string[], what: string): Promise<string> {
  const result = await runCli(args, { timeoutMs: 3_600_000 });
  if (result.code !== 0) fail(`${what} failed (exit ${result.code}):\n${result.stderr}`);
  return result.stdout;
}

/** CPU seconds a process used so far (utime + stime of /proc/<pid>/stat), or undefined once gone. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** `openwsus sync --json` in a process of its own, timed and sampled. */
async function timedSync(dss: readonly string[]): Promise<SyncFigures> {
  const started = performance.now();
  const child = spawn(BIN, [...dss, 'sync', '--json'], { env: { ...process.env, OPENWSUS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const sampler = new RssSampler(child.pid!, 50);
  // The machine is shared: CPU time says what the sync cost when the wall time says how long it waited.
  let cpu = 0;
  const cpuTimer = setInterval(() => (cpu = cpuSeconds(child.pid!) ?? cpu), 20);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  const rss = sampler.stop();
  clearInterval(cpuTimer);
  if (code !== 0) fail(`sync failed (exit ${code}):\n${stderr}`);
  const report = JSON.parse(stdout) as { counts: Record<string, number>; categories: { listed: number; fetched: number }; updates: { listed: number; fetched: number }; ms: number };
  return {
    seconds,
    engineSeconds: report.ms / 1000,
    fetched: report.categories.fetched + report.updates.fetched,
    listed: report.categories.listed + report.updates.listed,
    counts: report.counts,
    peakRssKiB: rss.peakKiB,
    cpuSeconds: cpu,
  };
}

async function measureSize(size: number, seed: string, backend: 'sqlite' | 'postgres', pg: string, regenerate: boolean): Promise<Row[]> {
  const file = await generatedCatalogFile(size, seed, { regenerate });
  const work = await mkdtemp(join(tmpdir(), `openwsus-bench-sync-${size}-`));
  const cleanups: (() => Promise<void>)[] = [() => rm(work, { recursive: true, force: true })];
  let root: ServeProcess | undefined;
  try {
    const rootDir = join(work, 'root');
    const dssDir = join(work, 'dss');
    mkdirSync(rootDir);
    mkdirSync(dssDir);
    const database = async (name: string, dir: string): Promise<string> => {
      if (backend === 'sqlite') return `sqlite:${join(dir, 'openwsus.db')}`;
      const db = await createTemporaryDatabase(pg, `openwsus_bench_sync_${name}_${size}`);
      cleanups.unshift(db.drop);
      return db.url;
    };
    const rootDb = await database('root', rootDir);
    const dssDb = await database('dss', dssDir);
    const rootArgs = ['--data', rootDir, '--database', rootDb];
    const dss = ['--data', dssDir, '--database', dssDb];
    process.stderr.write(`${formatInteger(size)}: root import…\n`);
    await ok([...rootArgs, 'import', file], 'root import');
    // Every company (the expansion takes every product below) and every classification.
    const selection = await (async () => {
      const store = await openStore({ database: rootDb });
      try {
        const categories = await store.catalog.categories();
        return {
          products: categories.filter((c) => c.categoryType === 'Company').map((c) => c.updateId),
          classifications: categories.filter((c) => c.categoryType === 'UpdateClassification').map((c) => c.updateId),
        };
      } finally {
        await store.close();
      }
    })();
    root = await startServeProcess({ dataDir: rootDir, database: rootDb });
    await ok(
      [...dss, 'config', 'set', 'upstream.source', 'server', 'upstream.server', '127.0.0.1', 'upstream.port', String(root.port), 'products', selection.products.join(','), 'classifications', selection.classifications.join(',')],
      'config set',
    );
    const rows: Row[] = [];
    const row = (kind: Row['kind'], figures: SyncFigures, changed: number): Row => ({ size, kind, ...figures, rootPeakRssKiB: root!.peakRssKiB() ?? 0, changed });
    process.stderr.write(`${formatInteger(size)}: full sync…\n`);
    rows.push(row('full', await timedSync(dss), 0));
    process.stderr.write(`${formatInteger(size)}: no-change sync…\n`);
    rows.push(row('no change', await timedSync(dss), 0));
    const day = await changesFile(size, seed, work);
    process.stderr.write(`${formatInteger(size)}: root imports ${formatInteger(day.documents)} changes, sync…\n`);
    await ok([...rootArgs, 'import', day.file], 'root import of the day');
    rows.push(row('1% changes', await timedSync(dss), day.documents));
    return rows;
  } finally {
    await root?.stop();
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,50000' },
    seed: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'sqlite' },
    pg: { type: 'string', default: process.env.OPENWSUS_BENCH_PG ?? 'postgres://postgres@127.0.0.1:55432/postgres' },
    regenerate: { type: 'boolean', default: false },
  },
});
const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 100)) fail(`--sizes takes whole numbers >= 100, got ${values.sizes}`);
if (values.backend !== 'sqlite' && values.backend !== 'postgres') fail(`--backend is sqlite or postgres, got ${values.backend}`);
const backend = values.backend;
if (backend === 'postgres') {
  const problem = await postgresProblem(values.pg);
  if (problem !== undefined) fail(`PostgreSQL at ${values.pg}: ${problem}`);
}
mkdirSync(OUT, { recursive: true });

const rows: Row[] = [];
for (const size of sizes) rows.push(...(await measureSize(size, values.seed, backend, values.pg, values.regenerate)));

const columns: Column<Row>[] = [
  { title: 'revisions', value: (r) => formatInteger(r.size), align: 'right' },
  { title: 'sync', value: (r) => r.kind },
  { title: 'root changes', value: (r) => (r.changed === 0 ? '' : formatInteger(r.changed)) },
  { title: 'listed', value: (r) => formatInteger(r.listed) },
  { title: 'fetched', value: (r) => formatInteger(r.fetched) },
  { title: 'wall s', value: (r) => r.seconds.toFixed(2) },
  { title: 'engine s', value: (r) => r.engineSeconds.toFixed(2) },
  { title: 'sync CPU s', value: (r) => r.cpuSeconds.toFixed(2) },
  { title: 'rev/s', value: (r) => (r.fetched === 0 ? '' : formatInteger(r.fetched / r.engineSeconds)) },
  { title: 'sync peak RSS', value: (r) => formatKiB(r.peakRssKiB) },
  { title: 'root peak RSS', value: (r) => formatKiB(r.rootPeakRssKiB) },
];
process.stdout.write(`\n${machineLine()}; backend ${backend}\n\n${formatTable(columns, rows)}`);
writeFileSync(join(OUT, 'sync.json'), JSON.stringify({ machine: describeMachine(), backend, rows }, null, 2));

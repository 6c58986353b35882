// Importing a generated catalog (`openwsus import`), next to a floor measured in the same run.
//
//   node_modules/.bin/node bench/import.ts [--sizes 10000,25000,50000] [--backends sqlite,postgres]
//                                          [--seed 1] [--repeat 1] [--pg URL] [--regenerate] [--cpu-prof]
//
// For each size an export file is generated once into bench/out/ (reused while it exists; pass
// --regenerate after changing the generator). Then, for each size and backend, two measurements,
// each in its own process (its peak RSS is its own) on a fresh database:
// - floor: read the same export file (openExport), parse each document the way the import does
//   (ingestUpdate: record + fragments from one parse) and insert bare rows — the revision key and
//   the document's UTF-8 bytes, primary key on the revision key — 500 rows per statement, in one
//   transaction. What no import of these documents can go below.
// - import: importCatalogFile into a fresh store, as `openwsus import FILE` does.
// Times run from opening the file to the commit: opening the database, migrations and creating
// the floor's table are outside them. With --repeat N, floor and import alternate N times and
// the table shows the fastest run of each (and the highest peak RSS). Prints a Markdown table,
// writes it (and every run, with CPU times and the floor's parse/insert split) as JSON to
// bench/out/import.json. PostgreSQL: the server at --pg (default $OPENWSUS_BENCH_PG, else the
// one .ci/run starts); each measurement creates and drops its own database.
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CompiledQuery, Kysely, type Dialect } from 'kysely';
import { STATIC_DOCUMENTS } from '../src/catalog/index.ts';
import { ingestUpdate } from '../src/metadata/update-parser.ts';
import { openStore } from '../src/store/index.ts';
import { openPostgres } from '../src/store/postgres-dialect.ts';
import { openSqlite } from '../src/store/sqlite-dialect.ts';
import { openExport } from '../src/transfer/format.ts';
import { importCatalogFile } from '../src/transfer/import-job.ts';
import { reportResult, runChild, type ChildReport } from './lib/child.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { createTemporaryDatabase, postgresProblem } from './lib/postgres.ts';
import { generatedCatalogFile } from './lib/catalog-file.ts';
import { formatInteger, formatKiB, formatRatio, formatTable, type Column } from './lib/table.ts';

type Backend = 'sqlite' | 'postgres';
type Mode = 'floor' | 'import';

const SCRIPT = fileURLToPath(import.meta.url);
const OUT = join(dirname(SCRIPT), 'out');
const ROOT = dirname(dirname(SCRIPT));
const BATCH = 500;
const PROGRESS_EVERY = 10_000;

interface Measurement {
  readonly mode: Mode;
  readonly revisions: number;
  readonly ms: number;
  /** CPU time (user + system) of this process over the same span: less sensitive to a busy machine. */
  readonly cpuMs: number;
  /** Floor only: time inside ingestUpdate, and inside the insert statements. */
  readonly parseMs?: number;
  readonly insertMs?: number;
  /** RSS once modules are loaded and the database is open, before the measured work. */
  readonly startRssKiB: number;
  /** process.memoryUsage() at the end of the measured work, in KiB: where the RSS is. */
  readonly endMemoryKiB: Readonly<Record<string, number>>;
}

type ChildResult = Measurement & ChildReport;

interface Row {
  readonly size: number;
  readonly backend: Backend;
  /** The fastest of the runs, with the highest peak RSS of them all. */
  readonly floor: ChildResult;
  readonly import: ChildResult;
  /** Every run, in the order they ran (floor and import alternate). */
  readonly runs: readonly ChildResult[];
}

const rate = (m: Measurement): number => m.revisions / (m.ms / 1000);

function best(runs: readonly ChildResult[]): ChildResult {
  const fastest = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  return { ...fastest, maxRssKiB: Math.max(...runs.map((r) => r.maxRssKiB)) };
}

// ---------------------------------------------------------------------------------------------
// Children: one measurement each.

function progress(label: string, start: number): (revisions: number) => void {
  let next = PROGRESS_EVERY;
  return (revisions) => {
    if (revisions < next) return;
    next = (Math.floor(revisions / PROGRESS_EVERY) + 1) * PROGRESS_EVERY;
    process.stderr.write(`  ${label}: ${formatInteger(revisions)} revisions, ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
  };
}

function memoryKiB(): Record<string, number> {
  return Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1024)]));
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function openBare(backend: Backend, target: string): Kysely<unknown> {
  const dialect: Dialect = backend === 'sqlite' ? openSqlite(target).dialect : openPostgres(target, { poolSize: 1 }).dialect;
  return new Kysely<unknown>({ dialect });
}

function floorInsertSql(backend: Backend, rows: number): string {
  const tuples = new Array<string>(rows);
  for (let r = 0; r < rows; r++) tuples[r] = backend === 'postgres' ? `($${3 * r + 1},$${3 * r + 2},$${3 * r + 3})` : '(?,?,?)';
  return `insert into floor_revision (update_id, revision_number, xml) values ${tuples.join(',')}`;
}

async function measureFloor(file: string, backend: Backend, target: string, label: string): Promise<Measurement> {
  const db = openBare(backend, target);
  try {
    const blob = backend === 'postgres' ? 'bytea' : 'blob';
    await db.executeQuery(
      CompiledQuery.raw(
        `create table floor_revision (update_id text not null, revision_number integer not null, xml ${blob} not null, ` +
          'primary key (update_id, revision_number))',
      ),
    );
    const startRssKiB = Math.round(process.memoryUsage().rss / 1024);
    const cpu = process.cpuUsage();
    const start = performance.now();
    const tick = progress(label, start);
    let parseMs = 0;
    let insertMs = 0;
    const revisions = await db.transaction().execute(async (tx) => {
      let params: unknown[] = [];
      let count = 0;
      const flush = async (): Promise<void> => {
        if (params.length === 0) return;
        const t = performance.now();
        await tx.executeQuery(CompiledQuery.raw(floorInsertSql(backend, params.length / 3), params));
        insertMs += performance.now() - t;
        params = [];
        tick(count);
      };
      const reader = await openExport(createReadStream(file));
      for await (const record of reader.records()) {
        if (record.type !== 'revision') continue;
        const xml = record.xml as string;
        const t = performance.now();
        const { key } = ingestUpdate(xml).record;
        parseMs += performance.now() - t;
        params.push(key.updateId, key.revisionNumber, Buffer.from(xml, 'utf8'));
        count++;
        if (params.length >= BATCH * 3) await flush();
      }
      await flush();
      return count;
    });
    const ms = performance.now() - start;
    return { mode: 'floor', revisions, ms, cpuMs: cpuSince(cpu), parseMs, insertMs, startRssKiB, endMemoryKiB: memoryKiB() };
  } finally {
    await db.destroy();
  }
}

async function measureImport(file: string, backend: Backend, target: string, label: string): Promise<Measurement> {
  const store = await openStore(backend === 'sqlite' ? { dataDir: target } : { database: target });
  try {
    const startRssKiB = Math.round(process.memoryUsage().rss / 1024);
    const cpu = process.cpuUsage();
    const start = performance.now();
    const summary = await importCatalogFile(store, file, { onProgress: progress(label, start) });
    const ms = performance.now() - start;
    if (summary.inserted !== summary.revisions) throw new Error(`expected ${summary.revisions} new revisions, got ${summary.inserted}`);
    return { mode: 'import', revisions: summary.revisions, ms, cpuMs: cpuSince(cpu), startRssKiB, endMemoryKiB: memoryKiB() };
  } finally {
    await store.close();
  }
}

async function child(mode: Mode, file: string, backend: Backend, target: string, label: string): Promise<void> {
  const result = mode === 'floor' ? await measureFloor(file, backend, target, label) : await measureImport(file, backend, target, label);
  process.stderr.write(`  ${label}: ${formatInteger(result.revisions)} revisions in ${(result.ms / 1000).toFixed(1)} s\n`);
  reportResult(result);
}

// ---------------------------------------------------------------------------------------------
// Parent: files, fresh databases, one child per measurement, the table.

async function measure(
  mode: Mode,
  file: string,
  size: number,
  backend: Backend,
  pgServer: string,
  cpuProf: boolean,
  run: number,
): Promise<ChildResult> {
  const label = `${mode} ${backend} ${formatInteger(size)}`;
  process.stderr.write(`${label}…\n`);
  const nodeArgs = cpuProf
    ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT, 'profiles')}`, `--cpu-prof-name=import-${size}-${backend}-${mode}-${run}.cpuprofile`]
    : [];
  const start = (target: string): Promise<ChildResult> =>
    runChild<Measurement>(SCRIPT, ['--child', mode, '--file', file, '--backend', backend, '--target', target, '--label', label], { nodeArgs });
  if (backend === 'postgres') {
    const database = await createTemporaryDatabase(pgServer, `openwsus_bench_${mode}_${process.pid}`);
    try {
      return await start(database.url);
    } finally {
      await database.drop();
    }
  }
  const dir = await mkdtemp(join(OUT, `db-${mode}-`));
  try {
    return await start(mode === 'floor' ? join(dir, 'floor.db') : dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const COLUMNS: readonly Column<Row>[] = [
  { title: 'revisions', value: (r) => formatInteger(r.size), align: 'right' },
  { title: 'backend', value: (r) => r.backend, align: 'left' },
  { title: 'floor rev/s', value: (r) => formatInteger(rate(r.floor)) },
  { title: 'import rev/s', value: (r) => formatInteger(rate(r.import)) },
  { title: 'import/floor (time)', value: (r) => formatRatio(r.import.ms / r.floor.ms) },
  { title: 'floor peak RSS', value: (r) => formatKiB(r.floor.maxRssKiB) },
  { title: 'import peak RSS', value: (r) => formatKiB(r.import.maxRssKiB) },
];

function fail(message: string): never {
  process.stderr.write(`bench/import: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10000,25000,50000' },
      backends: { type: 'string', default: 'sqlite,postgres' },
      seed: { type: 'string', default: '1' },
      pg: { type: 'string', default: process.env.OPENWSUS_BENCH_PG ?? 'postgres://postgres@127.0.0.1:55432/postgres' },
      repeat: { type: 'string', default: '1' },
      regenerate: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      // Internal: run one measurement (see child()).
      child: { type: 'string' },
      file: { type: 'string' },
      backend: { type: 'string' },
      target: { type: 'string' },
      label: { type: 'string' },
    },
  });

  if (values.child !== undefined) {
    await child(values.child as Mode, values.file!, values.backend as Backend, values.target!, values.label ?? values.child);
    return;
  }

  const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
  for (const size of sizes) {
    if (!Number.isInteger(size) || size < STATIC_DOCUMENTS) fail(`--sizes takes whole numbers of at least ${STATIC_DOCUMENTS}`);
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) fail('--repeat takes a whole number of at least 1');
  const backends = values.backends.split(',').map((b) => b.trim());
  for (const b of backends) if (b !== 'sqlite' && b !== 'postgres') fail(`unknown backend "${b}" (sqlite, postgres)`);
  if (backends.includes('postgres')) {
    const problem = await postgresProblem(values.pg);
    if (problem !== undefined) fail(`no PostgreSQL at ${values.pg} (${problem}): start one, pass --pg URL, or --backends sqlite`);
  }

  mkdirSync(OUT, { recursive: true });
  const files = new Map<number, string>();
  for (const size of sizes) files.set(size, await generatedCatalogFile(size, values.seed, { regenerate: values.regenerate }));

  const rows: Row[] = [];
  for (const size of sizes) {
    for (const backend of backends as Backend[]) {
      const file = files.get(size)!;
      const runs: ChildResult[] = [];
      for (let i = 0; i < repeat; i++) {
        for (const mode of ['floor', 'import'] as const) {
          const m = await measure(mode, file, size, backend, values.pg, values['cpu-prof'], i + 1);
          if (m.revisions !== size) throw new Error(`${m.mode} read ${m.revisions} revisions, expected ${size}`);
          runs.push(m);
        }
      }
      rows.push({
        size,
        backend,
        floor: best(runs.filter((r) => r.mode === 'floor')),
        import: best(runs.filter((r) => r.mode === 'import')),
        runs,
      });
    }
  }

  const machine = describeMachine();
  const command = `node_modules/.bin/node bench/import.ts ${process.argv.slice(2).join(' ')}`.trim();
  process.stdout.write(`\n${machineLine(machine)}\n\n${formatTable(COLUMNS, rows)}`);
  const json = {
    benchmark: 'import',
    command,
    date: new Date().toISOString(),
    machine,
    seed: values.seed,
    batchSize: BATCH,
    repeat,
    rows: rows.map((r) => ({
      size: r.size,
      backend: r.backend,
      ratio: r.import.ms / r.floor.ms,
      cpuRatio: r.import.cpuMs / r.floor.cpuMs,
      floor: { ...r.floor, revisionsPerSecond: rate(r.floor) },
      import: { ...r.import, revisionsPerSecond: rate(r.import) },
      runs: r.runs,
    })),
  };
  writeFileSync(join(OUT, 'import.json'), JSON.stringify(json, null, 2) + '\n');
  process.stderr.write(`wrote ${relative(ROOT, join(OUT, 'import.json'))}\n`);
}

await main();

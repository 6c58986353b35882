// The upstream role under load: a root `openwsus serve` process holding a generated catalog, and
// 1, then N, scripted downstream servers (test/support/scripted-downstream.ts, the client the
// integration tests use) each doing a full metadata pull at once: handshake, GetConfigData,
// GetRevisionIdList(GetConfig=true) and GetUpdateData of the categories, GetRevisionIdList of every
// product and classification, then every GetUpdateData batch (compressed blobs decoded).
//
//   node_modules/.bin/node bench/upstream.ts [--revisions 50000] [--downstreams 1,50]
//       [--backend sqlite|postgres] [--pg URL] [--seed 1] [--client-processes 1]
//       [--max-seconds 180] [--max-requests 30000] [--regenerate]
//
// Each row runs against a fresh server process (same database), so its peak RSS is the row's
// own: VmRSS sampled every 50 ms from /proc/<pid>/status, and VmHWM at the end. Downstreams run as
// async tasks in --client-processes child processes (default 1; the table says how busy the client
// was, so a saturated client shows). A row stops handing out GetUpdateData batches after
// --max-seconds or --max-requests GetUpdateData calls, whichever comes first; it then says which
// share of the pulls it completed; a downstream that fails (a connection reset…) is counted, and
// its error shown on stderr. Meanwhile the parent asks /health four times a second: the
// slowest answer is how long the server's event loop was held. Content throughput is
// bench/content.ts's business.
//
// Prints Markdown tables; writes every figure to bench/out/upstream.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { STATIC_DOCUMENTS } from '../src/catalog/index.ts';
import { runCli } from '../test/support/cli.ts';
import { allProductsAndClassifications, CallTimings, ScriptedDownstream, summarize } from '../test/support/scripted-downstream.ts';
import { procStatusKiB, RssSampler, startServeProcess } from '../test/support/server-process.ts';
import { reportResult, runChild } from './lib/child.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { createTemporaryDatabase, postgresProblem } from './lib/postgres.ts';
import { generatedCatalogFile } from './lib/catalog-file.ts';
import { formatInteger, formatKiB, formatTable, type Column } from './lib/table.ts';

const SCRIPT = fileURLToPath(import.meta.url);
const OUT = join(dirname(SCRIPT), 'out');
const ROOT = dirname(dirname(SCRIPT));

type Backend = 'sqlite' | 'postgres';

/** What one client process reports. */
interface ClientResult {
  readonly downstreams: number;
  /** Revisions received (categories included), summed over its downstreams. */
  readonly revisions: number;
  /** Revisions the downstreams' lists named, summed: what complete pulls would have received. */
  readonly listed: number;
  readonly completed: number;
  readonly updateDataCalls: number;
  readonly timings: Record<string, number[]>;
  readonly firstStartMs: number;
  readonly lastEndMs: number;
  /** When the last GetUpdateData answer arrived (Date.now()). */
  readonly lastUpdateDataMs: number;
  readonly cpuMs: number;
  readonly errors: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Client process: `--client URL --count n --first i --stop-at EPOCHMS --max-requests r`

async function client(url: string, count: number, first: number, stopAt: number, maxRequests: number): Promise<void> {
  const timings = new CallTimings();
  let calls = 0;
  const shouldStop = (): boolean => Date.now() >= stopAt || calls >= maxRequests;
  const cpu = process.cpuUsage();
  const start = Date.now();
  let end = start;
  let revisions = 0;
  let listed = 0;
  let updateDataCalls = 0;
  let completed = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const n = first + i;
      const dss = new ScriptedDownstream({
        url,
        id: `b0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
        name: `bench-dss-${n}.lab.invalid`,
        subscribe: allProductsAndClassifications,
        retain: 'none',
        timings,
        timeoutMs: 300_000,
        shouldStop: () => {
          if (shouldStop()) return true;
          calls++;
          return false;
        },
      });
      try {
        const run = await dss.sync();
        revisions += run.fetched.length;
        updateDataCalls += run.updateDataCalls;
        listed += run.configList.length + run.contentList.length;
        if (!run.stopped) completed++;
      } catch (error) {
        errors.push(`downstream ${n}: ${(error as Error).message}`);
      } finally {
        end = Math.max(end, Date.now());
        await dss.close();
      }
    }),
  );
  const usage = process.cpuUsage(cpu);
  const result: ClientResult = {
    downstreams: count,
    revisions,
    listed,
    completed,
    updateDataCalls,
    timings: Object.fromEntries(timings.byOperation),
    firstStartMs: start,
    lastEndMs: end,
    lastUpdateDataMs: Math.max(timings.lastEnded.get('GetUpdateData(content)') ?? 0, timings.lastEnded.get('GetUpdateData(config)') ?? 0),
    cpuMs: (usage.user + usage.system) / 1000,
    errors,
  };
  reportResult(result);
}

// ---------------------------------------------------------------------------------------------
// Parent

interface Row {
  readonly downstreams: number;
  readonly clientProcesses: number;
  readonly revisions: number;
  readonly listed: number;
  readonly completed: number;
  readonly seconds: number;
  /** From the first call to the last GetUpdateData answer. */
  readonly deliverySeconds: number;
  readonly updateDataCalls: number;
  readonly stopped: boolean;
  readonly ops: Record<string, ReturnType<typeof summarize>>;
  readonly idleRssKiB: number;
  readonly peakRssKiB: number;
  readonly hwmKiB: number;
  /** CPU the client processes used, as a share of the wall time (1 = one core busy). */
  readonly clientCores: number;
  /** Slowest /health answer during the row, and /health requests that failed. */
  readonly healthWorstMs: number;
  readonly healthFailures: number;
  readonly errors: readonly string[];
}

function fail(message: string): never {
  process.stderr.write(`bench/upstream: ${message}\n`);
  process.exit(2);
}

async function measureRow(
  options: { dataDir: string; database: string; downstreams: number; clientProcesses: number; maxSeconds: number; maxRequests: number },
): Promise<Row> {
  const server = await startServeProcess({ dataDir: options.dataDir, database: options.database });
  try {
    // Settle: the first /health went through; give the process a moment, then take its idle RSS.
    await new Promise((r) => setTimeout(r, 500));
    const idleRssKiB = procStatusKiB(server.pid, 'VmRSS') ?? 0;
    const sampler = new RssSampler(server.pid, 50);
    const processes = Math.max(1, Math.min(options.clientProcesses, options.downstreams));
    const stopAt = Date.now() + options.maxSeconds * 1000;
    const share = (i: number): number => Math.floor(options.downstreams / processes) + (i < options.downstreams % processes ? 1 : 0);
    let first = 0;
    const children = Array.from({ length: processes }, (_, i) => {
      const count = share(i);
      const args = ['--client', server.url, '--count', String(count), '--first', String(first), '--stop-at', String(stopAt), '--max-requests', String(Math.ceil(options.maxRequests / processes))];
      first += count;
      return runChild<ClientResult>(SCRIPT, args);
    });
    // The parent has nothing else to do: it asks /health four times a second, and the slowest
    // answer says how long the server's event loop was held (or whether it dropped connections).
    let probing = true;
    const health = { worstMs: 0, failures: 0 };
    const probe = (async () => {
      while (probing) {
        const start = performance.now();
        try {
          const response = await request(`${server.url}/health`, { signal: AbortSignal.timeout(300_000) });
          await response.body.dump();
          if (response.statusCode !== 200) health.failures++;
        } catch {
          health.failures++;
        }
        health.worstMs = Math.max(health.worstMs, performance.now() - start);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const results = await Promise.all(children).finally(() => (probing = false));
    await probe;
    const rss = sampler.stop();
    const hwmKiB = procStatusKiB(server.pid, 'VmHWM') ?? 0;
    const ops: Record<string, number[]> = {};
    for (const r of results) for (const [op, values] of Object.entries(r.timings)) (ops[op] ??= []).push(...values);
    const start = Math.min(...results.map((r) => r.firstStartMs));
    const end = Math.max(...results.map((r) => r.lastEndMs));
    const seconds = (end - start) / 1000;
    // A row stopped by its bound may go on answering revision lists after the last batch: the
    // rate counts up to the last GetUpdateData answer.
    const deliverySeconds = (Math.max(...results.map((r) => r.lastUpdateDataMs)) - start) / 1000;
    const completed = results.reduce((n, r) => n + r.completed, 0);
    const errors = results.flatMap((r) => r.errors);
    if (errors.length > 0) process.stderr.write(`server output (last 4,000 characters):\n${server.output().slice(-4000)}\n`);
    return {
      downstreams: options.downstreams,
      clientProcesses: processes,
      revisions: results.reduce((n, r) => n + r.revisions, 0),
      listed: results.reduce((n, r) => n + r.listed, 0),
      completed,
      seconds,
      deliverySeconds,
      updateDataCalls: results.reduce((n, r) => n + r.updateDataCalls, 0),
      stopped: completed < options.downstreams,
      ops: Object.fromEntries(Object.entries(ops).map(([op, values]) => [op, summarize(values)])),
      idleRssKiB,
      peakRssKiB: rss.peakKiB,
      hwmKiB,
      clientCores: results.reduce((n, r) => n + r.cpuMs, 0) / 1000 / seconds,
      healthWorstMs: health.worstMs,
      healthFailures: health.failures,
      errors,
    };
  } finally {
    const stopped = await server.stop();
    if (stopped.code !== 0) process.stderr.write(`server exited with ${JSON.stringify(stopped)}:\n${server.output().slice(-2000)}\n`);
  }
}

const ms = (v: number): string => (Number.isNaN(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

const SUMMARY: readonly Column<Row>[] = [
  { title: 'downstreams', value: (r) => String(r.downstreams), align: 'right' },
  { title: 'client procs', value: (r) => String(r.clientProcesses), align: 'right' },
  {
    title: 'pulls done',
    value: (r) =>
      `${r.completed}/${r.downstreams}${r.stopped ? ` (${Math.round((100 * r.revisions) / r.listed)}% of revisions)` : ''}${r.errors.length > 0 ? `, ${r.errors.length} failed` : ''}`,
  },
  { title: 'revisions', value: (r) => formatInteger(r.revisions) },
  { title: 'seconds', value: (r) => r.seconds.toFixed(1) },
  { title: 'revisions/s', value: (r) => formatInteger(r.revisions / r.deliverySeconds) },
  { title: 'GetUpdateData calls', value: (r) => formatInteger(r.updateDataCalls) },
  { title: 'server RSS idle', value: (r) => formatKiB(r.idleRssKiB) },
  { title: 'server RSS peak', value: (r) => formatKiB(Math.max(r.peakRssKiB, r.hwmKiB)) },
  { title: 'slowest /health', value: (r) => `${(r.healthWorstMs / 1000).toFixed(1)} s${r.healthFailures > 0 ? ` (${r.healthFailures} failed)` : ''}` },
  { title: 'client CPU (cores)', value: (r) => r.clientCores.toFixed(2) },
];

const OPERATIONS = [
  'GetAuthConfig',
  'GetAuthorizationCookie',
  'GetCookie',
  'GetConfigData',
  'GetRevisionIdList(config)',
  'GetUpdateData(config)',
  'GetRevisionIdList(updates)',
  'GetUpdateData(content)',
];

interface OpRow {
  readonly downstreams: number;
  readonly operation: string;
  readonly s: ReturnType<typeof summarize>;
}

const LATENCY: readonly Column<OpRow>[] = [
  { title: 'downstreams', value: (r) => String(r.downstreams), align: 'right' },
  { title: 'operation', value: (r) => r.operation, align: 'left' },
  { title: 'calls', value: (r) => formatInteger(r.s.count) },
  { title: 'p50 ms', value: (r) => ms(r.s.p50) },
  { title: 'p99 ms', value: (r) => ms(r.s.p99) },
  { title: 'max ms', value: (r) => ms(r.s.max) },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      revisions: { type: 'string', default: '50000' },
      downstreams: { type: 'string', default: '1,50' },
      backend: { type: 'string', default: 'sqlite' },
      pg: { type: 'string', default: process.env.OPENWSUS_BENCH_PG ?? 'postgres://postgres@127.0.0.1:55432/postgres' },
      seed: { type: 'string', default: '1' },
      'client-processes': { type: 'string', default: '1' },
      'max-seconds': { type: 'string', default: '180' },
      'max-requests': { type: 'string', default: '30000' },
      regenerate: { type: 'boolean', default: false },
      // Internal: one client process (see client()).
      client: { type: 'string' },
      count: { type: 'string' },
      first: { type: 'string' },
      'stop-at': { type: 'string' },
    },
  });
  if (values.client !== undefined) {
    await client(values.client, Number(values.count), Number(values.first), Number(values['stop-at']), Number(values['max-requests']));
    return;
  }

  const positive = (name: string, text: string, min = 1): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) fail(`--${name} takes a whole number of at least ${min}`);
    return n;
  };
  const revisions = positive('revisions', values.revisions, STATIC_DOCUMENTS);
  const counts = values.downstreams.split(',').map((s) => positive('downstreams', s.trim()));
  const clientProcesses = positive('client-processes', values['client-processes']);
  const maxSeconds = positive('max-seconds', values['max-seconds']);
  const maxRequests = positive('max-requests', values['max-requests']);
  const backend = values.backend as Backend;
  if (backend !== 'sqlite' && backend !== 'postgres') fail(`unknown backend "${values.backend}" (sqlite, postgres)`);
  if (backend === 'postgres') {
    const problem = await postgresProblem(values.pg);
    if (problem !== undefined) fail(`no PostgreSQL at ${values.pg} (${problem}): start one, pass --pg URL, or use --backend sqlite`);
  }

  mkdirSync(OUT, { recursive: true });
  const file = await generatedCatalogFile(revisions, values.seed, { regenerate: values.regenerate });
  const dataDir = await mkdtemp(join(tmpdir(), 'openwsus-bench-upstream-'));
  const pgDatabase = backend === 'postgres' ? await createTemporaryDatabase(values.pg, `openwsus_bench_upstream_${process.pid}`) : undefined;
  const database = pgDatabase?.url ?? `sqlite:${join(dataDir, 'openwsus.db')}`;
  const rows: Row[] = [];
  let failure: Error | undefined;
  try {
    process.stderr.write(`importing ${relative(ROOT, file)} into ${backend}…\n`);
    const importStart = performance.now();
    const imported = await runCli(['--data', dataDir, '--database', database, 'import', file, '--json'], { timeoutMs: 30 * 60_000 });
    if (imported.code !== 0) throw new Error(`import failed: ${imported.stderr}`);
    process.stderr.write(`  imported in ${((performance.now() - importStart) / 1000).toFixed(1)} s\n`);

    for (const downstreams of counts) {
      process.stderr.write(`${downstreams} downstream(s)…\n`);
      const row = await measureRow({ dataDir, database, downstreams, clientProcesses, maxSeconds, maxRequests });
      // A downstream that fails is a result, not a broken run: it is counted in the table.
      if (row.errors.length > 0) process.stderr.write(`  ${row.errors.length} downstream(s) failed:\n  ${row.errors.slice(0, 5).join('\n  ')}\n`);
      process.stderr.write(`  ${formatInteger(row.revisions)} revisions in ${row.seconds.toFixed(1)} s, ${row.completed}/${downstreams} pulls complete\n`);
      rows.push(row);
    }
  } catch (error) {
    failure = error as Error;
  } finally {
    await pgDatabase?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
  if (failure !== undefined) fail(failure.message);

  const machine = describeMachine();
  const command = `node_modules/.bin/node bench/upstream.ts ${process.argv.slice(2).join(' ')}`.trim();
  const opRows: OpRow[] = rows.flatMap((r) => OPERATIONS.filter((op) => r.ops[op] !== undefined).map((operation) => ({ downstreams: r.downstreams, operation, s: r.ops[operation]! })));
  process.stdout.write(
    `\n${machineLine(machine)}; ${backend}; catalog of ${formatInteger(revisions)} revisions (seed ${values.seed})\n\n` +
      `${formatTable(SUMMARY, rows)}\n${formatTable(LATENCY, opRows)}`,
  );
  writeFileSync(
    join(OUT, 'upstream.json'),
    JSON.stringify({ benchmark: 'upstream', command, date: new Date().toISOString(), machine, backend, revisions, seed: values.seed, maxSeconds, maxRequests, rows }, null, 2) + '\n',
  );
  process.stderr.write(`wrote ${relative(ROOT, join(OUT, 'upstream.json'))}\n`);
}

await main();

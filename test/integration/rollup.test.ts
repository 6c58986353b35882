// Reporting rollup across real processes (MS-WSUSSS 3.2.4.5): a root `openwsus serve`, an
// autonomous downstream A synchronized from it, a replica B synchronized from A, each serving
// simulated Windows Update clients (src/simulator) that scan and report. One run covers both
// backends (root and B on PostgreSQL when OPENWSUS_TEST_PG is set, A on SQLite): each process
// costs seconds, and test/sync/rollup.test.ts covers the rules on each backend. Then
// `openwsus rollup` on B and on A, and on the root:
//
// 1. `downstream list` shows A (below the root) and B (below A, a replica), `downstream computers`
//    every computer with its parent server, and `downstream status` per update counts equal to
//    the sum of what the root, A and B hold themselves;
// 2. a computer of B that changes its name is sent again in full by B and by A, and nothing else;
// 3. with `rollup.detailed` false on the root, A's rollup stops at the servers;
// 4. `openwsus rollup --reset` on the root makes A send everything again; A's `openwsus rollup`,
//    killed with SIGKILL while it sends status (a relay in this test holds its third
//    RollupComputerStatus call), is finished by the next run: the root ends with exactly the
//    rows of the uninterrupted rollup of step 1, none twice, none missing.
//
// Bad rollup calls, and the busy upstream, are in test/sync/rollup.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import type { UpdateStatus } from '../../src/domain/client-event.ts';
import { bucketOfStatus } from '../../src/domain/rollup.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { simulateClients } from '../../src/simulator/index.ts';
import type { Store } from '../../src/store/index.ts';
import { BIN, ok, runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { availableBackends } from '../support/db.ts';
import { withStoreAt } from '../support/store.ts';
import { createBackendDatabase, startServeProcess } from '../support/server-process.ts';

const CLASSES = [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.updates, CLASSIFICATIONS.definitionUpdates];

const work = mkdtempSync(join(tmpdir(), 'openwsus-it-rollup-'));
after(() => rmSync(work, { recursive: true, force: true }));
const catalogFile = join(work, 'base.owx');
await writeGeneratedCatalog({ updates: 100, seed: 'rollup' }, catalogFile);

/** Approves the first software updates for All Computers, so clients are offered them. */
async function approveSome(store: Store): Promise<void> {
  const keys = [];
  for await (const r of store.catalog.iterate({ latestOnly: true })) {
    if (r.updateType === 'Software' && r.publicationState !== 'Expired') keys.push(r.key);
    if (keys.length === 8) break;
  }
  await store.approvals.upsert(
    keys.map((k) => ({ id: randomUUID(), updateId: k.updateId, revisionNumber: k.revisionNumber, groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install' as const, adminName: 'alice', createdAt: new Date().toISOString() })),
  );
}

type Buckets = Record<string, { Installed: number; Needed: number; Failed: number; NotApplicable: number }>;

/** Per update, the status buckets of a server's own computers. */
async function ownBuckets(store: Store): Promise<Buckets> {
  const out: Buckets = {};
  for (const [updateId, counts] of await store.rollup.localStatusCountsByUpdate()) {
    const b = (out[updateId] ??= { Installed: 0, Needed: 0, Failed: 0, NotApplicable: 0 });
    for (const [status, n] of Object.entries(counts)) b[bucketOfStatus(status as UpdateStatus)] += n ?? 0;
  }
  return out;
}

/** The status rows the root holds, one string each (a row held twice shows twice). */
async function heldRows(store: Store): Promise<string[]> {
  const ids = (await store.rollup.computers()).map((c) => c.computerId);
  const out: string[] = [];
  for (const [id, rows] of await store.rollup.statusOf(ids)) for (const r of rows) out.push(`${id}/${r.updateId}/${r.state}/${r.lastChangeTime}`);
  return out.sort();
}

/**
 * A relay between a downstream server and its upstream that answers the first `pass`
 * RollupComputerStatus calls and holds every later one, so a kill lands at a known point.
 */
async function statusRelay(target: string): Promise<{ port: number; pass: number; seen: number; held: Set<ServerResponse>; close(): Promise<void> }> {
  const relay = { port: 0, pass: Infinity, seen: 0, held: new Set<ServerResponse>(), close: async () => {} };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (String(req.headers.soapaction ?? '').includes('RollupComputerStatus') && ++relay.seen > relay.pass) {
      relay.held.add(res);
      return;
    }
    const answer = await request(`${target}${req.url}`, {
      method: req.method as 'POST',
      headers: { 'content-type': String(req.headers['content-type'] ?? 'text/xml'), soapaction: String(req.headers.soapaction ?? '') },
      ...(chunks.length > 0 && { body: Buffer.concat(chunks) }),
    });
    res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type']) });
    res.end(Buffer.from(await answer.body.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.port = (server.address() as { port: number }).port;
  relay.close = async () => {
    for (const res of relay.held) res.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return relay;
}

function addBuckets(...all: Buckets[]): Buckets {
  const out: Buckets = {};
  for (const buckets of all) {
    for (const [id, b] of Object.entries(buckets)) {
      const o = (out[id] ??= { Installed: 0, Needed: 0, Failed: 0, NotApplicable: 0 });
      o.Installed += b.Installed;
      o.Needed += b.Needed;
      o.Failed += b.Failed;
      o.NotApplicable += b.NotApplicable;
    }
  }
  return out;
}

interface RollupSummary {
  readonly detailed: boolean;
  readonly servers: number;
  readonly computers: number;
  readonly details: number;
  readonly statusComputers: number;
  readonly fullStatus: number;
}

const other = availableBackends().includes('postgres') ? 'postgres' : 'sqlite';

test(`root [${other}] <- autonomous [sqlite] <- replica [${other}]: rollup shows every server, computer and status at the root`, { timeout: 600_000 }, async (t) => {
  const dirs = { root: mkdtempSync(join(work, 'root-')), a: mkdtempSync(join(work, 'a-')), b: mkdtempSync(join(work, 'b-')) };
  const dbs = {
    root: await createBackendDatabase(other, dirs.root),
    a: await createBackendDatabase('sqlite', dirs.a),
    b: await createBackendDatabase(other, dirs.b),
  };
  t.after(async () => {
    for (const db of Object.values(dbs)) await db.drop();
  });
  type Who = keyof typeof dirs;
  const cli = (who: Who, ...args: string[]): Promise<CliResult> => runCli(['--data', dirs[who], '--database', dbs[who].url, ...args]);
  // Through the store (a `config set` process per key would cost seconds each).
  const configure = (who: 'a' | 'b', port: number, replica = false): Promise<void> =>
    withStoreAt(dbs[who].url, async (store) => {
      for (const [key, value] of [
        ['upstream.source', 'server'],
        ['upstream.server', '127.0.0.1'],
        ['upstream.port', port],
        ['products', [WINDOWS_PRODUCT_FAMILY_ID]],
        ['classifications', CLASSES],
        // Only the rollups this test runs, not the serving process's own schedule.
        ['rollup.intervalMinutes', 0],
        ['upstream.replica', replica],
      ] as const) {
        await store.settings.set(key, value);
      }
    });
  const rollup = async (who: 'a' | 'b'): Promise<RollupSummary> => stdoutJson<RollupSummary>(ok(await cli(who, 'rollup', '--json'), `${who}: rollup`));

  // The hierarchy: root, A synchronized from it, B a replica of A; each serving.
  ok(await cli('root', 'import', catalogFile), 'root import');
  await withStoreAt(dbs.root.url, approveSome);
  const root = await startServeProcess({ dataDir: dirs.root, database: dbs.root.url, startTimeoutMs: 120_000 });
  t.after(() => root.stop());
  await configure('a', root.port);
  ok(await cli('a', 'sync', '--json'), 'a: sync');
  await withStoreAt(dbs.a.url, approveSome);
  const a = await startServeProcess({ dataDir: dirs.a, database: dbs.a.url, startTimeoutMs: 120_000 });
  t.after(() => a.stop());
  await configure('b', a.port, true);
  ok(await cli('b', 'sync', '--json'), 'b: sync');
  const b = await startServeProcess({ dataDir: dirs.b, database: dbs.b.url, startTimeoutMs: 120_000 });
  t.after(() => b.stop());

  // Clients scan and report at each server.
  const scan = async (url: string, count: number, seed: number): Promise<void> => {
    const results = await simulateClients({ serverUrl: url, count, seed, download: false, concurrency: count });
    assert.ok(results.every((r) => r.ok), `clients of ${url} scanned`);
  };
  await scan(a.url, 2, 2);
  await scan(b.url, 2, 3);

  const ids = {
    root: await withStoreAt(dbs.root.url, async (s) => s.serverId),
    a: await withStoreAt(dbs.a.url, async (s) => s.serverId),
    b: await withStoreAt(dbs.b.url, async (s) => s.serverId),
  };

  // 1. B rolls up to A, A to the root.
  const fromB = await rollup('b');
  assert.deepEqual([fromB.detailed, fromB.servers, fromB.computers, fromB.details, fromB.fullStatus], [true, 1, 2, 2, 2]);
  const fromA = await rollup('a');
  assert.deepEqual([fromA.servers, fromA.computers, fromA.details, fromA.fullStatus], [2, 4, 4, 4], 'A sends its computers and B\'s');

  const servers = stdoutJson<{ id: string; parentId: string; parent: string; mode: string; computersRolledUp: number; lastRollupTime: string | null }[]>(
    ok(await cli('root', 'downstream', 'list', '--json'), 'downstream list'),
  );
  assert.deepEqual(
    servers.map((s) => [s.id, s.parentId, s.mode, s.computersRolledUp]).sort(),
    [
      [ids.a, ids.root, 'autonomous', 2],
      [ids.b, ids.a, 'replica', 2],
    ].sort(),
  );
  assert.ok(servers.every((s) => s.lastRollupTime !== null));
  const ofB = stdoutJson<{ id: string; parentServerId: string }[]>(ok(await cli('root', 'downstream', 'computers', ids.b, '--json'), 'downstream computers'));
  const atRoot = await withStoreAt(dbs.root.url, (s) => s.rollup.computers());
  for (const who of ['a', 'b'] as const) {
    const own = await withStoreAt(dbs[who].url, async (s) => (await s.computers.list()).map((c) => c.id).sort());
    const held = who === 'b' ? ofB.map((c) => ({ computerId: c.id, parentServerId: c.parentServerId })) : atRoot.filter((c) => c.parentServerId === ids.a);
    assert.deepEqual(held.map((c) => c.computerId).sort(), own, `the root holds ${who}'s computers`);
    assert.ok(held.every((c) => c.parentServerId === ids[who]));
  }
  assert.equal(atRoot.length, 4, 'and no other');
  const hierarchy = stdoutJson<{ updateId: string; installed: number; needed: number; failed: number; notApplicable: number }[]>(ok(await cli('root', 'downstream', 'status', '--json'), 'downstream status'));
  const expected = addBuckets(await withStoreAt(dbs.root.url, ownBuckets), await withStoreAt(dbs.a.url, ownBuckets), await withStoreAt(dbs.b.url, ownBuckets));
  assert.ok(Object.keys(expected).length > 0, 'the clients reported status');
  assert.deepEqual(
    Object.fromEntries(hierarchy.map((h) => [h.updateId, { Installed: h.installed, Needed: h.needed, Failed: h.failed, NotApplicable: h.notApplicable }])),
    expected,
    'per update, the root counts what root, A and B hold',
  );

  // 2. One of B's computers is renamed: only it goes again, in full, through B and A.
  await withStoreAt(dbs.b.url, async (s) => {
    const [first] = await s.computers.list();
    await s.computers.touch({ id: first!.id, dnsName: 'renamed.corp.example', defaultGroupId: ALL_COMPUTERS_GROUP_ID });
  });
  const again = await rollup('b');
  assert.deepEqual([again.computers, again.details, again.statusComputers, again.fullStatus], [1, 1, 1, 1]);
  const forwarded = await rollup('a');
  assert.deepEqual([forwarded.computers, forwarded.details, forwarded.statusComputers, forwarded.fullStatus], [1, 1, 1, 1]);
  const renamed = stdoutJson<{ name: string }[]>(ok(await cli('root', 'downstream', 'computers', ids.b, '--json'), 'downstream computers b'));
  assert.ok(renamed.some((c) => c.name === 'renamed.corp.example'));

  // 3. The root stops collecting computer detail: A's rollup reports the servers only.
  await withStoreAt(dbs.root.url, (s) => s.settings.set('rollup.detailed', false));
  const summaryOnly = await rollup('a');
  assert.deepEqual([summaryOnly.detailed, summaryOnly.servers, summaryOnly.computers, summaryOnly.statusComputers], [false, 2, 0, 0]);

  // 4. Killed while sending status. The root takes one computer per call again with detail, holds
  // rows of the uninterrupted rollups above (the reference), then loses them; a reset id makes A
  // send everything in full, through a relay that holds the third status call.
  const reference = await withStoreAt(dbs.root.url, async (s) => {
    await s.settings.set('rollup.detailed', true);
    await s.settings.set('rollup.statusBatchSize', 1);
    const rows = await heldRows(s);
    await s.db.deleteFrom('rollup_update_status' as never).execute();
    return rows;
  });
  assert.ok(reference.length > 4, `${reference.length} rows held at the root`);
  const resetBefore = (await withStoreAt(dbs.a.url, (s) => s.anchors.get('rollup.upstream'))) ?? '';
  const { rollupResetId } = stdoutJson<{ rollupResetId: string }>(ok(await cli('root', 'rollup', '--reset', '--json'), 'root: rollup --reset'));
  assert.ok(!resetBefore.includes(rollupResetId), 'a new reset id');
  const relay = await statusRelay(root.url);
  t.after(() => relay.close());
  await withStoreAt(dbs.a.url, (s) => s.settings.set('upstream.port', relay.port));
  relay.pass = 2;
  const child = spawn(BIN, ['--data', dirs.a, '--database', dbs.a.url, 'rollup'], { env: { ...process.env, OPENWSUS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  for (const deadline = Date.now() + 60_000; relay.held.size === 0; await sleep(25)) {
    assert.ok(child.exitCode === null, `the rollup ended before it was killed:\n${output}`);
    assert.ok(Date.now() < deadline, `the rollup did not reach its third status call:\n${output}`);
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  relay.pass = Infinity;
  const partial = await withStoreAt(dbs.root.url, async (s) => (await s.rollup.statusCountsByComputer()).size);
  assert.equal(partial, 2, 'the status of two computers of four got through before the kill');
  const resumed = await rollup('a');
  assert.deepEqual([resumed.computers, resumed.statusComputers, resumed.fullStatus], [0, 2, 2], 'the next rollup sends the status of the two left, nothing again');
  assert.deepEqual(await withStoreAt(dbs.root.url, heldRows), reference, 'the root holds exactly the rows of the uninterrupted rollup');
});

// Crash safety of the metadata synchronization across processes: a root `openwsus serve`, a proxy
// in this test between it and a downstream, and the downstream's `openwsus sync` killed with
// SIGKILL in the middle of the updates phase. The proxy answers the first GetUpdateData calls and
// holds every later one, so the kill always lands at the same point: one batch of updates stored,
// the phase unfinished. A second `openwsus sync` then completes: the downstream holds exactly the
// revisions an uninterrupted synchronization takes, none twice, with the phase anchors written; a
// third fetches nothing; the history shows the killed run as interrupted, not running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { ANCHORS, type SyncRun } from '../../src/domain/sync-run.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { synchronize } from '../../src/sync/index.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { BIN, runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { availableBackends } from '../support/db.ts';
import { createBackendDatabase, startServeProcess } from '../support/server-process.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-it-killed-'));
after(() => rmSync(work, { recursive: true, force: true }));
const catalogFile = join(work, 'catalog.owx');
await writeGeneratedCatalog({ updates: 250, seed: 'killed' }, catalogFile);

const rootDir = mkdtempSync(join(work, 'root-'));
{
  const store = await openStore({ dataDir: rootDir });
  try {
    await importCatalogFile(store, catalogFile);
  } finally {
    await store.close();
  }
}
const root = await startServeProcess({ dataDir: rootDir });
after(() => root.stop());

/** GetUpdateData calls answered before the proxy starts holding them (categories, then one of updates). */
let passGetUpdateData = Infinity;
let getUpdateDataSeen = 0;
const held = new Set<ServerResponse>();
const proxy = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (String(req.headers.soapaction ?? '').includes('GetUpdateData') && ++getUpdateDataSeen > passGetUpdateData) {
    held.add(res);
    return;
  }
  const answer = await request(`${root.url}${req.url}`, {
    method: 'POST',
    headers: { 'content-type': String(req.headers['content-type']), soapaction: String(req.headers.soapaction ?? '') },
    body: Buffer.concat(chunks),
  });
  res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type']) });
  res.end(Buffer.from(await answer.body.arrayBuffer()));
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyPort = (proxy.address() as { port: number }).port;
after(async () => {
  for (const res of held) res.destroy();
  await new Promise((resolve) => proxy.close(resolve));
});

const SELECTION = { products: [WINDOWS_PRODUCT_FAMILY_ID], classifications: [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.updates] };

/** The revisions an uninterrupted synchronization from the root takes, for comparison. */
async function referenceRevisions(): Promise<string[]> {
  const store = await openStore({ database: 'sqlite::memory:' });
  try {
    await store.settings.set('upstream.source', 'server');
    await store.settings.set('upstream.server', '127.0.0.1');
    await store.settings.set('upstream.port', root.port);
    await store.settings.set('products', SELECTION.products);
    await store.settings.set('classifications', SELECTION.classifications);
    await synchronize({ store, serverName: 'reference' });
    return await revisionKeys(store);
  } finally {
    await store.close();
  }
}

async function revisionKeys(store: Store): Promise<string[]> {
  const keys: string[] = [];
  for await (const r of store.catalog.iterate({})) keys.push(`${r.key.updateId}/${r.key.revisionNumber}`);
  return keys.sort();
}

function ok(result: CliResult, what: string): CliResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

const expected = await referenceRevisions();

for (const dialect of availableBackends()) {
  test(`openwsus sync killed in the middle of the metadata resumes without loss or duplicates [${dialect}]`, { timeout: 300_000 }, async (t) => {
    const dir = mkdtempSync(join(work, 'dss-'));
    const db = await createBackendDatabase(dialect, dir);
    t.after(() => db.drop());
    const dss = ['--data', dir, '--database', db.url];
    ok(
      await runCli([...dss, 'config', 'set', 'upstream.source', 'server', 'upstream.server', '127.0.0.1', 'upstream.port', String(proxyPort), 'products', SELECTION.products.join(','), 'classifications', SELECTION.classifications.join(',')]),
      'config set',
    );
    // Open beside the CLI processes, as an administrator's second shell would be.
    const store = await openStore({ database: db.url });
    t.after(() => store.close());

    // The categories fit one call of 100; the next call is the first of the updates.
    getUpdateDataSeen = 0;
    passGetUpdateData = 2;
    const child = spawn(BIN, [...dss, 'sync'], { env: { ...process.env, OPENWSUS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    // Killed once a batch of updates is committed and the next calls are held.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [run] = await store.syncRuns.list({ limit: 1 });
      if (run !== undefined && run.phase === 'updates' && run.counts.newRevisions > 0 && getUpdateDataSeen > passGetUpdateData) break;
      assert.ok(child.exitCode === null, `the sync ended before it was killed:\n${output}`);
      assert.ok(Date.now() < deadline, `the sync did not reach the updates phase:\n${output}`);
      await sleep(50);
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    for (const res of held) res.destroy();
    held.clear();
    // `sync status` tells the run was interrupted at once, not "running" until the next sync.
    const status = stdoutJson<SyncRun[]>(ok(await runCli([...dss, 'sync', 'status', '--json']), 'sync status'));
    assert.equal(status[0]?.result, 'failed', 'a killed run does not read as running');
    assert.match(status[0]?.error ?? '', /^interrupted/);
    assert.equal(status[0]?.phase, 'updates', 'the phase it reached');
    const partial = { keys: await revisionKeys(store), anchors: await store.anchors.all(), runs: await store.syncRuns.list() };
    assert.ok(partial.keys.length > 0 && partial.keys.length < expected.length, `${partial.keys.length} of ${expected.length} stored when killed`);
    assert.ok(partial.anchors[ANCHORS.categories], 'the categories phase had completed');
    assert.equal(partial.anchors[ANCHORS.updates], undefined, 'the updates phase had not');

    // Started again: completes, fetching only what is missing.
    passGetUpdateData = Infinity;
    getUpdateDataSeen = 0;
    const resumed = stdoutJson<{ result: string; updates: { listed: number; fetched: number }; categories: { fetched: number } }>(ok(await runCli([...dss, 'sync', '--json']), 'sync again'));
    assert.equal(resumed.result, 'succeeded');
    assert.equal(resumed.categories.fetched, 0, 'the categories are not fetched again');
    assert.equal(resumed.updates.fetched, expected.length - partial.keys.length, 'only the missing revisions are fetched');
    const done = { keys: await revisionKeys(store), anchors: await store.anchors.all(), runs: await store.syncRuns.list() };
    assert.deepEqual(done.keys, expected, 'exactly the revisions of an uninterrupted synchronization, none twice');
    for (const name of [ANCHORS.config, ANCHORS.categories, ANCHORS.updates]) assert.ok(done.anchors[name], `${name} written`);
    const killed = done.runs.find((r: SyncRun) => r.id === partial.runs[0]!.id)!;
    assert.equal(killed.result, 'failed');
    assert.match(killed.error ?? '', /^interrupted/);
    assert.ok(killed.endedAt, 'an end is recorded');
    assert.equal(done.runs[0]!.result, 'succeeded');

    // With the anchors right, nothing is listed or fetched again.
    getUpdateDataSeen = 0;
    const again = stdoutJson<{ updates: { listed: number; fetched: number } }>(ok(await runCli([...dss, 'sync', '--json']), 'third sync'));
    assert.deepEqual(again.updates, { listed: 0, fetched: 0 });
    assert.equal(getUpdateDataSeen, 0, 'the third sync asked for no document');
  });
}

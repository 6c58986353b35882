// The synchronization engine in process, against a real `openwsus serve` behind a proxy that
// injects the faults WSUS-PROTOCOLS §2.3 says a downstream must handle: ServerBusy (retry),
// InvalidCookie (handshake again), ServerChanged (anchors reset, continue),
// IncompatibleProtocolVersion (stop), and a failure in the middle of a phase (the phase is
// repeated, nothing lost or duplicated).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { request } from 'undici';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { generateCatalog } from '../../src/catalog/index.ts';
import { ANCHORS } from '../../src/domain/sync-run.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { SoapFault, writeSoapFault } from '../../src/soap/index.ts';
import type { Store } from '../../src/store/index.ts';
import { synchronize, SyncError, type SyncReport } from '../../src/sync/index.ts';
import { runCli } from '../support/cli.ts';
import { forEachBackend } from '../support/db.ts';
import { startServeProcess } from '../support/server-process.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-sync-engine-'));
const CATALOG = { updates: 300, seed: 'engine' } as const;
const file = join(work, 'catalog.owx');
await writeGeneratedCatalog(CATALOG, file);
const rootDir = join(work, 'root');
const imported = await runCli(['--data', rootDir, 'import', file]);
assert.equal(imported.code, 0, imported.stderr);
const root = await startServeProcess({ dataDir: rootDir });
const total = [...generateCatalog(CATALOG).documents()].length;

/** What to do with a call: undefined = pass it on. */
type Injector = (operation: string, count: number) => SoapFault | undefined;
let inject: Injector = () => undefined;
const seen = new Map<string, number>();

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const proxy: Server = createServer(async (req, res) => {
  const action = String(req.headers.soapaction ?? '').replace(/"/g, '');
  const operation = action.slice(action.lastIndexOf('/') + 1);
  const count = (seen.get(operation) ?? 0) + 1;
  seen.set(operation, count);
  const payload = await body(req);
  const fault = inject(operation, count);
  if (fault !== undefined) {
    res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(writeSoapFault({ style: 'asmx', version: '1.1' }, fault, { id: '00000000-0000-0000-0000-000000000000', method: `"${action}"` }));
    return;
  }
  const answer = await request(`${root.url}${req.url}`, {
    method: 'POST',
    headers: { 'content-type': String(req.headers['content-type']), soapaction: String(req.headers.soapaction ?? '') },
    body: payload,
  });
  res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type']) });
  res.end(Buffer.from(await answer.body.arrayBuffer()));
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyPort = (proxy.address() as { port: number }).port;

after(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await root.stop();
  rmSync(work, { recursive: true, force: true });
});

async function configure(store: Store): Promise<void> {
  await store.settings.set('upstream.source', 'server');
  await store.settings.set('upstream.server', '127.0.0.1');
  await store.settings.set('upstream.port', proxyPort);
  await store.settings.set('products', [WINDOWS_PRODUCT_FAMILY_ID]);
  await store.settings.set('classifications', Object.values(CLASSIFICATIONS));
}

const fast = { retry: { attempts: 4, baseDelayMs: 5 } };

function run(store: Store, injector: Injector = () => undefined): Promise<SyncReport> {
  seen.clear();
  inject = injector;
  return synchronize({ store, ...fast, serverName: 'dss.engine.test' });
}

async function failure(promise: Promise<unknown>): Promise<SyncError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SyncError, String(error));
    return error;
  }
  assert.fail('the synchronization succeeded');
}

async function revisionCount(store: Store): Promise<number> {
  return (await store.catalog.stats()).revisions;
}

forEachBackend('a full synchronization, then nothing new', async ({ store }) => {
  await configure(store);
  const first = await run(store);
  assert.equal(first.run.result, 'succeeded');
  assert.ok(first.updates.fetched > 50 && first.updates.fetched < total, `${first.updates.fetched} of ${total}`);
  assert.equal(first.run.counts.categories, first.categories.fetched);
  assert.ok((first.calls.GetUpdateData ?? 0) >= Math.ceil(first.updates.fetched / 100) + 1);
  const anchors = await store.anchors.all();
  for (const name of [ANCHORS.config, ANCHORS.categories, ANCHORS.updates]) assert.ok(anchors[name], name);
  const again = await run(store);
  assert.equal(again.categories.fetched + again.updates.fetched, 0);
  assert.equal(again.calls.GetUpdateData ?? 0, 0);
  assert.equal(again.updates.listed, 0, 'with the anchor and Delta=true, nothing is listed');
});

forEachBackend('ServerBusy and network trouble are retried; InvalidCookie means a new handshake', async ({ store }) => {
  await configure(store);
  const report = await run(store, (op, n) => {
    if (op === 'GetRevisionIdList' && n <= 2) return new SoapFault('ServerBusy');
    if (op === 'GetUpdateData' && n === 2) return new SoapFault('InvalidCookie');
    return undefined;
  });
  assert.equal(report.run.result, 'succeeded');
  assert.equal(report.calls.GetCookie, 2, 'one handshake more after InvalidCookie');
  assert.equal(report.calls.GetAuthorizationCookie, 2);
});

forEachBackend('IncompatibleProtocolVersion stops the run with a clear recorded error', async ({ store }) => {
  await configure(store);
  const error = await failure(run(store, (op) => (op === 'GetCookie' ? new SoapFault('IncompatibleProtocolVersion') : undefined)));
  assert.match(error.message, /does not accept protocol version 1\.20/);
  assert.equal(error.run?.result, 'failed');
  assert.equal((await store.syncRuns.list())[0]?.error, error.message);
  assert.equal(seen.get('GetCookie'), 1, 'not retried');
  assert.equal(await revisionCount(store), 0);
});

forEachBackend('a failure inside a phase repeats that phase only, without loss or duplicates', async ({ store }) => {
  await configure(store);
  // The second GetUpdateData of the updates phase fails for good (InternalServerError is not retried).
  const error = await failure(run(store, (op, n) => (op === 'GetUpdateData' && n === 3 ? new SoapFault('InternalServerError') : undefined)));
  assert.match(error.message, /InternalServerError/);
  const anchors = await store.anchors.all();
  assert.ok(anchors[ANCHORS.categories], 'the categories phase completed: its anchor is kept');
  assert.equal(anchors[ANCHORS.updates], undefined, 'the updates phase did not: no anchor');
  const partial = await revisionCount(store);
  assert.ok(partial > 0);
  const second = await run(store);
  assert.equal(second.categories.fetched, 0, 'the categories are not fetched again');
  assert.ok(second.updates.listed > second.updates.fetched, 'what the failed run stored is not fetched again');
  const fresh = await (async () => {
    const { openStore } = await import('../../src/store/index.ts');
    return openStore({ database: 'sqlite::memory:' });
  })();
  try {
    await configure(fresh);
    const full = await run(fresh);
    assert.equal(await revisionCount(store), await revisionCount(fresh), 'the same catalog as one uninterrupted run');
    assert.equal(second.updates.fetched + (partial - full.categories.fetched), full.updates.fetched);
  } finally {
    await fresh.close();
  }
});

forEachBackend('ServerChanged resets the anchors and the run goes on', async ({ store }) => {
  await configure(store);
  await run(store);
  const held = await revisionCount(store);
  const report = await run(store, (op, n) => (op === 'GetConfigData' && n === 1 ? new SoapFault('ServerChanged') : undefined));
  assert.equal(report.run.result, 'succeeded');
  assert.equal(seen.get('GetConfigData'), 2);
  assert.ok(report.updates.listed > 0, 'without anchors everything is listed again');
  assert.equal(report.updates.fetched + report.categories.fetched, 0, 'and nothing held is fetched again');
  assert.equal(await revisionCount(store), held);
});

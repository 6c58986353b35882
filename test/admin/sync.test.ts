// "Synchronize now" through the API against a real upstream (an openwsus root serving a generated
// catalog, in this process): 202 and a running status, 409 while it runs, live progress as
// server-sent events ending with the run's result, the history, and stopping a run.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { DEFAULTS } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer } from '../../src/app/server.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { CLASSIFICATIONS } from '../../src/domain/wellknown.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { forEachBackend } from '../support/db.ts';
import { apiHarness } from './harness.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-admin-sync-'));
const catalogFile = join(work, 'catalog.owx');
await writeGeneratedCatalog({ updates: 150, seed: 'admin-sync' }, catalogFile);
// The root makes its own first administrator: give it a password rather than have one printed.
process.env.OPENWSUS_ADMIN_PASSWORD ??= 'root administrator password';
const root = await startServer({ ...DEFAULTS, data: join(work, 'root'), host: '127.0.0.1', port: 0, httpsPort: 0, logLevel: 'silent' }, createLogger('silent'));
await importCatalogFile(root.store, catalogFile);

// Between the two: a relay that can hold GetUpdateData calls, so a run stays running while the test looks at it.
let held: (() => void)[] = [];
let holding = false;
const release = (): void => {
  holding = false;
  for (const go of held.splice(0)) go();
};
async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
const relay: Server = createServer(async (req, res) => {
  const payload = await body(req);
  if (holding && String(req.headers.soapaction ?? '').includes('GetUpdateData')) await new Promise<void>((go) => held.push(go));
  try {
    const answer = await request(`${root.listeners[0]!.url}${req.url}`, { method: 'POST', headers: { 'content-type': String(req.headers['content-type']), soapaction: String(req.headers.soapaction ?? '') }, body: payload });
    res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type']) });
    res.end(Buffer.from(await answer.body.arrayBuffer()));
  } catch {
    res.destroy();
  }
});
await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
const relayPort = (relay.address() as { port: number }).port;

after(async () => {
  release();
  relay.closeAllConnections();
  await new Promise((resolve) => relay.close(resolve));
  await root.close();
  rmSync(work, { recursive: true, force: true });
});

function events(text: string): { event: string; data: any }[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => {
      const [first, second] = block.split('\n');
      return { event: first!.slice('event: '.length), data: JSON.parse(second!.slice('data: '.length)) };
    });
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

forEachBackend('synchronize now through the API: 409 while running, live progress, history, stop', async ({ store }) => {
  const h = await apiHarness(store);
  try {
    const settings = await h.call(h.admin, 'PATCH', '/api/v1/settings', {
      'upstream.source': 'server',
      'upstream.server': '127.0.0.1',
      'upstream.port': relayPort,
      classifications: [CLASSIFICATIONS.securityUpdates],
    });
    assert.equal(settings.statusCode, 200, settings.body);

    holding = true;
    const started = await h.call(h.admin, 'POST', '/api/v1/sync');
    assert.equal(started.statusCode, 202, started.body);
    assert.equal(started.json().running, true);
    assert.equal(started.json().run.result, 'running');
    const runId = started.json().run.id;
    // Progress streams to whoever listens; the stream ends with the run.
    const stream = h.call(h.reporter, 'GET', '/api/v1/sync/events');
    const second = await h.call(h.token, 'POST', '/api/v1/sync');
    assert.equal(second.statusCode, 409, second.body);
    assert.match(second.json().detail, /already running/);
    await until('the run to fetch categories', async () => held.length > 0);
    const status = (await h.call(h.reporter, 'GET', '/api/v1/sync')).json();
    assert.deepEqual([status.running, status.run.id, status.progress.phase], [true, runId, 'categories']);
    release();
    const streamed = events((await stream).body);
    assert.equal(streamed[0]!.event, 'state');
    assert.ok(streamed.some((e) => e.event === 'progress' && e.data.phase === 'updates' && e.data.total > 0), 'progress of the updates phase');
    const end = streamed.at(-1)!;
    assert.equal(end.event, 'end');
    assert.deepEqual([end.data.running, end.data.run.id, end.data.run.result], [false, runId, 'succeeded']);
    assert.ok(end.data.run.counts.newRevisions > 0);

    const runs = (await h.call(h.reporter, 'GET', '/api/v1/sync/runs')).json().runs;
    assert.deepEqual(runs.map((r: { id: number; result: string }) => [r.id, r.result]), [[runId, 'succeeded']]);
    assert.equal((await h.call(h.reporter, 'GET', `/api/v1/sync/runs/${runId}`)).json().result, 'succeeded');
    assert.ok((await h.call(h.reporter, 'GET', '/api/v1/updates')).json().total > 0, 'the catalog arrived');
    const tree = (await h.call(h.reporter, 'GET', '/api/v1/categories')).json();
    assert.ok(tree.products.length > 0 && tree.classifications.length > 0, 'the product tree comes from the catalog');

    // Stopping a run (more classifications, so there are updates to fetch): it ends as cancelled.
    holding = true;
    await h.call(h.admin, 'PATCH', '/api/v1/settings', { classifications: Object.values(CLASSIFICATIONS) });
    const again = await h.call(h.admin, 'POST', '/api/v1/sync');
    assert.equal(again.statusCode, 202, again.body);
    await until('the second run to fetch updates', async () => held.length > 0);
    const cancelled = await h.call(h.admin, 'DELETE', '/api/v1/sync');
    assert.equal(cancelled.statusCode, 204, cancelled.body);
    release();
    const last = (await h.call(h.admin, 'GET', '/api/v1/sync')).json();
    assert.deepEqual([last.running, last.run.id, last.run.result], [false, again.json().run.id, 'cancelled']);
    const audit = (await h.call(h.admin, 'GET', '/api/v1/audit?action=sync.start')).json().events;
    assert.equal(audit.length, 2);
    assert.equal((await h.call(h.admin, 'GET', '/api/v1/audit?action=sync.cancel')).json().events.length, 1);
  } finally {
    release();
    await h.close();
  }
});

// Content downloads across processes (issue 4 "Content" and its crash safety), on each backend:
// a root `bin/openwsus serve` holding a generated catalog and its payloads, a downstream
// `bin/openwsus serve` synchronized from it (through a TCP relay in this process that can slow the
// root's answers down and sees the requests), and a stand-in for Microsoft Update serving the
// payloads the root itself lacks:
//
// 1. deferred downloads: nothing before an approval; an approval made in another process makes
//    the running downstream fetch exactly that bundle's files, verified;
// 2. the root serves one file with wrong bytes: the download fails (recorded, not published, no
//    partial kept); once the root has the right bytes, `content download` brings it;
// 3. a lazy root (its own downloads deferred, files absent): it answers 404, the downstream asks
//    it with DownloadFiles, the root fetches from its upstream, the downstream gets them later;
// 4. immediate downloads with the relay slowed: kill -9 of the downstream while a big file is half
//    down; after a restart every wanted file is there and verified, the big one resumed with a
//    Range, nothing more than wanted, no partial left.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cpSync, createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { filePayload, generateCatalog, type CatalogDocument, type CatalogFile } from '../../src/catalog/index.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { hashFile } from '../../src/content/digest.ts';
import { partialPath } from '../../src/content/publish.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { contentPath, revisionKeyString } from '../../src/domain/update.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { ok, runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { availableBackends } from '../support/db.ts';
import { withStoreAt } from '../support/store.ts';
import { createBackendDatabase, startServeProcess, type ServeProcess } from '../support/server-process.ts';

const BASE = { updates: 160, seed: 'content', largeFiles: { every: 25, size: { min: 3 << 20, max: 4 << 20 } } } as const;
const CLASSES = [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.updates];

const work = mkdtempSync(join(tmpdir(), 'openwsus-it-content-'));
after(() => rmSync(work, { recursive: true, force: true }));

// Every payload once, in the WSUS layout: what "Microsoft Update" serves and the root copies.
const originContent = join(work, 'origin-content');
const baseFile = join(work, 'base.owx');
await writeGeneratedCatalog(BASE, baseFile, { contentDir: originContent });
const docs = [...generateCatalog(BASE).documents()];
const byKey = new Map(docs.map((d) => [revisionKeyString(d.key), d]));

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Files a bundle or standalone update brings: its own and its bundled children's. */
function filesOf(doc: CatalogDocument): CatalogFile[] {
  const members = (doc.spec.bundles ?? []).flatMap((g) => g.members).map((k) => byKey.get(revisionKeyString(k))!);
  return [...doc.files, ...members.flatMap((m) => m.files)];
}

/** Content paths under a content directory (not `.partial/`). */
function laidOut(contentDir: string): Set<string> {
  const out = new Set<string>();
  if (!existsSync(contentDir)) return out;
  for (const folder of readdirSync(contentDir)) {
    if (folder === '.partial') continue;
    for (const name of readdirSync(join(contentDir, folder))) out.add(`${folder}/${name}`);
  }
  return out;
}

async function verified(contentDir: string, file: CatalogFile): Promise<boolean> {
  const path = join(contentDir, contentPath(file));
  if (!existsSync(path)) return false;
  const actual = await hashFile(path, true);
  return actual.size === file.size && actual.digests.sha1.toString('base64') === file.sha1 && actual.digests.sha256?.toString('base64') === file.sha256;
}

interface Relay {
  readonly port: number;
  /** Bytes per second per connection from the target, or undefined for full speed. */
  throttle(bytesPerSecond: number | undefined): void;
  /** `GET` paths with the start of their Range, as seen going to the target. */
  readonly ranges: { path: string; from: number }[];
  close(): Promise<void>;
}

/** A TCP relay to `targetPort` that can slow the target's answers and notes ranged GETs. */
async function startRelay(targetPort: number): Promise<Relay> {
  let rate: number | undefined;
  const ranges: { path: string; from: number }[] = [];
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const target = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(target);
    client.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString('latin1').matchAll(/GET (\S+) HTTP\/1\.1\r\n(?:[^\r\n]+\r\n)*?range: bytes=(\d+)-/gi)) ranges.push({ path: m[1]!, from: Number(m[2]) });
      target.write(chunk);
    });
    target.on('data', (chunk: Buffer) => {
      client.write(chunk);
      if (rate !== undefined) {
        target.pause();
        setTimeout(() => target.resume(), (chunk.length / rate) * 1000);
      }
    });
    const end = (): void => {
      client.destroy();
      target.destroy();
      sockets.delete(client);
      sockets.delete(target);
    };
    for (const s of [client, target]) s.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    throttle: (r) => (rate = r),
    ranges,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** "Microsoft Update": serves the origin payloads at `/<content path>`, counting requests. */
async function startFileServer(dir: string): Promise<{ server: Server; url: string; served: Map<string, number> }> {
  const served = new Map<string, number>();
  const server = createHttpServer((req, res) => {
    const path = join(dir, decodeURIComponent((req.url ?? '/').slice(1)));
    if (!existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    served.set(req.url!, (served.get(req.url!) ?? 0) + 1);
    res.writeHead(200, { 'content-length': statSync(path).size });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, served };
}

for (const dialect of availableBackends()) {
  test(`a downstream downloads content from a root: deferred, corrupt, lazy, killed mid-download [${dialect}]`, { timeout: 300_000 }, async (t) => {
    const rootDir = mkdtempSync(join(work, 'root-'));
    const dssDir = mkdtempSync(join(work, 'dss-'));
    const rootDb = await createBackendDatabase(dialect, rootDir);
    const dssDb = await createBackendDatabase(dialect, dssDir);
    const servers: ServeProcess[] = [];
    const mu = await startFileServer(originContent);
    t.after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await new Promise((resolve) => mu.server.close(resolve));
      await rootDb.drop();
      await dssDb.drop();
    });
    const dss = ['--data', dssDir, '--database', dssDb.url];
    const rootContent = join(rootDir, 'content');
    const dssContent = join(dssDir, 'content');
    await withStoreAt(rootDb.url, async (store) => {
      await importCatalogFile(store, baseFile);
      await store.settings.set('content.checkIntervalSeconds', 1);
    });

    // The root serves every payload for now; which ones it lacks or has wrong is decided once the
    // downstream's first sync shows which updates there are to approve.
    cpSync(originContent, rootContent, { recursive: true });
    const rootServer = await startServeProcess({ dataDir: rootDir, database: rootDb.url });
    servers.push(rootServer);
    const relay = await startRelay(rootServer.port);
    t.after(() => relay.close());

    await withStoreAt(dssDb.url, async (store) => {
      for (const [key, value] of [
        ['upstream.source', 'server'],
        ['upstream.server', '127.0.0.1'],
        ['upstream.port', relay.port],
        ['products', [WINDOWS_PRODUCT_FAMILY_ID]],
        ['classifications', CLASSES],
        ['content.checkIntervalSeconds', 1],
        ['content.retryDelaySeconds', 1],
      ] as const) {
        await store.settings.set(key, value);
      }
    });
    const synced = stdoutJson<{ result: string; content?: { queued: number } }>(ok(await runCli([...dss, 'sync', '--json']), 'sync'));
    assert.equal(synced.result, 'succeeded');
    assert.equal(synced.content?.queued, 0, 'deferred: the sync queues nothing');

    // What the downstream holds: the newest revision of each update.
    const held = await withStoreAt(dssDb.url, async (store) => {
      const out: CatalogDocument[] = [];
      for await (const r of store.catalog.iterate({ latestOnly: true })) out.push(byKey.get(revisionKeyString(r.key))!);
      return out;
    });
    const sizeOk = (f: CatalogFile): boolean => f.size < 1 << 20;
    const taken = new Set<string>();
    const pick = (role: CatalogDocument['role'], what: string): CatalogDocument => {
      const doc = held.find((d) => (role === 'bundle' ? d.role === 'bundle' : d.role !== 'bundled-leaf') && !taken.has(d.key.updateId) && filesOf(d).length > 0 && filesOf(d).every((f) => sizeOk(f) && !taken.has(f.sha1)));
      assert.ok(doc, `the downstream holds an update (${role}) for ${what}`);
      taken.add(doc.key.updateId);
      for (const f of filesOf(doc)) taken.add(f.sha1);
      return doc;
    };
    const deferred = pick('bundle', 'the deferred case');
    const corrupt = pick('standalone', 'the corrupt file');
    const lazy = pick('bundle', 'the lazy root');
    const immediate = new Map<string, CatalogFile>();
    for (const d of held) {
      if (d.spec.properties.publicationState === 'Expired') continue;
      for (const f of d.files) if (!/\.psf$/i.test(f.fileName)) immediate.set(f.sha1, f);
    }
    const big = [...immediate.values()].filter((f) => !taken.has(f.sha1)).sort((a, b) => b.size - a.size)[0]!;
    assert.ok(big.size >= 3 << 20, `a big file to interrupt (${big.size} bytes)`);

    // The root: wrong bytes for the corrupt case, nothing for the lazy case (its files come from
    // "Microsoft Update" when asked for).
    const corruptFile = filesOf(corrupt)[0]!;
    writeFileSync(join(rootContent, contentPath(corruptFile)), Buffer.alloc(corruptFile.size, 0x5a));
    for (const f of filesOf(lazy)) rmSync(join(rootContent, contentPath(f)));
    await withStoreAt(rootDb.url, async (store) => {
      for (const f of filesOf(lazy)) await store.files.setUrl(f.sha1, `${mu.url}/${contentPath(f)}`);
    });

    let dssServer = await startServeProcess({ dataDir: dssDir, database: dssDb.url });
    servers.push(dssServer);
    const dssStore = await openStore({ database: dssDb.url });
    t.after(() => dssStore.close());

    const approve = (doc: CatalogDocument) =>
      dssStore.approvals.upsert([{ id: randomUUID(), updateId: doc.key.updateId, revisionNumber: doc.key.revisionNumber, groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install', adminName: 'test', createdAt: new Date().toISOString() }]);

    // 1. Deferred: nothing without an approval.
    assert.deepEqual(laidOut(dssContent), new Set());
    assert.deepEqual(await dssStore.contentQueue.counts(), { queued: 0, downloading: 0, present: 0, failed: 0 });
    // An approval made in another process (this one, as `updates approve` would): the running
    // downstream notices it through the change sequence.
    await approve(deferred);
    const deferredFiles = filesOf(deferred);
    await until('the approved bundle\'s files', async () => (await Promise.all(deferredFiles.map((f) => verified(dssContent, f)))).every(Boolean));
    assert.deepEqual(laidOut(dssContent), new Set(deferredFiles.map(contentPath)), 'exactly the approved update\'s files');

    // 2. Wrong bytes from the root: failed, recorded, not published; right bytes: downloaded.
    await approve(corrupt);
    const failure = await until('the corrupt file to fail', async () => {
      const job = await dssStore.contentQueue.get(corruptFile.sha1);
      return job?.state === 'failed' ? job : undefined;
    });
    assert.match(failure.lastError ?? '', /SHA-1 mismatch/);
    assert.ok(!existsSync(join(dssContent, contentPath(corruptFile))), 'wrong bytes are not published');
    assert.ok(!existsSync(join(dssContent, partialPath(corruptFile))), 'nor kept to resume from');
    writeFileSync(join(rootContent, contentPath(corruptFile)), filePayload(corruptFile));
    const downloaded = stdoutJson<{ queue: Record<string, number> }>(ok(await runCli([...dss, 'content', 'download', '--json']), 'content download'));
    assert.equal(downloaded.queue.failed, 0);
    assert.ok(await verified(dssContent, corruptFile), 'the right bytes arrive once the root has them');
    assert.ok((await dssStore.contentQueue.get(corruptFile.sha1))!.attempts >= 1);

    // 3. A lazy root: 404, DownloadFiles, fetched by the root from its upstream, then here.
    await approve(lazy);
    const lazyFiles = filesOf(lazy);
    await until('the lazy root\'s files', async () => (await Promise.all(lazyFiles.map((f) => verified(dssContent, f)))).every(Boolean));
    await withStoreAt(rootDb.url, async (store) => {
      for (const f of lazyFiles) {
        const job = await store.contentQueue.get(f.sha1);
        assert.equal(job?.requested, true, 'the root was asked with DownloadFiles');
        assert.equal(job?.state, 'present');
        assert.equal(mu.served.get(`/${contentPath(f)}`), 1, 'the root fetched it once from its upstream');
      }
    });

    // 4. Immediate downloads, slowed; kill -9 while the big file is partly down; restart.
    relay.throttle(1 << 20);
    await dssStore.settings.set('content.deferredDownloads', false);
    const bigPartial = join(dssContent, partialPath(big));
    await until('the big file to be partly down', () => existsSync(bigPartial) && statSync(bigPartial).size >= 256 << 10, 60_000);
    process.kill(dssServer.pid, 'SIGKILL');
    await dssServer.stop();
    const partialSize = statSync(bigPartial).size;
    assert.ok(partialSize > 0 && partialSize < big.size, `a partial of ${partialSize} of ${big.size} bytes is left`);
    assert.equal((await dssStore.contentQueue.get(big.sha1))?.state, 'downloading', 'the killed process still holds it');
    relay.throttle(undefined);
    dssServer = await startServeProcess({ dataDir: dssDir, database: dssDb.url });
    servers.push(dssServer);
    const want = new Set([...immediate.values(), ...deferredFiles, ...lazyFiles, corruptFile].map(contentPath));
    await until('every wanted file', async () => {
      const c = await dssStore.contentQueue.counts();
      return c.queued + c.downloading + c.failed === 0 && laidOut(dssContent).size >= want.size;
    }, 90_000);
    assert.deepEqual(laidOut(dssContent), want, 'every wanted file and nothing else');
    for (const f of [...immediate.values(), ...deferredFiles, ...lazyFiles]) assert.ok(await verified(dssContent, f), `${contentPath(f)} verified`);
    assert.deepEqual(readdirSync(join(dssContent, '.partial')), [], 'no partial file left');
    const resumed = relay.ranges.filter((r) => r.path.endsWith(contentPath(big)));
    assert.ok(resumed.some((r) => r.from > 0 && r.from <= partialSize), `the big file resumed with a Range (${JSON.stringify(resumed)})`);
    const status = stdoutJson<{ counts: Record<string, number>; failures: unknown[] }>(ok(await runCli([...dss, 'content', 'status', '--json']), 'content status'));
    assert.deepEqual(status.counts, { queued: 0, downloading: 0, present: want.size, failed: 0 });
    assert.deepEqual(status.failures, []);
  });
}

// The open-file cache behind the content route: shared descriptors, expiry, no remembered
// absences, bounded size, and nothing left open after close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentStore } from '../../src/content/index.ts';
import type { UpdateFile } from '../../src/domain/update.ts';
import { OpenFiles } from '../../src/services/content/open-files.ts';
import { descriptorsUnder, eventually } from './content-server.ts';

const onLinux = process.platform === 'linux';

async function storeWith(t: { after: (fn: () => Promise<void>) => void }, count: number): Promise<{ store: ContentStore; files: UpdateFile[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'openwsus-open-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = ContentStore.inDataDir(dir);
  const files: UpdateFile[] = [];
  for (let i = 0; i < count; i += 1) files.push(await publish(store, randomBytes(1000 + i)));
  return { store, files };
}

async function publish(store: ContentStore, bytes: Buffer): Promise<UpdateFile> {
  const file = { sha1: createHash('sha1').update(bytes).digest('base64'), fileName: 'x.cab', size: bytes.length };
  await store.publishFromStream(file, Readable.from([bytes]));
  return file;
}

test('concurrent users share one descriptor, which stays open for reuse until it expires', async (t) => {
  const { store, files } = await storeWith(t, 1);
  const cache = new OpenFiles(store, { ttlMs: 150 });
  t.after(() => cache.close());
  const [a, b] = await Promise.all([cache.acquire(files[0]!), cache.acquire(files[0]!)]);
  assert.ok(a && b);
  assert.equal(a.handle.fd, b.handle.fd);
  assert.equal(a.stats.size, 1000);
  a.release();
  b.release();
  b.release(); // a second release is harmless
  const c = await cache.acquire(files[0]!);
  assert.equal(c?.handle.fd, a.handle.fd, 'reused within the window');
  c!.release();
  if (onLinux) {
    assert.equal(await descriptorsUnder(store.root), 1);
    assert.ok(await eventually(async () => (await descriptorsUnder(store.root)) === 0, 3000), 'closed after the window');
  }
  assert.equal(cache.size, 0);
});

test('a file in use when its entry expires stays open for its user and is closed after', async (t) => {
  const { store, files } = await storeWith(t, 1);
  const cache = new OpenFiles(store, { ttlMs: 50 });
  t.after(() => cache.close());
  const held = await cache.acquire(files[0]!);
  await new Promise((r) => setTimeout(r, 200));
  const buffer = Buffer.alloc(10);
  const { bytesRead } = await held!.handle.read(buffer, 0, 10, 0);
  assert.equal(bytesRead, 10, 'still readable by its user after expiry');
  const fresh = await cache.acquire(files[0]!);
  assert.notEqual(fresh!.handle.fd, held!.handle.fd, 'an expired entry is not handed out again');
  held!.release();
  fresh!.release();
  if (onLinux) assert.ok(await eventually(async () => (await descriptorsUnder(store.root)) === 0, 3000));
});

test('an absent file is not remembered: it is found as soon as it is published', async (t) => {
  const { store } = await storeWith(t, 0);
  const cache = new OpenFiles(store, { ttlMs: 60_000 });
  t.after(() => cache.close());
  const bytes = randomBytes(500);
  const file = { sha1: createHash('sha1').update(bytes).digest('base64'), fileName: 'late.exe', size: 500 };
  assert.equal(await cache.acquire(file), undefined);
  await store.publishFromStream(file, Readable.from([bytes]));
  const found = await cache.acquire(file);
  assert.equal(found?.stats.size, 500);
  found!.release();
});

test('ttl 0 opens and closes per use', async (t) => {
  const { store, files } = await storeWith(t, 1);
  const cache = new OpenFiles(store, { ttlMs: 0 });
  const a = await cache.acquire(files[0]!);
  const b = await cache.acquire(files[0]!);
  assert.notEqual(a!.handle.fd, b!.handle.fd);
  a!.release();
  b!.release();
  if (onLinux) assert.ok(await eventually(async () => (await descriptorsUnder(store.root)) === 0, 2000));
});

test('past maxEntries the oldest idle file is evicted; when all are busy, files are opened per use', async (t) => {
  const { store, files } = await storeWith(t, 4);
  const cache = new OpenFiles(store, { ttlMs: 60_000, maxEntries: 2 });
  t.after(() => cache.close());
  (await cache.acquire(files[0]!))!.release();
  const busy = await cache.acquire(files[1]!);
  assert.equal(cache.size, 2);
  const third = await cache.acquire(files[2]!); // evicts files[0], which is idle
  assert.equal(cache.size, 2);
  const fourth = await cache.acquire(files[3]!); // both cached entries busy: uncached
  assert.equal(cache.size, 2);
  fourth!.release();
  third!.release();
  busy!.release();
  if (onLinux) assert.ok(await eventually(async () => (await descriptorsUnder(store.root)) === 2, 2000), 'only the two cached stay open');
  cache.close();
  if (onLinux) assert.ok(await eventually(async () => (await descriptorsUnder(store.root)) === 0, 2000), 'close() closes them');
});

test('close() leaves a busy file to its user, closes it at release, and stops caching', async (t) => {
  const { store, files } = await storeWith(t, 1);
  const cache = new OpenFiles(store, { ttlMs: 60_000 });
  const held = await cache.acquire(files[0]!);
  cache.close();
  const buffer = Buffer.alloc(4);
  assert.equal((await held!.handle.read(buffer, 0, 4, 0)).bytesRead, 4);
  held!.release();
  const after = await cache.acquire(files[0]!);
  assert.equal(cache.size, 0);
  after!.release();
  if (onLinux) assert.ok(await eventually(async () => (await descriptorsUnder(store.root)) === 0, 2000));
});

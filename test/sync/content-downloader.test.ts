// The downloader's HTTP behaviour against a small in-process server standing in for Microsoft
// Update (the default source): resuming a partial with a Range, starting over when the server
// ignores the Range, following a redirect, a 404 and wrong bytes recorded as failures with
// nothing published. Across processes and backends: test/integration/content.test.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { ContentStore } from '../../src/content/index.ts';
import { partialPath } from '../../src/content/publish.ts';
import type { UpdateFile } from '../../src/domain/update.ts';
import { ContentDownloader } from '../../src/sync/content-downloader.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeRevision } from '../store/records.ts';

function payloadFile(name: string, bytes: Buffer): UpdateFile {
  return {
    sha1: createHash('sha1').update(bytes).digest('base64'),
    sha256: createHash('sha256').update(bytes).digest('base64'),
    fileName: name,
    size: bytes.length,
  };
}

forEachBackend('downloads resume with a Range, start over without one, follow redirects, and record 404s and wrong bytes', async ({ t, store, dataDir }) => {
  const bodies = { ranged: randomBytes(300_000), plain: randomBytes(200_000), moved: randomBytes(5000), missing: randomBytes(100), bad: randomBytes(4000) };
  const files = Object.fromEntries(Object.entries(bodies).map(([k, v]) => [k, payloadFile(`${k}.cab`, v)])) as Record<keyof typeof bodies, UpdateFile>;
  const ranges: string[] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '').slice(1);
    if (req.headers.range) ranges.push(`${name} ${req.headers.range}`);
    if (name === 'moved') return void res.writeHead(302, { location: '/moved-here' }).end();
    if (name === 'moved-here') return void res.writeHead(200).end(bodies.moved);
    if (name === 'bad') return void res.writeHead(200).end(Buffer.alloc(bodies.bad.length, 1));
    if (name === 'plain') return void res.writeHead(200).end(bodies.plain); // ignores Range
    if (name === 'ranged') {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const from = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, m ? { 'content-range': `bytes ${from}-${bodies.ranged.length - 1}/${bodies.ranged.length}` } : {});
      return void res.end(bodies.ranged.subarray(from));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

  const muUrls = Object.fromEntries(Object.keys(bodies).map((k) => [files[k as keyof typeof bodies].sha1, `${origin}/${k}`]));
  await store.catalog.upsertRevisions([makeRevision({ updateId: guid(1), revisionNumber: 1, files: Object.values(files), muUrls })]);
  await store.contentQueue.enqueue(Object.values(files).map((f) => f.sha1));

  // Partials left by an earlier run: the first 100,000 bytes of two files.
  const content = new ContentStore(join(dataDir, 'content'));
  mkdirSync(join(content.root, '.partial'), { recursive: true });
  writeFileSync(join(content.root, partialPath(files.ranged)), bodies.ranged.subarray(0, 100_000));
  writeFileSync(join(content.root, partialPath(files.plain)), bodies.plain.subarray(0, 100_000));

  const downloader = new ContentDownloader({ store, content });
  const pass = await downloader.runOnce();
  assert.equal(pass.present, 3);
  assert.equal(pass.failed, 2);
  for (const k of ['ranged', 'plain', 'moved'] as const) {
    assert.deepEqual(readFileSync(content.pathOf(files[k])), bodies[k], `${k} published whole`);
    assert.equal((await store.contentQueue.get(files[k].sha1))?.state, 'present');
    assert.equal((await store.files.get(files[k].sha1))?.state, 'present');
  }
  assert.ok(ranges.includes('ranged bytes=100000-'), 'the partial was continued with a Range');
  assert.ok(ranges.includes('plain bytes=100000-'), 'a Range was asked for, and the whole file taken when it was ignored');

  const missing = await store.contentQueue.get(files.missing.sha1);
  assert.equal(missing?.state, 'failed');
  assert.match(missing?.lastError ?? '', /404 from Microsoft Update/);
  const bad = await store.contentQueue.get(files.bad.sha1);
  assert.equal(bad?.state, 'failed');
  assert.match(bad?.lastError ?? '', /wrong bytes.*SHA-1 mismatch/);
  assert.equal(bad?.attempts, 1);
  assert.ok(Date.parse(bad!.nextAttemptAt) > Date.now(), 'retried later, not at once');
  assert.ok(!existsSync(content.pathOf(files.bad)) && !existsSync(join(content.root, partialPath(files.bad))), 'wrong bytes are neither published nor kept');
  // Nothing is due now: a second pass does nothing.
  assert.deepEqual({ ...(await downloader.runOnce()), queue: undefined }, { present: 0, failed: 0, waiting: 0, bytes: 0, queue: undefined });
}, { only: ['sqlite'] });

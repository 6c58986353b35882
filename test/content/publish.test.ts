import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, truncate, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { contentPath } from '../../src/domain/update.ts';
import { ContentStore } from '../../src/content/store.ts';
import { ContentBusyError, DigestMismatchError } from '../../src/content/errors.ts';
import { chunksOf, listDir, makeContent, otherDigest, recordOf, tempDir } from './support/content.ts';

async function storeFor(t: { after: (fn: () => Promise<void>) => void }): Promise<ContentStore> {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  return ContentStore.inDataDir(dir);
}

async function assertAbsent(store: ContentStore, file: Parameters<ContentStore['pathOf']>[0]): Promise<void> {
  assert.equal(await store.stat(file), undefined, `nothing may appear under ${contentPath(file)}`);
}

test('publish puts verified bytes under the WSUS layout name and leaves no temp file', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(300_000, '.EXE');
  const result = await store.publishFromStream(file, Readable.from(chunksOf(bytes)));
  assert.equal(result.path, join(store.root, contentPath(file)));
  assert.match(result.path, /[0-9A-F]{2}\/[0-9A-F]{40}\.exe$/);
  assert.equal(result.bytesWritten, bytes.length);
  assert.deepEqual(await readFile(store.pathOf(file)), bytes);
  assert.equal(await store.has(file), true);
  assert.deepEqual(await listDir(join(store.root, '.partial')), []);
});

test('publish accepts a plain async iterable and an empty file', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(0);
  await store.publishFromStream(file, chunksOf(bytes));
  assert.equal(await store.has(file), true);
});

test('a wrong SHA-1 is refused: DigestMismatchError, nothing under the final name, temp file gone', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(100_000);
  const wrong = { ...file, sha1: otherDigest('sha1') };
  await assert.rejects(store.publishFromStream(wrong, chunksOf(bytes)), (error: unknown) => {
    assert.ok(error instanceof DigestMismatchError);
    assert.equal(error.algorithm, 'SHA-1');
    assert.equal(error.expected, Buffer.from(wrong.sha1, 'base64').toString('hex').toUpperCase());
    assert.equal(error.actual, Buffer.from(file.sha1, 'base64').toString('hex').toUpperCase());
    assert.match(error.message, /SHA-1 mismatch: expected [0-9A-F]{40}, got [0-9A-F]{40}/);
    return true;
  });
  await assertAbsent(store, wrong);
  assert.deepEqual(await listDir(join(store.root, '.partial')), []);
});

test('a right SHA-1 with a wrong SHA-256 is refused as a SHA-256 mismatch', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(100_000);
  const wrong = { ...file, sha256: otherDigest('sha256') };
  await assert.rejects(store.publishFromStream(wrong, chunksOf(bytes)), (error: unknown) => {
    assert.ok(error instanceof DigestMismatchError);
    assert.equal(error.algorithm, 'SHA-256');
    assert.equal(error.actual.length, 64);
    return true;
  });
  await assertAbsent(store, wrong);
  assert.deepEqual(await listDir(join(store.root, '.partial')), []);
});

test('too few or too many bytes are a size mismatch; too many stops reading at once', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(200_000);

  await assert.rejects(store.publishFromStream(file, chunksOf(bytes.subarray(0, 150_000))), (error: unknown) => {
    assert.ok(error instanceof DigestMismatchError);
    assert.deepEqual([error.algorithm, error.expected, error.actual], ['size', '200000', '150000']);
    return true;
  });
  await assertAbsent(store, file);

  let pulled = 0;
  async function* endless(): AsyncGenerator<Uint8Array> {
    for (;;) {
      pulled += 1;
      yield bytes.subarray(0, 64 * 1024);
    }
  }
  await assert.rejects(store.publishFromStream(file, endless()), (error: unknown) => {
    assert.ok(error instanceof DigestMismatchError);
    assert.equal(error.algorithm, 'size');
    return true;
  });
  assert.ok(pulled <= 4, `read ${pulled} chunks of a source longer than the file`);
  await assertAbsent(store, file);
  assert.deepEqual(await listDir(join(store.root, '.partial')), []);
});

test('a failing source leaves nothing behind in one-off mode', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(500_000);
  async function* breaks(): AsyncGenerator<Uint8Array> {
    yield bytes.subarray(0, 100_000);
    throw new Error('connection reset');
  }
  await assert.rejects(store.publishFromStream(file, breaks()), /connection reset/);
  await assertAbsent(store, file);
  assert.deepEqual(await listDir(join(store.root, '.partial')), []);
});

test('an aborted publish leaves nothing under the final name', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(1_000_000);
  const controller = new AbortController();
  let n = 0;
  const source = chunksOf(bytes, 100_000);
  const onBytes = (): void => {
    if (++n === 3) controller.abort();
  };
  await assert.rejects(store.publishFromStream(file, source, { signal: controller.signal, onBytes }), {
    name: 'AbortError',
  });
  await assertAbsent(store, file);
  assert.deepEqual(await listDir(join(store.root, '.partial')), []);
});

test('has() is false for a missing file and for one of the wrong size', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(10_000);
  assert.equal(await store.has(file), false);
  await store.publishFromStream(file, chunksOf(bytes));
  await truncate(store.pathOf(file), 9_999);
  assert.equal(await store.has(file), false);
});

test('openRead serves the whole file or an inclusive byte range; a missing file rejects', async (t) => {
  const store = await storeFor(t);
  const content = Buffer.from('0123456789abcdefghij');
  const file = recordOf(content, 'x.txt');
  await store.publishFromStream(file, chunksOf(content, 3));
  assert.equal(await text(await store.openRead(file)), '0123456789abcdefghij');
  assert.equal(await text(await store.openRead(file, { start: 5, end: 9 })), '56789');
  assert.equal(await text(await store.openRead(file, { start: 19, end: 19 })), 'j');
  await assert.rejects(store.openRead(makeContent(5).file), { code: 'ENOENT' });
  await assert.rejects(store.openRead(file, { start: 5, end: 4 }), RangeError);
});

test('a resumable publish keeps its partial when the source breaks, and resumes from it', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(1_000_000);
  async function* breaksAt(n: number): AsyncGenerator<Uint8Array> {
    yield* chunksOf(bytes.subarray(0, n), 50_000);
    throw new Error('connection reset');
  }
  await assert.rejects(store.publishFromStream(file, breaksAt(400_000), { resumable: true }), /connection reset/);
  await assertAbsent(store, file);
  const offset = await store.partialSize(file);
  assert.equal(offset, 400_000);

  let hashed = 0;
  const result = await store.publishFromStream(file, chunksOf(bytes.subarray(offset)), {
    resumeOffset: offset,
    onBytes: (n) => (hashed += n),
  });
  assert.equal(result.bytesWritten, 600_000);
  assert.equal(hashed, 1_000_000, 'the kept prefix is hashed too');
  assert.deepEqual(await readFile(store.pathOf(file)), bytes);
  assert.equal(await store.partialSize(file), 0);
});

test('resuming drops partial bytes beyond the offset and re-hashes the prefix it keeps', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(500_000);
  const partial = join(store.root, '.partial');
  await assert.rejects(
    store.publishFromStream(file, (async function* () {
      yield bytes.subarray(0, 300_000);
      throw new Error('cut');
    })(), { resumable: true }),
    /cut/,
  );
  // Continue from an earlier point than the partial's end: the tail is rewritten.
  await store.publishFromStream(file, chunksOf(bytes.subarray(200_000)), { resumeOffset: 200_000 });
  assert.deepEqual(await readFile(store.pathOf(file)), bytes);

  // A prefix that went bad on disk is caught by the final digest, and the partial is dropped.
  const other = makeContent(500_000);
  await assert.rejects(
    store.publishFromStream(other.file, (async function* () {
      yield other.bytes.subarray(0, 300_000);
      throw new Error('cut');
    })(), { resumable: true }),
    /cut/,
  );
  const [name] = await listDir(partial);
  assert.ok(name);
  const damaged = await readFile(join(partial, name));
  damaged[1234] = (damaged[1234] ?? 0) ^ 0xff;
  await writeFile(join(partial, name), damaged);
  await assert.rejects(store.publishFromStream(other.file, chunksOf(other.bytes.subarray(300_000)), { resumeOffset: 300_000 }), {
    name: 'DigestMismatchError',
    algorithm: 'SHA-1',
  });
  await assertAbsent(store, other.file);
  assert.deepEqual(await listDir(partial), []);
});

test('resuming past the partial, or with no partial at all, is refused and changes nothing', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(100_000);
  await assert.rejects(store.publishFromStream(file, chunksOf(bytes.subarray(10)), { resumeOffset: 10 }), RangeError);
  await assert.rejects(store.publishFromStream(file, chunksOf(bytes), { resumeOffset: 100_001 }), RangeError);
  await assert.rejects(
    store.publishFromStream(file, (async function* () {
      yield bytes.subarray(0, 5_000);
      throw new Error('cut');
    })(), { resumable: true }),
    /cut/,
  );
  await assert.rejects(store.publishFromStream(file, chunksOf(bytes.subarray(6_000)), { resumeOffset: 6_000 }), RangeError);
  assert.equal(await store.partialSize(file), 5_000);
  await assertAbsent(store, file);
});

test('two resumable publishes of one file at once: the second is refused, the first completes', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(300_000);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  async function* slow(): AsyncGenerator<Uint8Array> {
    yield bytes.subarray(0, 100_000);
    await gate;
    yield bytes.subarray(100_000);
  }
  const first = store.publishFromStream(file, slow(), { resumable: true });
  await new Promise((resolve) => setTimeout(resolve, 20));
  await assert.rejects(store.publishFromStream(file, chunksOf(bytes), { resumable: true }), ContentBusyError);
  release();
  await first;
  assert.deepEqual(await readFile(store.pathOf(file)), bytes);
  // One-off publishes never share a temp file, so they may overlap freely.
  await Promise.all([store.publishFromStream(file, chunksOf(bytes)), store.publishFromStream(file, chunksOf(bytes))]);
  assert.deepEqual(await readFile(store.pathOf(file)), bytes);
});

test('publish keeps a given modification time', async (t) => {
  const store = await storeFor(t);
  const { bytes, file } = makeContent(1_000);
  const mtime = new Date('2021-03-04T05:06:07.890Z');
  await store.publishFromStream(file, chunksOf(bytes), { mtime });
  assert.equal((await store.stat(file))?.mtime.getTime(), mtime.getTime());
});

test('sweepPartials removes only temp files older than the limit', async (t) => {
  const store = await storeFor(t);
  const a = makeContent(10_000);
  const b = makeContent(10_000);
  for (const { bytes, file } of [a, b]) {
    await assert.rejects(
      store.publishFromStream(file, (async function* () {
        yield bytes.subarray(0, 1_000);
        throw new Error('cut');
      })(), { resumable: true }),
    );
  }
  const old = new Date(Date.now() - 3_600_000);
  await utimes(join(store.root, '.partial', contentPath(a.file).replace('/', '_')), old, old);
  assert.equal(await store.sweepPartials(600_000), 1);
  assert.equal(await store.partialSize(a.file), 0);
  assert.equal(await store.partialSize(b.file), 1_000);
});

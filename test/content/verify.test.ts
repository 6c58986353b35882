import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ContentStore } from '../../src/content/store.ts';
import { DigestMismatchError } from '../../src/content/errors.ts';
import { verifyContent, type VerifyProgress } from '../../src/content/verify.ts';
import type { UpdateFile } from '../../src/domain/update.ts';
import { chunksOf, makeContent, otherDigest, tempDir } from './support/content.ts';

async function* each<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

test('verify sorts files into ok, missing and corrupt (size, SHA-1, SHA-256)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const store = ContentStore.inDataDir(dir);
  const good = [makeContent(1), makeContent(70_000), makeContent(3_000_000, '.exe', false)];
  const gone = makeContent(5_000);
  const short = makeContent(5_000);
  const flipped = makeContent(2_000_000);
  const wrong256 = makeContent(9_000);
  for (const c of [...good, gone, short, flipped, wrong256]) await store.publishFromStream(c.file, chunksOf(c.bytes));

  await rm(store.pathOf(gone.file));
  await truncate(store.pathOf(short.file), 4_999);
  const damaged = await readFile(store.pathOf(flipped.file));
  damaged[1_500_000] = (damaged[1_500_000] ?? 0) ^ 1;
  await writeFile(store.pathOf(flipped.file), damaged);
  // A file that was never there, whose folder does not even exist.
  const never = makeContent(10).file;
  // Bytes that match their SHA-1 but not the SHA-256 the record carries.
  const badRecord: UpdateFile = { ...wrong256.file, sha256: otherDigest('sha256') };

  const progress: VerifyProgress[] = [];
  const files = [...good.map((c) => c.file), gone.file, short.file, flipped.file, never, badRecord, good[1]!.file];
  const report = await verifyContent(store, each(files), { onProgress: (p) => progress.push(p) });

  assert.equal(report.checked, 8, 'a file listed twice is checked once');
  assert.equal(report.ok, 3);
  assert.deepEqual(new Set(report.missing), new Set([gone.file, never]));
  const reasons = new Map(report.corrupt.map((c) => [c.file, c.error]));
  assert.equal(reasons.size, 3);
  for (const [file, algorithm] of [[short.file, 'size'], [flipped.file, 'SHA-1'], [badRecord, 'SHA-256']] as const) {
    const error = reasons.get(file);
    assert.ok(error instanceof DigestMismatchError, `${file.fileName}: ${error}`);
    assert.equal(error.algorithm, algorithm);
  }
  // The truncated file is settled by its size, without reading it.
  assert.equal(report.bytesHashed, 1 + 70_000 + 3_000_000 + 2_000_000 + 9_000);

  assert.equal(progress.length, 8);
  assert.deepEqual(progress.map((p) => p.checked), [1, 2, 3, 4, 5, 6, 7, 8]);
  const last = progress.at(-1)!;
  assert.deepEqual([last.ok, last.missing, last.corrupt], [3, 2, 3]);
  assert.equal(progress.find((p) => p.file === flipped.file)?.status, 'corrupt');
  assert.equal(progress.find((p) => p.file === gone.file)?.status, 'missing');
});

test('verify pulls files lazily and keeps at most `concurrency` in flight', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const store = ContentStore.inDataDir(dir);
  const contents = Array.from({ length: 20 }, () => makeContent(200_000));
  for (const c of contents) await store.publishFromStream(c.file, chunksOf(c.bytes));

  let pulled = 0;
  let maxAhead = 0;
  async function* counted(): AsyncGenerator<UpdateFile> {
    for (const c of contents) {
      pulled += 1;
      yield c.file;
    }
  }
  const report = await verifyContent(store, counted(), {
    concurrency: 3,
    onProgress: (p) => (maxAhead = Math.max(maxAhead, pulled - p.checked)),
  });
  assert.equal(report.ok, 20);
  assert.ok(maxAhead <= 3, `${maxAhead} files were pulled ahead of the ones finished`);
  assert.ok(maxAhead >= 2, 'several files were checked at once');
});

test('verify of an empty content directory reports everything missing', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const store = ContentStore.inDataDir(dir);
  const files = [makeContent(10).file, makeContent(20).file];
  const report = await verifyContent(store, files);
  assert.deepEqual(report, { checked: 2, ok: 0, missing: files, corrupt: [], bytesHashed: 0 });
});

test('something other than a file at a content path is corrupt, not a crash of the run', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const store = ContentStore.inDataDir(dir);
  const { file } = makeContent(10);
  // A directory where the file should be.
  await mkdir(dirname(store.pathOf(file)), { recursive: true });
  await mkdir(store.pathOf(file));
  const report = await verifyContent(store, [file]);
  assert.equal(report.corrupt.length, 1);
  assert.equal(report.corrupt[0]?.file, file);
  assert.match(report.corrupt[0]?.error.message ?? '', /not a regular file/);
  assert.equal(await store.has(file), false);
});

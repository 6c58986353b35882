import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contentPath, type UpdateFile } from '../../src/domain/update.ts';
import { copyContent, type CopyProgress } from '../../src/content/copy.ts';
import { DigestMismatchError } from '../../src/content/errors.ts';
import { ContentStore } from '../../src/content/store.ts';
import { listDir, makeContent, tempDir, treeOf, type TestContent } from './support/content.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const COPY_CHILD = fileURLToPath(new URL('./support/copy-child.ts', import.meta.url));

/** Lays bytes out as a WSUS server would, under a name of our choosing. */
async function place(dataDir: string, relPath: string, bytes: Buffer): Promise<void> {
  const path = join(dataDir, 'content', relPath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

async function placeContent(dataDir: string, contents: TestContent[]): Promise<void> {
  for (const c of contents) await place(dataDir, contentPath(c.file), c.bytes);
}

const ignorePartial = (rel: string): boolean => rel === '.partial';

async function dirs(t: { after: (fn: () => Promise<void>) => void }): Promise<{ src: string; dst: string; dir: string }> {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  return { dir, src: join(dir, 'src'), dst: join(dir, 'dst') };
}

test('copy brings every laid-out file over, refuses a corrupt one, ignores the rest, reports progress', async (t) => {
  const { src, dst } = await dirs(t);
  const good = [makeContent(1, '.exe'), makeContent(100_000, '.cab'), makeContent(2_500_000, '.psf'), makeContent(777, '')];
  await placeContent(src, good);
  // Lower-case names as a case-insensitive filesystem may hold them: copied under our spelling.
  const lower = makeContent(4_000, '.msu');
  const lowerRel = contentPath({ ...lower.file, fileName: 'x.MSU' }).toLowerCase();
  await place(src, lowerRel, lower.bytes);
  // Bytes that do not match the SHA-1 their name states.
  const liar = makeContent(50_000, '.cab');
  const liarBytes = Buffer.from(liar.bytes);
  liarBytes[10] = (liarBytes[10] ?? 0) ^ 0x55;
  await place(src, contentPath(liar.file), liarBytes);
  // Not content: temp files, stray files, misfiled content, non-layout folders.
  await place(src, '.partial/half-written.tmp', Buffer.from('junk'));
  await place(src, 'readme.txt', Buffer.from('hello'));
  await place(src, `${contentPath(good[0]!.file).slice(0, 3)}notes.txt`, Buffer.from('x'));
  const misfiled = makeContent(10, '.cab');
  const wrongFolder = contentPath(misfiled.file).startsWith('00') ? '01' : '00';
  await place(src, `${wrongFolder}/${contentPath(misfiled.file).slice(3)}`, misfiled.bytes);
  await place(src, `ZZ/${contentPath(misfiled.file).slice(3)}`, misfiled.bytes);

  const progress: CopyProgress[] = [];
  const result = await copyContent(src, dst, { onProgress: (p) => progress.push(p) });

  const expected = new Map<string, Buffer>([...good, lower].map((c) => [contentPath(c.file), c.bytes]));
  assert.deepEqual(await treeOf(join(dst, 'content'), ignorePartial), expected);
  assert.deepEqual(await listDir(join(dst, 'content', '.partial')), []);
  assert.ok(expected.has(lowerRel.toUpperCase().replace(/\.MSU$/, '.msu')));

  const goodBytes = [...good, lower].reduce((sum, c) => sum + c.bytes.length, 0);
  assert.deepEqual(
    { copied: result.copied, skipped: result.skipped, corrupt: result.corrupt, bytes: result.bytes },
    { copied: 5, skipped: 0, corrupt: 1, bytes: goodBytes },
  );
  assert.equal(result.corruptFiles[0]?.relPath, contentPath(liar.file));
  assert.ok(result.corruptFiles[0]?.error instanceof DigestMismatchError);
  assert.equal(result.corruptFiles[0]?.error.algorithm, 'SHA-1');
  assert.equal(await ContentStore.inDataDir(dst).stat(liar.file), undefined, 'a corrupt source is never copied');
  assert.equal(result.ignored.length, 4);
  assert.ok(!result.ignored.includes('.partial'));

  // Totals up front, monotonic counters, ending exactly at the totals.
  const totalBytes = goodBytes + liarBytes.length;
  assert.deepEqual(
    [progress[0]?.filesTotal, progress[0]?.bytesTotal, progress[0]?.filesDone, progress[0]?.bytesDone],
    [6, totalBytes, 0, 0],
  );
  for (let i = 1; i < progress.length; i += 1) {
    assert.ok(progress[i]!.filesDone >= progress[i - 1]!.filesDone);
    assert.ok(progress[i]!.bytesDone >= progress[i - 1]!.bytesDone);
  }
  const last = progress.at(-1)!;
  assert.deepEqual(
    [last.filesDone, last.bytesDone, last.copied, last.skipped, last.corrupt],
    [6, totalBytes, 5, 0, 1],
  );
  assert.ok(progress.some((p) => p.bytesDone > 0 && p.bytesDone < totalBytes && p.filesDone < 6), 'byte progress inside files');

  // The source's modification time travels with the file.
  for (const c of good) {
    const [a, b] = await Promise.all([stat(join(src, 'content', contentPath(c.file))), stat(join(dst, 'content', contentPath(c.file)))]);
    assert.equal(b.mtime.getTime(), a.mtime.getTime());
  }
});

test('an interrupted copy resumes: the rerun skips what is done and ends as an uninterrupted copy', async (t) => {
  const { dir, src, dst } = await dirs(t);
  const contents = Array.from({ length: 12 }, (_, i) => makeContent(200_000 + i * 10_000, '.cab'));
  await placeContent(src, contents);

  const controller = new AbortController();
  await assert.rejects(
    copyContent(src, dst, {
      concurrency: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.filesDone >= 4) controller.abort();
      },
    }),
    { name: 'AbortError' },
  );
  // Only whole, verified files under final names; no temp files left behind.
  const partial = await treeOf(join(dst, 'content'), ignorePartial);
  const byPath = new Map(contents.map((c) => [contentPath(c.file), c.bytes]));
  assert.ok(partial.size >= 4 && partial.size < 12, `${partial.size} files after the interruption`);
  for (const [rel, bytes] of partial) assert.deepEqual(bytes, byPath.get(rel), rel);
  assert.deepEqual(await listDir(join(dst, 'content', '.partial')), []);

  const second = await copyContent(src, dst);
  assert.equal(second.skipped, partial.size, 'the rerun skips every file already done');
  assert.equal(second.copied, 12 - partial.size);
  assert.equal(second.bytes, [...byPath].filter(([rel]) => !partial.has(rel)).reduce((s, [, b]) => s + b.length, 0));

  const reference = join(dir, 'reference');
  await copyContent(src, reference);
  assert.deepEqual(await treeOf(join(dst, 'content'), ignorePartial), await treeOf(join(reference, 'content'), ignorePartial));
  for (const c of contents) {
    const [a, b] = await Promise.all([
      stat(join(dst, 'content', contentPath(c.file))),
      stat(join(reference, 'content', contentPath(c.file))),
    ]);
    assert.equal(a.mtime.getTime(), b.mtime.getTime());
  }

  const third = await copyContent(src, dst);
  assert.deepEqual([third.copied, third.skipped, third.bytes], [0, 12, 0]);
});

test('destination files not marked by a copy are hashed before they are trusted', async (t) => {
  const { src, dst } = await dirs(t);
  const [same, torn, short, marked] = [makeContent(30_000), makeContent(30_000), makeContent(30_000), makeContent(30_000)];
  await placeContent(src, [same!, torn!, short!, marked!]);
  const foreign = new Date('2020-01-01T00:00:00Z');
  // Right bytes written by something else: skipped after a digest check, left untouched.
  await place(dst, contentPath(same!.file), same!.bytes);
  await utimes(join(dst, 'content', contentPath(same!.file)), foreign, foreign);
  // Right size, wrong bytes (a preallocated, torn copy): copied again.
  await place(dst, contentPath(torn!.file), Buffer.alloc(30_000));
  await utimes(join(dst, 'content', contentPath(torn!.file)), foreign, foreign);
  // Wrong size: copied again.
  await place(dst, contentPath(short!.file), short!.bytes.subarray(0, 100));
  // Wrong bytes carrying the source's mtime: the quick check trusts the mark...
  const srcMtime = (await stat(join(src, 'content', contentPath(marked!.file)))).mtime;
  await place(dst, contentPath(marked!.file), Buffer.alloc(30_000, 1));
  await utimes(join(dst, 'content', contentPath(marked!.file)), srcMtime, srcMtime);

  const result = await copyContent(src, dst);
  assert.deepEqual([result.copied, result.skipped], [2, 2]);
  const dstFile = (c: TestContent): Promise<Buffer> => readFile(join(dst, 'content', contentPath(c.file)));
  assert.deepEqual(await dstFile(same!), same!.bytes);
  assert.equal((await stat(join(dst, 'content', contentPath(same!.file)))).mtime.getTime(), foreign.getTime());
  assert.deepEqual(await dstFile(torn!), torn!.bytes);
  assert.deepEqual(await dstFile(short!), short!.bytes);
  assert.deepEqual(await dstFile(marked!), Buffer.alloc(30_000, 1));

  // ...and `checkExisting: 'digest'` does not.
  const paranoid = await copyContent(src, dst, { checkExisting: 'digest' });
  assert.deepEqual([paranoid.copied, paranoid.skipped], [1, 3]);
  assert.deepEqual(await dstFile(marked!), marked!.bytes);
});

test('copy of an empty or absent source content directory does nothing', async (t) => {
  const { src, dst } = await dirs(t);
  const result = await copyContent(src, dst);
  assert.deepEqual(result, { copied: 0, skipped: 0, corrupt: 0, bytes: 0, corruptFiles: [], ignored: [] });
});

test('a multi-MB file is streamed through, never held in memory', async (t) => {
  const { src, dst } = await dirs(t);
  const size = 48 * 1024 * 1024;
  const big = makeContent(size, '.esd', false);
  await placeContent(src, [big]);
  const run = spawnSync(NODE, ['--expose-gc', COPY_CHILD, src, dst], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { copied: number; bytes: number; reports: number; peakArrayBuffers: number };
  assert.deepEqual([report.copied, report.bytes], [1, size]);
  assert.ok(report.reports >= 48, `progress reported ${report.reports} times for a 48 MiB file`);
  assert.ok(report.peakArrayBuffers < 16 * 1024 * 1024, `held ${report.peakArrayBuffers} bytes of buffers at once`);
  assert.equal(await ContentStore.inDataDir(dst).has(big.file as UpdateFile), true);
  assert.deepEqual(await readFile(join(dst, 'content', contentPath(big.file))), big.bytes);
});

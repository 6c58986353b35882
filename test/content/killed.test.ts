import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContentStore } from '../../src/content/store.ts';
import { listDir, makeContent, tempDir } from './support/content.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const WRITER = fileURLToPath(new URL('./support/slow-writer.ts', import.meta.url));
const SIZE = 24 * 1024 * 1024; // ~1 s of writing at the child's pace

/** Starts the child, waits until its temp file holds a few MB, kills it with SIGKILL. */
async function killMidWrite(store: ContentStore, source: string, record: object, mode: string): Promise<void> {
  const child = spawn(NODE, [WRITER, store.root, source, JSON.stringify(record), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const partialDir = join(store.root, '.partial');
  const deadline = Date.now() + 30_000;
  for (;;) {
    assert.ok(Date.now() < deadline, `the writer never got going: ${output}`);
    assert.equal(child.exitCode, null, `the writer ended before it could be killed: ${output}`);
    const [name] = await listDir(partialDir);
    const size = name ? (await stat(join(partialDir, name)).catch(() => undefined))?.size ?? 0 : 0;
    if (size >= 3 * 1024 * 1024) break;
    await sleep(5);
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.doesNotMatch(output, /finished/);
}

test('kill -9 mid-write leaves nothing under the final name; a later publish succeeds', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const store = ContentStore.inDataDir(join(dir, 'data'));
  const { bytes, file } = makeContent(SIZE);
  const source = join(dir, 'source.bin');
  await writeFile(source, bytes);

  await killMidWrite(store, source, file, 'oneoff');
  assert.equal(await store.stat(file), undefined);
  assert.equal(await store.has(file), false);
  const [orphan] = await listDir(join(store.root, '.partial'));
  assert.match(orphan ?? '', /\.tmp$/, 'the killed writer left its one-off temp file, not a final name');
  const size = (await stat(join(store.root, '.partial', orphan!))).size;
  assert.ok(size > 0 && size < SIZE);

  await store.publishFromStream(file, createReadStream(source));
  assert.deepEqual(await readFile(store.pathOf(file)), bytes);
  assert.equal(await store.sweepPartials(-1), 1, 'the orphan is swept');
});

test('kill -9 mid-write of a resumable publish leaves a partial that a later publish continues', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const store = ContentStore.inDataDir(join(dir, 'data'));
  const { bytes, file } = makeContent(SIZE);
  const source = join(dir, 'source.bin');
  await writeFile(source, bytes);

  await killMidWrite(store, source, file, 'resumable');
  assert.equal(await store.stat(file), undefined);
  const offset = await store.partialSize(file);
  assert.ok(offset >= 3 * 1024 * 1024 && offset < SIZE, `partial of ${offset} bytes`);

  const result = await store.publishFromStream(file, createReadStream(source, { start: offset }), { resumeOffset: offset });
  assert.equal(result.bytesWritten, SIZE - offset);
  assert.deepEqual(await readFile(store.pathOf(file)), bytes);
  assert.deepEqual(await listDir(join(store.root, '.partial')), []);
});

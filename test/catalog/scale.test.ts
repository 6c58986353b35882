import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { contentPath } from '../../src/domain/update.ts';
import { generateCatalog, writePayloads } from '../../src/catalog/index.ts';
import { SMALL_FILES } from './helpers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('generation streams: heap does not grow with the number of documents', () => {
  // 15,000 revisions, consumed one at a time; the heap is measured after the first 2,000 and at the
  // end. A generator that kept documents, specs or payloads would grow by tens of MB here.
  const catalog = generateCatalog({ updates: 15_000, seed: 'memory', fileSize: { min: 64, max: 1024 } });
  let n = 0;
  let early = 0;
  let xmlBytes = 0;
  for (const d of catalog.documents()) {
    xmlBytes += d.xml.length;
    if (++n === 2_000) early = heapAfterGc();
  }
  const late = heapAfterGc();
  assert.equal(n, 15_000);
  assert.ok(xmlBytes > 40_000_000, `the run produced ${Math.round(xmlBytes / 1e6)} MB of XML`);
  const growth = late - early;
  assert.ok(growth < 8 * 1024 * 1024, `heap grew by ${Math.round(growth / 1024)} KiB over 13,000 documents`);
});

test('writePayloads lays files out as WSUS does, once each, with the advertised bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'openwsus-catalog-'));
  try {
    const catalog = generateCatalog({ updates: 400, seed: 'write', fileSize: SMALL_FILES });
    const files = new Map<string, { size: number; sha1: string; sha256: string | undefined; path: string }>();
    let references = 0;
    for (const d of catalog.documents()) {
      for (const f of d.files) {
        references++;
        files.set(f.sha1, { size: f.size, sha1: f.sha1, sha256: f.sha256, path: contentPath(f) });
      }
    }
    const first = await writePayloads(catalog, dir);
    assert.equal(first.written, files.size);
    assert.equal(first.skipped, references - files.size, 'shared files are written once');
    assert.equal(first.bytes, [...files.values()].reduce((n, f) => n + f.size, 0));
    for (const f of files.values()) {
      assert.match(f.path, /^[0-9A-F]{2}\/[0-9A-F]{40}\.[a-z0-9]+$/);
      const bytes = await readFile(join(dir, f.path));
      assert.equal(bytes.length, f.size);
      assert.equal(createHash('sha1').update(bytes).digest('base64'), f.sha1);
      assert.equal(createHash('sha256').update(bytes).digest('base64'), f.sha256);
    }
    const folders = await readdir(dir);
    assert.ok(folders.every((name) => /^[0-9A-F]{2}$/.test(name)), 'no partial files or stray names');
    const again = await writePayloads(catalog, dir);
    assert.equal(again.written, 0);
    assert.equal(again.skipped, references);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

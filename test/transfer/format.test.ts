import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync, gunzipSync } from 'node:zlib';
import { writeExport, openExport, ExportFormatError, type ExportRecord } from '../../src/transfer/format.ts';

async function toBuffer(records: ExportRecord[]): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await writeExport(sink, { created: '2026-11-22T00:00:00Z', software: 'openwsus test', sections: ['revisions'] }, records);
  return Buffer.concat(chunks);
}

async function readAll(buf: Buffer): Promise<ExportRecord[]> {
  const reader = await openExport(Readable.from([buf]));
  const out: ExportRecord[] = [];
  for await (const r of reader.records()) out.push(r);
  return out;
}

const sample: ExportRecord[] = Array.from({ length: 300 }, (_, i) => ({
  type: i % 3 === 0 ? 'language' : 'revision',
  xml: `<upd:Update n="${i}">${'x'.repeat(i * 7)}</upd:Update>`,
}));

test('an export file round-trips its records and manifest', async () => {
  const buf = await toBuffer(sample);
  const reader = await openExport(Readable.from([buf]));
  assert.equal(reader.header.format, 'openwsus-export');
  assert.deepEqual(reader.header.sections, ['revisions']);
  const got: ExportRecord[] = [];
  for await (const r of reader.records()) got.push(r);
  assert.deepEqual(got, sample);
  assert.deepEqual(reader.manifest().counts, { language: 100, revision: 200 });
});

test('a truncated export is refused wherever it is cut', async () => {
  const buf = await toBuffer(sample);
  for (const cut of [10, 100, Math.floor(buf.length / 2), buf.length - 30, buf.length - 1]) {
    await assert.rejects(readAll(buf.subarray(0, cut)), ExportFormatError, `cut at ${cut}`);
  }
});

test('a truncated uncompressed stream (cut at a line boundary, re-gzipped) is refused for its missing manifest', async () => {
  const plain = gunzipSync(await toBuffer(sample)).toString('utf8').split('\n');
  const cut = gzipSync(Buffer.from(plain.slice(0, 50).join('\n') + '\n'));
  await assert.rejects(readAll(cut), /ends before its manifest/);
});

test('a changed byte is refused by the checksum even when gzip is rewritten', async () => {
  const plain = gunzipSync(await toBuffer(sample)).toString('utf8');
  const forged = gzipSync(Buffer.from(plain.replace('n=\\"7\\"', 'n=\\"8\\"')));
  await assert.rejects(readAll(forged), /checksum mismatch/);
});

test('a corrupted compressed byte is refused', async () => {
  const buf = Buffer.from(await toBuffer(sample));
  buf[Math.floor(buf.length / 2)]! ^= 0xff;
  await assert.rejects(readAll(buf), ExportFormatError);
});

test('counts in the manifest must match the records', async () => {
  const plain = gunzipSync(await toBuffer(sample)).toString('utf8').trimEnd().split('\n');
  const manifest = JSON.parse(plain.pop()!);
  manifest.counts.revision = 201;
  const forged = gzipSync(Buffer.from([...plain, JSON.stringify(manifest)].join('\n') + '\n'));
  await assert.rejects(readAll(forged), /manifest counts 201 revision/);
});

test('a file that is not an export says so', async () => {
  await assert.rejects(readAll(gzipSync(Buffer.from('{"hello":1}\n'))), /not an openwsus export/);
  await assert.rejects(readAll(Buffer.from('plain text, not gzip')), /corrupt or not gzip/);
  await assert.rejects(readAll(gzipSync(Buffer.alloc(0))), /empty/);
  await assert.rejects(
    readAll(gzipSync(Buffer.from('{"format":"openwsus-export","version":99}\n'))),
    /newer than this openwsus understands/,
  );
});

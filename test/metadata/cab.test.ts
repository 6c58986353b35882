import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import {
  CabinetError, cfdataChecksum, decodeUpdateBlob, encodeUpdateBlob, extractSingle, listCabinet,
  lzxCompress, readCabinet, writeCabinet, type LzxCompressOptions,
} from '../../src/metadata/cab/index.ts';
import { mszipCompressBlocks } from '../../src/metadata/cab/mszip.ts';
import { readFixture, readFixtureText } from '../support/fixtures.ts';
import { prng } from '../support/random.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

/** x86-looking bytes: CALL rel32 (E8) with small in-range targets, to exercise E8 translation. */
function x86ish(n: number): Buffer {
  const out = prng(n, 77);
  for (let i = 0; i + 5 <= n; i += 37) {
    out[i] = 0xe8;
    out.writeInt32LE(((i * 7919) % 200000) - 100000, i + 1);
  }
  return out;
}

const FIXTURE_XML = readFixture('wsus-m0-wsusss', 'docs', 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml');

function assertCabinetError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CabinetError, `expected CabinetError, got ${String(e)}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/** The real update blobs in the captured GetUpdateData answers, with the id each belongs to. */
function realBlobs(): { exchange: string; base64: string; doc: string }[] {
  const found: { exchange: string; base64: string; doc: string }[] = [];
  for (const exchange of ['000013', '000014', '000016']) {
    const body = readFixtureText('wsus-m0-wsusss', 'exchanges', exchange, 'response.body');
    const re = /<ServerSyncUpdateData><Id><UpdateID>([^<]+)<\/UpdateID><RevisionNumber>(\d+)<\/RevisionNumber><\/Id>.*?<XmlUpdateBlobCompressed>([^<]+)<\/XmlUpdateBlobCompressed>/gs;
    for (const m of body.matchAll(re)) found.push({ exchange, base64: m[3]!, doc: `${m[1]}-r${m[2]}.xml` });
  }
  return found;
}

const CABEXTRACT = spawnSync('cabextract', ['--version'], { encoding: 'utf8' }).status === 0;

/** Skips (only outside CI) when cabextract is missing; in CI a missing tool is a failure. */
function needCabextract(t: { skip: (msg: string) => void }): boolean {
  if (CABEXTRACT) return true;
  if (process.env.CI === 'true') assert.fail('cabextract is required in CI (apt-get install cabextract)');
  t.skip('cabextract is not installed (apt-get install cabextract); cross-check skipped');
  return false;
}

/** Extracts every file with cabextract; returns name -> bytes, or throws with its stderr. */
function cabextractAll(cab: Uint8Array): Map<string, Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'openwsus-cab-'));
  try {
    writeFileSync(join(dir, 'in.cab'), cab);
    const r = spawnSync('cabextract', ['-q', '-d', join(dir, 'out'), join(dir, 'in.cab')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cabextract failed (${r.status}): ${r.stderr}${r.stdout}`);
    const files = new Map<string, Buffer>();
    const outDir = join(dir, 'out');
    for (const name of readdirSync(outDir)) files.set(name, readFileSync(join(outDir, name)));
    return files;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface HandFolder {
  typeCompress: number;
  blocks: { payload: Uint8Array; size: number }[];
}

/**
 * Builds a cabinet by hand, for shapes our writer does not make: several folders, reserved
 * areas in header, folders and data blocks, optional checksums.
 */
function handCabinet(opts: {
  folders: HandFolder[];
  files: { name: string; folder: number; offset: number; size: number }[];
  reserve?: { header: number; folder: number; data: number };
  checksums?: boolean;
}): Buffer {
  const r = opts.reserve;
  const headerLen = 36 + (r ? 4 + r.header : 0);
  const folderLen = 8 + (r?.folder ?? 0);
  const filesLen = opts.files.reduce((s, f) => s + 16 + Buffer.byteLength(f.name) + 1, 0);
  const coffFiles = headerLen + folderLen * opts.folders.length;
  let p = coffFiles + filesLen;
  const starts = opts.folders.map((f) => {
    const start = p;
    for (const b of f.blocks) p += 8 + (r?.data ?? 0) + b.payload.length;
    return start;
  });
  const out = Buffer.alloc(p);
  out.write('MSCF', 0, 'latin1');
  out.writeUInt32LE(p, 8);
  out.writeUInt32LE(coffFiles, 16);
  out[24] = 3;
  out[25] = 1;
  out.writeUInt16LE(opts.folders.length, 26);
  out.writeUInt16LE(opts.files.length, 28);
  out.writeUInt16LE(r ? 4 : 0, 30);
  let q = 36;
  if (r) {
    out.writeUInt16LE(r.header, 36);
    out[38] = r.folder;
    out[39] = r.data;
    out.fill(0xa5, 40, 40 + r.header);
    q = 40 + r.header;
  }
  opts.folders.forEach((f, i) => {
    out.writeUInt32LE(starts[i]!, q);
    out.writeUInt16LE(f.blocks.length, q + 4);
    out.writeUInt16LE(f.typeCompress, q + 6);
    out.fill(0x5a, q + 8, q + folderLen);
    q += folderLen;
  });
  for (const f of opts.files) {
    out.writeUInt32LE(f.size, q);
    out.writeUInt32LE(f.offset, q + 4);
    out.writeUInt16LE(f.folder, q + 8);
    out.writeUInt16LE(0x5a21, q + 10); // 2025-01-01
    out.writeUInt16LE(0x6000, q + 12); // 12:00:00
    out.writeUInt16LE(0x20, q + 14);
    q += 16 + out.write(f.name, q + 16, 'latin1') + 1;
  }
  for (const f of opts.folders) {
    for (const b of f.blocks) {
      const csum = opts.checksums === false ? 0 : cfdataChecksum(b.payload, b.payload.length, b.size);
      out.writeUInt32LE(csum, q);
      out.writeUInt16LE(b.payload.length, q + 4);
      out.writeUInt16LE(b.size, q + 6);
      out.fill(0x33, q + 8, q + 8 + (r?.data ?? 0));
      q += 8 + (r?.data ?? 0);
      out.set(b.payload, q);
      q += b.payload.length;
    }
  }
  return out;
}

function storedBlocks(data: Uint8Array): { payload: Uint8Array; size: number }[] {
  const blocks = [];
  for (let s = 0; s < data.length; s += 32768) {
    const chunk = data.subarray(s, Math.min(data.length, s + 32768));
    blocks.push({ payload: chunk, size: chunk.length });
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// The real LZX blobs a real WSUS sent

test('real blob of exchange 000014 decodes byte-for-byte to the 266f6222 r200 document', () => {
  const body = readFixtureText('wsus-m0-wsusss', 'exchanges', '000014', 'response.body');
  const base64 = /<XmlUpdateBlobCompressed>([^<]+)<\/XmlUpdateBlobCompressed>/.exec(body)![1]!;
  assert.match(body, /<UpdateID>266f6222-c89d-43f2-9f8a-69340271e677<\/UpdateID><RevisionNumber>200</);
  const cab = Buffer.from(base64, 'base64');
  const entries = listCabinet(cab);
  assert.deepEqual(entries.map((e) => [e.name, e.size, e.compression]), [['blob', 29156, 'lzx:21']]);
  const xml = decodeUpdateBlob(base64);
  const expected = readFixtureText('wsus-m0-wsusss', 'docs', '266f6222-c89d-43f2-9f8a-69340271e677-r200.xml');
  assert.equal(xml.length, 14578);
  assert.equal(xml, expected);
  // Same answer from the raw cabinet bytes and from base64 broken into lines.
  assert.equal(decodeUpdateBlob(cab), expected);
  assert.equal(decodeUpdateBlob(base64.replace(/.{76}/g, '$&\r\n')), expected);
});

test('every real blob in the captures (incl. a 3-frame one) decodes to its document', () => {
  const blobs = realBlobs();
  assert.equal(blobs.length, 3);
  for (const b of blobs) {
    const expected = readFixtureText('wsus-m0-wsusss', 'docs', b.doc);
    assert.equal(decodeUpdateBlob(b.base64), expected, `${b.exchange} ${b.doc}`);
  }
  const multi = Buffer.from(blobs.find((b) => b.exchange === '000013')!.base64, 'base64');
  assert.equal(listCabinet(multi)[0]!.size, 69570); // 3 CFDATA blocks, real checksums verified
});

test('cabextract agrees with our LZX decoder on the real blobs', (t) => {
  if (!needCabextract(t)) return;
  for (const b of realBlobs()) {
    const cab = Buffer.from(b.base64, 'base64');
    const theirs = cabextractAll(cab).get('blob')!;
    assert.ok(theirs, 'cabextract produced "blob"');
    assert.ok(theirs.equals(extractSingle(cab, 'blob')), b.exchange);
  }
});

test('decoding the real blob is fast', () => {
  const cab = Buffer.from(realBlobs().find((b) => b.exchange === '000013')!.base64, 'base64');
  const rounds = 50;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) readCabinet(cab);
  const perCall = (performance.now() - t0) / rounds;
  assert.ok(perCall < 100, `69,570-byte LZX blob took ${perCall.toFixed(2)} ms`);
});

// ---------------------------------------------------------------------------------------------
// Writer: MSZIP and stored, checked by cabextract and by our reader

const WRITE_SIZES = [0, 1, 1000, 32767, 32768, 32769, 65536, 100_003, 300_000];

function sample(size: number, seed: number): Buffer {
  // Mix of text (compressible, long matches) and noise (incompressible deflate blocks).
  const text = Buffer.alloc(size);
  for (let p = 0; p < size; p += FIXTURE_XML.length) FIXTURE_XML.copy(text, p, 0, Math.min(FIXTURE_XML.length, size - p));
  const noise = prng(size, seed);
  for (let p = 0; p < size; p += 50_000) noise.copy(text, p, p, Math.min(size, p + 5_000));
  return text;
}

for (const compression of ['mszip', 'none'] as const) {
  test(`${compression} cabinets we write extract with cabextract to the same bytes`, (t) => {
    if (!needCabextract(t)) return;
    for (const size of WRITE_SIZES) {
      const data = sample(size, size + 1);
      const cab = writeCabinet([{ name: 'one.bin', data }], { compression });
      const got = cabextractAll(cab).get('one.bin');
      assert.ok(got?.equals(data), `${compression} ${size} bytes`);
    }
    const files = [
      { name: 'a.xml', data: FIXTURE_XML },
      { name: 'empty.txt', data: Buffer.alloc(0) },
      { name: 'noise.bin', data: prng(70_001, 9) },
      { name: 'b.txt', data: Buffer.from('hello cabinet\n'.repeat(5000)) },
    ];
    const extracted = cabextractAll(writeCabinet(files, { compression }));
    for (const f of files) assert.ok(extracted.get(f.name)?.equals(f.data), `${compression} member ${f.name}`);
  });

  test(`our reader reads the ${compression} cabinets we write`, () => {
    for (const size of WRITE_SIZES) {
      const data = sample(size, size + 3);
      const cab = writeCabinet([{ name: 'x', data }], { compression });
      const [file] = readCabinet(cab);
      assert.ok(file!.data.equals(data), `${compression} ${size}`);
      assert.equal(file!.compression, compression);
    }
    const files = [
      { name: 'first', data: prng(40_000, 4) },
      { name: 'second', data: Buffer.from('x'.repeat(90_000)) },
      { name: 'third', data: Buffer.from([1, 2, 3]) },
    ];
    const read = readCabinet(writeCabinet(files, { compression }));
    assert.deepEqual(read.map((f) => f.name), ['first', 'second', 'third']);
    read.forEach((f, i) => assert.ok(f.data.equals(files[i]!.data), f.name));
    assert.ok(extractSingle(writeCabinet(files, { compression }), 'SECOND').equals(files[1]!.data));
  });
}

test('writer sets CFHEADER fields, checksums, dates and attributes', () => {
  const data = prng(70_000, 5);
  const modified = new Date(Date.UTC(2024, 1, 29, 13, 45, 58));
  const cab = writeCabinet([{ name: 'é.bin', data, modified, attributes: 0x01 }, { name: 'z', data: Buffer.from('z') }]);
  assert.equal(cab.toString('latin1', 0, 4), 'MSCF');
  assert.equal(cab.readUInt32LE(8), cab.length); // cbCabinet
  assert.equal(cab.readUInt32LE(16), 36 + 8); // coffFiles
  assert.equal(cab.readUInt16LE(26), 1); // cFolders
  assert.equal(cab.readUInt16LE(28), 2); // cFiles
  assert.equal(cab.readUInt16LE(36 + 6), 1); // MSZIP
  assert.equal(cab.readUInt16LE(36 + 4), 3); // 70,001 bytes -> 3 CFDATA blocks
  const [first, second] = listCabinet(cab);
  assert.equal(first!.name, 'é.bin');
  assert.equal(first!.dosDate, ((2024 - 1980) << 9) | (2 << 5) | 29);
  assert.equal(first!.dosTime, (13 << 11) | (45 << 5) | 29);
  assert.equal(first!.attributes, 0x01 | 0x80); // UTF-8 name flag added
  assert.equal(second!.attributes, 0x20);
  // Every CFDATA checksum is real (non-zero) and verified on read; a flipped byte is caught.
  let p = cab.readUInt32LE(36);
  for (let i = 0; i < 3; i++) {
    assert.notEqual(cab.readUInt32LE(p), 0);
    p += 8 + cab.readUInt16LE(p + 4);
  }
  const bad = Buffer.from(cab);
  bad[cab.readUInt32LE(36) + 8 + 10]! ^= 0x40;
  assertCabinetError(() => readCabinet(bad), /checksum mismatch in CFDATA block 1 of folder 0/);
});

test('encodeUpdateBlob writes one MSZIP member "blob" in UTF-16LE that round-trips', () => {
  const xml = readFixtureText('wsus-m0-wsusss', 'docs', '266f6222-c89d-43f2-9f8a-69340271e677-r200.xml');
  const cab = encodeUpdateBlob(xml);
  assert.deepEqual(listCabinet(cab).map((e) => [e.name, e.size, e.compression, e.dosDate, e.attributes]), [
    ['blob', xml.length * 2, 'mszip', 0, 0],
  ]);
  assert.ok(extractSingle(cab).equals(Buffer.from(xml, 'utf16le')));
  assert.equal(decodeUpdateBlob(cab), xml);
  assert.equal(decodeUpdateBlob(cab.toString('base64')), xml);
  const big = 'ünïcødé <x/> '.repeat(20_000);
  assert.equal(decodeUpdateBlob(encodeUpdateBlob(big)), big);
});

test('encodeUpdateBlob output extracts with cabextract', (t) => {
  if (!needCabextract(t)) return;
  const xml = readFixtureText('wsus-m0-wsusss', 'docs', 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml');
  assert.ok(cabextractAll(encodeUpdateBlob(xml)).get('blob')!.equals(Buffer.from(xml, 'utf16le')));
});

test('decodeUpdateBlob strips a UTF-16 BOM and rejects odd lengths and bad base64', () => {
  const withBom = writeCabinet([{ name: 'blob', data: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<a/>', 'utf16le')]) }]);
  assert.equal(decodeUpdateBlob(withBom), '<a/>');
  assertCabinetError(() => decodeUpdateBlob(writeCabinet([{ name: 'blob', data: Buffer.from('abc') }])), /odd length/);
  assertCabinetError(() => decodeUpdateBlob('this is *not* base64!'), /base64/);
  assertCabinetError(() => decodeUpdateBlob(writeCabinet([{ name: 'other', data: Buffer.from('ab') }])), /no file "blob"/);
});

// ---------------------------------------------------------------------------------------------
// LZX shapes beyond the real blobs, from our own encoder, checked by cabextract

interface LzxCase {
  name: string;
  data: Buffer;
  lzx: LzxCompressOptions;
}

let lzxCabinetsMemo: { name: string; data: Buffer; windowBits: number; cab: Buffer }[] | undefined;

/** Each LZX case written once as a cabinet (the encoder is slow on big inputs), shared by tests. */
function lzxCabinets(): { name: string; data: Buffer; windowBits: number; cab: Buffer }[] {
  lzxCabinetsMemo ??= lzxCases().map((c) => ({
    name: c.name,
    data: c.data,
    windowBits: c.lzx.windowBits ?? 21,
    cab: writeCabinet([{ name: 'data.bin', data: c.data }], { compression: 'lzx', lzx: c.lzx }),
  }));
  return lzxCabinetsMemo;
}

function lzxCases(): LzxCase[] {
  const text = Buffer.concat([FIXTURE_XML, readFixture('wsus-m0-wsusss', 'docs', '266f6222-c89d-43f2-9f8a-69340271e677-r200.xml')]);
  // Repeats far apart: matches at distances beyond 2^20, inside the 2^21 window.
  const far = Buffer.concat([text.subarray(0, 20_000), prng(200_000, 3), Buffer.alloc(1_000_000, 0x90), prng(200_000, 3), text.subarray(0, 20_000)]);
  const cases: LzxCase[] = [];
  for (const windowBits of [15, 16, 17, 18, 19, 20, 21]) {
    cases.push({ name: `text w${windowBits} verbatim`, data: text, lzx: { windowBits } });
  }
  cases.push(
    { name: 'text aligned', data: text, lzx: { blockTypes: ['aligned'] } },
    { name: 'text stored blocks', data: text, lzx: { windowBits: 15, blockTypes: ['uncompressed'] } },
    { name: 'mixed blocks spanning frames', data: text, lzx: { windowBits: 16, blockSize: 7777, blockTypes: ['verbatim', 'uncompressed', 'aligned'] } },
    { name: 'one huge block', data: text, lzx: { blockSize: 0xffffff, blockTypes: ['aligned'] } },
    { name: 'tiny blocks', data: text.subarray(0, 40_000), lzx: { blockSize: 333, blockTypes: ['aligned', 'verbatim', 'uncompressed'] } },
    // An odd stored block ending exactly on a frame boundary: its pad byte opens the next frame.
    { name: 'odd stored block at frame end', data: text, lzx: { blockSizes: [1, 32767, 32768, 5], blockTypes: ['verbatim', 'uncompressed', 'uncompressed', 'aligned'] } },
    { name: 'E8 x86-like, aligned', data: x86ish(200_000), lzx: { windowBits: 17, e8FileSize: 12_000_000, blockTypes: ['aligned'] } },
    { name: 'E8 x86-like, stored+verbatim', data: x86ish(100_000), lzx: { windowBits: 16, e8FileSize: 150_000, blockSize: 10_000, blockTypes: ['uncompressed', 'verbatim'] } },
    { name: 'E8 with a short last frame', data: x86ish(32_768 + 9), lzx: { e8FileSize: 12_000_000 } },
    { name: 'noise', data: prng(100_000, 8), lzx: { blockTypes: ['aligned'] } },
    { name: 'zeros (long matches, repeats)', data: Buffer.alloc(150_000), lzx: {} },
    { name: 'far matches in a 2^21 window', data: far, lzx: { windowBits: 21, blockSize: 200_000, blockTypes: ['aligned', 'verbatim'] } },
    { name: 'exact frame multiple', data: text.subarray(0, 65_536), lzx: { blockTypes: ['aligned'] } },
    { name: 'one byte', data: Buffer.from('A'), lzx: {} },
  );
  return cases;
}

test('LZX cabinets of many shapes decode identically in cabextract and our reader', (t) => {
  if (!needCabextract(t)) return;
  for (const c of lzxCabinets()) {
    const theirs = cabextractAll(c.cab).get('data.bin');
    assert.ok(theirs?.equals(c.data), `cabextract: ${c.name}`);
    assert.ok(readCabinet(c.cab)[0]!.data.equals(c.data), `ours: ${c.name}`);
  }
});

test('LZX round trip through our own reader (no cabextract needed)', () => {
  for (const c of lzxCabinets()) {
    assert.equal(listCabinet(c.cab)[0]!.compression, `lzx:${c.windowBits}`);
    assert.ok(readCabinet(c.cab)[0]!.data.equals(c.data), c.name);
  }
});

// ---------------------------------------------------------------------------------------------
// Structures our writer does not produce: reserves, several folders, zero checksums

test('reads reserved areas, several folders of different methods and zero checksums', (t) => {
  const a = FIXTURE_XML;
  const b = prng(50_000, 21);
  const c = x86ish(80_000);
  const lzxFrames = lzxCompress(c, { windowBits: 18, e8FileSize: 12_000_000, blockTypes: ['aligned'] });
  for (const checksums of [true, false]) {
    const cab = handCabinet({
      reserve: { header: 6, folder: 3, data: 2 },
      checksums,
      folders: [
        { typeCompress: 0, blocks: storedBlocks(Buffer.concat([a, b])) },
        { typeCompress: 1, blocks: mszipCompressBlocks(b) },
        { typeCompress: 0x1203, blocks: lzxFrames },
      ],
      files: [
        { name: 'a.xml', folder: 0, offset: 0, size: a.length },
        { name: 'b.bin', folder: 0, offset: a.length, size: b.length },
        { name: 'b2.bin', folder: 1, offset: 0, size: b.length },
        { name: 'c.exe', folder: 2, offset: 0, size: c.length },
        { name: 'c-tail.bin', folder: 2, offset: 70_000, size: 10_000 },
      ],
    });
    const files = readCabinet(cab);
    assert.deepEqual(files.map((f) => f.name), ['a.xml', 'b.bin', 'b2.bin', 'c.exe', 'c-tail.bin']);
    assert.deepEqual(files.map((f) => f.compression), ['none', 'none', 'mszip', 'lzx:18', 'lzx:18']);
    assert.ok(files[0]!.data.equals(a));
    assert.ok(files[1]!.data.equals(b));
    assert.ok(files[2]!.data.equals(b));
    assert.ok(files[3]!.data.equals(c));
    assert.ok(files[4]!.data.equals(c.subarray(70_000)));
    assert.ok(extractSingle(cab, 'c-tail.bin').equals(c.subarray(70_000)));
    if (CABEXTRACT || process.env.CI === 'true') {
      const theirs = cabextractAll(cab);
      for (const f of files) assert.ok(theirs.get(f.name)?.equals(f.data), `cabextract ${f.name}`);
    }
  }
  if (!CABEXTRACT && process.env.CI !== 'true') t.diagnostic('cabextract missing: cross-check of this cabinet skipped');
});

test('MSZIP blocks ending on a sync flush (no final deflate block) are accepted', () => {
  const data = Buffer.from('sync flushed block '.repeat(100));
  const full = deflateRawSync(data);
  // Same data as a non-final stored block: BFINAL=0, BTYPE=00, LEN, NLEN, bytes.
  const stored = Buffer.concat([Buffer.from([0x00]), Buffer.alloc(4), data]);
  stored.writeUInt16LE(data.length, 1);
  stored.writeUInt16LE(~data.length & 0xffff, 3);
  for (const body of [full, stored]) {
    const cab = handCabinet({
      folders: [{ typeCompress: 1, blocks: [{ payload: Buffer.concat([Buffer.from('CK'), body]), size: data.length }] }],
      files: [{ name: 'f', folder: 0, offset: 0, size: data.length }],
    });
    assert.ok(extractSingle(cab).equals(data));
  }
});

// ---------------------------------------------------------------------------------------------
// Bad input: always a CabinetError, never a hang, crash or huge allocation

test('bad signature and non-cabinets are refused', () => {
  assertCabinetError(() => readCabinet(Buffer.from('PK\x03\x04 not a cab')), /signature/);
  assertCabinetError(() => readCabinet(Buffer.alloc(0)), /signature/);
  assertCabinetError(() => decodeUpdateBlob(Buffer.from('<xml/>').toString('base64')), /signature/);
});

test('a cabinet cut at any offset throws CabinetError', () => {
  const real = Buffer.from(realBlobs().find((b) => b.exchange === '000013')!.base64, 'base64');
  const ours = writeCabinet([
    { name: 'a', data: sample(70_000, 2) },
    { name: 'b', data: Buffer.from('bbb') },
  ]);
  for (const cab of [real, ours]) {
    for (let cut = 0; cut < cab.length; cut++) {
      const part = Buffer.from(cab.subarray(0, cut));
      assertCabinetError(() => readCabinet(part));
      // Also with cbCabinet rewritten to the cut length, so parsing goes deeper before failing.
      if (cut >= 12) {
        part.writeUInt32LE(cut, 8);
        assertCabinetError(() => readCabinet(part));
      }
    }
  }
});

test('truncation messages say which structure is short', () => {
  const cab = writeCabinet([{ name: 'a', data: prng(40_000, 1) }], { compression: 'none' });
  const cut = Buffer.from(cab.subarray(0, cab.length - 100));
  cut.writeUInt32LE(cut.length, 8);
  assertCabinetError(() => readCabinet(cut), /^truncated cabinet: CFDATA block 2 of folder 0 needs 7232 bytes at offset \d+, 7132 remain$/);
  assertCabinetError(() => readCabinet(cab.subarray(0, 30)), /truncated cabinet: CFHEADER/);
});

test('flipped bytes in LZX data give CabinetError or a wrong-but-bounded output, never a hang', () => {
  const real = Buffer.from(realBlobs().find((b) => b.exchange === '000013')!.base64, 'base64');
  const ownLzx = writeCabinet([{ name: 'f', data: x86ish(70_000) }], {
    compression: 'lzx', lzx: { windowBits: 16, e8FileSize: 12_000_000, blockSize: 9000, blockTypes: ['aligned', 'uncompressed', 'verbatim'] },
  });
  let threw = 0;
  let decoded = 0;
  const t0 = performance.now();
  for (const cab of [real, ownLzx]) {
    const dataStart = cab.readUInt32LE(36) + 8;
    const expected = readCabinet(cab)[0]!.data;
    // About 500 positions spread over the compressed bytes, each flipped two ways.
    const step = Math.max(1, Math.floor((cab.length - dataStart) / 500));
    for (let i = dataStart; i < cab.length; i += step) {
      for (const mask of [0x01, 0xff]) {
        const bad = Buffer.from(cab);
        bad[i]! ^= mask;
        try {
          const out = readCabinet(bad, { verifyChecksums: false })[0]!.data;
          assert.equal(out.length, expected.length);
          decoded++;
        } catch (e) {
          assert.ok(e instanceof CabinetError, `byte ${i} ^ ${mask}: ${String(e)}`);
          threw++;
        }
      }
    }
  }
  assert.ok(threw > 0 && threw + decoded >= 2000);
  assert.ok(performance.now() - t0 < 60_000);
});

test('random garbage in LZX and MSZIP folders throws CabinetError', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const garbage = prng(1 + (seed * 37) % 3000, seed);
    for (const typeCompress of [0x0f03, 0x1503, 0x0001]) {
      const cab = handCabinet({
        folders: [{ typeCompress, blocks: [{ payload: garbage, size: 32768 }, { payload: garbage.subarray(0, 7), size: 100 }] }],
        files: [{ name: 'f', folder: 0, offset: 0, size: 32868 }],
      });
      try {
        readCabinet(cab);
      } catch (e) {
        assert.ok(e instanceof CabinetError, `seed ${seed} type ${typeCompress}: ${String(e)}`);
      }
    }
  }
});

test('size bombs are refused before decompressing', () => {
  // 10,000 CFDATA blocks of 2 bytes each claiming 32 KiB: 327 MB from a 100 KB cabinet.
  const blocks = Array.from({ length: 10_000 }, () => ({ payload: Buffer.from([0, 0]), size: 32768 }));
  const bomb = handCabinet({
    folders: [{ typeCompress: 0x1503, blocks }],
    files: [{ name: 'f', folder: 0, offset: 0, size: 10_000 * 32768 }],
  });
  const t0 = performance.now();
  assertCabinetError(() => readCabinet(bomb), /would expand to 327680000 bytes, over the limit of 268435456/);
  assert.ok(performance.now() - t0 < 1000);
  // A caller's own ceiling applies too.
  const small = writeCabinet([{ name: 'f', data: Buffer.alloc(100_000) }]);
  assertCabinetError(() => readCabinet(small, { maxOutputBytes: 50_000 }), /over the limit of 50000/);
  // A file claiming more than its folder holds.
  const liar = handCabinet({
    folders: [{ typeCompress: 0, blocks: storedBlocks(Buffer.from('tiny')) }],
    files: [{ name: 'f', folder: 0, offset: 0, size: 0xffffffff }],
  });
  assertCabinetError(() => readCabinet(liar), /output size mismatch: file "f" needs bytes 0\.\.4294967295 of folder 0, which holds 4/);
  // A block claiming more than 32 KiB.
  const fat = handCabinet({
    folders: [{ typeCompress: 0, blocks: [{ payload: Buffer.alloc(40_000), size: 40_000 }] }],
    files: [{ name: 'f', folder: 0, offset: 0, size: 40_000 }],
  });
  assertCabinetError(() => readCabinet(fat), /over the 32768 limit/);
});

test('unsupported and inconsistent folders are named in the error', () => {
  const files = [{ name: 'f', folder: 0, offset: 0, size: 4 }];
  const block = [{ payload: Buffer.from('data'), size: 4 }];
  assertCabinetError(() => readCabinet(handCabinet({ folders: [{ typeCompress: 2, blocks: block }], files })), /folder 0: unsupported compression: Quantum/);
  assertCabinetError(() => readCabinet(handCabinet({ folders: [{ typeCompress: 0x0e03, blocks: block }], files })), /unsupported compression: LZX window 2\^14/);
  assertCabinetError(() => readCabinet(handCabinet({ folders: [{ typeCompress: 7, blocks: block }], files })), /unsupported compression/);
  assertCabinetError(() => readCabinet(handCabinet({ folders: [{ typeCompress: 1, blocks: block }], files })), /does not start with "CK"/);
  assertCabinetError(
    () => readCabinet(handCabinet({ folders: [{ typeCompress: 0, blocks: [{ payload: Buffer.from('data'), size: 3 }] }], files: [{ ...files[0]!, size: 3 }] })),
    /output size mismatch: stored CFDATA block 1/,
  );
  const mszipLie = mszipCompressBlocks(Buffer.from('x'.repeat(1000)));
  assertCabinetError(
    () => readCabinet(handCabinet({ folders: [{ typeCompress: 1, blocks: [{ payload: mszipLie[0]!.payload, size: 999 }] }], files: [{ ...files[0]!, size: 999 }] })),
    /inflates to more than the 999 bytes/,
  );
  assertCabinetError(
    () => readCabinet(handCabinet({ folders: [{ typeCompress: 0, blocks: block }], files: [{ ...files[0]!, folder: 3 }] })),
    /names folder 3, cabinet has 1/,
  );
  assertCabinetError(() => extractSingle(writeCabinet([{ name: 'a', data: Buffer.from('1') }, { name: 'b', data: Buffer.from('2') }])), /exactly one file/);
});

test('LZX decoder rejects corrupt trees and bad offsets with clear messages', () => {
  const frame = (bytes: number[], size: number) => handCabinet({
    folders: [{ typeCompress: 0x0f03, blocks: [{ payload: Buffer.from(bytes), size }] }],
    files: [{ name: 'f', folder: 0, offset: 0, size }],
  });
  // Block type 0 right after the E8 bit.
  assertCabinetError(() => readCabinet(frame([0x00, 0x00, 0x00, 0x00], 10)), /corrupt LZX data in frame 1: invalid block type 0/);
  // Verbatim block whose pretree lengths are all 1: over-subscribed.
  const w = bitsToBytes('0' + '001' + '0'.repeat(16) + '00001010' + '0001'.repeat(20));
  assertCabinetError(() => readCabinet(frame(w, 10)), /corrupt Huffman tree \(main pretree\): code lengths are over-subscribed/);
  // A stored block hands R0..R2 to the next block; a verbatim block then repeats R0. Patching
  // R0 to 0 or past the window must be refused, not copied from outside the output.
  const data = Buffer.alloc(300, 0x61);
  const good = writeCabinet([{ name: 'f', data }], { compression: 'lzx', lzx: { windowBits: 15, blockSizes: [6, 294], blockTypes: ['uncompressed', 'verbatim'] } });
  assert.ok(extractSingle(good).equals(data));
  const r0At = good.readUInt32LE(36) + 8 + 4; // E8 bit + 27 header bits, padded to 32 bits
  assert.equal(good.readUInt32LE(r0At), 1);
  for (const [r0, message] of [[0, /match offset 0 at output position 6 is outside the window/], [0x10000, /match offset 65536 at output position 6/]] as const) {
    const bad = Buffer.from(good);
    bad.writeUInt32LE(r0, r0At);
    assertCabinetError(() => readCabinet(bad, { verifyChecksums: false }), message);
  }
});

function bitsToBytes(bits: string): number[] {
  const padded = bits.padEnd(Math.ceil(bits.length / 16) * 16, '0');
  const out: number[] = [];
  for (let i = 0; i < padded.length; i += 16) {
    const word = parseInt(padded.slice(i, i + 16), 2);
    out.push(word & 0xff, word >>> 8);
  }
  return out;
}

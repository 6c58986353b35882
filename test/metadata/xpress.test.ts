import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import {
  XpressError, decodeXpressBody, encodeXpressBody, xpressCompress, xpressDecompress,
} from '../../src/metadata/xpress.ts';
import { fixturePath, readFixture } from '../support/fixtures.ts';
import { prng } from '../support/random.ts';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function assertXpressError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof XpressError, `expected XpressError, got ${String(e)}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

function roundTrip(data: Buffer, label: string): Buffer {
  const packed = xpressCompress(data);
  assert.ok(xpressDecompress(packed, data.length).equals(data), `${label} (known size)`);
  assert.ok(xpressDecompress(packed).equals(data), `${label} (end marker)`);
  return packed;
}

/** Every fixture XML body we have: update documents, WUSP fragments, native scan answers. */
function fixtureXml(): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  for (const dir of [['wsus-m0-wsusss', 'docs'], ['wsus-m0-wsusss', 'wusp-reference'], ['wsus-m0-cbs']]) {
    for (const name of readdirSync(fixturePath(...dir)).sort()) {
      if (name.endsWith('.xml')) out.push({ name: `${dir.join('/')}/${name}`, data: readFixture(...dir, name) });
    }
  }
  const scan = fixturePath('wsus-m0-native', 'scan');
  for (const entry of readdirSync(scan, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name === 'response.body') {
      const path = `${entry.parentPath}/${entry.name}`.slice(scan.length + 1);
      out.push({ name: `scan/${path}`, data: readFixture('wsus-m0-native', 'scan', ...path.split('/')) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// MS-XCA section 3.1 (Plain LZ77) examples: exact bytes both ways

test('MS-XCA example: 26 literals "abcdefghijklmnopqrstuvwxyz"', () => {
  const text = Buffer.from('abcdefghijklmnopqrstuvwxyz');
  const expected = Buffer.concat([hex('3f000000'), text]);
  assert.ok(xpressCompress(text).equals(expected), xpressCompress(text).toString('hex'));
  assert.ok(xpressDecompress(expected, 26).equals(text));
  assert.ok(xpressDecompress(expected).equals(text));
});

test('MS-XCA example: "abc" repeated to 300 bytes is 3 literals and one long match', () => {
  const text = Buffer.from('abc'.repeat(100));
  const expected = hex('ffffff1f 616263 1700 0f ff 2601');
  assert.ok(xpressCompress(text).equals(expected), xpressCompress(text).toString('hex'));
  assert.ok(xpressDecompress(expected, 300).equals(text));
  assert.ok(xpressDecompress(expected).equals(text));
});

// ---------------------------------------------------------------------------------------------
// Round trips

test('round trip: empty, tiny, random, repetitive and mixed inputs', () => {
  roundTrip(Buffer.alloc(0), 'empty');
  assert.deepEqual([...xpressCompress(Buffer.alloc(0))], [0xff, 0xff, 0xff, 0xff]);
  for (let n = 1; n <= 70; n++) roundTrip(prng(n, n), `random ${n}`);
  for (let n = 1; n <= 70; n++) roundTrip(Buffer.alloc(n, 0x41), `run ${n}`);
  const random = prng(100_000, 7);
  const packed = roundTrip(random, 'random 100k');
  assert.ok(packed.length <= random.length + 4 * Math.ceil(random.length / 32) + 4);
  roundTrip(Buffer.from('the quick brown fox '.repeat(3000)), 'text');
  const mixed = Buffer.concat([prng(5000, 1), Buffer.alloc(3000), prng(5000, 1), Buffer.from('xyz'.repeat(999))]);
  roundTrip(mixed, 'mixed');
});

test('round trip: every match length 3..600 and lengths at each escape boundary', () => {
  const prefix = prng(700, 11);
  const lengths = [...Array.from({ length: 598 }, (_, i) => i + 3), 1000, 4096, 65535 + 3, 65535 + 22, 70_000];
  for (const len of lengths) {
    // The tail continues the prefix with period 700 for exactly len bytes, then breaks it.
    const tail = Buffer.alloc(len + 1);
    for (let i = 0; i < len; i++) tail[i] = prefix[i % 700]!;
    tail[len] = prefix[len % 700]! ^ 0x80;
    const data = Buffer.concat([prefix, tail]);
    roundTrip(data, `match length ${len}`);
  }
  // Matches at the largest offset (8192) and just beyond it (must not be used).
  for (const gap of [8189, 8190, 8191, 8192, 8193]) {
    const head = prng(20, 5);
    const data = Buffer.concat([head, prng(gap - 20, 6), head]);
    roundTrip(data, `offset ${gap}`);
  }
});

test('long runs use the 16-bit and 32-bit length escapes', () => {
  for (const [n, u32] of [[300, false], [65_000, false], [65_538, false], [65_540, true], [200_000, true], [1_000_000, true]] as const) {
    const data = Buffer.alloc(n, 0x61);
    const packed = roundTrip(data, `run of ${n}`);
    // flags, literal, token 0x0007, nibble 0x0f, 0xff, then u16 (or 0x0000 + u32) of length - 3
    const total = n - 1 - 3;
    const tail = u32 ? Buffer.concat([hex('0000'), Buffer.from(new Uint32Array([total]).buffer)]) : Buffer.from(new Uint16Array([total]).buffer);
    assert.ok(packed.subarray(5).equals(Buffer.concat([hex('0700 0f ff'), tail])), `${n}: ${packed.toString('hex')}`);
  }
});

test('round trip of every fixture XML body, compressing well', () => {
  const files = fixtureXml();
  assert.ok(files.length >= 20, `found ${files.length} fixture XML bodies`);
  for (const f of files) {
    const packed = roundTrip(f.data, f.name);
    if (f.data.length > 2000) assert.ok(packed.length < f.data.length * 0.6, `${f.name}: ${packed.length}/${f.data.length}`);
    const body = encodeXpressBody(f.data);
    assert.ok(decodeXpressBody(body).equals(f.data), `${f.name} body`);
    const utf16 = Buffer.from(f.data.toString('utf8'), 'utf16le');
    assert.ok(decodeXpressBody(encodeXpressBody(utf16, 65535)).equals(utf16), `${f.name} utf-16`);
  }
});

// ---------------------------------------------------------------------------------------------
// HTTP framing

test('encodeXpressBody frames 16352-byte blocks; stored when compression does not help', () => {
  const text = Buffer.from('<UpdateInfo><ID>1</ID></UpdateInfo>'.repeat(2000)); // 70,000 bytes
  const body = encodeXpressBody(text);
  const blocks: [number, number][] = [];
  for (let p = 0; p < body.length;) {
    const original = body.readUInt32LE(p);
    const compressed = body.readUInt32LE(p + 4);
    blocks.push([original, compressed]);
    p += 8 + compressed;
  }
  assert.deepEqual(blocks.map((b) => b[0]), [16352, 16352, 16352, 16352, 4592]);
  assert.ok(blocks.every(([o, c]) => c < o / 4));
  assert.ok(decodeXpressBody(body).equals(text));

  const noise = prng(40_000, 3);
  const stored = encodeXpressBody(noise);
  assert.equal(stored.readUInt32LE(0), 16352);
  assert.equal(stored.readUInt32LE(4), 16352); // equal sizes: the block is stored raw
  assert.ok(stored.subarray(8, 8 + 16352).equals(noise.subarray(0, 16352)));
  assert.ok(decodeXpressBody(stored).equals(noise));

  assert.equal(encodeXpressBody(Buffer.alloc(0)).length, 0);
  assert.equal(decodeXpressBody(Buffer.alloc(0)).length, 0);
  for (const size of [1, 100, 65535]) assert.ok(decodeXpressBody(encodeXpressBody(text, size)).equals(text), `block ${size}`);
  assertXpressError(() => encodeXpressBody(text, 65536), /block size/);
});

test('decodeXpressBody reads a hand-made body mixing stored and compressed blocks', () => {
  const a = Buffer.from('stored block');
  const b = Buffer.from('abc'.repeat(100));
  const header = (o: number, c: number) => Buffer.from(new Uint32Array([o, c]).buffer);
  const compressed = hex('ffffff1f 616263 1700 0f ff 2601');
  const body = Buffer.concat([header(a.length, a.length), a, header(300, compressed.length), compressed]);
  assert.equal(decodeXpressBody(body).toString(), a.toString() + b.toString());
});

// ---------------------------------------------------------------------------------------------
// Bad input: always an XpressError, bounded work and output

test('truncated bodies throw XpressError unless cut exactly between blocks', () => {
  const data = Buffer.concat([Buffer.from('<a>hello</a>'.repeat(3000)), prng(20_000, 2)]);
  const body = encodeXpressBody(data);
  const boundaries = new Set<number>([0]);
  for (let p = 0; p < body.length;) {
    p += 8 + body.readUInt32LE(p + 4);
    boundaries.add(p);
  }
  const cuts = new Set<number>();
  for (let cut = 0; cut < body.length; cut += 7) cuts.add(cut);
  for (const b of boundaries) for (let d = -9; d <= 9; d++) if (b + d >= 0 && b + d < body.length) cuts.add(b + d);
  for (const cut of cuts) {
    const part = body.subarray(0, cut);
    if (boundaries.has(cut)) assert.ok(data.subarray(0, decodeXpressBody(part).length).equals(decodeXpressBody(part)));
    else assertXpressError(() => decodeXpressBody(part));
  }
});

test('truncated and lying streams are refused with a reason', () => {
  const packed = xpressCompress(Buffer.from('abc'.repeat(100)));
  for (let cut = 0; cut < packed.length; cut++) {
    assertXpressError(() => xpressDecompress(packed.subarray(0, cut), 300));
  }
  assertXpressError(() => xpressDecompress(packed, 299), /past the 299 bytes/);
  assertXpressError(() => xpressDecompress(packed, 301), /ends after 300 bytes, header announces 301/);
  // A match reaching before the start of the output.
  assertXpressError(() => xpressDecompress(hex('00000040 61 1000'), 5), /reaches 3 bytes back, before the start/);
  // The 16-bit length escape must hold at least 22.
  assertXpressError(() => xpressDecompress(hex('00000040 61 0700 0f ff 1500'), 100), /invalid match length/);
  const header = (o: number, c: number) => Buffer.from(new Uint32Array([o, c]).buffer);
  assertXpressError(() => decodeXpressBody(Buffer.concat([header(1_000_000, 4), hex('ffffffff')])), /over the 65535-byte block limit/);
  assertXpressError(() => decodeXpressBody(Buffer.concat([header(100, 50), Buffer.alloc(10)])), /block 1 needs 50 bytes at offset 8, 10 remain/);
  assertXpressError(() => decodeXpressBody(Buffer.concat([header(5, 5), Buffer.from('hello'), Buffer.alloc(3)])), /block 2 header needs 8 bytes/);
});

test('output is bounded: size bombs and caps', () => {
  // A 65,535-byte block announced by a tiny payload fails fast instead of allocating or looping.
  const header = (o: number, c: number) => Buffer.from(new Uint32Array([o, c]).buffer);
  assertXpressError(() => decodeXpressBody(Buffer.concat([header(65535, 4), hex('00000000')])), /block 1/);
  // Many honest blocks still stop at the caller's ceiling.
  const body = encodeXpressBody(Buffer.alloc(200_000));
  assert.ok(body.length < 2000);
  assertXpressError(() => decodeXpressBody(body, 100_000), /past the 100000-byte limit/);
  // Without a known size the end-marker decoder is capped too.
  assertXpressError(() => xpressDecompress(xpressCompress(Buffer.alloc(100_000)), undefined, 50_000), /exceeds the 50000-byte limit/);
});

test('flipped bytes give XpressError or bounded output, never a hang', () => {
  const data = Buffer.concat(fixtureXml().slice(0, 3).map((f) => f.data));
  const body = encodeXpressBody(data);
  let threw = 0;
  const t0 = performance.now();
  for (let i = 0; i < body.length; i += Math.max(1, Math.floor(body.length / 700))) {
    for (const mask of [0x01, 0x10, 0xff]) {
      const bad = Buffer.from(body);
      bad[i]! ^= mask;
      try {
        const out = decodeXpressBody(bad);
        assert.ok(out.length <= 65535 * Math.ceil(bad.length / 8));
      } catch (e) {
        assert.ok(e instanceof XpressError, `byte ${i} ^ ${mask}: ${String(e)}`);
        threw++;
      }
    }
  }
  assert.ok(threw > 0);
  assert.ok(performance.now() - t0 < 30_000);
});

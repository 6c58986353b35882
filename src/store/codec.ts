// Documents and fragments are stored as bytes with a one-byte codec tag, so the format can change
// (or a better codec be added) without rewriting old rows.
//
// Why compress at all: a real Windows 11 catalog holds 5,252 Core fragments totalling 1,184 MB
// (CBS manifests, up to 47 MB each; fixtures/wsus-m0-cbs/catalog-stats.json), and update XML
// deflates to about a fifth of its size (0.22-0.23 on the fixture documents, level 1 or 6 alike).
// PostgreSQL's TOAST would only recompress with a weaker codec, and SQLite compresses nothing.
//
// Why only big texts: every zlib call builds a fresh stream (~256 KB of state), which costs
// 100-200 µs whatever the input; on this project's 2 KB documents that made compression the
// largest single cost of an import, for a few KB saved. The median Core fragment is 563 bytes
// while the bytes sit in the large ones (p99 413 KB), so texts under MIN_COMPRESS stay raw and
// nearly all the saving remains. Inflate runs at ~300 MB/s, so reading a large fragment stays cheap.
import { deflateRawSync, inflateRawSync } from 'node:zlib';

const RAW = 0;
const DEFLATE_RAW = 1;

const MIN_COMPRESS = 4096;

const decoder = new TextDecoder('utf-8', { fatal: true });

export function packText(text: string): Uint8Array {
  const length = Buffer.byteLength(text, 'utf8');
  if (length >= MIN_COMPRESS) {
    const packed = deflateRawSync(Buffer.from(text, 'utf8'), { level: 1 });
    if (packed.length < length) {
      const out = Buffer.allocUnsafe(packed.length + 1);
      out[0] = DEFLATE_RAW;
      packed.copy(out, 1);
      return out;
    }
  }
  const out = Buffer.allocUnsafe(length + 1);
  out[0] = RAW;
  out.write(text, 1, 'utf8');
  return out;
}

export function unpackText(bytes: Uint8Array): string {
  const tag = bytes[0];
  const body = bytes.subarray(1);
  switch (tag) {
    case RAW:
      return decoder.decode(body);
    case DEFLATE_RAW:
      return decoder.decode(inflateRawSync(body));
    default:
      throw new Error(`stored text has unknown codec tag ${String(tag)}`);
  }
}

/** Text of `packText('')`, for columns that must not be null. */
export const EMPTY_PACKED: Uint8Array = Uint8Array.of(RAW);

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
import { deflateRaw, inflateRawSync } from 'node:zlib';
import { promisify } from 'node:util';

const deflateRawAsync = promisify(deflateRaw);

const RAW = 0;
const DEFLATE_RAW = 1;

const MIN_COMPRESS = 4096;

const decoder = new TextDecoder('utf-8', { fatal: true });

function tagged(tag: number, body: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

/** The stored form of a text; the deflate runs on libuv's thread pool, so imports compress on the other core. */
export async function packText(text: string): Promise<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length >= MIN_COMPRESS) {
    const packed = await deflateRawAsync(bytes, { level: 1 });
    if (packed.length < bytes.length) return tagged(DEFLATE_RAW, packed);
  }
  return tagged(RAW, bytes);
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


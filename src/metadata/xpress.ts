/**
 * XPRESS as WSUS speaks it on HTTP (`Content-Encoding: xpress`, MS-WUSP 2.1.1): the body is a
 * sequence of blocks, each an 8-byte header (LE u32 uncompressed size, LE u32 compressed size)
 * followed by the payload, which is stored as-is when both sizes are equal and is otherwise
 * MS-XCA "Plain LZ77" (the same format MS-DRSR calls LZ77+DIRECT2 / CompressOrDecompressWin2k3).
 *
 * Plain LZ77 in short: 32-bit little-endian flag words, read from the top bit down, say for
 * each following item whether it is a literal byte (0) or a match (1). A match is a LE u16:
 * offset-1 in the top 13 bits, length-3 in the low 3; length 7 escapes to a shared nibble,
 * then a byte, then a u16, then a u32. Matches reach back at most 8192 bytes.
 */

export class XpressError extends Error {
  override name = 'XpressError';
}

/** Largest block MS-WUSP allows, for either size field. */
export const XPRESS_MAX_BLOCK = 65535;
/** Block size a real WSUS was seen using. */
export const XPRESS_DEFAULT_BLOCK = 16352;
export const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

const MAX_OFFSET = 8192;
const MIN_MATCH = 3;

/**
 * Decompresses one Plain LZ77 stream. With `outputSize` (what the framing promises) decoding
 * stops there and must land exactly on it; without, it stops at the end marker the format
 * defines (a match flag with no input left) and output is capped at `maxOutputBytes`.
 */
export function xpressDecompress(
  input: Uint8Array,
  outputSize?: number,
  maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES,
): Buffer {
  const known = outputSize !== undefined;
  if (known && (!Number.isInteger(outputSize) || outputSize < 0 || outputSize > maxOutputBytes)) {
    throw new XpressError(`xpress: output size ${outputSize} is not in 0..${maxOutputBytes}`);
  }
  const limit = known ? outputSize : maxOutputBytes;
  let out = Buffer.allocUnsafe(known ? outputSize : Math.min(limit, Math.max(64, input.length * 4)));
  const inLen = input.length;
  let ip = 0;
  let op = 0;
  let flags = 0;
  let flagCount = 0;
  let nibbleAt = -1;

  const ensureRoom = (n: number): void => {
    if (op + n > limit) {
      throw new XpressError(
        known
          ? `xpress: data decodes past the ${outputSize} bytes the header announces`
          : `xpress: output exceeds the ${maxOutputBytes}-byte limit`,
      );
    }
    if (op + n > out.length) {
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(out.length * 2, op + n)));
      out.copy(grown, 0, 0, op);
      out = grown;
    }
  };
  const truncated = (what: string): never => {
    throw new XpressError(`xpress: input ends inside ${what} at offset ${ip} (input is ${inLen} bytes)`);
  };

  for (;;) {
    if (known && op === outputSize) break;
    if (flagCount === 0) {
      if (ip + 4 > inLen) truncated('a flag word');
      flags = (input[ip]! | (input[ip + 1]! << 8) | (input[ip + 2]! << 16) | (input[ip + 3]! << 24)) >>> 0;
      ip += 4;
      flagCount = 32;
    }
    flagCount--;
    if (((flags >>> flagCount) & 1) === 0) {
      if (ip >= inLen) truncated('a literal');
      ensureRoom(1);
      out[op++] = input[ip++]!;
      continue;
    }
    if (ip === inLen) {
      if (known) throw new XpressError(`xpress: data ends after ${op} bytes, header announces ${outputSize}`);
      break;
    }
    if (ip + 2 > inLen) truncated('a match');
    const token = input[ip]! | (input[ip + 1]! << 8);
    ip += 2;
    let length = token & 7;
    const offset = (token >>> 3) + 1;
    if (length === 7) {
      if (nibbleAt < 0) {
        if (ip >= inLen) truncated('a match length');
        length = input[ip]! & 15;
        nibbleAt = ip++;
      } else {
        length = input[nibbleAt]! >>> 4;
        nibbleAt = -1;
      }
      if (length === 15) {
        if (ip >= inLen) truncated('a match length');
        length = input[ip++]!;
        if (length === 255) {
          if (ip + 2 > inLen) truncated('a match length');
          length = input[ip]! | (input[ip + 1]! << 8);
          ip += 2;
          if (length === 0) {
            if (ip + 4 > inLen) truncated('a match length');
            length = (input[ip]! | (input[ip + 1]! << 8) | (input[ip + 2]! << 16) | (input[ip + 3]! << 24)) >>> 0;
            ip += 4;
          }
          if (length < 15 + 7) throw new XpressError(`xpress: invalid match length at offset ${ip}`);
          length -= 15 + 7;
        }
        length += 15;
      }
      length += 7;
    }
    length += MIN_MATCH;
    if (offset > op) {
      throw new XpressError(`xpress: match at output position ${op} reaches ${offset} bytes back, before the start`);
    }
    ensureRoom(length);
    let src = op - offset;
    if (offset >= length) {
      out.copy(out, op, src, src + length);
      op += length;
    } else {
      const stop = op + length;
      while (op < stop) out[op++] = out[src++]!;
    }
  }
  return op === out.length ? out : out.subarray(0, op);
}

/** Compresses with Plain LZ77 (greedy parse over 3-byte hash chains). */
export function xpressCompress(input: Uint8Array): Buffer {
  const n = input.length;
  // Worst case: every byte a literal, plus one flag word per 32 items and a closing one.
  const out = Buffer.allocUnsafe(n + 4 * Math.ceil(n / 32) + 8);
  let op = 4;
  let flagPos = 0;
  let flags = 0;
  let flagCount = 0;
  let nibbleAt = -1;

  const hashBits = Math.min(16, Math.max(8, Math.ceil(Math.log2(n + 1))));
  const head = new Int32Array(1 << hashBits).fill(-1);
  const chain = new Int32Array(MAX_OFFSET);
  const hashAt = (p: number): number =>
    Math.imul(input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16), 0x9e3779b1) >>> (32 - hashBits);
  let inserted = 0;
  const insertUpTo = (p: number): void => {
    for (; inserted < p; inserted++) {
      if (inserted + MIN_MATCH > n) continue;
      const h = hashAt(inserted);
      chain[inserted & (MAX_OFFSET - 1)] = head[h]!;
      head[h] = inserted;
    }
  };
  const pushFlag = (bit: number): void => {
    flags = ((flags << 1) | bit) >>> 0;
    if (++flagCount === 32) {
      out.writeUInt32LE(flags, flagPos);
      flagPos = op;
      op += 4;
      flags = 0;
      flagCount = 0;
    }
  };

  let p = 0;
  while (p < n) {
    insertUpTo(p);
    let bestLen = 0;
    let bestOff = 0;
    if (p + MIN_MATCH <= n) {
      const maxLen = n - p;
      let cand = head[hashAt(p)]!;
      for (let depth = 0; depth < 24 && cand >= 0 && p - cand <= MAX_OFFSET; depth++) {
        if (input[cand + bestLen] === input[p + bestLen]) {
          let l = 0;
          while (l < maxLen && input[cand + l] === input[p + l]) l++;
          if (l > bestLen) {
            bestLen = l;
            bestOff = p - cand;
            if (l === maxLen) break;
          }
        }
        const next = chain[cand & (MAX_OFFSET - 1)]!;
        if (next >= cand) break; // slot reused by a newer position: chain ends here
        cand = next;
      }
    }
    if (bestLen < MIN_MATCH) {
      out[op++] = input[p++]!;
      pushFlag(0);
      continue;
    }
    let len = bestLen - MIN_MATCH;
    const token = (bestOff - 1) << 3;
    if (len < 7) {
      out.writeUInt16LE(token | len, op);
      op += 2;
    } else {
      out.writeUInt16LE(token | 7, op);
      op += 2;
      len -= 7;
      const nib = Math.min(len, 15);
      if (nibbleAt < 0) {
        nibbleAt = op;
        out[op++] = nib;
      } else {
        out[nibbleAt] = out[nibbleAt]! | (nib << 4);
        nibbleAt = -1;
      }
      if (len >= 15) {
        len -= 15;
        if (len < 255) {
          out[op++] = len;
        } else {
          out[op++] = 255;
          const total = bestLen - MIN_MATCH;
          if (total <= 0xffff) {
            out.writeUInt16LE(total, op);
            op += 2;
          } else {
            out.writeUInt16LE(0, op);
            out.writeUInt32LE(total, op + 2);
            op += 6;
          }
        }
      }
    }
    pushFlag(1);
    p += bestLen;
  }
  // Close: the unused flag bits are ones, so the decoder meets a "match" with no input left.
  const rest = 32 - flagCount;
  flags = rest === 32 ? 0xffffffff : (((flags << rest) >>> 0) | ((2 ** rest) - 1)) >>> 0;
  out.writeUInt32LE(flags, flagPos);
  return out.subarray(0, op);
}

/** Decodes a `Content-Encoding: xpress` body into the original bytes. */
export function decodeXpressBody(body: Uint8Array, maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  let p = 0;
  for (let block = 1; p < body.length; block++) {
    if (p + 8 > body.length) {
      throw new XpressError(`xpress: block ${block} header needs 8 bytes at offset ${p}, ${body.length - p} remain`);
    }
    const original = (body[p]! | (body[p + 1]! << 8) | (body[p + 2]! << 16) | (body[p + 3]! << 24)) >>> 0;
    const compressed = (body[p + 4]! | (body[p + 5]! << 8) | (body[p + 6]! << 16) | (body[p + 7]! << 24)) >>> 0;
    p += 8;
    if (original > XPRESS_MAX_BLOCK || compressed > XPRESS_MAX_BLOCK) {
      throw new XpressError(
        `xpress: block ${block} claims ${original} bytes from ${compressed}, over the ${XPRESS_MAX_BLOCK}-byte block limit`,
      );
    }
    if (compressed > body.length - p) {
      throw new XpressError(`xpress: block ${block} needs ${compressed} bytes at offset ${p}, ${body.length - p} remain`);
    }
    if (total + original > maxOutputBytes) {
      throw new XpressError(`xpress: body expands past the ${maxOutputBytes}-byte limit`);
    }
    const payload = body.subarray(p, p + compressed);
    p += compressed;
    let data: Buffer;
    if (compressed === original) {
      data = Buffer.from(payload);
    } else {
      try {
        data = xpressDecompress(payload, original);
      } catch (e) {
        if (e instanceof XpressError) throw new XpressError(`xpress block ${block}: ${e.message.replace(/^xpress: /, '')}`);
        throw e;
      }
    }
    parts.push(data);
    total += original;
  }
  return Buffer.concat(parts, total);
}

/** Encodes a body for `Content-Encoding: xpress`; blocks that do not shrink are stored. */
export function encodeXpressBody(data: Uint8Array, blockSize = XPRESS_DEFAULT_BLOCK): Buffer {
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > XPRESS_MAX_BLOCK) {
    throw new XpressError(`xpress: block size ${blockSize} is not in 1..${XPRESS_MAX_BLOCK}`);
  }
  const parts: Uint8Array[] = [];
  for (let s = 0; s < data.length; s += blockSize) {
    const chunk = data.subarray(s, Math.min(data.length, s + blockSize));
    const packed = xpressCompress(chunk);
    // Equal sizes mean "stored", so a compressed payload must be strictly smaller.
    const payload = packed.length < chunk.length ? packed : chunk;
    const header = Buffer.allocUnsafe(8);
    header.writeUInt32LE(chunk.length, 0);
    header.writeUInt32LE(payload.length, 4);
    parts.push(header, payload);
  }
  return Buffer.concat(parts);
}

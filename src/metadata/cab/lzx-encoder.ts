/**
 * LZX compression for cabinets. It exists mainly so the decoder can be tested on every block
 * shape (verbatim, aligned-offset, stored, blocks spanning frames, repeated offsets, large
 * windows, E8 translation) against an independent decoder such as cabextract, since no Debian
 * tool writes LZX. It is a correct, simple compressor (greedy hash-chain parse), not a
 * competitive one.
 *
 * Output is one payload per 32 KiB frame: the bitstream is padded to 16 bits at each frame
 * end, so every frame's bytes can go in their own CFDATA block.
 */
import { CabinetError } from './errors.ts';
import { LZX_EXTRA_BITS, LZX_FRAME_SIZE, LZX_POSITION_BASE, lzxPositionSlots } from './lzx.ts';

export type LzxBlockType = 'verbatim' | 'aligned' | 'uncompressed';

export interface LzxCompressOptions {
  /** 15..21 (default 21, as WSUS uses). */
  windowBits?: number;
  /** Uncompressed bytes per LZX block (default 32768); blocks may span frames. */
  blockSize?: number;
  /** Block sizes used in turn, overriding blockSize (to place block ends exactly). */
  blockSizes?: readonly number[];
  /** Block types, used in turn (default all verbatim). */
  blockTypes?: readonly LzxBlockType[];
  /** E8 translation size to announce and apply; 0 turns translation off (default 0). */
  e8FileSize?: number;
  /** Hash-chain search depth (default 32). */
  chainDepth?: number;
}

export interface LzxFrame {
  payload: Uint8Array;
  size: number;
}

const NUM_CHARS = 256;
const MIN_MATCH = 2;
const MAX_MATCH = 257;
const NUM_PRIMARY_LENGTHS = 7;
const LENGTH_TREE_SIZE = 249;
const E8_MAX_FRAMES = 32768;

class BitWriter {
  buf = new Uint8Array(1 << 16);
  len = 0;
  private acc = 0;
  private accBits = 0;

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes n <= 16 bits, most significant first, packed into little-endian 16-bit words. */
  bits(value: number, n: number): void {
    if (n === 0) return;
    this.acc = ((this.acc << n) | (value & ((1 << n) - 1))) >>> 0;
    this.accBits += n;
    if (this.accBits >= 16) {
      this.accBits -= 16;
      const w = (this.acc >>> this.accBits) & 0xffff;
      this.acc &= (1 << this.accBits) - 1;
      this.grow(2);
      this.buf[this.len++] = w & 0xff;
      this.buf[this.len++] = w >>> 8;
    }
  }

  aligned(): boolean {
    return this.accBits === 0;
  }

  /** Pads with zero bits to the next 16-bit boundary (nothing when already there). */
  align(): void {
    if (this.accBits > 0) this.bits(0, 16 - this.accBits);
  }

  bytes(data: Uint8Array): void {
    if (this.accBits !== 0) throw new Error('LZX writer: byte write while not aligned');
    this.grow(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }
}

/** Huffman code lengths no longer than maxLen; a lone symbol gets a partner so the code is complete. */
export function huffmanLengths(freq: Uint32Array | number[], maxLen: number): Uint8Array {
  const n = freq.length;
  const lens = new Uint8Array(n);
  const f = Array.from(freq, (x) => x);
  const used = f.reduce((c, x) => c + (x > 0 ? 1 : 0), 0);
  if (used === 0) return lens;
  if (used === 1) {
    const s = f.findIndex((x) => x > 0);
    lens[s] = 1;
    lens[s === 0 ? 1 : 0] = 1;
    return lens;
  }
  for (;;) {
    // Plain Huffman over an array-based priority list; alphabets here are at most 656 symbols.
    const nodes: { w: number; sym: number; l: number; r: number }[] = [];
    let live: number[] = [];
    for (let s = 0; s < n; s++) {
      if (f[s]! > 0) {
        nodes.push({ w: f[s]!, sym: s, l: -1, r: -1 });
        live.push(nodes.length - 1);
      }
    }
    live.sort((a, b) => nodes[a]!.w - nodes[b]!.w || nodes[a]!.sym - nodes[b]!.sym);
    while (live.length > 1) {
      const a = live.shift()!;
      const b = live.shift()!;
      nodes.push({ w: nodes[a]!.w + nodes[b]!.w, sym: -1, l: a, r: b });
      const id = nodes.length - 1;
      let i = 0;
      while (i < live.length && nodes[live[i]!]!.w <= nodes[id]!.w) i++;
      live = [...live.slice(0, i), id, ...live.slice(i)];
    }
    let tooLong = false;
    const walk = (id: number, depth: number): void => {
      const node = nodes[id]!;
      if (node.sym >= 0) {
        lens[node.sym] = depth;
        if (depth > maxLen) tooLong = true;
        return;
      }
      walk(node.l, depth + 1);
      walk(node.r, depth + 1);
    };
    walk(live[0]!, 0);
    if (!tooLong) return lens;
    // Flatten the distribution and retry; converges quickly for the alphabets used here.
    for (let s = 0; s < n; s++) if (f[s]! > 0) f[s] = (f[s]! >>> 1) | 1;
    lens.fill(0);
  }
}

/** Canonical codes for the given lengths, as the decoder assigns them. */
function canonicalCodes(lens: Uint8Array): Uint32Array {
  const count = new Uint32Array(17);
  for (const l of lens) if (l) count[l]!++;
  const next = new Uint32Array(17);
  for (let len = 1, code = 0; len <= 16; len++) {
    code = (code + count[len - 1]!) << 1;
    next[len] = code;
  }
  const codes = new Uint32Array(lens.length);
  for (let s = 0; s < lens.length; s++) if (lens[s]) codes[s] = next[lens[s]!]!++;
  return codes;
}

/** Writes lens[first..last) as pretree-coded deltas against prev, then commits them to prev. */
function writeLengths(w: BitWriter, prev: Uint8Array, lens: Uint8Array, first: number, last: number): void {
  const ops: { sym: number; extraBits: number; extra: number; d?: number }[] = [];
  let i = first;
  while (i < last) {
    let run = 1;
    while (i + run < last && lens[i + run] === lens[i]) run++;
    if (lens[i] === 0 && run >= 20) {
      const r = Math.min(run, 51);
      ops.push({ sym: 18, extraBits: 5, extra: r - 20 });
      i += r;
    } else if (lens[i] === 0 && run >= 4) {
      const r = Math.min(run, 19);
      ops.push({ sym: 17, extraBits: 4, extra: r - 4 });
      i += r;
    } else if (run >= 4) {
      const r = Math.min(run, 5);
      ops.push({ sym: 19, extraBits: 1, extra: r - 4, d: (prev[i]! + 17 - lens[i]!) % 17 });
      i += r;
    } else {
      ops.push({ sym: (prev[i]! + 17 - lens[i]!) % 17, extraBits: 0, extra: 0 });
      i++;
    }
  }
  const freq = new Uint32Array(20);
  for (const op of ops) {
    freq[op.sym]!++;
    if (op.d !== undefined) freq[op.d]!++;
  }
  const preLens = huffmanLengths(freq, 15);
  const preCodes = canonicalCodes(preLens);
  for (let s = 0; s < 20; s++) w.bits(preLens[s]!, 4);
  for (const op of ops) {
    w.bits(preCodes[op.sym]!, preLens[op.sym]!);
    w.bits(op.extra, op.extraBits);
    if (op.d !== undefined) w.bits(preCodes[op.d]!, preLens[op.d]!);
  }
  prev.set(lens.subarray(first, last), first);
}

/** Applies the encoder side of E8 translation (the decoder undoes it). */
function applyE8(data: Uint8Array, fileSize: number): Uint8Array {
  const out = Uint8Array.from(data);
  for (let start = 0, f = 0; start < out.length && f < E8_MAX_FRAMES; start += LZX_FRAME_SIZE, f++) {
    const size = Math.min(LZX_FRAME_SIZE, out.length - start);
    if (size <= 10) continue;
    const end = start + size - 10;
    let i = start;
    while (i < end) {
      if (out[i] !== 0xe8) {
        i++;
        continue;
      }
      const rel = out[i + 1]! | (out[i + 2]! << 8) | (out[i + 3]! << 16) | (out[i + 4]! << 24);
      let abs = rel;
      if (rel >= -i && rel < fileSize - i) abs = rel + i;
      else if (rel >= fileSize - i && rel < fileSize) abs = rel - fileSize;
      out[i + 1] = abs & 0xff;
      out[i + 2] = (abs >>> 8) & 0xff;
      out[i + 3] = (abs >>> 16) & 0xff;
      out[i + 4] = (abs >>> 24) & 0xff;
      i += 5;
    }
  }
  return out;
}

function slotOf(formatted: number, slots: number): number {
  let lo = 3;
  let hi = slots - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (LZX_POSITION_BASE[mid]! <= formatted) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function lzxCompress(input: Uint8Array, options: LzxCompressOptions = {}): LzxFrame[] {
  const windowBits = options.windowBits ?? 21;
  const slots = lzxPositionSlots(windowBits);
  const windowSize = 1 << windowBits;
  const maxOffset = windowSize - 3;
  const sizes = options.blockSizes?.length ? options.blockSizes : [options.blockSize ?? LZX_FRAME_SIZE];
  for (const size of sizes) {
    if (!Number.isInteger(size) || size < 1 || size > 0xffffff) {
      throw new CabinetError(`LZX block size ${size} is not in 1..16777215`);
    }
  }
  const types = options.blockTypes?.length ? options.blockTypes : (['verbatim'] as const);
  const e8 = options.e8FileSize ?? 0;
  const depth = options.chainDepth ?? 32;
  const data = e8 ? applyE8(input, e8) : input;
  const n = data.length;
  const mainElements = NUM_CHARS + slots * 8;

  const w = new BitWriter();
  const frames: LzxFrame[] = [];
  let frameStartByte = 0;
  let cutAt = 0;
  const cutIfAtBoundary = (upos: number): void => {
    if (upos > cutAt && upos % LZX_FRAME_SIZE === 0) {
      w.align();
      frames.push({ payload: w.buf.slice(frameStartByte, w.len), size: upos - cutAt });
      frameStartByte = w.len;
      cutAt = upos;
    }
  };

  if (e8) {
    w.bits(1, 1);
    w.bits(e8 >>> 16, 16);
    w.bits(e8 & 0xffff, 16);
  } else {
    w.bits(0, 1);
  }

  const prevMain = new Uint8Array(mainElements);
  const prevLength = new Uint8Array(LENGTH_TREE_SIZE);
  // Enough buckets that chains hold mostly real 3-byte matches, without a huge table for small inputs.
  const hashBits = Math.min(20, Math.max(10, Math.ceil(Math.log2(n + 1))));
  const head = new Int32Array(1 << hashBits).fill(-1);
  const chain = new Int32Array(Math.max(1, n));
  const hashAt = (p: number): number =>
    Math.imul((data[p]! << 16) | (data[p + 1]! << 8) | data[p + 2]!, 0x9e3779b1) >>> (32 - hashBits);
  let inserted = 0;
  const insertUpTo = (p: number): void => {
    for (; inserted < p && inserted + 2 < n; inserted++) {
      const h = hashAt(inserted);
      chain[inserted] = head[h]!;
      head[h] = inserted;
    }
    if (inserted < p) inserted = p;
  };
  const matchLen = (a: number, b: number, limit: number): number => {
    let l = 0;
    while (l < limit && data[a + l] === data[b + l]) l++;
    return l;
  };

  let r0 = 1;
  let r1 = 1;
  let r2 = 1;
  let pendingPad = false;

  for (let bStart = 0, bEnd = 0, bIndex = 0; bStart < n; bStart = bEnd, bIndex++) {
    bEnd = Math.min(n, bStart + sizes[bIndex % sizes.length]!);
    const type = types[bIndex % types.length]!;
    cutIfAtBoundary(bStart);
    if (pendingPad) {
      w.bytes(new Uint8Array(1));
      pendingPad = false;
    }

    if (type === 'uncompressed') {
      w.bits(3, 3);
      w.bits((bEnd - bStart) >>> 8, 16);
      w.bits((bEnd - bStart) & 0xff, 8);
      // The stored header always carries 1..16 bits of padding, even when already aligned.
      if (w.aligned()) w.bits(0, 16);
      else w.align();
      const rs = new Uint8Array(12);
      const dv = new DataView(rs.buffer);
      dv.setUint32(0, r0, true);
      dv.setUint32(4, r1, true);
      dv.setUint32(8, r2, true);
      w.bytes(rs);
      for (let p = bStart; p < bEnd;) {
        const next = Math.min(bEnd, (Math.floor(p / LZX_FRAME_SIZE) + 1) * LZX_FRAME_SIZE);
        w.bytes(data.subarray(p, next));
        p = next;
        if (p < bEnd) cutIfAtBoundary(p);
      }
      insertUpTo(bEnd);
      pendingPad = (bEnd - bStart) % 2 === 1;
      continue;
    }

    // Parse the block into symbols; no match may cross the block end or a frame end.
    const mainSyms: number[] = [];
    const lenSyms: number[] = [];
    const footers: number[] = [];
    const upos: number[] = [];
    for (let p = bStart; p < bEnd;) {
      insertUpTo(p);
      const frameEnd = (Math.floor(p / LZX_FRAME_SIZE) + 1) * LZX_FRAME_SIZE;
      const limit = Math.min(MAX_MATCH, bEnd - p, frameEnd - p);
      let bestLen = 0;
      let bestOff = 0;
      let bestRep = -1;
      if (limit >= MIN_MATCH) {
        const reps = [r0, r1, r2];
        for (let k = 0; k < 3; k++) {
          const off = reps[k]!;
          if (off > p || off > maxOffset) continue;
          const l = matchLen(p, p - off, limit);
          if (l > bestLen) {
            bestLen = l;
            bestOff = off;
            bestRep = k;
          }
        }
        if (limit >= 3 && p + 2 < n) {
          let cand = head[hashAt(p)]!;
          for (let d = 0; d < depth && cand >= 0 && p - cand <= maxOffset; d++, cand = chain[cand]!) {
            // Cheap reject: a longer match must agree at the byte just past the current best.
            if (bestLen < limit && data[cand + bestLen] !== data[p + bestLen]) continue;
            const l = matchLen(p, cand, limit);
            // A new offset costs more bits than a repeat, so it must win by more than one byte.
            if (l >= 3 && l > bestLen + (bestRep >= 0 ? 1 : 0)) {
              bestLen = l;
              bestOff = p - cand;
              bestRep = -1;
              if (l === limit) break;
            }
          }
        }
      }
      upos.push(p);
      if (bestLen < MIN_MATCH || (bestRep < 0 && bestLen < 3)) {
        mainSyms.push(data[p]!);
        lenSyms.push(-1);
        footers.push(0);
        p++;
        continue;
      }
      let slot: number;
      let footer = 0;
      if (bestRep === 0) {
        slot = 0;
      } else if (bestRep === 1) {
        slot = 1;
        r1 = r0;
        r0 = bestOff;
      } else if (bestRep === 2) {
        slot = 2;
        r2 = r0;
        r0 = bestOff;
      } else {
        const formatted = bestOff + 2;
        slot = slotOf(formatted, slots);
        footer = formatted - LZX_POSITION_BASE[slot]!;
        r2 = r1;
        r1 = r0;
        r0 = bestOff;
      }
      const lh = Math.min(bestLen - MIN_MATCH, NUM_PRIMARY_LENGTHS);
      mainSyms.push(NUM_CHARS + ((slot << 3) | lh));
      lenSyms.push(lh === NUM_PRIMARY_LENGTHS ? bestLen - MIN_MATCH - NUM_PRIMARY_LENGTHS : -1);
      footers.push(footer);
      p += bestLen;
    }

    const aligned = type === 'aligned';
    const mainFreq = new Uint32Array(mainElements);
    const lenFreq = new Uint32Array(LENGTH_TREE_SIZE);
    const alFreq = new Uint32Array(8);
    for (let i = 0; i < mainSyms.length; i++) {
      const m = mainSyms[i]!;
      mainFreq[m]!++;
      if (lenSyms[i]! >= 0) lenFreq[lenSyms[i]!]!++;
      if (aligned && m >= NUM_CHARS && LZX_EXTRA_BITS[(m - NUM_CHARS) >> 3]! >= 3) alFreq[footers[i]! & 7]!++;
    }
    const mainLens = huffmanLengths(mainFreq, 16);
    const lenLens = huffmanLengths(lenFreq, 16);
    let alLens = huffmanLengths(alFreq, 7);
    if (alLens.every((l) => l === 0)) alLens = new Uint8Array(8).fill(3);
    const mainCodes = canonicalCodes(mainLens);
    const lenCodes = canonicalCodes(lenLens);
    const alCodes = canonicalCodes(alLens);

    w.bits(aligned ? 2 : 1, 3);
    w.bits((bEnd - bStart) >>> 8, 16);
    w.bits((bEnd - bStart) & 0xff, 8);
    if (aligned) for (let i = 0; i < 8; i++) w.bits(alLens[i]!, 3);
    writeLengths(w, prevMain, mainLens, 0, NUM_CHARS);
    writeLengths(w, prevMain, mainLens, NUM_CHARS, mainElements);
    writeLengths(w, prevLength, lenLens, 0, LENGTH_TREE_SIZE);

    for (let i = 0; i < mainSyms.length; i++) {
      cutIfAtBoundary(upos[i]!);
      const m = mainSyms[i]!;
      w.bits(mainCodes[m]!, mainLens[m]!);
      if (m < NUM_CHARS) continue;
      const ls = lenSyms[i]!;
      if (ls >= 0) w.bits(lenCodes[ls]!, lenLens[ls]!);
      const slot = (m - NUM_CHARS) >> 3;
      if (slot < 3) continue;
      const extra = LZX_EXTRA_BITS[slot]!;
      const footer = footers[i]!;
      if (aligned && extra >= 3) {
        const hi = footer >>> 3;
        if (extra > 3) writeWide(w, hi, extra - 3);
        w.bits(alCodes[footer & 7]!, alLens[footer & 7]!);
      } else {
        writeWide(w, footer, extra);
      }
    }
  }
  if (pendingPad) w.bytes(new Uint8Array(1));
  if (n > cutAt) {
    w.align();
    frames.push({ payload: w.buf.slice(frameStartByte, w.len), size: n - cutAt });
  }
  return frames;
}

function writeWide(w: BitWriter, value: number, n: number): void {
  if (n > 16) {
    w.bits(value >>> 16, n - 16);
    w.bits(value & 0xffff, 16);
  } else {
    w.bits(value, n);
  }
}

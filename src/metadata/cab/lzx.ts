/**
 * LZX decompression as used inside cabinets (typeCompress 0x0003 | windowBits << 8).
 *
 * Written from the LZX format description (MS-CAB "LZX data compression format" and MS-PATCH
 * "LZX DELTA", which describes the same bitstream). Behaviour on edge cases follows what
 * Debian's cabextract accepts, since that is what other tools are tested against.
 *
 * The input is the concatenated CFDATA payloads of one folder; each CFDATA block is one frame
 * of (normally) 32 KiB output, and the bitstream is re-aligned to 16 bits at every frame end,
 * which is what keeps a frame's compressed bytes inside its own CFDATA block.
 *
 * The whole folder is decoded into one flat buffer that doubles as the sliding window; the
 * E8 call translation is undone afterwards, frame by frame, because the window must hold the
 * untranslated bytes while decoding.
 */
import { CabinetError } from './errors.ts';
import { buildHuffmanTable, type HuffmanTable } from './huffman.ts';

export const LZX_MIN_WINDOW_BITS = 15;
export const LZX_MAX_WINDOW_BITS = 21;
export const LZX_FRAME_SIZE = 32768;

const BLOCK_VERBATIM = 1;
const BLOCK_ALIGNED = 2;
const BLOCK_UNCOMPRESSED = 3;

const NUM_CHARS = 256;
const PRETREE_SIZE = 20;
const LENGTH_TREE_SIZE = 249;
const ALIGNED_TREE_SIZE = 8;
const MIN_MATCH = 2;
const NUM_PRIMARY_LENGTHS = 7;
const MAX_POSITION_SLOTS = 50;

/** E8 translation stops after this many frames (1 GiB), as the format says. */
const E8_MAX_FRAMES = 32768;

const MAIN_TABLE_BITS = 11;
const LENGTH_TABLE_BITS = 10;
const ALIGNED_TABLE_BITS = 7;
const PRETREE_TABLE_BITS = 8;

/** Number of position slots for each window size (2^15 .. 2^21). */
export function lzxPositionSlots(windowBits: number): number {
  if (windowBits < LZX_MIN_WINDOW_BITS || windowBits > LZX_MAX_WINDOW_BITS) {
    throw new CabinetError(`unsupported LZX window: 2^${windowBits} (valid: 2^15 to 2^21)`);
  }
  // 2^20 and 2^21 grow faster because their slots reach the 17-extra-bit ceiling.
  return windowBits === 21 ? 50 : windowBits === 20 ? 42 : windowBits * 2;
}

/** Extra (footer) bits and base of each position slot, shared with the encoder. */
export const LZX_EXTRA_BITS = new Uint8Array(MAX_POSITION_SLOTS);
export const LZX_POSITION_BASE = new Uint32Array(MAX_POSITION_SLOTS);
for (let i = 0, base = 0; i < MAX_POSITION_SLOTS; i++) {
  const extra = i < 4 ? 0 : Math.min((i >> 1) - 1, 17);
  LZX_EXTRA_BITS[i] = extra;
  LZX_POSITION_BASE[i] = base;
  base += 1 << extra;
}

class LzxDecoder {
  // Input, padded with zero bytes so peeking a few bits past the end needs no branch.
  private readonly input: Uint8Array;
  private readonly inLen: number;
  private pos = 0;
  private bb = 0;
  private bl = 0;

  readonly out: Uint8Array;
  private outPos = 0;
  private frame = 0;

  private readonly windowSize: number;
  private readonly mainElements: number;
  private readonly mainLens: Uint8Array;
  private readonly lengthLens = new Uint8Array(LENGTH_TREE_SIZE);
  private readonly alignedLens = new Uint8Array(ALIGNED_TREE_SIZE);
  private mainTable: HuffmanTable | null = null;
  private lengthTable: HuffmanTable | null = null;
  private alignedTable: HuffmanTable | null = null;

  private r0 = 1;
  private r1 = 1;
  private r2 = 1;
  private blockType = 0;
  private blockLength = 0;
  private blockRemaining = 0;
  private headerRead = false;
  e8FileSize = 0;

  constructor(input: Uint8Array, windowBits: number, outputSize: number) {
    this.windowSize = 1 << windowBits;
    this.mainElements = NUM_CHARS + lzxPositionSlots(windowBits) * 8;
    this.mainLens = new Uint8Array(this.mainElements);
    this.inLen = input.length;
    this.input = new Uint8Array(input.length + 8);
    this.input.set(input);
    this.out = new Uint8Array(outputSize);
  }

  private fail(message: string): never {
    throw new CabinetError(`corrupt LZX data in frame ${this.frame + 1}: ${message}`);
  }

  private checkInput(): void {
    if (this.pos * 8 - this.bl > this.inLen * 8) {
      this.fail(`compressed data ends early (input is ${this.inLen} bytes)`);
    }
  }

  /** Makes at least 17 bits available. */
  private ensure(): void {
    while (this.bl <= 16) {
      if (this.pos + 2 > this.input.length) this.fail(`compressed data ends early (input is ${this.inLen} bytes)`);
      this.bb |= (this.input[this.pos]! | (this.input[this.pos + 1]! << 8)) << (16 - this.bl);
      this.pos += 2;
      this.bl += 16;
    }
  }

  /** Reads 0..17 bits, most significant first. */
  private readBits(n: number): number {
    if (n === 0) return 0;
    this.ensure();
    const v = this.bb >>> (32 - n);
    this.bb <<= n;
    this.bl -= n;
    return v;
  }

  private readSymbol(t: HuffmanTable, what: string): number {
    this.ensure();
    const table = t.table;
    let e = table[this.bb >>> (32 - t.bits)]!;
    if (e < 0) e = table[((e >>> 5) & 0x3ffffff) + ((this.bb << t.bits) >>> (32 - (e & 31)))]!;
    if (e <= 0) this.fail(`invalid ${what} Huffman code`);
    const n = e & 31;
    this.bb <<= n;
    this.bl -= n;
    return e >>> 5;
  }

  /**
   * Updates code lengths [first, last) from a pretree-coded delta list. Runs that go past
   * `last` spill into later elements of the same tree (and are then overwritten), which is
   * what cabextract does; they never go past the tree.
   */
  private readLengths(lens: Uint8Array, first: number, last: number, what: string): void {
    const pre = new Uint8Array(PRETREE_SIZE);
    for (let i = 0; i < PRETREE_SIZE; i++) pre[i] = this.readBits(4);
    const pretree = buildHuffmanTable(pre, PRETREE_SIZE, PRETREE_TABLE_BITS, `${what} pretree`);
    let i = first;
    while (i < last) {
      const z = this.readSymbol(pretree, `${what} pretree`);
      if (z === 17 || z === 18) {
        const run = z === 17 ? this.readBits(4) + 4 : this.readBits(5) + 20;
        lens.fill(0, i, Math.min(i + run, lens.length));
        i += run;
      } else if (z === 19) {
        const run = this.readBits(1) + 4;
        const d = this.readSymbol(pretree, `${what} pretree`);
        if (d > 16) this.fail(`${what} pretree: repeat of a run code`);
        const v = (lens[i]! + 17 - d) % 17;
        lens.fill(v, i, Math.min(i + run, lens.length));
        i += run;
      } else {
        lens[i] = (lens[i]! + 17 - z) % 17;
        i++;
      }
    }
  }

  private readBlockHeader(): void {
    if (this.blockType === BLOCK_UNCOMPRESSED) {
      // An odd-sized stored block is followed by one pad byte; then bit mode resumes.
      if (this.blockLength & 1) this.pos++;
      this.bb = 0;
      this.bl = 0;
    }
    const type = this.readBits(3);
    const size = (this.readBits(16) << 8) | this.readBits(8);
    switch (type) {
      case BLOCK_ALIGNED:
      case BLOCK_VERBATIM: {
        if (type === BLOCK_ALIGNED) {
          for (let i = 0; i < ALIGNED_TREE_SIZE; i++) this.alignedLens[i] = this.readBits(3);
          this.alignedTable = buildHuffmanTable(this.alignedLens, ALIGNED_TREE_SIZE, ALIGNED_TABLE_BITS, 'aligned');
        }
        this.readLengths(this.mainLens, 0, NUM_CHARS, 'main');
        this.readLengths(this.mainLens, NUM_CHARS, this.mainElements, 'main');
        this.mainTable = buildHuffmanTable(this.mainLens, this.mainElements, MAIN_TABLE_BITS, 'main');
        this.readLengths(this.lengthLens, 0, LENGTH_TREE_SIZE, 'length');
        this.lengthTable = buildHuffmanTable(this.lengthLens, LENGTH_TREE_SIZE, LENGTH_TABLE_BITS, 'length');
        this.checkInput();
        break;
      }
      case BLOCK_UNCOMPRESSED: {
        // 1..16 bits of padding to the next 16-bit boundary, then a byte stream.
        const consumed = this.pos * 8 - this.bl;
        this.pos = (Math.floor(consumed / 16) + 1) * 2;
        this.bb = 0;
        this.bl = 0;
        if (this.pos + 12 > this.inLen) this.fail('stored block header ends early');
        const b = this.input;
        const u32 = (p: number) => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
        this.r0 = u32(this.pos);
        this.r1 = u32(this.pos + 4);
        this.r2 = u32(this.pos + 8);
        this.pos += 12;
        break;
      }
      default:
        this.fail(`invalid block type ${type}`);
    }
    this.blockType = type;
    this.blockLength = size;
    this.blockRemaining = size;
  }

  decodeFrame(frameSize: number): void {
    if (!this.headerRead) {
      if (this.readBits(1)) {
        const hi = this.readBits(16);
        this.e8FileSize = ((hi << 16) | this.readBits(16)) >>> 0;
      }
      this.headerRead = true;
    }
    const frameEnd = this.outPos + frameSize;
    while (this.outPos < frameEnd) {
      if (this.blockRemaining === 0) {
        this.readBlockHeader();
        continue;
      }
      const run = Math.min(this.blockRemaining, frameEnd - this.outPos);
      if (this.blockType === BLOCK_UNCOMPRESSED) {
        if (this.pos + run > this.inLen) this.fail('stored block ends early');
        this.out.set(this.input.subarray(this.pos, this.pos + run), this.outPos);
        this.pos += run;
        this.outPos += run;
      } else {
        this.decodeRun(this.outPos + run);
      }
      this.blockRemaining -= run;
    }
    // Frame end: drop the rest of the current 16-bit word (byte mode has none).
    const drop = this.bl & 15;
    this.bb <<= drop;
    this.bl -= drop;
    this.checkInput();
    this.frame++;
  }

  /** Decodes verbatim/aligned symbols until `end`; no match may reach past it. */
  private decodeRun(end: number): void {
    const input = this.input;
    const inputLimit = input.length - 2;
    const out = this.out;
    const main = this.mainTable!;
    const mt = main.table;
    const mb = main.bits;
    const lengthTable = this.lengthTable!;
    const lt = lengthTable.table;
    const lb = lengthTable.bits;
    const aligned = this.blockType === BLOCK_ALIGNED;
    const at = aligned ? this.alignedTable!.table : mt;
    const ab = aligned ? this.alignedTable!.bits : mb;
    const windowSize = this.windowSize;
    let pos = this.pos;
    let bb = this.bb;
    let bl = this.bl;
    let outPos = this.outPos;
    let r0 = this.r0;
    let r1 = this.r1;
    let r2 = this.r2;
    let problem = '';

    decode: while (outPos < end) {
      while (bl <= 16) {
        if (pos > inputLimit) { problem = 'compressed data ends early'; break decode; }
        bb |= (input[pos]! | (input[pos + 1]! << 8)) << (16 - bl);
        pos += 2;
        bl += 16;
      }
      let e = mt[bb >>> (32 - mb)]!;
      if (e < 0) e = mt[((e >>> 5) & 0x3ffffff) + ((bb << mb) >>> (32 - (e & 31)))]!;
      if (e <= 0) { problem = 'invalid main-tree Huffman code'; break; }
      let n = e & 31;
      bb <<= n;
      bl -= n;
      const sym = e >>> 5;
      if (sym < NUM_CHARS) {
        out[outPos++] = sym;
        continue;
      }

      const slot = (sym - NUM_CHARS) >>> 3;
      let len = (sym - NUM_CHARS) & 7;
      if (len === NUM_PRIMARY_LENGTHS) {
        while (bl <= 16) {
          if (pos > inputLimit) { problem = 'compressed data ends early'; break decode; }
          bb |= (input[pos]! | (input[pos + 1]! << 8)) << (16 - bl);
          pos += 2;
          bl += 16;
        }
        let l = lt[bb >>> (32 - lb)]!;
        if (l < 0) l = lt[((l >>> 5) & 0x3ffffff) + ((bb << lb) >>> (32 - (l & 31)))]!;
        if (l <= 0) { problem = 'invalid length-tree Huffman code'; break; }
        n = l & 31;
        bb <<= n;
        bl -= n;
        len += l >>> 5;
      }
      len += MIN_MATCH;

      let offset: number;
      if (slot > 2) {
        const extra = LZX_EXTRA_BITS[slot]!;
        offset = LZX_POSITION_BASE[slot]! - 2;
        while (bl <= 16) {
          if (pos > inputLimit) { problem = 'compressed data ends early'; break decode; }
          bb |= (input[pos]! | (input[pos + 1]! << 8)) << (16 - bl);
          pos += 2;
          bl += 16;
        }
        if (aligned && extra >= 3) {
          if (extra > 3) {
            const vb = extra - 3;
            offset += (bb >>> (32 - vb)) << 3;
            bb <<= vb;
            bl -= vb;
            while (bl <= 16) {
              if (pos > inputLimit) { problem = 'compressed data ends early'; break decode; }
              bb |= (input[pos]! | (input[pos + 1]! << 8)) << (16 - bl);
              pos += 2;
              bl += 16;
            }
          }
          let a = at[bb >>> (32 - ab)]!;
          if (a < 0) a = at[((a >>> 5) & 0x3ffffff) + ((bb << ab) >>> (32 - (a & 31)))]!;
          if (a <= 0) { problem = 'invalid aligned-tree Huffman code'; break; }
          n = a & 31;
          bb <<= n;
          bl -= n;
          offset += a >>> 5;
        } else if (extra > 0) {
          offset += bb >>> (32 - extra);
          bb <<= extra;
          bl -= extra;
        }
        r2 = r1;
        r1 = r0;
        r0 = offset;
      } else if (slot === 0) {
        offset = r0;
      } else if (slot === 1) {
        offset = r1;
        r1 = r0;
        r0 = offset;
      } else {
        offset = r2;
        r2 = r0;
        r0 = offset;
      }

      if (offset === 0 || offset > outPos || offset > windowSize) {
        problem = `match offset ${offset} at output position ${outPos} is outside the window`;
        break;
      }
      if (outPos + len > end) {
        problem = `match of ${len} bytes at output position ${outPos} crosses a block or frame end`;
        break;
      }
      let src = outPos - offset;
      if (offset >= len && len > 32) {
        out.copyWithin(outPos, src, src + len);
        outPos += len;
      } else {
        const stop = outPos + len;
        while (outPos < stop) out[outPos++] = out[src++]!;
      }
    }

    this.pos = pos;
    this.bb = bb;
    this.bl = bl;
    this.outPos = outPos;
    this.r0 = r0;
    this.r1 = r1;
    this.r2 = r2;
    if (problem) this.fail(problem);
  }
}

/** Undoes the encoder's E8 (x86 CALL) translation on one frame of output. */
function undoE8(out: Uint8Array, start: number, size: number, fileSize: number): void {
  if (size <= 10) return;
  const end = start + size - 10;
  let i = start;
  for (;;) {
    // indexOf is a native byte scan, far faster than a JS loop over every byte.
    i = out.indexOf(0xe8, i);
    if (i < 0 || i >= end) break;
    const abs = out[i + 1]! | (out[i + 2]! << 8) | (out[i + 3]! << 16) | (out[i + 4]! << 24);
    if (abs >= -i && abs < fileSize) {
      const rel = abs >= 0 ? abs - i : abs + fileSize;
      out[i + 1] = rel & 0xff;
      out[i + 2] = (rel >>> 8) & 0xff;
      out[i + 3] = (rel >>> 16) & 0xff;
      out[i + 4] = (rel >>> 24) & 0xff;
    }
    i += 5;
  }
}

/**
 * Decompresses one LZX stream made of frames of the given output sizes (one per CFDATA
 * block). The caller bounds the total output; this allocates exactly its sum.
 */
export function lzxDecompress(input: Uint8Array, windowBits: number, frameSizes: readonly number[]): Uint8Array {
  let total = 0;
  for (const s of frameSizes) {
    if (!Number.isInteger(s) || s < 0 || s > LZX_FRAME_SIZE) {
      throw new CabinetError(`corrupt LZX data: frame size ${s} is not in 0..${LZX_FRAME_SIZE}`);
    }
    total += s;
  }
  const d = new LzxDecoder(input, windowBits, total);
  for (const s of frameSizes) d.decodeFrame(s);
  if (d.e8FileSize !== 0) {
    let start = 0;
    for (let f = 0; f < frameSizes.length && f < E8_MAX_FRAMES; f++) {
      undoE8(d.out, start, frameSizes[f]!, d.e8FileSize);
      start += frameSizes[f]!;
    }
  }
  return d.out;
}

/**
 * Canonical Huffman decode tables for LZX (codes up to 16 bits, read MSB-first).
 *
 * A table is one Int32Array: the first 2^bits entries are indexed by the next `bits` input
 * bits; longer codes go through a second-level table for their prefix. Entry encoding:
 *   > 0  (symbol << 5) | codeLength
 *   < 0  link: 0x80000000 | (subtableStart << 5) | subtableBits
 *   0    no code has this prefix (corrupt input, or a tree that was sent empty)
 * Incomplete trees are accepted (empty ones are legal in LZX); over-subscribed ones are not.
 */
import { CabinetError } from './errors.ts';

export const MAX_CODE_LENGTH = 16;

export interface HuffmanTable {
  table: Int32Array;
  bits: number;
}

export function buildHuffmanTable(lengths: Uint8Array, count: number, maxBits: number, what: string): HuffmanTable {
  const blCount = new Int32Array(MAX_CODE_LENGTH + 1);
  let maxLen = 0;
  for (let s = 0; s < count; s++) {
    const len = lengths[s]!;
    if (len > MAX_CODE_LENGTH) throw new CabinetError(`corrupt Huffman tree (${what}): code length ${len}`);
    if (len) {
      blCount[len]!++;
      if (len > maxLen) maxLen = len;
    }
  }
  // Kraft sum in units of 2^-16: more than 2^16 means two codes would share a prefix.
  let kraft = 0;
  for (let len = 1; len <= MAX_CODE_LENGTH; len++) kraft += blCount[len]! << (MAX_CODE_LENGTH - len);
  if (kraft > 1 << MAX_CODE_LENGTH) {
    throw new CabinetError(`corrupt Huffman tree (${what}): code lengths are over-subscribed`);
  }
  const bits = Math.max(1, Math.min(maxBits, maxLen));
  const subBits = maxLen - bits;

  // Canonical assignment: shorter codes first, ties broken by symbol order.
  const nextCode = new Int32Array(MAX_CODE_LENGTH + 1);
  blCount[0] = 0;
  for (let len = 1, code = 0; len <= MAX_CODE_LENGTH; len++) {
    code = (code + blCount[len - 1]!) << 1;
    nextCode[len] = code;
  }

  // First pass: which long-code prefixes need a subtable.
  const primarySize = 1 << bits;
  let subCount = 0;
  const subIndex = subBits > 0 ? new Int32Array(primarySize).fill(-1) : null;
  if (subIndex) {
    const probe = nextCode.slice();
    for (let s = 0; s < count; s++) {
      const len = lengths[s]!;
      if (!len) continue;
      const code = probe[len]!++;
      if (len > bits) {
        const prefix = code >>> (len - bits);
        if (subIndex[prefix] === -1) subIndex[prefix] = subCount++;
      }
    }
  }
  const table = new Int32Array(primarySize + (subCount << subBits));
  if (subIndex) {
    for (let p = 0; p < primarySize; p++) {
      const k = subIndex[p]!;
      if (k >= 0) table[p] = (0x80000000 | ((primarySize + (k << subBits)) << 5) | subBits) | 0;
    }
  }

  for (let s = 0; s < count; s++) {
    const len = lengths[s]!;
    if (!len) continue;
    const code = nextCode[len]!++;
    const entry = (s << 5) | len;
    if (len <= bits) {
      const shift = bits - len;
      const start = code << shift;
      table.fill(entry, start, start + (1 << shift));
    } else {
      const prefix = code >>> (len - bits);
      const base = primarySize + (subIndex![prefix]! << subBits);
      const rest = code & ((1 << (len - bits)) - 1);
      const shift = subBits - (len - bits);
      const start = base + (rest << shift);
      table.fill(entry, start, start + (1 << shift));
    }
  }
  return { table, bits };
}

/**
 * MSZIP (cabinet typeCompress 1): each CFDATA block is "CK" followed by raw deflate data for
 * at most 32 KiB of output, and the deflate window carries over from block to block, so each
 * block is inflated with the previous 32 KiB of output as its preset dictionary.
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { CabinetError } from './errors.ts';

const MSZIP_WINDOW = 32768;
const SIGNATURE_C = 0x43;
const SIGNATURE_K = 0x4b;

export interface MszipBlockIn {
  number: number;
  payload: Uint8Array;
  cbUncomp: number;
}

/** Inflates a folder's blocks into `out` (sized by the caller to the sum of cbUncomp). */
export function mszipDecompress(blocks: readonly MszipBlockIn[], out: Uint8Array): void {
  let outPos = 0;
  for (const block of blocks) {
    const p = block.payload;
    if (p.length < 2 || p[0] !== SIGNATURE_C || p[1] !== SIGNATURE_K) {
      throw new CabinetError(`corrupt MSZIP data: CFDATA block ${block.number} does not start with "CK"`);
    }
    const dictionary = outPos > 0 ? out.subarray(Math.max(0, outPos - MSZIP_WINDOW), outPos) : undefined;
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(p.subarray(2), {
        ...(dictionary ? { dictionary } : {}),
        maxOutputLength: Math.max(1, block.cbUncomp),
        // Some writers end a block on a sync flush instead of a final deflate block.
        finishFlush: constants.Z_SYNC_FLUSH,
      });
    } catch (e) {
      const why = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
        ? `inflates to more than the ${block.cbUncomp} bytes its header says`
        : (e as Error).message;
      throw new CabinetError(`corrupt MSZIP data in CFDATA block ${block.number}: ${why}`);
    }
    if (inflated.length !== block.cbUncomp) {
      throw new CabinetError(
        `output size mismatch: MSZIP CFDATA block ${block.number} inflated to ${inflated.length} bytes, header says ${block.cbUncomp}`,
      );
    }
    out.set(inflated, outPos);
    outPos += inflated.length;
  }
}

/**
 * Compresses a folder's data into MSZIP block payloads ("CK" + a complete deflate stream
 * ending in a final block), one per 32 KiB of input.
 */
export function mszipCompressBlocks(data: Uint8Array, level = 9): { payload: Buffer; size: number }[] {
  const blocks: { payload: Buffer; size: number }[] = [];
  for (let start = 0; start < data.length; start += MSZIP_WINDOW) {
    const chunk = data.subarray(start, Math.min(data.length, start + MSZIP_WINDOW));
    const dictionary = start > 0 ? data.subarray(start - MSZIP_WINDOW, start) : undefined;
    const deflated = deflateRawSync(chunk, { level, ...(dictionary ? { dictionary } : {}) });
    const payload = Buffer.allocUnsafe(2 + deflated.length);
    payload[0] = SIGNATURE_C;
    payload[1] = SIGNATURE_K;
    deflated.copy(payload, 2);
    blocks.push({ payload, size: chunk.length });
  }
  return blocks;
}

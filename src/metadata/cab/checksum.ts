/**
 * The cabinet checksum (MS-CAB, CFDATA.csum): XOR of the data taken as little-endian 32-bit
 * words. The 1-3 trailing bytes are folded in big-end-first, which is the format's own quirk
 * and must be reproduced exactly or every other tool rejects the block.
 */
export function cabChecksum(data: Uint8Array, seed = 0): number {
  let sum = seed >>> 0;
  const whole = data.length & ~3;
  let i = 0;
  for (; i < whole; i += 4) {
    sum ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
  }
  let tail = 0;
  for (; i < data.length; i++) tail = (tail << 8) | data[i]!;
  return (sum ^ tail) >>> 0;
}

/** Checksum of one CFDATA block: its payload first, then the cbData/cbUncomp pair. */
export function cfdataChecksum(payload: Uint8Array, cbData: number, cbUncomp: number): number {
  const sizes = new Uint8Array([cbData & 0xff, cbData >>> 8, cbUncomp & 0xff, cbUncomp >>> 8]);
  return cabChecksum(sizes, cabChecksum(payload, 0));
}

/**
 * Reading cabinets: parse the structure, decompress the folders that hold the wanted files
 * and hand out each file's bytes. Sizes from the headers are checked against each other and
 * against a caller-set output ceiling before anything large is allocated.
 */
import { cfdataChecksum } from './checksum.ts';
import { CabinetError } from './errors.ts';
import {
  COMP_LZX, COMP_MASK, COMP_MSZIP, COMP_NONE, COMP_QUANTUM, MAX_BLOCK_UNCOMPRESSED,
  folderDataBlocks, parseCabinet,
  type CabDataBlock, type CabFileEntry, type CabFolderEntry, type CabinetLayout,
} from './format.ts';
import { LZX_MAX_WINDOW_BITS, LZX_MIN_WINDOW_BITS, lzxDecompress } from './lzx.ts';
import { mszipDecompress } from './mszip.ts';

export const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

export interface ReadCabinetOptions {
  /** Ceiling on the bytes decompressed for one call (default 256 MiB). */
  maxOutputBytes?: number;
  /** Check non-zero CFDATA checksums (default true). */
  verifyChecksums?: boolean;
}

export interface CabinetEntry {
  name: string;
  size: number;
  /** Raw MS-DOS date and time fields; 0 when the writer left them empty. */
  dosDate: number;
  dosTime: number;
  attributes: number;
  folder: number;
  compression: CabinetCompression;
}

export interface CabinetFile extends CabinetEntry {
  data: Buffer;
}

export type CabinetCompression = 'none' | 'mszip' | 'quantum' | `lzx:${number}` | `unknown:${number}`;

export function compressionName(typeCompress: number): CabinetCompression {
  switch (typeCompress & COMP_MASK) {
    case COMP_NONE: return 'none';
    case COMP_MSZIP: return 'mszip';
    case COMP_QUANTUM: return 'quantum';
    case COMP_LZX: return `lzx:${(typeCompress >>> 8) & 0x1f}`;
    default: return `unknown:${typeCompress}`;
  }
}

function entryOf(layout: CabinetLayout, f: CabFileEntry): CabinetEntry {
  return {
    name: f.name,
    size: f.size,
    dosDate: f.date,
    dosTime: f.time,
    attributes: f.attribs,
    folder: f.folderIndex,
    compression: compressionName(layout.folders[f.folderIndex]!.typeCompress),
  };
}

/** Lists the files of a cabinet without decompressing anything. */
export function listCabinet(buf: Uint8Array): CabinetEntry[] {
  const layout = parseCabinet(buf);
  return layout.files.map((f) => entryOf(layout, f));
}

function verifyChecksum(block: CabDataBlock, folder: number): void {
  if (block.checksum === 0) return;
  const computed = cfdataChecksum(block.payload, block.cbData, block.cbUncomp);
  if (computed === block.checksum) return;
  // The spec's wording includes the per-block reserve; accept writers that read it that way.
  if (block.reserve.length > 0) {
    const withReserve = new Uint8Array(block.reserve.length + block.payload.length);
    withReserve.set(block.reserve);
    withReserve.set(block.payload, block.reserve.length);
    if (cfdataChecksum(withReserve, block.cbData, block.cbUncomp) === block.checksum) return;
  }
  throw new CabinetError(
    `checksum mismatch in CFDATA block ${block.number} of folder ${folder}: ` +
      `stored 0x${block.checksum.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}`,
  );
}

function concatPayloads(blocks: readonly CabDataBlock[]): Uint8Array {
  let n = 0;
  for (const b of blocks) n += b.payload.length;
  const all = new Uint8Array(n);
  let p = 0;
  for (const b of blocks) {
    all.set(b.payload, p);
    p += b.payload.length;
  }
  return all;
}

function decompressFolder(folder: CabFolderEntry, blocks: readonly CabDataBlock[], total: number): Uint8Array {
  const type = folder.typeCompress & COMP_MASK;
  const where = `folder ${folder.index}`;
  try {
    switch (type) {
      case COMP_NONE: {
        const out = new Uint8Array(total);
        let p = 0;
        for (const b of blocks) {
          if (b.cbData !== b.cbUncomp) {
            throw new CabinetError(
              `output size mismatch: stored CFDATA block ${b.number} has ${b.cbData} bytes, header says ${b.cbUncomp}`,
            );
          }
          out.set(b.payload, p);
          p += b.cbData;
        }
        return out;
      }
      case COMP_MSZIP: {
        const out = new Uint8Array(total);
        mszipDecompress(blocks, out);
        return out;
      }
      case COMP_LZX: {
        const windowBits = (folder.typeCompress >>> 8) & 0x1f;
        if (windowBits < LZX_MIN_WINDOW_BITS || windowBits > LZX_MAX_WINDOW_BITS) {
          throw new CabinetError(`unsupported compression: LZX window 2^${windowBits}`);
        }
        return lzxDecompress(concatPayloads(blocks), windowBits, blocks.map((b) => b.cbUncomp));
      }
      case COMP_QUANTUM:
        throw new CabinetError('unsupported compression: Quantum');
      default:
        throw new CabinetError(`unsupported compression: typeCompress 0x${folder.typeCompress.toString(16)}`);
    }
  } catch (e) {
    if (e instanceof CabinetError) throw new CabinetError(`${where}: ${e.message}`);
    throw e;
  }
}

function readFiles(
  buf: Uint8Array,
  wanted: (f: CabFileEntry) => boolean,
  options: ReadCabinetOptions,
): CabinetFile[] {
  const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const verify = options.verifyChecksums ?? true;
  const layout = parseCabinet(buf);
  const files = layout.files.filter(wanted);
  const folderIds = [...new Set(files.map((f) => f.folderIndex))].sort((a, b) => a - b);

  // Structure and size checks for every needed folder before any decompression.
  const plans = folderIds.map((id) => {
    const folder = layout.folders[id]!;
    const blocks = folderDataBlocks(layout, folder);
    let total = 0;
    for (const b of blocks) {
      if (b.cbUncomp > MAX_BLOCK_UNCOMPRESSED) {
        throw new CabinetError(
          `corrupt cabinet: CFDATA block ${b.number} of folder ${id} claims ${b.cbUncomp} bytes, over the 32768 limit`,
        );
      }
      total += b.cbUncomp;
    }
    return { folder, blocks, total };
  });
  const grandTotal = plans.reduce((s, p) => s + p.total, 0);
  if (grandTotal > maxOutput) {
    throw new CabinetError(`cabinet would expand to ${grandTotal} bytes, over the limit of ${maxOutput}`);
  }
  for (const f of files) {
    const plan = plans.find((p) => p.folder.index === f.folderIndex)!;
    if (f.folderOffset + f.size > plan.total) {
      throw new CabinetError(
        `output size mismatch: file "${f.name}" needs bytes ${f.folderOffset}..${f.folderOffset + f.size} of folder ${f.folderIndex}, which holds ${plan.total}`,
      );
    }
  }

  const outputs = new Map<number, Uint8Array>();
  for (const plan of plans) {
    if (verify) for (const b of plan.blocks) verifyChecksum(b, plan.folder.index);
    outputs.set(plan.folder.index, decompressFolder(plan.folder, plan.blocks, plan.total));
  }
  return files.map((f) => {
    const out = outputs.get(f.folderIndex)!;
    const data = Buffer.from(out.buffer, out.byteOffset + f.folderOffset, f.size);
    return { ...entryOf(layout, f), data };
  });
}

/** Every file of the cabinet with its bytes. Throws CabinetError on any defect. */
export function readCabinet(buf: Uint8Array, options: ReadCabinetOptions = {}): CabinetFile[] {
  return readFiles(buf, () => true, options);
}

/**
 * The bytes of one member: the one called `name` (case-insensitive, as Windows compares
 * names), or the only member when no name is given.
 */
export function extractSingle(buf: Uint8Array, name?: string, options: ReadCabinetOptions = {}): Buffer {
  const names = listCabinet(buf).map((e) => e.name);
  let index: number;
  if (name === undefined) {
    if (names.length !== 1) {
      throw new CabinetError(`expected a cabinet with exactly one file, it holds ${names.length}`);
    }
    index = 0;
  } else {
    const lower = name.toLowerCase();
    index = names.findIndex((n) => n.toLowerCase() === lower);
    if (index < 0) {
      throw new CabinetError(`cabinet has no file "${name}" (files: ${names.map((n) => JSON.stringify(n)).join(', ') || 'none'})`);
    }
  }
  return readFiles(buf, (f) => f.index === index, options)[0]!.data;
}

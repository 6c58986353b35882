/**
 * Writing cabinets: one folder holding one or more files, stored, MSZIP or LZX, with
 * real CFDATA checksums so strict readers (Windows, cabextract) accept them.
 */
import { cfdataChecksum } from './checksum.ts';
import { CabinetError } from './errors.ts';
import {
  ATTR_NAME_IS_UTF, COMP_LZX, COMP_MSZIP, COMP_NONE, DATA_FIXED_SIZE, FILE_FIXED_SIZE, FOLDER_SIZE,
  HEADER_SIZE, MAX_BLOCK_UNCOMPRESSED, SIGNATURE,
} from './format.ts';
import { lzxCompress, type LzxCompressOptions } from './lzx-encoder.ts';
import { mszipCompressBlocks } from './mszip.ts';

/** Archive bit: what Windows tools set on freshly added files. */
export const ATTR_ARCHIVE = 0x20;

export interface CabinetInputFile {
  name: string;
  data: Uint8Array;
  /** Stored as MS-DOS date/time from its UTC fields; absent leaves both fields 0, as WSUS does. */
  modified?: Date;
  /** MS-DOS attribute bits; default ATTR_ARCHIVE. The UTF-8 name bit is managed here. */
  attributes?: number;
}

export interface WriteCabinetOptions {
  compression?: 'mszip' | 'none' | 'lzx';
  /** Deflate level for MSZIP (default 9). */
  level?: number;
  /** LZX settings (window, block size and types, E8 translation). */
  lzx?: LzxCompressOptions;
}

const MAX_CABINET_BYTES = 0xffffffff;

/** MS-DOS date and time words from a Date's UTC fields (2-second resolution, 1980..2107). */
export function toDosDateTime(d: Date): { date: number; time: number } {
  const year = d.getUTCFullYear();
  if (!Number.isFinite(d.getTime()) || year < 1980 || year > 2107) {
    throw new CabinetError(`cannot store date ${d.toISOString?.() ?? String(d)} in a cabinet (1980..2107)`);
  }
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

function encodeName(name: string): { bytes: Buffer; utf8: boolean } {
  if (name.length === 0 || name.includes('\0')) throw new CabinetError(`invalid file name ${JSON.stringify(name)}`);
  // Plain ASCII names need no flag; anything else is written as UTF-8 and flagged so.
  const ascii = /^[\x01-\x7f]*$/.test(name);
  const bytes = Buffer.from(name, ascii ? 'latin1' : 'utf8');
  if (bytes.length > 255) throw new CabinetError(`file name too long for a cabinet (${bytes.length} bytes, max 255)`);
  return { bytes, utf8: !ascii };
}

export function writeCabinet(files: readonly CabinetInputFile[], options: WriteCabinetOptions = {}): Buffer {
  const compression = options.compression ?? 'mszip';
  if (files.length === 0) throw new CabinetError('a cabinet needs at least one file');
  if (files.length > 0xffff) throw new CabinetError(`too many files for one cabinet: ${files.length}`);

  const names = files.map((f) => encodeName(f.name));
  let folderSize = 0;
  for (const f of files) folderSize += f.data.length;
  // uoffFolderStart is a u32 and there are at most 65535 CFDATA blocks per folder.
  if (folderSize > 0xffff * MAX_BLOCK_UNCOMPRESSED) {
    throw new CabinetError(`too much data for one cabinet folder: ${folderSize} bytes`);
  }
  const folderData = new Uint8Array(folderSize);
  {
    let p = 0;
    for (const f of files) {
      folderData.set(f.data, p);
      p += f.data.length;
    }
  }

  const blocks: { payload: Uint8Array; size: number }[] = [];
  if (compression === 'mszip') {
    blocks.push(...mszipCompressBlocks(folderData, options.level ?? 9));
  } else if (compression === 'lzx') {
    blocks.push(...lzxCompress(folderData, options.lzx));
  } else if (compression === 'none') {
    for (let s = 0; s < folderSize; s += MAX_BLOCK_UNCOMPRESSED) {
      const chunk = folderData.subarray(s, Math.min(folderSize, s + MAX_BLOCK_UNCOMPRESSED));
      blocks.push({ payload: chunk, size: chunk.length });
    }
  } else {
    throw new CabinetError(`unsupported compression for writing: ${String(compression)}`);
  }

  const filesSize = names.reduce((s, n) => s + FILE_FIXED_SIZE + n.bytes.length + 1, 0);
  const coffFiles = HEADER_SIZE + FOLDER_SIZE;
  const coffCabStart = coffFiles + filesSize;
  const dataSize = blocks.reduce((s, b) => s + DATA_FIXED_SIZE + b.payload.length, 0);
  const cbCabinet = coffCabStart + dataSize;
  if (cbCabinet > MAX_CABINET_BYTES) throw new CabinetError(`cabinet would be ${cbCabinet} bytes, over 4 GiB`);

  const out = Buffer.alloc(cbCabinet);
  // CFHEADER
  out.writeUInt32LE(SIGNATURE, 0);
  out.writeUInt32LE(cbCabinet, 8);
  out.writeUInt32LE(coffFiles, 16);
  out[24] = 3; // versionMinor
  out[25] = 1; // versionMajor
  out.writeUInt16LE(1, 26); // cFolders
  out.writeUInt16LE(files.length, 28); // cFiles
  // flags, setID, iCabinet stay 0: a single cabinet with no reserved areas.

  // CFFOLDER
  out.writeUInt32LE(coffCabStart, HEADER_SIZE);
  out.writeUInt16LE(blocks.length, HEADER_SIZE + 4);
  const typeCompress = compression === 'mszip' ? COMP_MSZIP
    : compression === 'lzx' ? COMP_LZX | ((options.lzx?.windowBits ?? 21) << 8)
    : COMP_NONE;
  out.writeUInt16LE(typeCompress, HEADER_SIZE + 6);

  // CFFILE entries
  let p = coffFiles;
  let folderOffset = 0;
  files.forEach((f, i) => {
    const { bytes, utf8 } = names[i]!;
    const dt = f.modified ? toDosDateTime(f.modified) : { date: 0, time: 0 };
    const attribs = ((f.attributes ?? ATTR_ARCHIVE) & ~ATTR_NAME_IS_UTF) | (utf8 ? ATTR_NAME_IS_UTF : 0);
    out.writeUInt32LE(f.data.length, p);
    out.writeUInt32LE(folderOffset, p + 4);
    out.writeUInt16LE(0, p + 8);
    out.writeUInt16LE(dt.date, p + 10);
    out.writeUInt16LE(dt.time, p + 12);
    out.writeUInt16LE(attribs & 0xffff, p + 14);
    bytes.copy(out, p + FILE_FIXED_SIZE);
    p += FILE_FIXED_SIZE + bytes.length + 1;
    folderOffset += f.data.length;
  });

  // CFDATA blocks
  for (const b of blocks) {
    const cbData = b.payload.length;
    if (cbData > 0xffff) throw new CabinetError(`CFDATA block too large: ${cbData} bytes`);
    out.writeUInt32LE(cfdataChecksum(b.payload, cbData, b.size), p);
    out.writeUInt16LE(cbData, p + 4);
    out.writeUInt16LE(b.size, p + 6);
    out.set(b.payload, p + DATA_FIXED_SIZE);
    p += DATA_FIXED_SIZE + cbData;
  }
  return out;
}

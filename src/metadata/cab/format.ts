/**
 * Cabinet (MS-CAB) structure parsing: CFHEADER, CFFOLDER, CFFILE and the CFDATA chain of a
 * folder. Only layout and bounds live here; decompression is elsewhere. Every read is
 * bounds-checked so a cut or lying cabinet fails with a message naming the structure.
 */
import { CabinetError } from './errors.ts';

export const SIGNATURE = 0x4643534d; // 'MSCF' read as a little-endian u32
export const HEADER_SIZE = 36;
export const FOLDER_SIZE = 8;
export const FILE_FIXED_SIZE = 16;
export const DATA_FIXED_SIZE = 8;

export const FLAG_PREV_CABINET = 0x0001;
export const FLAG_NEXT_CABINET = 0x0002;
export const FLAG_RESERVE_PRESENT = 0x0004;

export const COMP_MASK = 0x000f;
export const COMP_NONE = 0x0000;
export const COMP_MSZIP = 0x0001;
export const COMP_QUANTUM = 0x0002;
export const COMP_LZX = 0x0003;

/** One CFDATA block may expand to at most 32 KiB (MS-CAB), whatever the method. */
export const MAX_BLOCK_UNCOMPRESSED = 32768;

/** File attribute bit: the name is UTF-8 rather than the local code page. */
export const ATTR_NAME_IS_UTF = 0x80;

const IFOLDER_CONTINUED_FROM_PREV = 0xfffd;

export interface CabHeader {
  cbCabinet: number;
  coffFiles: number;
  versionMajor: number;
  versionMinor: number;
  cFolders: number;
  cFiles: number;
  flags: number;
  setID: number;
  iCabinet: number;
  /** Per-block reserved sizes; zero unless FLAG_RESERVE_PRESENT. */
  cbCFFolder: number;
  cbCFData: number;
  headerReserve: Uint8Array;
  prevCabinet?: string;
  nextCabinet?: string;
}

export interface CabFolderEntry {
  index: number;
  coffCabStart: number;
  cCFData: number;
  typeCompress: number;
}

export interface CabFileEntry {
  index: number;
  name: string;
  size: number;
  folderOffset: number;
  folderIndex: number;
  date: number;
  time: number;
  attribs: number;
}

export interface CabDataBlock {
  /** 1-based position in its folder, for messages. */
  number: number;
  checksum: number;
  cbData: number;
  cbUncomp: number;
  reserve: Uint8Array;
  payload: Uint8Array;
}

export interface CabinetLayout {
  buf: Uint8Array;
  header: CabHeader;
  folders: CabFolderEntry[];
  files: CabFileEntry[];
}

/** Bounds-checked little-endian reads within [0, end). */
class Cursor {
  readonly buf: Uint8Array;
  readonly end: number;
  pos: number;

  constructor(buf: Uint8Array, end: number, pos: number) {
    this.buf = buf;
    this.end = end;
    this.pos = pos;
  }

  need(n: number, what: string): void {
    const remain = Math.max(0, this.end - this.pos);
    if (this.pos < 0 || n > remain) {
      throw new CabinetError(
        `truncated cabinet: ${what} needs ${n} bytes at offset ${this.pos}, ${remain} remain`,
      );
    }
  }

  u8(): number {
    return this.buf[this.pos++]!;
  }

  u16(): number {
    const b = this.buf;
    const v = b[this.pos]! | (b[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u32(): number {
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  bytes(n: number): Uint8Array {
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A NUL-terminated string; the terminator must lie inside the cabinet. */
  cstring(what: string, utf8: boolean): string {
    const start = this.pos;
    const nul = this.buf.subarray(start, this.end).indexOf(0);
    if (nul < 0) {
      throw new CabinetError(`truncated cabinet: ${what} at offset ${start} has no terminating NUL`);
    }
    this.pos = start + nul + 1;
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, nul).toString(utf8 ? 'utf8' : 'latin1');
  }
}

export function parseCabinet(buf: Uint8Array): CabinetLayout {
  if (buf.length < 4 || (buf[0]! | (buf[1]! << 8) | (buf[2]! << 16) | (buf[3]! << 24)) >>> 0 !== SIGNATURE) {
    throw new CabinetError('not a cabinet: signature is not "MSCF"');
  }
  const c = new Cursor(buf, buf.length, 0);
  c.need(HEADER_SIZE, 'CFHEADER');
  c.pos = 8;
  const cbCabinet = c.u32();
  if (cbCabinet > buf.length) {
    throw new CabinetError(`truncated cabinet: CFHEADER.cbCabinet says ${cbCabinet} bytes, ${buf.length} present`);
  }
  if (cbCabinet < HEADER_SIZE) {
    throw new CabinetError(`corrupt cabinet: CFHEADER.cbCabinet ${cbCabinet} is smaller than the header`);
  }
  c.pos = 16;
  const coffFiles = c.u32();
  c.pos = 24;
  const versionMinor = c.u8();
  const versionMajor = c.u8();
  const cFolders = c.u16();
  const cFiles = c.u16();
  const flags = c.u16();
  const setID = c.u16();
  const iCabinet = c.u16();

  // From here on nothing past cbCabinet belongs to this cabinet.
  const r = new Cursor(buf, cbCabinet, HEADER_SIZE);
  let cbCFHeader = 0;
  let cbCFFolder = 0;
  let cbCFData = 0;
  if (flags & FLAG_RESERVE_PRESENT) {
    r.need(4, 'CFHEADER reserve sizes');
    cbCFHeader = r.u16();
    cbCFFolder = r.u8();
    cbCFData = r.u8();
  }
  r.need(cbCFHeader, 'CFHEADER.abReserve');
  const headerReserve = r.bytes(cbCFHeader);
  const header: CabHeader = {
    cbCabinet, coffFiles, versionMajor, versionMinor, cFolders, cFiles, flags, setID, iCabinet,
    cbCFFolder, cbCFData, headerReserve,
  };
  if (flags & FLAG_PREV_CABINET) {
    header.prevCabinet = r.cstring('CFHEADER.szCabinetPrev', false);
    r.cstring('CFHEADER.szDiskPrev', false);
  }
  if (flags & FLAG_NEXT_CABINET) {
    header.nextCabinet = r.cstring('CFHEADER.szCabinetNext', false);
    r.cstring('CFHEADER.szDiskNext', false);
  }

  const folders: CabFolderEntry[] = [];
  for (let i = 0; i < cFolders; i++) {
    r.need(FOLDER_SIZE + cbCFFolder, `CFFOLDER ${i}`);
    const coffCabStart = r.u32();
    const cCFData = r.u16();
    const typeCompress = r.u16();
    r.pos += cbCFFolder;
    folders.push({ index: i, coffCabStart, cCFData, typeCompress });
  }

  const files: CabFileEntry[] = [];
  const f = new Cursor(buf, cbCabinet, coffFiles);
  for (let i = 0; i < cFiles; i++) {
    f.need(FILE_FIXED_SIZE, `CFFILE ${i}`);
    const size = f.u32();
    const folderOffset = f.u32();
    const folderIndex = f.u16();
    const date = f.u16();
    const time = f.u16();
    const attribs = f.u16();
    const name = f.cstring(`CFFILE ${i} name`, (attribs & ATTR_NAME_IS_UTF) !== 0);
    if (folderIndex >= IFOLDER_CONTINUED_FROM_PREV) {
      throw new CabinetError(`unsupported cabinet: file "${name}" continues into another cabinet of a set`);
    }
    if (folderIndex >= cFolders) {
      throw new CabinetError(`corrupt cabinet: file "${name}" names folder ${folderIndex}, cabinet has ${cFolders}`);
    }
    files.push({ index: i, name, size, folderOffset, folderIndex, date, time, attribs });
  }
  return { buf, header, folders, files };
}

/** The CFDATA chain of one folder, bounds-checked against the cabinet. */
export function folderDataBlocks(layout: CabinetLayout, folder: CabFolderEntry): CabDataBlock[] {
  const { header } = layout;
  const c = new Cursor(layout.buf, header.cbCabinet, folder.coffCabStart);
  const blocks: CabDataBlock[] = [];
  for (let i = 1; i <= folder.cCFData; i++) {
    const where = `CFDATA block ${i} of folder ${folder.index}`;
    c.need(DATA_FIXED_SIZE + header.cbCFData, `${where} header`);
    const checksum = c.u32();
    const cbData = c.u16();
    const cbUncomp = c.u16();
    const reserve = c.bytes(header.cbCFData);
    c.need(cbData, where);
    const payload = c.bytes(cbData);
    blocks.push({ number: i, checksum, cbData, cbUncomp, reserve, payload });
  }
  return blocks;
}

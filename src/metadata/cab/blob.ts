/**
 * The WSUS update-blob envelope: MS-WSUSSS GetUpdateData may carry an update document as
 * XmlUpdateBlobCompressed, a base64 cabinet holding one member "blob" that is the XML as
 * UTF-16LE (Windows uses LZX; any cabinet compression is valid).
 */
import { CabinetError } from './errors.ts';
import { extractSingle, type ReadCabinetOptions } from './reader.ts';
import { writeCabinet } from './writer.ts';

export const UPDATE_BLOB_MEMBER = 'blob';

const BASE64_TEXT = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** Accepts the cabinet bytes or the base64 text of XmlUpdateBlobCompressed; returns the XML. */
export function decodeUpdateBlob(compressed: Uint8Array | string, options: ReadCabinetOptions = {}): string {
  let cab: Uint8Array;
  if (typeof compressed === 'string') {
    if (!BASE64_TEXT.test(compressed)) throw new CabinetError('update blob is not valid base64 text');
    cab = Buffer.from(compressed, 'base64');
  } else {
    cab = compressed;
  }
  const raw = extractSingle(cab, UPDATE_BLOB_MEMBER, options);
  // A UTF-8 BOM would mean a writer ignored the convention; read it rather than mangle it.
  if (raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) {
    return raw.subarray(3).toString('utf8');
  }
  if (raw.length % 2 !== 0) {
    throw new CabinetError(`update blob is ${raw.length} bytes, an odd length for UTF-16LE text`);
  }
  const start = raw.length >= 2 && raw[0] === 0xff && raw[1] === 0xfe ? 2 : 0;
  return raw.subarray(start).toString('utf16le');
}

/** A cabinet with one member "blob" = the XML as UTF-16LE without BOM, MSZIP-compressed. */
export function encodeUpdateBlob(xml: string): Buffer {
  // Date, time and attributes zero, like the cabinets a real WSUS sends.
  return writeCabinet(
    [{ name: UPDATE_BLOB_MEMBER, data: Buffer.from(xml, 'utf16le'), attributes: 0 }],
    { compression: 'mszip' },
  );
}

/** Cabinet (MS-CAB) codec: reader (stored, MSZIP, LZX), writer (stored, MSZIP, LZX), WSUS blob helpers. */
export { CabinetError } from './errors.ts';
export { cabChecksum, cfdataChecksum } from './checksum.ts';
export {
  DEFAULT_MAX_OUTPUT_BYTES, compressionName, extractSingle, listCabinet, readCabinet,
  type CabinetCompression, type CabinetEntry, type CabinetFile, type ReadCabinetOptions,
} from './reader.ts';
export {
  ATTR_ARCHIVE, toDosDateTime, writeCabinet,
  type CabinetInputFile, type WriteCabinetOptions,
} from './writer.ts';
export { UPDATE_BLOB_MEMBER, decodeUpdateBlob, encodeUpdateBlob } from './blob.ts';
export { lzxDecompress } from './lzx.ts';
export { lzxCompress, type LzxBlockType, type LzxCompressOptions } from './lzx-encoder.ts';

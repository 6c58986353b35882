// The export file: gzip-compressed JSON lines.
//
//   line 1      header   {"format":"openwsus-export","version":1,"sections":[…],…}
//   lines 2..n  records  {"type":"revision",…} {"type":"group",…} …
//   last line   manifest {"type":"manifest","counts":{…},"sha256":"<hex>"}
//
// The manifest's SHA-256 covers every byte before it (uncompressed), so a file cut short has no
// manifest and a file with a changed byte fails the checksum (gzip's CRC usually catches it
// first). Readers stream records as they go and only the manifest says whether to keep them,
// so importers must hold their writes until `readExport` has returned its last record.
import { createHash } from 'node:crypto';
import { createGzip, createGunzip } from 'node:zlib';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const EXPORT_FORMAT = 'openwsus-export';
export const EXPORT_VERSION = 1;
/** A line longer than this is refused: real update documents stay well below 16 MiB. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: number;
  readonly created: string;
  readonly software: string;
  readonly sourceServerId?: string;
  readonly sections: readonly string[];
}

export interface ExportRecord {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface ExportManifest {
  readonly type: 'manifest';
  readonly counts: Readonly<Record<string, number>>;
  readonly sha256: string;
}

export class ExportFormatError extends Error {
  override name = 'ExportFormatError';
}

/** Writes an export stream to `out`; resolves with the manifest once everything is flushed. */
export async function writeExport(
  out: Writable,
  header: Omit<ExportHeader, 'format' | 'version'>,
  records: AsyncIterable<ExportRecord> | Iterable<ExportRecord>,
): Promise<ExportManifest> {
  const hash = createHash('sha256');
  const counts: Record<string, number> = {};
  let manifest: ExportManifest | undefined;
  const line = (value: object): Buffer => Buffer.from(JSON.stringify(value) + '\n', 'utf8');
  async function* body(): AsyncGenerator<Buffer> {
    const first = line({ format: EXPORT_FORMAT, version: EXPORT_VERSION, ...header });
    hash.update(first);
    yield first;
    for await (const record of records) {
      if (record.type === 'manifest') throw new ExportFormatError('a record may not be called "manifest"');
      counts[record.type] = (counts[record.type] ?? 0) + 1;
      const bytes = line(record);
      hash.update(bytes);
      yield bytes;
    }
    manifest = { type: 'manifest', counts, sha256: hash.digest('hex') };
    yield line(manifest);
  }
  // pipeline carries backpressure, and an error anywhere (disk full, no directory) ends it.
  await pipeline(Readable.from(body()), createGzip({ level: 6 }), out);
  return manifest!;
}

async function* lines(input: Readable): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  input.once('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl + 1);
        const line = pending.length ? Buffer.concat([...pending, piece]) : piece;
        pending = [];
        pendingBytes = 0;
        yield line;
        start = nl + 1;
      }
      if (start < chunk.length) {
        pendingBytes += chunk.length - start;
        if (pendingBytes > MAX_LINE_BYTES) {
          throw new ExportFormatError(`a record is longer than ${MAX_LINE_BYTES} bytes: not an openwsus export, or corrupt`);
        }
        pending.push(chunk.subarray(start));
      }
    }
  } catch (error) {
    if (error instanceof ExportFormatError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR' || /unexpected end/i.test((error as Error).message)) {
      throw new ExportFormatError('the export file is truncated (its compressed stream ends early)');
    }
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new ExportFormatError(`the export file is corrupt or not gzip-compressed (${(error as Error).message})`);
    }
    throw error;
  }
  if (pendingBytes > 0) {
    throw new ExportFormatError('the export file is truncated (its last record is incomplete)');
  }
}

function parseLine(line: Buffer, index: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    throw new ExportFormatError(`record ${index + 1} is not valid JSON: the file is corrupt`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ExportFormatError(`record ${index + 1} is not a JSON object: the file is corrupt`);
  }
  return value as Record<string, unknown>;
}

export interface ExportReader {
  readonly header: ExportHeader;
  /** Yields every record; throws after the last one if the manifest is missing or does not match. */
  records(): AsyncGenerator<ExportRecord>;
  /** Available once `records()` has been read to the end. */
  manifest(): ExportManifest;
}

/** Opens an export stream: reads and checks the header, then streams records on demand. */
export async function openExport(input: Readable): Promise<ExportReader> {
  const hash = createHash('sha256');
  const iterator = lines(input);
  const first = await iterator.next().catch((error: unknown) => {
    throw error instanceof ExportFormatError ? error : new ExportFormatError(`cannot read the export file: ${(error as Error).message}`);
  });
  if (first.done) throw new ExportFormatError('the export file is empty');
  const header = parseLine(first.value, 0);
  if (header.format !== EXPORT_FORMAT) {
    throw new ExportFormatError(`not an openwsus export file (format is ${JSON.stringify(header.format)})`);
  }
  if (typeof header.version !== 'number' || header.version > EXPORT_VERSION) {
    throw new ExportFormatError(
      `export format version ${String(header.version)} is newer than this openwsus understands (${EXPORT_VERSION}): upgrade openwsus`,
    );
  }
  hash.update(first.value);
  let manifest: ExportManifest | undefined;

  return {
    header: header as unknown as ExportHeader,
    manifest() {
      if (!manifest) throw new ExportFormatError('the manifest has not been read yet');
      return manifest;
    },
    async *records() {
      const counts: Record<string, number> = {};
      let index = 1;
      for await (const line of iterator) {
        const record = parseLine(line, index);
        if (manifest) throw new ExportFormatError('the export file has data after its manifest: it is corrupt');
        if (record.type === 'manifest') {
          const expected = hash.digest('hex');
          if (record.sha256 !== expected) {
            throw new ExportFormatError(`checksum mismatch: the manifest says ${String(record.sha256)}, the content hashes to ${expected}`);
          }
          const declared = (record.counts ?? {}) as Record<string, number>;
          for (const type of new Set([...Object.keys(declared), ...Object.keys(counts)])) {
            if ((declared[type] ?? 0) !== (counts[type] ?? 0)) {
              throw new ExportFormatError(`the manifest counts ${declared[type] ?? 0} ${type} records, the file holds ${counts[type] ?? 0}`);
            }
          }
          manifest = { type: 'manifest', counts: declared, sha256: expected };
          continue;
        }
        hash.update(line);
        if (typeof record.type !== 'string') throw new ExportFormatError(`record ${index + 1} has no type: the file is corrupt`);
        counts[record.type] = (counts[record.type] ?? 0) + 1;
        index++;
        yield record as ExportRecord;
      }
      if (!manifest) throw new ExportFormatError('the export file is truncated (it ends before its manifest)');
    },
  };
}

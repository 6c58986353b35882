// The only way bytes reach a final content name: written to a temporary file under `.partial/`
// on the same filesystem, hashed on the way, synced, then renamed in one step. A reader (or a
// crash, or kill -9) sees either no file or the complete, verified one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, rename, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { contentPath, type UpdateFile } from '../domain/update.ts';
import { ContentHasher, expectedDigests, findMismatch, hashPrefix } from './digest.ts';
import { fsyncDir } from './durable.ts';
import { ContentBusyError, DigestMismatchError } from './errors.ts';

export const PARTIAL_DIR = '.partial';

export type ContentSource = Readable | AsyncIterable<Uint8Array>;

export interface PublishOptions {
  /**
   * Write to the file's stable partial name and keep it when the source fails or the process
   * dies, so a later publish can continue it. One resumable publish per file at a time.
   */
  readonly resumable?: boolean;
  /**
   * Continue the stable partial file: its first `resumeOffset` bytes are kept (and re-hashed)
   * and `source` supplies the rest. Implies `resumable`.
   */
  readonly resumeOffset?: number;
  readonly signal?: AbortSignal;
  /** Modification time to give the file (a copy keeps the source's, see copy.ts). */
  readonly mtime?: Date;
  /** Called with each count of bytes hashed (the resumed prefix included). */
  readonly onBytes?: (bytes: number) => void;
}

export interface PublishResult {
  readonly path: string;
  /** Bytes taken from `source` (the file's size less any resumed prefix). */
  readonly bytesWritten: number;
}

// Keyed by absolute partial path, so two stores over one directory still exclude each other.
const resumableInProgress = new Set<string>();

/** Stable name of a file's resumable partial, relative to the content root. */
export function partialPath(file: Pick<UpdateFile, 'sha1' | 'fileName'>): string {
  return join(PARTIAL_DIR, contentPath(file).replace('/', '_'));
}

export async function publish(
  root: string,
  file: UpdateFile,
  source: ContentSource,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const relPath = contentPath(file);
  const expected = expectedDigests(file);
  const resumable = options.resumable === true || options.resumeOffset !== undefined;
  const offset = options.resumeOffset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > file.size) {
    throw new RangeError(`${relPath}: resume offset ${offset} outside 0..${file.size}`);
  }
  options.signal?.throwIfAborted();

  // A one-off temp name cannot collide with another writer (another process copying into the
  // same directory); the stable name is what makes resuming possible, and is guarded instead.
  const tempPath = resumable
    ? join(root, partialPath(file))
    : join(root, PARTIAL_DIR, `${relPath.replace('/', '_')}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  if (resumable) {
    if (resumableInProgress.has(tempPath)) throw new ContentBusyError(relPath);
    resumableInProgress.add(tempPath);
  }
  try {
    await mkdir(dirname(tempPath), { recursive: true });
    const hasher = new ContentHasher(expected.sha256 !== undefined);
    const handle = await openTemp(tempPath, relPath, resumable, offset, hasher, options);
    let keepTemp = false;
    try {
      const written = await writeSource(handle, source, offset, file.size, relPath, hasher, options);
      const mismatch = findMismatch(relPath, file.size, expected, offset + written, hasher.digest());
      if (mismatch) throw mismatch;
      if (options.mtime) await handle.utimes(options.mtime, options.mtime);
      await handle.sync();
      await handle.close();
      const finalPath = join(root, relPath);
      await mkdir(dirname(finalPath), { recursive: true });
      await rename(tempPath, finalPath);
      await fsyncDir(dirname(finalPath));
      return { path: finalPath, bytesWritten: written };
    } catch (error) {
      // A resumable partial survives a broken source; wrong bytes are never worth resuming.
      keepTemp = resumable && !(error instanceof DigestMismatchError);
      throw error;
    } finally {
      await handle.close().catch(() => undefined);
      if (!keepTemp) await rm(tempPath, { force: true });
    }
  } finally {
    if (resumable) resumableInProgress.delete(tempPath);
  }
}

async function openTemp(
  tempPath: string,
  relPath: string,
  resumable: boolean,
  offset: number,
  hasher: ContentHasher,
  options: PublishOptions,
): Promise<FileHandle> {
  if (!resumable) return open(tempPath, 'wx');
  if (offset === 0) return open(tempPath, 'w');
  let handle: FileHandle;
  try {
    handle = await open(tempPath, 'r+');
  } catch (error) {
    throw new RangeError(`${relPath}: cannot resume at byte ${offset}: no partial file`, { cause: error });
  }
  try {
    const have = await hashPrefix(handle, offset, hasher, options.onBytes, options.signal);
    if (have < offset) {
      throw new RangeError(`${relPath}: cannot resume at byte ${offset}: the partial file has ${have} bytes`);
    }
    await handle.truncate(offset);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function writeSource(
  handle: FileHandle,
  source: ContentSource,
  offset: number,
  size: number,
  relPath: string,
  hasher: ContentHasher,
  options: PublishOptions,
): Promise<number> {
  let position = offset;
  for await (const chunk of source as AsyncIterable<unknown>) {
    options.signal?.throwIfAborted();
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`${relPath}: the source must yield bytes, not strings`);
    // Stop at the first byte too many rather than storing a stream of unknown length.
    if (position + chunk.byteLength > size) {
      throw new DigestMismatchError(relPath, 'size', String(size), `more than ${size}`);
    }
    const writing = writeFully(handle, chunk, position);
    hasher.update(chunk); // overlaps the write, which runs on the thread pool
    await writing;
    position += chunk.byteLength;
    options.onBytes?.(chunk.byteLength);
  }
  options.signal?.throwIfAborted();
  return position - offset;
}

async function writeFully(handle: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position + done);
    done += bytesWritten;
  }
}

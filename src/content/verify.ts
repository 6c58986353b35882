// Checks the content directory against file records: present and matching, missing, or corrupt.
// Pure of the database: the caller supplies the records and decides what to re-queue.
import { stat } from 'node:fs/promises';
import { contentPath, type UpdateFile } from '../domain/update.ts';
import { expectedDigests, findMismatch, hashFile } from './digest.ts';
import { isCode } from './durable.ts';
import { forEachConcurrent } from './pool.ts';
import type { ContentStore } from './store.ts';

export type VerifyStatus = 'ok' | 'missing' | 'corrupt';

export interface CorruptContent {
  readonly file: UpdateFile;
  /** A DigestMismatchError (size or digest), or the I/O error that made the file unreadable. */
  readonly error: Error;
}

export interface VerifyProgress {
  readonly file: UpdateFile;
  readonly status: VerifyStatus;
  readonly checked: number;
  readonly ok: number;
  readonly missing: number;
  readonly corrupt: number;
  readonly bytesHashed: number;
}

export interface VerifyOptions {
  readonly onProgress?: (progress: VerifyProgress) => void;
  /** Files hashed at once; a few keep a disk busy without thrashing it. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

export interface VerifyReport {
  readonly checked: number;
  readonly ok: number;
  readonly missing: UpdateFile[];
  readonly corrupt: CorruptContent[];
  readonly bytesHashed: number;
}

export async function verifyContent(
  store: ContentStore,
  files: AsyncIterable<UpdateFile> | Iterable<UpdateFile>,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const missing: UpdateFile[] = [];
  const corrupt: CorruptContent[] = [];
  let ok = 0;
  let checked = 0;
  let bytesHashed = 0;
  // Several updates often share one file; check and report it once.
  const seen = new Set<string>();
  // Files are checked several at once; the report lists them in the order they were given.
  const position = new Map<UpdateFile, number>();

  const check = async (file: UpdateFile): Promise<void> => {
    const relPath = contentPath(file);
    if (seen.has(relPath)) return;
    seen.add(relPath);
    position.set(file, position.size);
    const status = await checkOne(store, file, relPath, options.signal, (n) => (bytesHashed += n));
    checked += 1;
    if (status === 'ok') ok += 1;
    else if (status === 'missing') missing.push(file);
    else corrupt.push({ file, error: status });
    options.onProgress?.({
      file,
      status: typeof status === 'string' ? status : 'corrupt',
      checked,
      ok,
      missing: missing.length,
      corrupt: corrupt.length,
      bytesHashed,
    });
  };

  await forEachConcurrent(files, options.concurrency ?? 4, check, options.signal);
  const inOrder = (a: UpdateFile, b: UpdateFile): number => position.get(a)! - position.get(b)!;
  missing.sort(inOrder);
  corrupt.sort((a, b) => inOrder(a.file, b.file));
  return { checked, ok, missing, corrupt, bytesHashed };
}

async function checkOne(
  store: ContentStore,
  file: UpdateFile,
  relPath: string,
  signal: AbortSignal | undefined,
  onBytes: (n: number) => void,
): Promise<'ok' | 'missing' | Error> {
  const expected = expectedDigests(file);
  try {
    const stats = await stat(store.pathOf(file));
    // Re-fetching will not replace a directory or a device: that needs a person.
    if (!stats.isFile()) return new Error(`${relPath}: not a regular file`);
    // The size is free to check and settles most damage without reading a byte.
    const sizeMismatch = findMismatch(relPath, file.size, expected, stats.size, expected);
    if (sizeMismatch) return sizeMismatch;
    const actual = await hashFile(store.pathOf(file), expected.sha256 !== undefined, { signal, onBytes });
    return findMismatch(relPath, file.size, expected, actual.size, actual.digests) ?? 'ok';
  } catch (error) {
    if (signal?.aborted) throw error;
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return 'missing';
    return error instanceof Error ? error : new Error(String(error));
  }
}

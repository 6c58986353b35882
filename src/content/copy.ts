// `openwsus content copy SRC_DATA DST_DATA`: brings one content directory's files into another
// through the verified publish path, resumably.
//
// Which destination files count as done, without re-reading them all on every run:
// - a file under its final name got there through publish (temp file, SHA-1 checked, synced,
//   renamed) or through something else (robocopy, a restored backup) that may have left a
//   preallocated or torn file of the right size;
// - a copy gives each file the source's modification time, so "same size and same mtime as the
//   source" marks files this copy (or an earlier, interrupted run of it) verified and wrote;
// - a file of the right size without that mark is hashed before it is trusted; any other size
//   is copied again.
// Rot after a verified write is `verifyContent`'s business, not the copy's.
import { createReadStream } from 'node:fs';
import { contentPath } from '../domain/update.ts';
import { CHUNK_SIZE, expectedDigests, hashFile } from './digest.ts';
import { DigestMismatchError } from './errors.ts';
import { walkContent, type LaidOutFile } from './layout.ts';
import { forEachConcurrent } from './pool.ts';
import { ContentStore } from './store.ts';

export interface CopyProgress {
  readonly filesTotal: number;
  readonly bytesTotal: number;
  /** Files settled (copied, skipped or found corrupt). */
  readonly filesDone: number;
  /** Bytes of settled files plus bytes read so far of files in flight. */
  readonly bytesDone: number;
  readonly copied: number;
  readonly skipped: number;
  readonly corrupt: number;
  /** Content path of the file this report is about. */
  readonly current?: string;
}

export interface CopyOptions {
  readonly onProgress?: (progress: CopyProgress) => void;
  readonly signal?: AbortSignal;
  /** Files in flight at once. */
  readonly concurrency?: number;
  /** `digest` hashes every destination file of the right size, marked or not. */
  readonly checkExisting?: 'quick' | 'digest';
}

export interface CorruptSource {
  /** Source path relative to its content directory. */
  readonly relPath: string;
  readonly error: DigestMismatchError;
}

export interface CopyResult {
  readonly copied: number;
  readonly skipped: number;
  readonly corrupt: number;
  /** Bytes written to the destination. */
  readonly bytes: number;
  readonly corruptFiles: CorruptSource[];
  /** Names under the source content directory that are not in the layout, left alone. */
  readonly ignored: string[];
}

export async function copyContent(srcDataDir: string, dstDataDir: string, options: CopyOptions = {}): Promise<CopyResult> {
  const src = ContentStore.inDataDir(srcDataDir);
  const dst = ContentStore.inDataDir(dstDataDir);
  options.signal?.throwIfAborted();

  // Listed up front so progress has totals; one small record per file.
  const ignored: string[] = [];
  const entries: LaidOutFile[] = [];
  for await (const entry of walkContent(src.root, (relPath) => ignored.push(relPath))) {
    options.signal?.throwIfAborted();
    entries.push(entry);
  }

  const state = {
    filesTotal: entries.length,
    bytesTotal: entries.reduce((sum, e) => sum + e.file.size, 0),
    filesDone: 0,
    bytesDone: 0,
    copied: 0,
    skipped: 0,
    corrupt: 0,
  };
  const corruptFiles: CorruptSource[] = [];
  let bytes = 0;
  const report = (current?: string): void => options.onProgress?.({ ...state, current });
  report();

  const copyOne = async (entry: LaidOutFile): Promise<void> => {
    const relPath = contentPath(entry.file);
    let counted = 0;
    const onBytes = (n: number): void => {
      counted += n;
      state.bytesDone += n;
      report(relPath);
    };
    let outcome: 'copied' | 'skipped' | 'corrupt';
    if (await alreadyThere(dst, entry, options.checkExisting ?? 'quick', options.signal)) {
      outcome = 'skipped';
    } else {
      try {
        const source = createReadStream(entry.path, { highWaterMark: CHUNK_SIZE });
        await dst.publishFromStream(entry.file, source, { signal: options.signal, mtime: entry.mtime, onBytes });
        bytes += entry.file.size;
        outcome = 'copied';
      } catch (error) {
        if (!(error instanceof DigestMismatchError)) throw error;
        corruptFiles.push({ relPath: entry.relPath, error });
        outcome = 'corrupt';
      }
    }
    state[outcome] += 1;
    state.filesDone += 1;
    state.bytesDone += entry.file.size - counted;
    report(relPath);
  };

  await forEachConcurrent(entries, options.concurrency ?? 4, copyOne, options.signal);
  return { copied: state.copied, skipped: state.skipped, corrupt: state.corrupt, bytes, corruptFiles, ignored };
}

async function alreadyThere(
  dst: ContentStore,
  entry: LaidOutFile,
  check: 'quick' | 'digest',
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const stats = await dst.stat(entry.file);
  if (!stats || stats.size !== entry.file.size) return false;
  // Compared in whole milliseconds: what a Date carries, rounded because utimes goes through
  // floating-point seconds and may land a hair below the value it was given.
  if (check === 'quick' && Math.round(stats.mtimeMs) === entry.mtime.getTime()) return true;
  const actual = await hashFile(dst.pathOf(entry.file), false, { signal });
  return actual.size === entry.file.size && actual.digests.sha1.equals(expectedDigests(entry.file).sha1);
}

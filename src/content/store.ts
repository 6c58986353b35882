// The content directory in WSUS layout (`<data>/content/XX/SHA1HEX.ext`, WSUS-PROTOCOLS §2.10).
// A name under the layout is a promise: the file there has been verified against its SHA-1 (see
// publish.ts), so readers only ever need to check that it exists with the right size.
import type { ReadStream, Stats } from 'node:fs';
import { open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { contentPath, type UpdateFile } from '../domain/update.ts';
import { isCode } from './durable.ts';
import {
  PARTIAL_DIR,
  partialPath,
  publish,
  type ContentSource,
  type PublishOptions,
  type PublishResult,
} from './publish.ts';

export type ContentFile = Pick<UpdateFile, 'sha1' | 'fileName'>;

/** Inclusive byte range, as HTTP `Range: bytes=start-end` spells it. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export class ContentStore {
  readonly root: string;

  constructor(contentDir: string) {
    this.root = resolve(contentDir);
  }

  static inDataDir(dataDir: string): ContentStore {
    return new ContentStore(join(dataDir, 'content'));
  }

  pathOf(file: ContentFile): string {
    return join(this.root, contentPath(file));
  }

  /** Stats of the file under its final name, or undefined when there is no regular file there. */
  async stat(file: ContentFile): Promise<Stats | undefined> {
    return statFile(this.pathOf(file));
  }

  async has(file: Pick<UpdateFile, 'sha1' | 'fileName' | 'size'>): Promise<boolean> {
    return (await this.stat(file))?.size === file.size;
  }

  /**
   * Opens the file for reading before returning, so a missing file rejects here and not later
   * on a stream already handed to an HTTP reply.
   */
  async openRead(file: ContentFile, range?: ByteRange): Promise<ReadStream> {
    if (range && !(range.start >= 0 && range.end >= range.start)) {
      throw new RangeError(`bad byte range ${range.start}-${range.end}`);
    }
    const handle = await open(this.pathOf(file), 'r');
    return handle.createReadStream({ start: range?.start, end: range?.end, autoClose: true });
  }

  /**
   * The open file with stats read from the descriptor (so they describe the bytes being read,
   * not whatever the name points at a moment later), for readers that manage their own buffers
   * such as the HTTP content route. Undefined when there is no regular file. The caller closes it.
   */
  async openHandle(file: ContentFile): Promise<{ readonly handle: FileHandle; readonly stats: Stats } | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(file), 'r');
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
      throw error;
    }
    try {
      const stats = await handle.stat();
      if (stats.isFile()) return { handle, stats };
    } catch (error) {
      await handle.close();
      throw error;
    }
    await handle.close();
    return undefined;
  }

  publishFromStream(file: UpdateFile, source: ContentSource, options?: PublishOptions): Promise<PublishResult> {
    return publish(this.root, file, source, options);
  }

  /** Bytes of the resumable partial kept for `file`: where the next download should start. */
  async partialSize(file: ContentFile): Promise<number> {
    return (await statFile(join(this.root, partialPath(file))))?.size ?? 0;
  }

  /**
   * Deletes temporary files not touched for `olderThanMs`: one-off temp files orphaned by a
   * killed writer, and resumable partials nobody came back for. Returns how many went.
   */
  async sweepPartials(olderThanMs: number, now: number = Date.now()): Promise<number> {
    const dir = join(this.root, PARTIAL_DIR);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return 0;
      throw error;
    }
    let removed = 0;
    for (const name of names) {
      const stats = await statFile(join(dir, name));
      if (stats && now - stats.mtimeMs > olderThanMs) {
        await rm(join(dir, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}

async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats : undefined;
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  }
}

// The generator's only I/O: writes payloads into a WSUS content directory (DIR/XX/SHA1HEX.ext).
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { contentPath } from '../domain/update.ts';
import { payloadChunks } from './payload.ts';
import type { CatalogDocument } from './units.ts';

export interface WriteResult {
  /** Files written now. */
  readonly written: number;
  readonly bytes: number;
  /** Files already present with the right size (shared files, or an earlier run). */
  readonly skipped: number;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/**
 * Writes every file the documents name, once, streaming each payload. A file is written under a
 * temporary name and renamed, so an interrupted run never leaves a short file with a final name.
 */
export async function writePayloads(source: Iterable<CatalogDocument>, dir: string): Promise<WriteResult> {
  let written = 0;
  let bytes = 0;
  let skipped = 0;
  for (const doc of source) {
    for (const file of doc.files) {
      const path = join(dir, contentPath(file));
      if ((await sizeOf(path)) === file.size) {
        skipped++;
        continue;
      }
      await mkdir(dirname(path), { recursive: true });
      const partial = `${path}.partial`;
      await pipeline(Readable.from(payloadChunks(file, 1 << 16)), createWriteStream(partial));
      await rename(partial, path);
      written++;
      bytes += file.size;
    }
  }
  return { written, bytes, skipped };
}

// Test content: random bytes with their real digests, temporary data directories, sources.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpdateFile } from '../../../src/domain/update.ts';

export interface TestContent {
  readonly bytes: Buffer;
  readonly file: UpdateFile;
}

export function makeContent(size: number, ext = '.cab', withSha256 = true): TestContent {
  const bytes = randomBytes(size);
  return { bytes, file: recordOf(bytes, `payload${ext}`, withSha256) };
}

export function recordOf(bytes: Buffer, fileName: string, withSha256 = true): UpdateFile {
  const sha1 = createHash('sha1').update(bytes).digest('base64');
  const sha256 = createHash('sha256').update(bytes).digest('base64');
  return withSha256 ? { sha1, sha256, fileName, size: bytes.length } : { sha1, fileName, size: bytes.length };
}

/** A digest of other bytes, of the same length. */
export function otherDigest(algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(randomBytes(16)).digest('base64');
}

export async function* chunksOf(bytes: Uint8Array, chunkSize = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
}

/** A temporary directory removed by the returned cleanup (register it with `t.after`). */
export async function tempDir(prefix = 'openwsus-content-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every regular file under `dir` (relative path -> bytes), for comparing whole trees. */
export async function treeOf(dir: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(join(dir, rel));
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const child = rel ? `${rel}/${name}` : name;
      if (skip(child)) continue;
      const s = await stat(join(dir, child));
      if (s.isDirectory()) await walk(child);
      else out.set(child, await readFile(join(dir, child)));
    }
  };
  await walk('');
  return out;
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

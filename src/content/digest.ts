// Digests of content as it streams by. Only what a record can be checked against is computed:
// SHA-256 costs about as much as SHA-1 again, so it runs only when the record carries one.
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { UpdateFile } from '../domain/update.ts';
import { DigestMismatchError } from './errors.ts';

export const CHUNK_SIZE = 1 << 20;

export interface Digests {
  readonly sha1: Buffer;
  readonly sha256?: Buffer;
}

export class ContentHasher {
  readonly #sha1: Hash = createHash('sha1');
  readonly #sha256: Hash | undefined;

  constructor(withSha256: boolean) {
    this.#sha256 = withSha256 ? createHash('sha256') : undefined;
  }

  update(chunk: Uint8Array): void {
    this.#sha1.update(chunk);
    this.#sha256?.update(chunk);
  }

  digest(): Digests {
    const sha1 = this.#sha1.digest();
    return this.#sha256 ? { sha1, sha256: this.#sha256.digest() } : { sha1 };
  }
}

/** The record's digests as bytes; a malformed record is a caller bug, not a content problem. */
export function expectedDigests(file: Pick<UpdateFile, 'sha1' | 'sha256'>): Digests {
  const sha1 = Buffer.from(file.sha1, 'base64');
  if (sha1.length !== 20) throw new TypeError(`not a base64 SHA-1 digest: ${file.sha1}`);
  if (file.sha256 === undefined) return { sha1 };
  const sha256 = Buffer.from(file.sha256, 'base64');
  if (sha256.length !== 32) throw new TypeError(`not a base64 SHA-256 digest: ${file.sha256}`);
  return { sha1, sha256 };
}

/** The first check that fails, cheapest first, or undefined when the content is the record's. */
export function findMismatch(
  contentPath: string,
  expectedSize: number,
  expected: Digests,
  actualSize: number,
  actual: Digests,
): DigestMismatchError | undefined {
  if (actualSize !== expectedSize) {
    return new DigestMismatchError(contentPath, 'size', String(expectedSize), String(actualSize));
  }
  if (!expected.sha1.equals(actual.sha1)) {
    return new DigestMismatchError(contentPath, 'SHA-1', hex(expected.sha1), hex(actual.sha1));
  }
  if (expected.sha256 && actual.sha256 && !expected.sha256.equals(actual.sha256)) {
    return new DigestMismatchError(contentPath, 'SHA-256', hex(expected.sha256), hex(actual.sha256));
  }
  return undefined;
}

function hex(digest: Buffer): string {
  return digest.toString('hex').toUpperCase();
}

/** Feeds bytes [0, length) of an open file to `hasher`; returns how many it could read. */
export async function hashPrefix(
  handle: FileHandle,
  length: number,
  hasher: ContentHasher,
  onBytes?: (n: number) => void,
  signal?: AbortSignal,
): Promise<number> {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, Math.max(length, 1)));
  let position = 0;
  while (position < length) {
    signal?.throwIfAborted();
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) break;
    hasher.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
    onBytes?.(bytesRead);
  }
  return position;
}

export interface FileDigest {
  readonly size: number;
  readonly digests: Digests;
}

/** Hashes a whole file in fixed-size chunks, so memory stays flat whatever the file's size. */
export async function hashFile(
  path: string,
  withSha256: boolean,
  options: { readonly signal?: AbortSignal; readonly onBytes?: (n: number) => void } = {},
): Promise<FileDigest> {
  const handle = await open(path, 'r');
  try {
    const hasher = new ContentHasher(withSha256);
    const size = await hashPrefix(handle, Number.MAX_SAFE_INTEGER, hasher, options.onBytes, options.signal);
    return { size, digests: hasher.digest() };
  } finally {
    await handle.close();
  }
}

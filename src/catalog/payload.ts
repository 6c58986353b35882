// File payloads of the sample catalog. A payload is an AES-128-CTR keystream: the key comes from the
// seed, the initial counter block from the file key. Native speed, reproducible anywhere from the 32
// hex-encoded bytes the file carries, and producible chunk by chunk, so neither generation nor
// writing ever holds a large payload whole.
import { createCipheriv, createHash, createSecretKey, hash, type KeyObject } from 'node:crypto';
import type { UpdateFile } from '../domain/update.ts';

export interface CatalogFile extends UpdateFile {
  readonly sha256: string;
  readonly modified: string;
  /** Hex of AES-128 key (16 bytes) then initial counter block (16 bytes): the payload's keystream. */
  readonly payloadKey: string;
}

const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(CHUNK);

// Creating a key object costs far more than a cipher does: one per seed, reused.
const keys = new Map<string, KeyObject>();

function keyObject(hex: string): KeyObject {
  let k = keys.get(hex);
  if (k === undefined) {
    if (keys.size > 64) keys.clear();
    k = createSecretKey(Buffer.from(hex, 'hex'));
    keys.set(hex, k);
  }
  return k;
}

const seedKeys = new Map<string, string>();

export function payloadKey(seed: string, fileKey: string): string {
  let key = seedKeys.get(seed);
  if (key === undefined) {
    if (seedKeys.size > 64) seedKeys.clear();
    key = hash('sha256', `payload key\u0000${seed}`, 'hex').slice(0, 32);
    seedKeys.set(seed, key);
  }
  return key + hash('sha256', `payload iv\u0000${seed}\u0000${fileKey}`, 'hex').slice(0, 32);
}

/** The payload of a file, in chunks of at most `chunkSize` bytes (1 MiB at most). */
export function* payloadChunks(file: Pick<CatalogFile, 'payloadKey' | 'size'>, chunkSize = CHUNK): Generator<Buffer> {
  const step = Math.max(1, Math.min(chunkSize, CHUNK));
  const cipher = createCipheriv('aes-128-ctr', keyObject(file.payloadKey.slice(0, 32)), Buffer.from(file.payloadKey.slice(32), 'hex'));
  for (let left = file.size; left > 0; left -= step) {
    yield cipher.update(ZEROS.subarray(0, Math.min(step, left)));
  }
}

/** The whole payload in memory: for tests and small files. */
export function filePayload(file: Pick<CatalogFile, 'payloadKey' | 'size'>): Buffer {
  return Buffer.concat([...payloadChunks(file)], file.size);
}

/** Builds a file entry whose digests are those of its generated payload. */
export function describeFile(seed: string, fileKey: string, fileName: string, size: number, modified: string): CatalogFile {
  const key = payloadKey(seed, fileKey);
  let sha1: string;
  let sha256: string;
  if (size <= CHUNK) {
    const [bytes = Buffer.alloc(0)] = payloadChunks({ payloadKey: key, size });
    sha1 = hash('sha1', bytes, 'base64');
    sha256 = hash('sha256', bytes, 'base64');
  } else {
    const h1 = createHash('sha1');
    const h256 = createHash('sha256');
    for (const chunk of payloadChunks({ payloadKey: key, size })) {
      h1.update(chunk);
      h256.update(chunk);
    }
    sha1 = h1.digest('base64');
    sha256 = h256.digest('base64');
  }
  return { sha1, sha256, fileName, size, modified, payloadKey: key };
}

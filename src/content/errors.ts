// Errors of the content store. Callers branch on them (re-queue, report, skip), so they carry the
// facts as fields and not only in the message.

export type ContentCheck = 'size' | 'SHA-1' | 'SHA-256';

/** Bytes that do not match their file record. Such bytes never reach the file's final name. */
export class DigestMismatchError extends Error {
  override readonly name = 'DigestMismatchError';
  readonly algorithm: ContentCheck;
  /** Upper-case hex for digests, a byte count for size. */
  readonly expected: string;
  readonly actual: string;
  /** Content path (`XX/SHA1HEX.ext`) the bytes were meant for. */
  readonly contentPath: string;

  constructor(contentPath: string, algorithm: ContentCheck, expected: string, actual: string) {
    super(`${contentPath}: ${algorithm} mismatch: expected ${expected}, got ${actual}`);
    this.algorithm = algorithm;
    this.expected = expected;
    this.actual = actual;
    this.contentPath = contentPath;
  }
}

/** A resumable publish of the same file is already running in this process. */
export class ContentBusyError extends Error {
  override readonly name = 'ContentBusyError';
  readonly contentPath: string;

  constructor(contentPath: string) {
    super(`${contentPath}: a resumable publish of this file is already in progress`);
    this.contentPath = contentPath;
  }
}

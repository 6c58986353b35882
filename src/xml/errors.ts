// One error type for everything the reader refuses, so callers (SOAP faults, sync logs) can
// tell a bad body from a bug and report where the input went wrong.

export type XmlErrorCode =
  | 'syntax' // not well-formed
  | 'namespace' // unbound or misused prefix
  | 'dtd' // DOCTYPE or other markup declaration: refused before anything is expanded
  | 'entity' // entity reference other than the predefined five and character references
  | 'limit'; // a configured size, depth or count limit was exceeded

export class XmlError extends Error {
  override readonly name = 'XmlError';
  readonly code: XmlErrorCode;
  /** Offset in the input (UTF-16 code units) where the problem was detected. */
  readonly offset: number;
  /** 1-based; 0 when the input was refused before it was looked at (size limit). */
  readonly line: number;
  /** 1-based, in UTF-16 code units; 0 like `line`. */
  readonly column: number;

  /** `input` undefined: the position has no line (an oversize input is never scanned). */
  constructor(code: XmlErrorCode, what: string, input: string | undefined, offset: number) {
    const where = input === undefined ? { line: 0, column: 0 } : lineAndColumn(input, offset);
    super(
      input === undefined
        ? `${what} (at offset ${offset})`
        : `${what} at line ${where.line}, column ${where.column} (offset ${offset})`,
    );
    this.code = code;
    this.offset = offset;
    this.line = where.line;
    this.column = where.column;
  }
}

/** Computed only when an error is raised, so parsing never pays for line tracking. */
export function lineAndColumn(input: string, offset: number): { line: number; column: number } {
  const end = Math.max(0, Math.min(offset, input.length));
  let line = 1;
  let lineStart = 0;
  for (let nl = input.indexOf('\n'); nl !== -1 && nl < end; nl = input.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, column: end - lineStart + 1 };
}

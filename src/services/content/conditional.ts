// HTTP range and conditional-request rules for immutable files (RFC 9110 §13, §14), kept pure so
// every edge is testable without a socket.

/** The validators of one stored file. */
export interface Validators {
  /** Strong entity tag, quotes included. */
  readonly etag: string;
  /** Whole seconds since the epoch, as Last-Modified can carry it. */
  readonly lastModifiedSeconds: number;
}

export type Precondition = 'proceed' | 'not-modified' | 'failed';

export interface ConditionalHeaders {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly ifModifiedSince?: string;
  readonly ifUnmodifiedSince?: string;
}

/** RFC 9110 §13.2.2, in its order, for GET and HEAD on a representation that exists. */
export function evaluatePreconditions(headers: ConditionalHeaders, validators: Validators): Precondition {
  if (headers.ifMatch !== undefined) {
    if (!matchesAny(headers.ifMatch, validators.etag, true)) return 'failed';
  } else if (headers.ifUnmodifiedSince !== undefined) {
    const since = httpDateSeconds(headers.ifUnmodifiedSince);
    if (since !== undefined && validators.lastModifiedSeconds > since) return 'failed';
  }
  if (headers.ifNoneMatch !== undefined) {
    if (matchesAny(headers.ifNoneMatch, validators.etag, false)) return 'not-modified';
  } else if (headers.ifModifiedSince !== undefined) {
    const since = httpDateSeconds(headers.ifModifiedSince);
    if (since !== undefined && validators.lastModifiedSeconds <= since) return 'not-modified';
  }
  return 'proceed';
}

/**
 * Whether a Range may be honoured given If-Range (§13.1.5): only an exact strong match of the
 * entity tag or of Last-Modified keeps it; anything else means "send me the whole thing".
 */
export function ifRangeHolds(ifRange: string | undefined, validators: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === validators.etag;
  return httpDateSeconds(value) === validators.lastModifiedSeconds;
}

/** Inclusive byte span to send. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type RangeOutcome =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly span: Span }
  | { readonly kind: 'unsatisfiable' };

/**
 * Reads `Range` against a file of `size` bytes (§14.1.2). Only a single range is honoured:
 * several ranges get the whole file with 200, which §14.2 allows and which spares clients a
 * multipart body none of Windows' downloaders ask for. Headers we cannot read are ignored,
 * also as §14.2 allows.
 */
export function evaluateRange(header: string | undefined, size: number): RangeOutcome {
  if (header === undefined) return { kind: 'whole' };
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'whole' };
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length !== 1) return { kind: 'whole' };
  const match = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'whole' };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '') {
    // Suffix form `-n`: the last n bytes, all of them when n exceeds the size.
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', span: { start: Math.max(0, size - length), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Number(last);
  // §14.1.1 calls last < first invalid (ignorable); IIS and nginx answer 416, and so do we.
  if (start >= size || end < start) return { kind: 'unsatisfiable' };
  return { kind: 'partial', span: { start, end: Math.min(end, size - 1) } };
}

/** Seconds since the epoch of an HTTP-date, or undefined when it is not one. */
export function httpDateSeconds(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/**
 * `*` or a list of entity tags against ours. Weak comparison ignores `W/`; strong comparison
 * (If-Match) never matches a weak tag. Tags may contain commas, so they are scanned, not split.
 */
function matchesAny(list: string, etag: string, strong: boolean): boolean {
  if (list.trim() === '*') return true;
  for (const [, weak, tag] of list.matchAll(/(W\/)?("[^"]*")/g)) {
    if (tag === etag && !(strong && weak)) return true;
  }
  return false;
}

// Typed readings of attribute and text values, each failing with an UpdateDocumentError that says
// which value (`where`) was wrong and what was expected.

import { canonicalGuid } from '../../domain/update.ts';
import { UpdateDocumentError, quote } from './errors.ts';

export function requireValue(value: string | undefined, where: string): string {
  if (value === undefined) throw new UpdateDocumentError(`${where} is missing`);
  return value;
}

/**
 * The canonical form of a bare 36-character GUID, checked by hand: update documents hold
 * thousands of identities and a regex per identity showed in profiles.
 */
function bareGuid(v: string): string | undefined {
  if (v.length !== 36) return undefined;
  let upper = false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return undefined;
    } else if (c >= 0x41 && c <= 0x46) {
      upper = true;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) {
      return undefined;
    }
  }
  return upper ? v.toLowerCase() : v;
}

/** Lower-case GUID; braces and surrounding whitespace tolerated. */
export function guid(value: string | undefined, where: string): string {
  const v = requireValue(value, where);
  const g = bareGuid(v) ?? canonicalGuid(v);
  if (g === undefined) throw new UpdateDocumentError(`${where} is not a GUID: ${quote(v)}`);
  return g;
}

const MAX_INT32 = 2_147_483_647;
const DIGITS = /^\s*(\d+)\s*$/;

/** WSUS keeps revision numbers in a 32-bit signed column. */
export function revisionNumber(value: string | undefined, where: string): number {
  const v = requireValue(value, where);
  const m = DIGITS.exec(v);
  const n = m === null ? Number.NaN : Number(m[1]);
  if (!(n <= MAX_INT32)) {
    throw new UpdateDocumentError(`${where} must be a whole number from 0 to ${MAX_INT32}, got ${quote(v)}`);
  }
  return n;
}

/** A non-negative integer that fits a double exactly (file sizes exceed 32 bits). */
export function nonNegativeInteger(value: string, where: string): number {
  const m = DIGITS.exec(value);
  const n = m === null ? Number.NaN : Number(m[1]);
  if (!Number.isSafeInteger(n)) {
    throw new UpdateDocumentError(`${where} must be a non-negative whole number, got ${quote(value)}`);
  }
  return n;
}

export function optionalInteger(value: string | undefined, where: string): number | undefined {
  return value === undefined ? undefined : nonNegativeInteger(value, where);
}

/** xs:boolean (true, false, 1, 0), tolerating case and surrounding whitespace. */
export function boolean(value: string | undefined, where: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  switch (value.trim().toLowerCase()) {
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      throw new UpdateDocumentError(`${where} must be true or false, got ${quote(value)}`);
  }
}

export function oneOf<T extends string>(
  value: string,
  allowed: readonly T[],
  where: string,
): T {
  const v = value.trim();
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new UpdateDocumentError(`${where} must be one of ${allowed.join(', ')}, got ${quote(value)}`);
}

const LANGUAGE = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;

/** Language tag lower-cased (`pt-br`), the form the domain and fragment keys use. */
export function languageTag(value: string, where: string): string {
  const v = value.trim();
  if (!LANGUAGE.test(v)) throw new UpdateDocumentError(`${where} is not a language tag: ${quote(value)}`);
  return v.toLowerCase();
}

const SHA1_BASE64 = /^[A-Za-z0-9+/]{27}=$/;
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

export function sha1Base64(value: string, where: string): string {
  const v = value.trim();
  if (!SHA1_BASE64.test(v)) throw new UpdateDocumentError(`${where} is not a base64 SHA-1 digest: ${quote(value)}`);
  return v;
}

export function sha256Base64(value: string, where: string): string {
  const v = value.trim();
  if (!SHA256_BASE64.test(v)) {
    throw new UpdateDocumentError(`${where} is not a base64 SHA-256 digest: ${quote(value)}`);
  }
  return v;
}

/** A GUID in canonical form when it is one, otherwise the trimmed text. */
export function canonicalOrText(value: string): string {
  return canonicalGuid(value) ?? value.trim();
}

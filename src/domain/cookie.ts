// The opaque cookies of the server-to-server handshake (WSUS-PROTOCOLS §2.3): the authorization
// cookie DssAuth hands out (MS-WSUSSS 2.2.4.7) and the cookie GetCookie hands out and every later
// call carries (2.2.4.8). Both are sealed here with AES-256-GCM under a key the caller passes in,
// so nobody but this server can read or forge them.
//
// Layout of the bytes (EncryptedData, CookieData):
//
//   0      format (1)
//   1      kind (1 authorization, 2 server cookie): one cannot stand in for the other
//   2..5   key id, big-endian: the key to open it with, so keys can rotate
//   6..21  id of the server that sealed it, in clear: another server's cookie is told apart from
//          a forged one (ServerChanged rather than InvalidCookie)
//   22..33 IV
//   34..   ciphertext of the JSON claims, then the 16-byte GCM tag
//
// Bytes 0..21 are authenticated as associated data. Pure: the caller brings key and IV.
import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * `authorization` and `server`: the server-to-server handshake; `client-authorization` (SimpleAuth's
 * CookieData) and `client` (the Windows Update Agent's cookie): MS-WUSP.
 */
export type CookieKind = 'authorization' | 'server' | 'client-authorization' | 'client';

/** What the USS must recover from a cookie (MS-WSUSSS 2.2.4.8). */
export interface CookieClaims {
  readonly kind: CookieKind;
  /** The downstream server's GUID (its `accountGuid`). */
  readonly downstreamId: string;
  /** Target groups of the downstream server (none so far: groups target computers). */
  readonly targetGroups: readonly string[];
  readonly expiresAt: Date;
  /** Protocol version the downstream asked for in GetCookie; '' in an authorization cookie. */
  readonly protocolVersion: string;
  /** This server's GUID. */
  readonly serverId: string;
}

export interface SealingKey {
  readonly id: number;
  /** 32 bytes. */
  readonly secret: Uint8Array;
}

/** The clear part of a cookie, readable without a key. */
export interface CookieHeader {
  readonly kind: CookieKind;
  readonly keyId: number;
  readonly serverId: string;
}

const FORMAT = 1;
const KINDS: readonly CookieKind[] = ['authorization', 'server', 'client-authorization', 'client'];
const HEADER_BYTES = 22;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const COOKIE_IV_BYTES = IV_BYTES;

function guidBytes(guid: string): Buffer {
  const hex = guid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a GUID: ${guid}`);
  return Buffer.from(hex, 'hex');
}

function guidText(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function header(kind: CookieKind, keyId: number, serverId: string): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  out[0] = FORMAT;
  out[1] = KINDS.indexOf(kind) + 1;
  out.writeUInt32BE(keyId, 2);
  guidBytes(serverId).copy(out, 6);
  return out;
}

export function sealCookie(claims: CookieClaims, key: SealingKey, iv: Uint8Array): Buffer {
  return sealPayload(
    claims.kind,
    claims.serverId,
    { d: claims.downstreamId, g: claims.targetGroups, e: claims.expiresAt.getTime(), p: claims.protocolVersion },
    key,
    iv,
  );
}

/** Seals any JSON body under the cookie layout above: cookies of other shapes share keys and crypto. */
export function sealPayload(kind: CookieKind, serverId: string, body: unknown, key: SealingKey, iv: Uint8Array): Buffer {
  if (key.secret.length !== 32) throw new RangeError('a cookie key is 32 bytes');
  if (iv.length !== IV_BYTES) throw new RangeError(`a cookie IV is ${IV_BYTES} bytes`);
  const aad = header(kind, key.id, serverId);
  const cipher = createCipheriv('aes-256-gcm', key.secret, iv);
  cipher.setAAD(aad);
  const encrypted = Buffer.concat([cipher.update(JSON.stringify(body), 'utf8'), cipher.final()]);
  return Buffer.concat([aad, iv, encrypted, cipher.getAuthTag()]);
}

export function readCookieHeader(bytes: Uint8Array): CookieHeader | undefined {
  if (bytes.length < HEADER_BYTES + IV_BYTES + TAG_BYTES + 2 || bytes[0] !== FORMAT) return undefined;
  const kind = KINDS[(bytes[1] ?? 0) - 1];
  if (kind === undefined) return undefined;
  return { kind, keyId: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(2), serverId: guidText(bytes.subarray(6, 22)) };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** The JSON body of a cookie sealed with `key`, or undefined when it was not (forged, damaged, other key). */
export function openPayload(bytes: Uint8Array, key: SealingKey): { header: CookieHeader; body: unknown } | undefined {
  const head = readCookieHeader(bytes);
  if (head === undefined || head.keyId !== key.id || key.secret.length !== 32) return undefined;
  const iv = bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const encrypted = bytes.subarray(HEADER_BYTES + IV_BYTES, bytes.length - TAG_BYTES);
  let text: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.secret, iv);
    decipher.setAAD(bytes.subarray(0, HEADER_BYTES));
    decipher.setAuthTag(tag);
    text = Buffer.concat([decipher.update(encrypted), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
  try {
    return { header: head, body: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** The claims of a cookie sealed with `key`, or undefined when it was not (forged, damaged, other key). */
export function openCookie(bytes: Uint8Array, key: SealingKey): CookieClaims | undefined {
  const opened = openPayload(bytes, key);
  if (opened === undefined) return undefined;
  const b = opened.body as { d?: unknown; g?: unknown; e?: unknown; p?: unknown } | null;
  if (b === null || typeof b !== 'object') return undefined;
  if (typeof b.d !== 'string' || !isStringArray(b.g) || typeof b.e !== 'number' || typeof b.p !== 'string') return undefined;
  return {
    kind: opened.header.kind,
    downstreamId: b.d,
    targetGroups: b.g,
    expiresAt: new Date(b.e),
    protocolVersion: b.p,
    serverId: opened.header.serverId,
  };
}

// ---- rules every call applies to the cookie it carries (MS-WSUSSS 3.1.4.x request validation) --

export type ProtocolVersionCheck = 'ok' | 'malformed' | 'incompatible';

/** "x.y" with major version 1 is what this server speaks (spec versions 1.1 … 1.20). */
export function checkProtocolVersion(version: string): ProtocolVersionCheck {
  const m = /^([0-9]{1,9})\.([0-9]{1,9})$/.exec(version.trim());
  if (m === null) return 'malformed';
  return Number(m[1]) === 1 ? 'ok' : 'incompatible';
}

export type CookieVerdict =
  | { readonly ok: true; readonly claims: CookieClaims }
  | {
      readonly ok: false;
      /** `other-server`: sealed by another server; `invalid`: unreadable, forged, wrong kind or expired. */
      readonly problem: 'invalid' | 'expired' | 'other-server' | 'malformed-version' | 'incompatible-version';
    };

/**
 * Judges cookie bytes: `keyFor` returns the key of an id this server holds. Expiry is taken from
 * the sealed claims, never from the clear `Expiration` beside them.
 */
export function judgeCookie(
  bytes: Uint8Array,
  expected: { kind: CookieKind; serverId: string; now: Date },
  keyFor: (keyId: number) => SealingKey | undefined,
): CookieVerdict {
  const head = readCookieHeader(bytes);
  if (head === undefined || head.kind !== expected.kind) return { ok: false, problem: 'invalid' };
  if (head.serverId !== expected.serverId) return { ok: false, problem: 'other-server' };
  const key = keyFor(head.keyId);
  const claims = key === undefined ? undefined : openCookie(bytes, key);
  if (claims === undefined) return { ok: false, problem: 'invalid' };
  if (claims.expiresAt.getTime() <= expected.now.getTime()) return { ok: false, problem: 'expired' };
  if (claims.kind === 'server') {
    const version = checkProtocolVersion(claims.protocolVersion);
    if (version === 'malformed') return { ok: false, problem: 'malformed-version' };
    if (version === 'incompatible') return { ok: false, problem: 'incompatible-version' };
  }
  return { ok: true, claims };
}

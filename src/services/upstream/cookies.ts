// Issuing and checking the handshake's cookies with the store's keys, and turning a bad cookie into
// the fault MS-WSUSSS prescribes: InvalidCookie (absent, unreadable, forged, expired),
// ServerChanged (another server's), InvalidParameters / IncompatibleProtocolVersion (its protocol
// version), InvalidAuthorizationCookie (a bad authorization cookie in GetCookie).
import {
  COOKIE_IV_BYTES,
  judgeCookie,
  sealCookie,
  type CookieClaims,
  type CookieVerdict,
  type SealingKey,
} from '../../domain/cookie.ts';
import { SoapFault, type SoapNode } from '../../soap/index.ts';
import type { Store } from '../../store/index.ts';
import { encryptedDataOf } from '../cookie-data.ts';

const KEY_REFRESH_MS = 5 * 60_000;

export interface IssuedCookie {
  readonly expiration: Date;
  readonly data: Buffer;
}

export class CookieAuthority {
  readonly #store: Store;
  readonly #now: () => Date;
  readonly #random: (size: number) => Uint8Array;
  #keys = new Map<number, SealingKey>();
  #current: (SealingKey & { createdAt: string }) | undefined;
  #loadedAt = 0;

  constructor(store: Store, now: () => Date, random: (size: number) => Uint8Array) {
    this.#store = store;
    this.#now = now;
    this.#random = random;
  }

  /** When the key new cookies are sealed with was made: GetAuthConfig's LastChange. */
  async lastChange(): Promise<Date> {
    return new Date((await this.#currentKey()).createdAt);
  }

  async issue(claims: Omit<CookieClaims, 'serverId'>): Promise<IssuedCookie> {
    const key = await this.#currentKey();
    const data = sealCookie({ ...claims, serverId: this.#store.serverId }, key, this.#random(COOKIE_IV_BYTES));
    return { expiration: claims.expiresAt, data };
  }

  /** Judges cookie bytes of the given kind, reloading the keys once if they name one not seen yet. */
  async judge(bytes: Uint8Array, kind: CookieClaims['kind']): Promise<CookieVerdict> {
    const expected = { kind, serverId: this.#store.serverId, now: this.#now() };
    if (this.#keys.size === 0 || this.#stale()) await this.#reload();
    let verdict = judgeCookie(bytes, expected, (id) => this.#keys.get(id));
    if (!verdict.ok && verdict.problem === 'invalid') {
      // Another front end may have rotated the key since this one loaded them.
      const before = this.#keys.size;
      await this.#reload();
      if (this.#keys.size !== before) verdict = judgeCookie(bytes, expected, (id) => this.#keys.get(id));
    }
    return verdict;
  }

  /**
   * The claims of the `cookie` parameter of an operation, or the fault its state calls for. The
   * clear `Expiration` beside the sealed data is not trusted.
   */
  async verify(op: SoapNode): Promise<CookieClaims> {
    const bytes = encryptedDataOf(op.child('cookie'));
    if (bytes === undefined) throw new SoapFault('InvalidCookie', '', { reason: 'no readable cookie' });
    const verdict = await this.judge(bytes, 'server');
    if (verdict.ok) return verdict.claims;
    switch (verdict.problem) {
      case 'other-server':
        throw new SoapFault('ServerChanged', '', { reason: 'the cookie was issued by another server' });
      case 'expired':
        throw new SoapFault('InvalidCookie', '', { reason: 'the cookie has expired' });
      case 'malformed-version':
        throw new SoapFault('InvalidParameters', 'protocolVersion', { reason: 'the cookie carries a malformed protocol version' });
      case 'incompatible-version':
        throw new SoapFault('IncompatibleProtocolVersion', '', { reason: 'the cookie carries a protocol version other than 1.x' });
      default:
        throw new SoapFault('InvalidCookie', '', { reason: 'the cookie is not one this server issued' });
    }
  }

  async #currentKey(): Promise<SealingKey & { createdAt: string }> {
    if (this.#current === undefined || this.#stale()) {
      const key = await this.#store.serverKeys.current();
      this.#current = { id: key.id, secret: key.secret, createdAt: key.createdAt };
      this.#keys.set(key.id, this.#current);
      this.#loadedAt = Date.now();
    }
    return this.#current;
  }

  /** Keys rotated or retired through another front end are seen within this long. */
  #stale(): boolean {
    return Date.now() - this.#loadedAt > KEY_REFRESH_MS;
  }

  async #reload(): Promise<void> {
    const keys = await this.#store.serverKeys.active();
    this.#keys = new Map(keys.map((k) => [k.id, { id: k.id, secret: k.secret }]));
    const newest = keys[0];
    if (newest !== undefined) this.#current = { id: newest.id, secret: newest.secret, createdAt: newest.createdAt };
    this.#loadedAt = Date.now();
  }
}


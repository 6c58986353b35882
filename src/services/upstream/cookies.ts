// Issuing and checking the handshake's cookies with the store's keys, and turning a bad cookie into
// the fault MS-WSUSSS prescribes: InvalidCookie (absent, unreadable, forged, expired),
// ServerChanged (another server's), InvalidParameters / IncompatibleProtocolVersion (its protocol
// version), InvalidAuthorizationCookie (a bad authorization cookie in GetCookie).
import { COOKIE_IV_BYTES, judgeCookie, readCookieHeader, sealCookie, type CookieClaims, type CookieVerdict } from '../../domain/cookie.ts';
import { SoapFault, type SoapNode } from '../../soap/index.ts';
import type { Store } from '../../store/index.ts';
import { encryptedDataOf } from '../cookie-data.ts';
import { ServerKeyring } from '../server-keyring.ts';

export interface IssuedCookie {
  readonly expiration: Date;
  readonly data: Buffer;
}

export class CookieAuthority {
  readonly #store: Store;
  readonly #now: () => Date;
  readonly #random: (size: number) => Uint8Array;
  readonly #keyring: ServerKeyring;

  constructor(store: Store, now: () => Date, random: (size: number) => Uint8Array) {
    this.#store = store;
    this.#keyring = new ServerKeyring(store.serverKeys);
    this.#now = now;
    this.#random = random;
  }

  /** When the key new cookies are sealed with was made: GetAuthConfig's LastChange. */
  async lastChange(): Promise<Date> {
    return new Date((await this.#keyring.current()).createdAt);
  }

  async issue(claims: Omit<CookieClaims, 'serverId'>): Promise<IssuedCookie> {
    const key = await this.#keyring.current();
    const data = sealCookie({ ...claims, serverId: this.#store.serverId }, key, this.#random(COOKIE_IV_BYTES));
    return { expiration: claims.expiresAt, data };
  }

  /** Judges cookie bytes of the given kind. */
  async judge(bytes: Uint8Array, kind: CookieClaims['kind']): Promise<CookieVerdict> {
    // Another kind's or server's cookie is refused on its header: no key is looked up for it.
    const head = readCookieHeader(bytes);
    const key = head?.kind === kind && head.serverId === this.#store.serverId ? await this.#keyring.keyOf(bytes) : undefined;
    return judgeCookie(bytes, { kind, serverId: this.#store.serverId, now: this.#now() }, (id) => (id === key?.id ? key : undefined));
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
}

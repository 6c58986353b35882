// The client's cookies (WSUS-PROTOCOLS §4.3), sealed with the server keys the upstream role uses
// (domain/cookie.ts, store.serverKeys) under cookie kinds of their own, so neither role's cookie
// opens the other's door.
import { COOKIE_IV_BYTES, openPayload, readCookieHeader, sealPayload, type CookieKind } from '../../domain/cookie.ts';
import { SoapFault, type SoapNode } from '../../soap/index.ts';
import type { Store } from '../../store/index.ts';
import { encryptedDataOf } from '../cookie-data.ts';
import { ServerKeyring } from '../server-keyring.ts';

export { encryptedDataOf };

/** SimpleAuth's CookieData: who asked, and until when it may be traded for a cookie. */
export interface AuthorizationClaims {
  readonly clientId: string;
  readonly expiresAt: Date;
}

/** What every call after GetCookie carries. */
export interface ClientClaims {
  readonly clientId: string;
  /** The computer's groups when the cookie was issued; membership changes apply at the next GetCookie. */
  readonly groupIds: readonly string[];
  readonly expiresAt: Date;
  /** The configuration (GetConfig LastChange, ms) the client had. */
  readonly configVersion: number;
  /** Position in the change sequence up to which the client has seen deployments. */
  readonly watermark: number;
}

export type Judged<T> = { ok: true; claims: T } | { ok: false; problem: 'invalid' | 'expired' | 'other-server' };

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export class ClientCookies {
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

  async sealAuthorization(claims: AuthorizationClaims): Promise<Buffer> {
    return this.#seal('client-authorization', { c: claims.clientId, e: claims.expiresAt.getTime() });
  }

  async seal(claims: ClientClaims): Promise<Buffer> {
    return this.#seal('client', { c: claims.clientId, g: claims.groupIds, e: claims.expiresAt.getTime(), v: claims.configVersion, w: claims.watermark });
  }

  async judgeAuthorization(bytes: Uint8Array): Promise<Judged<AuthorizationClaims>> {
    return this.#judge(bytes, 'client-authorization', false, (b) =>
      typeof b.c === 'string' && typeof b.e === 'number' ? { clientId: b.c, expiresAt: new Date(b.e) } : undefined,
    );
  }

  /** With `allowExpired`, an expired cookie still yields its claims (GetCookie reads the old watermark). */
  async judge(bytes: Uint8Array, options: { allowExpired?: boolean } = {}): Promise<Judged<ClientClaims>> {
    return this.#judge(bytes, 'client', options.allowExpired === true, (b) =>
      typeof b.c === 'string' && isStrings(b.g) && typeof b.e === 'number' && typeof b.v === 'number' && typeof b.w === 'number'
        ? { clientId: b.c, groupIds: b.g, expiresAt: new Date(b.e), configVersion: b.v, watermark: b.w }
        : undefined,
    );
  }

  /**
   * The claims of an operation's `cookie` parameter, or the fault MS-WUSP prescribes: InvalidCookie
   * (absent, unreadable, forged), ServerChanged (another server's), CookieExpired.
   */
  async verify(op: SoapNode): Promise<ClientClaims> {
    const bytes = encryptedDataOf(op.child('cookie'));
    if (bytes === undefined) throw new SoapFault('InvalidCookie', '', { reason: 'no readable cookie' });
    const verdict = await this.judge(bytes);
    if (verdict.ok) return verdict.claims;
    switch (verdict.problem) {
      case 'other-server':
        throw new SoapFault('ServerChanged', '', { reason: 'the cookie was issued by another server' });
      case 'expired':
        throw new SoapFault('CookieExpired', '', { reason: 'the cookie has expired' });
      default:
        throw new SoapFault('InvalidCookie', '', { reason: 'the cookie is not one this server issued' });
    }
  }

  async #seal(kind: CookieKind, body: unknown): Promise<Buffer> {
    const key = await this.#keyring.current();
    return sealPayload(kind, this.#store.serverId, body, key, this.#random(COOKIE_IV_BYTES));
  }

  async #judge<T extends { expiresAt: Date }>(
    bytes: Uint8Array,
    kind: CookieKind,
    allowExpired: boolean,
    read: (body: Record<string, unknown>) => T | undefined,
  ): Promise<Judged<T>> {
    const head = readCookieHeader(bytes);
    if (head === undefined || head.kind !== kind) return { ok: false, problem: 'invalid' };
    if (head.serverId !== this.#store.serverId) return { ok: false, problem: 'other-server' };
    const key = await this.#keyring.keyOf(bytes);
    const opened = key === undefined ? undefined : openPayload(bytes, key);
    const body = opened?.body;
    const claims = body !== null && typeof body === 'object' ? read(body as Record<string, unknown>) : undefined;
    if (claims === undefined) return { ok: false, problem: 'invalid' };
    if (!allowExpired && claims.expiresAt.getTime() <= this.#now().getTime()) return { ok: false, problem: 'expired' };
    return { ok: true, claims };
  }
}

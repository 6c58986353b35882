// The server keys both roles seal their cookies with (store.serverKeys), cached: every SOAP call
// opens a cookie, and reading the keys from the store each time would double its queries.
import { readCookieHeader, type SealingKey } from '../domain/cookie.ts';
import type { Store } from '../store/index.ts';

/** Keys rotated or retired through another front end are seen within this long. */
const KEY_REFRESH_MS = 5 * 60_000;

export type CurrentKey = SealingKey & { readonly createdAt: string };
type ServerKeys = Pick<Store['serverKeys'], 'current' | 'active'>;

export class ServerKeyring {
  readonly #serverKeys: ServerKeys;
  #keys = new Map<number, SealingKey>();
  #current: CurrentKey | undefined;
  #loadedAt = 0;
  /** The reload under way: callers arriving meanwhile share it. */
  #reloading: Promise<void> | undefined;

  constructor(serverKeys: ServerKeys) {
    this.#serverKeys = serverKeys;
  }

  /** The key new cookies are sealed with (made on first use). */
  async current(): Promise<CurrentKey> {
    if (this.#current === undefined || this.#stale()) {
      const key = await this.#serverKeys.current();
      this.#current = { id: key.id, secret: key.secret, createdAt: key.createdAt };
      this.#keys.set(key.id, this.#current);
      this.#loadedAt = Date.now();
    }
    return this.#current;
  }

  /**
   * The key cookie bytes name, if it is an active one. A key not seen yet (another front end
   * rotated since these were loaded) makes the keys be read again, once.
   */
  async keyOf(bytes: Uint8Array): Promise<SealingKey | undefined> {
    const head = readCookieHeader(bytes);
    if (head === undefined) return undefined;
    if (this.#keys.size === 0 || this.#stale() || !this.#keys.has(head.keyId)) await this.#reload();
    return this.#keys.get(head.keyId);
  }

  #stale(): boolean {
    return Date.now() - this.#loadedAt > KEY_REFRESH_MS;
  }

  #reload(): Promise<void> {
    this.#reloading ??= (async () => {
      try {
        const keys = await this.#serverKeys.active();
        this.#keys = new Map(keys.map((k) => [k.id, { id: k.id, secret: k.secret }]));
        const newest = keys[0];
        if (newest !== undefined) this.#current = { id: newest.id, secret: newest.secret, createdAt: newest.createdAt };
        this.#loadedAt = Date.now();
      } finally {
        this.#reloading = undefined;
      }
    })();
    return this.#reloading;
  }
}

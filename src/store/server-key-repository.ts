// The secret keys that seal this server's cookies (domain/cookie.ts): generated here, once, and
// kept with the database so every front end of a shared database and every restart opens the
// cookies the others issued. A new key is only a rotation away; retired keys stop opening cookies.
import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import { nowIso, type StoreContext } from './sql-util.ts';
import { upstreamDb, type ServerKeyTable } from './upstream-schema.ts';

export interface ServerKey {
  readonly id: number;
  /** 32 random bytes. */
  readonly secret: Uint8Array;
  readonly createdAt: string;
  readonly retiredAt?: string;
}

export const SERVER_KEY_BYTES = 32;

function toKey(r: Selectable<ServerKeyTable>): ServerKey {
  return {
    id: Number(r.key_id),
    secret: new Uint8Array(r.secret),
    createdAt: r.created_at,
    ...(r.retired_at !== null && { retiredAt: r.retired_at }),
  };
}

export class ServerKeyRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Keys that still open cookies, newest first; the first one seals new cookies. */
  async active(): Promise<ServerKey[]> {
    const rows = await upstreamDb(this.#ctx)
      .selectFrom('server_key')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('key_id', 'desc')
      .execute();
    return rows.map(toKey);
  }

  /** The key new cookies are sealed with, created on first use. */
  async current(): Promise<ServerKey> {
    const [newest] = await this.active();
    if (newest !== undefined) return newest;
    return this.#create();
  }

  /** Makes a new key the current one; older keys keep opening the cookies they sealed. */
  async rotate(): Promise<ServerKey> {
    return this.#create();
  }

  /** Retires every key but the current one: cookies they sealed stop working at once. */
  async retireOlder(): Promise<number> {
    const current = await this.current();
    const result = await upstreamDb(this.#ctx)
      .updateTable('server_key')
      .set({ retired_at: nowIso() })
      .where('key_id', '<', current.id)
      .where('retired_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async #create(): Promise<ServerKey> {
    const db = upstreamDb(this.#ctx);
    const max = await db.selectFrom('server_key').select((eb) => eb.fn.max('key_id').as('max')).executeTakeFirst();
    const id = Number(max?.max ?? 0) + 1;
    // Two front ends creating a key at once pick the same id: one insert wins and both use it.
    await db
      .insertInto('server_key')
      .values({ key_id: id, secret: randomBytes(SERVER_KEY_BYTES), created_at: nowIso(), retired_at: null })
      .onConflict((oc) => oc.column('key_id').doNothing())
      .execute();
    const row = await db.selectFrom('server_key').selectAll().where('key_id', '=', id).executeTakeFirstOrThrow();
    return toKey(row);
  }
}

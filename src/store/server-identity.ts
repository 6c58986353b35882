// The server's own id (a GUID, as WSUS has one): created on first open, never changed. Cookies
// and rollups carry it.
import { randomUUID } from 'node:crypto';
import { nowIso, type StoreContext } from './sql-util.ts';

export async function ensureServerId(ctx: StoreContext): Promise<string> {
  // Two front ends opening a new PostgreSQL database at once both try; the first insert wins and
  // both read the winner.
  await ctx.db
    .insertInto('server_identity')
    .values({ id: 1, server_id: randomUUID(), created_at: nowIso() })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await ctx.db.selectFrom('server_identity').select('server_id').where('id', '=', 1).executeTakeFirstOrThrow();
  return row.server_id;
}

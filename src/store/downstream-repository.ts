// Downstream servers that synchronize from this one (MS-WSUSSS "DSS table").
import type { Selectable } from 'kysely';
import type { DownstreamServer } from '../domain/downstream.ts';
import { nowIso, type StoreContext } from './sql-util.ts';
import { upstreamDb, type DownstreamServerTable } from './upstream-schema.ts';

function toDownstream(r: Selectable<DownstreamServerTable>): DownstreamServer {
  return {
    id: r.server_id,
    accountName: r.account_name,
    ...(r.protocol_version !== null && { protocolVersion: r.protocol_version }),
    isReplica: Boolean(r.is_replica),
    firstContactAt: r.first_contact_at,
    lastContactAt: r.last_contact_at,
  };
}

export interface DownstreamContact {
  readonly accountName?: string;
  readonly protocolVersion?: string;
  /** Only ever set: a server that once asked for deployments stays marked a replica. */
  readonly isReplica?: true;
}

export class DownstreamRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async get(id: string): Promise<DownstreamServer | undefined> {
    const row = await upstreamDb(this.#ctx).selectFrom('downstream_server').selectAll().where('server_id', '=', id).executeTakeFirst();
    return row && toDownstream(row);
  }

  async list(): Promise<DownstreamServer[]> {
    const rows = await upstreamDb(this.#ctx).selectFrom('downstream_server').selectAll().orderBy('first_contact_at').orderBy('server_id').execute();
    return rows.map(toDownstream);
  }

  async count(): Promise<number> {
    const row = await upstreamDb(this.#ctx)
      .selectFrom('downstream_server')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Records a first contact; false when the server was already known (then nothing changes). */
  async register(server: { id: string; accountName: string }, at = nowIso()): Promise<boolean> {
    const result = await upstreamDb(this.#ctx)
      .insertInto('downstream_server')
      .values({
        server_id: server.id,
        account_name: server.accountName,
        protocol_version: null,
        is_replica: false,
        first_contact_at: at,
        last_contact_at: at,
      })
      .onConflict((oc) => oc.column('server_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** A later contact: updates the last contact time and what the call told. False when unknown. */
  async touch(id: string, contact: DownstreamContact = {}, at = nowIso()): Promise<boolean> {
    const result = await upstreamDb(this.#ctx)
      .updateTable('downstream_server')
      .set({
        last_contact_at: at,
        ...(contact.accountName !== undefined && { account_name: contact.accountName }),
        ...(contact.protocolVersion !== undefined && { protocol_version: contact.protocolVersion }),
        ...(contact.isReplica && { is_replica: true }),
      })
      .where('server_id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Forgets a server; its next contact is a first contact again (and counts against the limit). */
  async remove(id: string): Promise<boolean> {
    const result = await upstreamDb(this.#ctx).deleteFrom('downstream_server').where('server_id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

// Computers and their group memberships (migration 0005).
import { sql, type Selectable } from 'kysely';
import type { Computer, ComputerInfo } from '../domain/computer.ts';
import { clientDb, type ComputerTable } from './client-schema.ts';
import { atomically, inList, nowIso, type StoreContext } from './sql-util.ts';

export interface ComputerPageFilter {
  /** Only computers placed directly in this group. */
  readonly groupId?: string;
  /** Part of the DNS name or the IP address (case-insensitive), or the exact id. */
  readonly text?: string;
  readonly limit: number;
  readonly offset: number;
}

function toComputer(r: Selectable<ComputerTable>, groupIds: readonly string[]): Computer {
  const opt = <K extends string, V>(key: K, value: V | null) => (value === null ? {} : ({ [key]: value } as Record<K, V>));
  return {
    id: r.computer_id,
    dnsName: r.dns_name,
    ...opt('ipAddress', r.ip_address),
    ...opt('osMajor', r.os_major === null ? null : Number(r.os_major)),
    ...opt('osMinor', r.os_minor === null ? null : Number(r.os_minor)),
    ...opt('osBuild', r.os_build === null ? null : Number(r.os_build)),
    ...opt('osServicePackMajor', r.os_sp_major === null ? null : Number(r.os_sp_major)),
    ...opt('osServicePackMinor', r.os_sp_minor === null ? null : Number(r.os_sp_minor)),
    ...opt('osLocale', r.os_locale),
    ...opt('osDescription', r.os_description),
    ...opt('manufacturer', r.manufacturer),
    ...opt('model', r.model),
    ...opt('biosName', r.bios_name),
    ...opt('biosVersion', r.bios_version),
    ...opt('biosReleaseDate', r.bios_release_date),
    ...opt('processorArchitecture', r.processor_architecture),
    ...opt('clientVersion', r.client_version),
    ...opt('registeredAt', r.registered_at),
    ...opt('lastSyncAt', r.last_sync_at),
    ...opt('lastReportAt', r.last_report_at),
    groupIds,
    createdAt: r.created_at,
  };
}

export class ComputerRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async get(id: string): Promise<Computer | undefined> {
    const db = clientDb(this.#ctx);
    const row = await db.selectFrom('computer').selectAll().where('computer_id', '=', id).executeTakeFirst();
    if (row === undefined) return undefined;
    return toComputer(row, await this.groupsOf(id));
  }

  async list(): Promise<Computer[]> {
    const db = clientDb(this.#ctx);
    const [rows, members] = await Promise.all([
      db.selectFrom('computer').selectAll().orderBy('dns_name').orderBy('computer_id').execute(),
      db.selectFrom('computer_membership').selectAll().orderBy('group_id').execute(),
    ]);
    const groups = new Map<string, string[]>();
    for (const m of members) groups.set(m.computer_id, [...(groups.get(m.computer_id) ?? []), m.group_id]);
    return rows.map((r) => toComputer(r, groups.get(r.computer_id) ?? []));
  }

  /** A page of computers by name, with how many match: the administration lists 10,000s of them. */
  async page(filter: ComputerPageFilter): Promise<{ total: number; computers: Computer[] }> {
    const db = clientDb(this.#ctx);
    let query = db.selectFrom('computer as c');
    if (filter.groupId !== undefined) {
      const groupId = filter.groupId;
      query = query.where((eb) => eb.exists(eb.selectFrom('computer_membership as m').select('m.group_id').whereRef('m.computer_id', '=', 'c.computer_id').where('m.group_id', '=', groupId)));
    }
    const text = filter.text?.trim().toLowerCase();
    if (text !== undefined && text !== '') {
      // LIKE wildcards in the admin's text are taken literally.
      const pattern = `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      query = query.where((w) =>
        w.or([
          w(sql<string>`lower(c.dns_name)`, 'like', sql<string>`${pattern} escape '\\'`),
          w('c.ip_address', 'like', sql<string>`${pattern} escape '\\'`),
          w('c.computer_id', '=', text),
        ]),
      );
    }
    const [count, rows] = await Promise.all([
      query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      query.selectAll('c').orderBy('c.dns_name').orderBy('c.computer_id').limit(filter.limit).offset(filter.offset).execute(),
    ]);
    const groups = new Map<string, string[]>();
    if (rows.length > 0) {
      const members = await db
        .selectFrom('computer_membership')
        .selectAll()
        .where(inList(this.#ctx.dialect, 'computer_id', rows.map((r) => r.computer_id)))
        .orderBy('group_id')
        .execute();
      for (const m of members) groups.set(m.computer_id, [...(groups.get(m.computer_id) ?? []), m.group_id]);
    }
    return { total: Number(count.n), computers: rows.map((r) => toComputer(r, groups.get(r.computer_id) ?? [])) };
  }

  /**
   * Forgets a computer with its memberships, statuses and events (WSUS "Delete" on a computer).
   * One that contacts the server again comes back as new. False when it was unknown.
   */
  async delete(id: string): Promise<boolean> {
    return atomically(this.#ctx.db, async (tx) => (await deleteComputerRows({ db: tx, dialect: this.#ctx.dialect }, [id])).computers > 0);
  }

  async groupsOf(id: string): Promise<string[]> {
    const rows = await clientDb(this.#ctx)
      .selectFrom('computer_membership')
      .select('group_id')
      .where('computer_id', '=', id)
      .orderBy('group_id')
      .execute();
    return rows.map((r) => r.group_id);
  }

  /**
   * Records a computer that made contact (its name and address may have changed since). With
   * `groupIds`, its memberships become exactly those; without, a new computer goes to
   * `defaultGroupId` and a known one keeps its groups. Returns the memberships.
   */
  async touch(contact: { id: string; dnsName: string; ipAddress?: string; groupIds?: readonly string[]; defaultGroupId: string }): Promise<string[]> {
    return atomically(this.#ctx.db, async (tx) => {
      const db = clientDb({ db: tx, dialect: this.#ctx.dialect });
      const now = nowIso();
      const existing = await db.selectFrom('computer').select('computer_id').where('computer_id', '=', contact.id).executeTakeFirst();
      if (existing === undefined) {
        await db
          .insertInto('computer')
          .values({ ...emptyRow(), computer_id: contact.id, dns_name: contact.dnsName, ip_address: contact.ipAddress ?? null, created_at: now })
          .onConflict((oc) => oc.column('computer_id').doNothing())
          .execute();
      } else {
        await db
          .updateTable('computer')
          .set({ dns_name: contact.dnsName, ...(contact.ipAddress !== undefined ? { ip_address: contact.ipAddress } : {}) })
          .where('computer_id', '=', contact.id)
          .execute();
      }
      const wanted = contact.groupIds ?? (existing === undefined ? [contact.defaultGroupId] : undefined);
      if (wanted !== undefined) {
        await db.deleteFrom('computer_membership').where('computer_id', '=', contact.id).execute();
        const unique = [...new Set(wanted)];
        if (unique.length > 0) {
          await db
            .insertInto('computer_membership')
            .values(unique.map((g) => ({ computer_id: contact.id, group_id: g })))
            // Two front ends placing the same new computer at once.
            .onConflict((oc) => oc.columns(['computer_id', 'group_id']).doNothing())
            .execute();
        }
      }
      const rows = await db.selectFrom('computer_membership').select('group_id').where('computer_id', '=', contact.id).orderBy('group_id').execute();
      return rows.map((r) => r.group_id);
    });
  }

  /**
   * Computers an administrator names: by id, by full DNS name, or by the host part of it
   * (`pc1` finds `pc1.corp.example`), case-insensitively. Several when the short name is shared.
   */
  async findByName(name: string): Promise<Computer[]> {
    const wanted = name.trim().toLowerCase();
    if (wanted === '') return [];
    const db = clientDb(this.#ctx);
    const rows = await db
      .selectFrom('computer')
      .selectAll()
      .where((w) =>
        w.or([
          w('computer_id', '=', wanted),
          w(sql<string>`lower(dns_name)`, '=', wanted),
          w(sql<string>`lower(dns_name)`, 'like', sql<string>`${`${wanted.replace(/[\\%_]/g, (c) => `\\${c}`)}.%`} escape '\\'`),
        ]),
      )
      .orderBy('dns_name')
      .orderBy('computer_id')
      .execute();
    // An exact id or full name beats a host-part match, so `pc1` is not ambiguous with `pc1.a`.
    const exact = rows.filter((r) => r.computer_id === wanted || r.dns_name.toLowerCase() === wanted);
    const chosen = exact.length > 0 ? exact : rows;
    return Promise.all(chosen.map(async (r) => toComputer(r, await this.groupsOf(r.computer_id))));
  }

  /**
   * Puts a computer in exactly these groups (server-side targeting). False when the computer is
   * unknown. Memberships decide scopes per request, so no change position is needed.
   */
  async setGroups(id: string, groupIds: readonly string[]): Promise<boolean> {
    return atomically(this.#ctx.db, async (tx) => {
      const db = clientDb({ db: tx, dialect: this.#ctx.dialect });
      const existing = await db.selectFrom('computer').select('computer_id').where('computer_id', '=', id).executeTakeFirst();
      if (existing === undefined) return false;
      await db.deleteFrom('computer_membership').where('computer_id', '=', id).execute();
      const unique = [...new Set(groupIds)];
      if (unique.length > 0) await db.insertInto('computer_membership').values(unique.map((g) => ({ computer_id: id, group_id: g }))).execute();
      return true;
    });
  }

  /** Stores what RegisterComputer reported. False when the computer is unknown. */
  async register(id: string, info: ComputerInfo, ipAddress?: string): Promise<boolean> {
    const result = await clientDb(this.#ctx)
      .updateTable('computer')
      .set({
        dns_name: info.dnsName,
        ...(ipAddress !== undefined ? { ip_address: ipAddress } : {}),
        os_major: info.osMajor ?? null,
        os_minor: info.osMinor ?? null,
        os_build: info.osBuild ?? null,
        os_sp_major: info.osServicePackMajor ?? null,
        os_sp_minor: info.osServicePackMinor ?? null,
        os_locale: info.osLocale ?? null,
        os_description: info.osDescription ?? null,
        manufacturer: info.manufacturer ?? null,
        model: info.model ?? null,
        bios_name: info.biosName ?? null,
        bios_version: info.biosVersion ?? null,
        bios_release_date: info.biosReleaseDate ?? null,
        processor_architecture: info.processorArchitecture ?? null,
        client_version: info.clientVersion ?? null,
        registered_at: nowIso(),
      })
      .where('computer_id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async markSynced(id: string, at: Date): Promise<void> {
    await clientDb(this.#ctx).updateTable('computer').set({ last_sync_at: at.toISOString() }).where('computer_id', '=', id).execute();
  }

  async markReported(id: string, at: Date): Promise<void> {
    await clientDb(this.#ctx).updateTable('computer').set({ last_report_at: at.toISOString() }).where('computer_id', '=', id).execute();
  }
}

function emptyRow(): Omit<ComputerTable, 'computer_id' | 'dns_name' | 'created_at'> {
  return {
    ip_address: null,
    os_major: null,
    os_minor: null,
    os_build: null,
    os_sp_major: null,
    os_sp_minor: null,
    os_locale: null,
    os_description: null,
    manufacturer: null,
    model: null,
    bios_name: null,
    bios_version: null,
    bios_release_date: null,
    processor_architecture: null,
    client_version: null,
    registered_at: null,
    last_sync_at: null,
    last_report_at: null,
  };
}

/**
 * Removes computers with everything recorded of them (events, statuses, memberships), in the
 * caller's transaction: an admin's delete and the cleanup of computers not seen for N days.
 */
export async function deleteComputerRows(ctx: StoreContext, ids: readonly string[]): Promise<{ computers: number; events: number; statuses: number }> {
  if (ids.length === 0) return { computers: 0, events: 0, statuses: 0 };
  const db = clientDb(ctx);
  const events = await db.deleteFrom('client_event').where(inList(ctx.dialect, 'computer_id', ids)).executeTakeFirst();
  const statuses = await db.deleteFrom('update_status').where(inList(ctx.dialect, 'computer_id', ids)).executeTakeFirst();
  await db.deleteFrom('computer_membership').where(inList(ctx.dialect, 'computer_id', ids)).execute();
  const computers = await db.deleteFrom('computer').where(inList(ctx.dialect, 'computer_id', ids)).executeTakeFirst();
  return { computers: Number(computers.numDeletedRows), events: Number(events.numDeletedRows), statuses: Number(statuses.numDeletedRows) };
}

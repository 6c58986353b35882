// Row shapes of the client-role tables (migration 0005), added with `withTables` as upstream-schema.ts does.
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { StoreContext } from './sql-util.ts';

export interface ComputerTable {
  computer_id: string;
  dns_name: string;
  ip_address: string | null;
  os_major: number | null;
  os_minor: number | null;
  os_build: number | null;
  os_sp_major: number | null;
  os_sp_minor: number | null;
  os_locale: string | null;
  os_description: string | null;
  manufacturer: string | null;
  model: string | null;
  bios_name: string | null;
  bios_version: string | null;
  bios_release_date: string | null;
  processor_architecture: string | null;
  client_version: string | null;
  registered_at: string | null;
  last_sync_at: string | null;
  last_report_at: string | null;
  created_at: string;
}

export interface ComputerMembershipTable {
  computer_id: string;
  group_id: string;
}

export interface ClientEventTable {
  event_instance_id: string;
  computer_id: string;
  namespace_id: number;
  event_id: number;
  source_id: number;
  update_id: string;
  revision_number: number;
  win32_hresult: number;
  app_name: string;
  time_at_target: string;
  received_at: string;
  replacement_strings: string;
  misc_data: string;
}

export interface UpdateStatusTable {
  computer_id: string;
  update_id: string;
  status: string;
  changed_at: string;
}

export type ClientTables = {
  computer: ComputerTable;
  computer_membership: ComputerMembershipTable;
  client_event: ClientEventTable;
  update_status: UpdateStatusTable;
};

export type ClientDb = Kysely<Database & ClientTables>;

export function clientDb(ctx: StoreContext): ClientDb {
  return ctx.db.withTables<ClientTables>() as unknown as ClientDb;
}

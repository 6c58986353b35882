// Row shapes of the upstream-role tables (migration 0003), for Kysely's type checking. Kept beside
// schema.ts rather than in it: the repositories that use them add them with `withTables`.
import type { ColumnType, Generated, Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { StoreContext } from './sql-util.ts';

type Bool = ColumnType<boolean | number, boolean, boolean>;

export interface DownstreamServerTable {
  server_id: string;
  account_name: string;
  protocol_version: string | null;
  is_replica: Bool;
  first_contact_at: string;
  last_contact_at: string;
}

export interface ServerKeyTable {
  key_id: number;
  secret: Uint8Array;
  created_at: string;
  retired_at: string | null;
}

export interface AnnouncedDeploymentTable {
  announced_id: Generated<number>;
  deployment_id: string;
  announced_at: string;
  dead_seq: number | null;
}

export interface TaskTable {
  task_id: Generated<number>;
  kind: string;
  subject: string;
  message: string;
  created_at: string;
  last_seen_at: string;
  occurrences: number;
  resolved_at: string | null;
}

// A type, not an interface: withTables wants an index-compatible record.
export type UpstreamTables = {
  downstream_server: DownstreamServerTable;
  server_key: ServerKeyTable;
  announced_deployment: AnnouncedDeploymentTable;
  task: TaskTable;
};

export type UpstreamDb = Kysely<Database & UpstreamTables>;

export function upstreamDb(ctx: StoreContext): UpstreamDb {
  return ctx.db.withTables<UpstreamTables>() as unknown as UpstreamDb;
}

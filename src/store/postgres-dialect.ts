// Kysely over a pg Pool, for several front ends sharing one database (DESIGN §6).
import pg from 'pg';
import { PostgresDialect } from 'kysely';

const INT8_OID = 20;

/**
 * bigint columns (change sequence, file sizes, counts) come back as numbers, as they do from
 * SQLite, so repositories need no per-backend code; a value past 2^53 stays exact as a BigInt.
 */
function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface OpenedPostgres {
  readonly dialect: PostgresDialect;
  readonly pool: pg.Pool;
}

export function openPostgres(connectionString: string, options: { poolSize?: number } = {}): OpenedPostgres {
  const pool = new pg.Pool({ connectionString, types, max: options.poolSize ?? 10 });
  // An idle client losing its connection (server restart) emits on the pool; without a listener
  // that would crash the process. The next query gets a fresh connection.
  pool.on('error', () => {});
  return { dialect: new PostgresDialect({ pool }), pool };
}

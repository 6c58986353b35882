// Kysely over the built-in node:sqlite. Kysely's SqliteDialect expects a better-sqlite3-shaped
// database; this adapts node:sqlite's DatabaseSync/StatementSync to that shape.
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  type SqliteDialectConfig,
  type SqliteStatement,
} from 'kysely';

/** Chunked multi-row inserts reuse a handful of statement shapes; caching them skips re-preparing. */
const STATEMENT_CACHE_SIZE = 64;

function bindable(value: unknown): SQLInputValue {
  switch (typeof value) {
    case 'boolean':
      return value ? 1 : 0;
    case 'undefined':
      return null;
    case 'object':
      if (value instanceof Date) return value.toISOString();
      return value as SQLInputValue;
    default:
      return value as SQLInputValue;
  }
}

function bindAll(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  const out = new Array<SQLInputValue>(parameters.length);
  for (let i = 0; i < parameters.length; i++) out[i] = bindable(parameters[i]);
  return out;
}

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #stmt: StatementSync;

  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    this.reader = stmt.columns().length > 0;
  }

  // node:sqlite rows have a null prototype; pg's are plain objects. Plain objects here too, so a
  // row compares and prints the same whichever backend produced it.
  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#stmt.all(...bindAll(parameters)).map((row) => ({ ...row }));
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#stmt.run(...bindAll(parameters));
  }

  *iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    for (const row of this.#stmt.iterate(...bindAll(parameters))) yield { ...row };
  }
}

/**
 * Files open in this process. node:sqlite is synchronous: a second connection to the same file
 * waiting for the first one's write lock would block the very thread the first one needs to
 * commit, and fail after busy_timeout. One store per file per process; other processes are fine.
 */
const openFiles = new Set<string>();

export class NodeSqliteDatabase implements SqliteDatabase {
  readonly raw: DatabaseSync;
  readonly #cache = new Map<string, NodeSqliteStatement>();
  readonly #path: string;

  constructor(raw: DatabaseSync, path: string) {
    this.raw = raw;
    this.#path = path;
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.#cache.get(sql);
    if (cached) {
      // Map keeps insertion order: re-inserting makes it the most recently used.
      this.#cache.delete(sql);
      this.#cache.set(sql, cached);
      return cached;
    }
    const stmt = new NodeSqliteStatement(this.raw.prepare(sql));
    this.#cache.set(sql, stmt);
    if (this.#cache.size > STATEMENT_CACHE_SIZE) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return stmt;
  }

  close(): void {
    this.#cache.clear();
    if (this.raw.isOpen) this.raw.close();
    openFiles.delete(this.#path);
  }
}

/**
 * `BEGIN IMMEDIATE` instead of Kysely's plain `BEGIN`: a deferred transaction that reads and then
 * writes can fail with SQLITE_BUSY at once (no busy wait) when another process writes meanwhile.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class NodeSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

export interface OpenedSqlite {
  readonly dialect: SqliteDialect;
  readonly database: NodeSqliteDatabase;
}

/** Opens (creating if needed) a SQLite file, or `:memory:`, with the pragmas the store relies on. */
export function openSqlite(path: string): OpenedSqlite {
  if (path !== ':memory:' && openFiles.has(path)) {
    throw new Error(`SQLite database ${path} is already open in this process; share its store instead`);
  }
  const raw = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  const database = new NodeSqliteDatabase(raw, path);
  if (path !== ':memory:') openFiles.add(path);
  try {
    // WAL lets readers run beside the writer; NORMAL is durable across application crashes in
    // WAL mode and only risks the last transactions on power loss.
    raw.exec('pragma journal_mode = wal');
    raw.exec('pragma synchronous = normal');
    raw.exec('pragma foreign_keys = on');
    raw.exec('pragma busy_timeout = 10000');
    raw.exec('pragma temp_store = memory');
    raw.exec('pragma cache_size = -65536');
  } catch (error) {
    database.close();
    throw error;
  }
  return { dialect: new NodeSqliteDialect({ database }), database };
}

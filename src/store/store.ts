// Opening the database: SQLite by default (one file in the data directory), PostgreSQL when the
// database is a postgres:// URL (DESIGN §6). Migrations run on open.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Kysely, type Dialect } from 'kysely';
import { AccountRepository, AuditRepository } from './account-repository.ts';
import { AdminQueryRepository } from './admin-query-repository.ts';
import { AnchorRepository } from './anchor-repository.ts';
import { ApprovalRuleRepository } from './approval-rule-repository.ts';
import { CatalogRepository } from './catalog-repository.ts';
import { CatalogGraphRepository } from './catalog-graph-repository.ts';
import { ChangeSequence } from './change-sequence.ts';
import { CleanupRepository } from './cleanup-repository.ts';
import { ClientEventRepository } from './client-event-repository.ts';
import { ComputerRepository } from './computer-repository.ts';
import { ConfigVersionRepository } from './config-version-repository.ts';
import { ContentQueueRepository } from './content-queue-repository.ts';
import { DeploymentFeedRepository } from './deployment-feed-repository.ts';
import { ApprovalRepository, DeclineRepository, GroupRepository } from './deployment-repository.ts';
import { DownstreamRepository } from './downstream-repository.ts';
import { FileRepository } from './file-repository.ts';
import { LanguageRepository } from './language-repository.ts';
import { migrateToLatest } from './migrations/index.ts';
import { openPostgres } from './postgres-dialect.ts';
import { ScanCatalogRepository } from './scan-catalog-repository.ts';
import type { Database, DialectName } from './schema.ts';
import { ensureServerId } from './server-identity.ts';
import { ServerKeyRepository } from './server-key-repository.ts';
import { SettingRepository } from './setting-repository.ts';
import { openSqlite } from './sqlite-dialect.ts';
import type { Db, StoreContext } from './sql-util.ts';
import { SyncRunRepository } from './sync-run-repository.ts';
import { TaskRepository } from './task-repository.ts';
import { RollupRepository, RollupSentRepository } from './rollup-repository.ts';

export const SQLITE_FILE_NAME = 'openwsus.db';

export interface OpenStoreOptions {
  /**
   * `postgres://…` (or `postgresql://…`), `sqlite:PATH`, `sqlite::memory:`, or a file path.
   * Absent: `<dataDir>/openwsus.db`.
   */
  readonly database?: string;
  readonly dataDir?: string;
  /** PostgreSQL connections per process. */
  readonly poolSize?: number;
}

/** Every repository, bound to one executor (the database, or a transaction). */
export interface Repositories {
  readonly catalog: CatalogRepository;
  readonly files: FileRepository;
  readonly contentQueue: ContentQueueRepository;
  readonly anchors: AnchorRepository;
  readonly settings: SettingRepository;
  readonly syncRuns: SyncRunRepository;
  readonly languages: LanguageRepository;
  readonly changes: ChangeSequence;
  readonly groups: GroupRepository;
  readonly approvals: ApprovalRepository;
  readonly declines: DeclineRepository;
  readonly catalogGraph: CatalogGraphRepository;
  readonly downstreams: DownstreamRepository;
  readonly serverKeys: ServerKeyRepository;
  readonly deploymentFeed: DeploymentFeedRepository;
  readonly configVersion: ConfigVersionRepository;
  readonly tasks: TaskRepository;
  readonly computers: ComputerRepository;
  readonly scanCatalog: ScanCatalogRepository;
  readonly clientEvents: ClientEventRepository;
  readonly cleanup: CleanupRepository;
  readonly accounts: AccountRepository;
  readonly audit: AuditRepository;
  readonly adminQueries: AdminQueryRepository;
  readonly approvalRules: ApprovalRuleRepository;
  readonly rollup: RollupRepository;
  readonly rollupSent: RollupSentRepository;
}

export interface StoreTransaction extends Repositories {
  /** The transaction itself, for repositories added later. */
  readonly db: Db;
}

export function repositories(ctx: StoreContext): Repositories {
  return {
    catalog: new CatalogRepository(ctx),
    files: new FileRepository(ctx),
    contentQueue: new ContentQueueRepository(ctx),
    anchors: new AnchorRepository(ctx),
    settings: new SettingRepository(ctx),
    syncRuns: new SyncRunRepository(ctx),
    languages: new LanguageRepository(ctx),
    changes: new ChangeSequence(ctx),
    groups: new GroupRepository(ctx),
    approvals: new ApprovalRepository(ctx),
    declines: new DeclineRepository(ctx),
    catalogGraph: new CatalogGraphRepository(ctx),
    downstreams: new DownstreamRepository(ctx),
    serverKeys: new ServerKeyRepository(ctx),
    deploymentFeed: new DeploymentFeedRepository(ctx),
    configVersion: new ConfigVersionRepository(ctx),
    tasks: new TaskRepository(ctx),
    computers: new ComputerRepository(ctx),
    scanCatalog: new ScanCatalogRepository(ctx),
    clientEvents: new ClientEventRepository(ctx),
    cleanup: new CleanupRepository(ctx),
    accounts: new AccountRepository(ctx),
    audit: new AuditRepository(ctx),
    adminQueries: new AdminQueryRepository(ctx),
    approvalRules: new ApprovalRuleRepository(ctx),
    rollup: new RollupRepository(ctx),
    rollupSent: new RollupSentRepository(ctx),
  };
}

export interface DatabaseLocation {
  readonly dialect: DialectName;
  /** SQLite file path (or `:memory:`), or the PostgreSQL URL. */
  readonly target: string;
}

export function resolveDatabase(options: OpenStoreOptions): DatabaseLocation {
  const { database, dataDir } = options;
  if (database !== undefined && database !== '') {
    if (/^postgres(ql)?:\/\//i.test(database)) return { dialect: 'postgres', target: database };
    const path = database.startsWith('sqlite:') ? database.slice('sqlite:'.length) : database;
    if (path === '') throw new Error('database "sqlite:" names no file');
    return { dialect: 'sqlite', target: path === ':memory:' ? path : resolve(path) };
  }
  if (dataDir === undefined || dataDir === '') throw new Error('openStore needs a database or a data directory');
  return { dialect: 'sqlite', target: resolve(join(dataDir, SQLITE_FILE_NAME)) };
}

export interface Store extends Repositories {
  readonly dialect: DialectName;
  /** For repositories only: everything else goes through them. */
  readonly db: Db;
  /** This server's GUID, created with the database. */
  readonly serverId: string;
  /**
   * Runs `fn` in one transaction: everything it does through `tx` commits together or not at all
   * (e.g. a phase's revisions and its anchor). Repository calls inside join this transaction.
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Closes the database (idempotent). */
  close(): Promise<void>;
}

// A repository added later goes into Repositories and repositories() only: the store and its
// transactions both get it from there.
function createStore(db: Db, dialect: DialectName, serverId: string): Store {
  let closed: Promise<void> | undefined;
  return {
    ...repositories({ db, dialect }),
    dialect,
    db,
    serverId,
    transaction: (fn) => db.transaction().execute((tx) => fn({ db: tx, ...repositories({ db: tx, dialect }) })),
    // Idempotent: a pg pool refuses to end twice.
    close: () => (closed ??= db.destroy()),
  };
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const location = resolveDatabase(options);
  let dialect: Dialect;
  if (location.dialect === 'postgres') {
    dialect = openPostgres(location.target, options.poolSize === undefined ? {} : { poolSize: options.poolSize }).dialect;
  } else {
    if (location.target !== ':memory:') mkdirSync(dirname(location.target), { recursive: true });
    dialect = openSqlite(location.target).dialect;
  }
  const db = new Kysely<Database>({ dialect });
  try {
    await migrateToLatest(db, location.dialect);
    const serverId = await ensureServerId({ db, dialect: location.dialect });
    return createStore(db, location.dialect, serverId);
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

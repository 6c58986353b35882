// Database tests run on every backend: SQLite always, PostgreSQL too when OPENWSUS_TEST_PG names a
// server (an admin URL such as postgres://postgres@127.0.0.1:55432/postgres; .ci/run sets it).
//
//   forEachBackend('stores a revision', async ({ store }) => {
//     await store.catalog.upsertRevisions([...]);
//   });
//
// registers "stores a revision [sqlite]" and "stores a revision [postgres]". Each gets a database
// of its own (a file in a fresh temp dir; a fresh `openwsus_t_<random>` database, dropped after)
// and a store opened on it; `open()` opens more stores on the same database (on SQLite, close the
// first one before: one store per file per process). Everything is closed and removed when the
// test ends, whether it passed or not.
import { test, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/index.ts';
import type { DialectName } from '../../src/store/schema.ts';

export const TEST_PG = process.env.OPENWSUS_TEST_PG || undefined;

export interface BackendContext {
  readonly t: TestContext;
  readonly dialect: DialectName;
  /** What `openStore({ database })` takes to reach this test's database. */
  readonly database: string;
  /** A fresh empty directory, removed after the test (the SQLite file lives here). */
  readonly dataDir: string;
  /** A store opened on the test's database (migrated). */
  readonly store: Store;
  /** Opens another store on the same database; closed after the test. */
  open(): Promise<Store>;
}

export interface BackendOptions {
  /** Only these backends (e.g. `['postgres']` for a test of PostgreSQL behaviour). */
  readonly only?: readonly DialectName[];
  readonly timeout?: number;
}

/** Backends this run can test: SQLite, plus PostgreSQL when OPENWSUS_TEST_PG is set. */
export function availableBackends(): DialectName[] {
  return TEST_PG ? ['sqlite', 'postgres'] : ['sqlite'];
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function databaseUrl(admin: string, name: string): string {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates an empty database for one test; returns its URL and how to drop it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!TEST_PG) throw new Error('OPENWSUS_TEST_PG is not set');
  const name = `openwsus_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  return {
    url: databaseUrl(TEST_PG, name),
    // FORCE: a test that failed half-way may have left connections open.
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

export function forEachBackend(
  name: string,
  fn: (ctx: BackendContext) => Promise<void>,
  options: BackendOptions = {},
): void {
  for (const dialect of availableBackends()) {
    if (options.only && !options.only.includes(dialect)) continue;
    test(`${name} [${dialect}]`, { timeout: options.timeout ?? 120_000 }, async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'openwsus-test-'));
      const cleanups: (() => Promise<void>)[] = [async () => rmSync(dataDir, { recursive: true, force: true })];
      try {
        let database: string;
        if (dialect === 'postgres') {
          const created = await createPostgresDatabase();
          cleanups.unshift(created.drop);
          database = created.url;
        } else {
          database = `sqlite:${join(dataDir, 'openwsus.db')}`;
        }
        const open = async (): Promise<Store> => {
          const store = await openStore({ database, dataDir });
          cleanups.unshift(() => store.close());
          return store;
        };
        const store = await open();
        await fn({ t, dialect, database, dataDir, store, open });
      } finally {
        for (const cleanup of cleanups) await cleanup().catch(() => {});
      }
    });
  }
}

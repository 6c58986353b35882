import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { resolveDatabase } from '../../src/store/index.ts';
import { MIGRATIONS } from '../../src/store/migrations/index.ts';
import { forEachBackend } from '../support/db.ts';

const CATALOG_TABLES = [
  'anchor',
  'bundle_member',
  'change_counter',
  'change_log',
  'file',
  'language',
  'localized',
  'prerequisite',
  'revision',
  'revision_file',
  'server_identity',
  'setting',
  'supersedence',
  'sync_run',
];

test('resolveDatabase picks the backend from the database string', () => {
  assert.deepEqual(resolveDatabase({ database: 'postgres://u@h:5432/db' }), { dialect: 'postgres', target: 'postgres://u@h:5432/db' });
  assert.deepEqual(resolveDatabase({ database: 'postgresql://h/db' }).dialect, 'postgres');
  assert.deepEqual(resolveDatabase({ database: 'sqlite::memory:' }), { dialect: 'sqlite', target: ':memory:' });
  assert.deepEqual(resolveDatabase({ database: 'sqlite:/var/lib/x.db' }), { dialect: 'sqlite', target: '/var/lib/x.db' });
  assert.deepEqual(resolveDatabase({ database: '/srv/openwsus.db', dataDir: '/elsewhere' }), { dialect: 'sqlite', target: '/srv/openwsus.db' });
  assert.deepEqual(resolveDatabase({ dataDir: '/srv/data' }), { dialect: 'sqlite', target: '/srv/data/openwsus.db' });
  assert.throws(() => resolveDatabase({}), /database or a data directory/);
});

forEachBackend('opening an empty database applies every migration and creates the catalog tables', async ({ store }) => {
  const tables = (await store.db.introspection.getTables()).map((t) => t.name).sort();
  for (const table of CATALOG_TABLES) assert.ok(tables.includes(table), `table ${table} missing: ${tables.join(', ')}`);
  const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db);
  assert.deepEqual(
    applied.rows.map((r) => r.name),
    Object.keys(MIGRATIONS).sort(),
  );
  assert.match(store.serverId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(await store.changes.current(), 0);
});

forEachBackend('re-opening is idempotent: no migration re-runs, data and server id survive', async ({ store, open }) => {
  await store.settings.set('products', ['a']);
  await store.close();
  const again = await open();
  assert.equal(again.serverId, store.serverId);
  assert.deepEqual(await again.settings.get('products'), ['a']);
  const applied = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(again.db);
  assert.equal(Number(applied.rows[0]!.n), Object.keys(MIGRATIONS).length);
  await again.close();
  const third = await open();
  assert.equal(third.serverId, store.serverId);
});

forEachBackend(
  'two stores opened at once on one database agree on the server id',
  async ({ store, open }) => {
    const [a, b] = await Promise.all([open(), open()]);
    assert.equal(a.serverId, store.serverId);
    assert.equal(b.serverId, store.serverId);
  },
  { only: ['postgres'] },
);

forEachBackend(
  'a SQLite file is opened by one store per process at a time',
  async ({ store, open }) => {
    await assert.rejects(open(), /already open in this process/);
    await store.close();
    assert.equal((await open()).serverId, store.serverId);
  },
  { only: ['sqlite'] },
);

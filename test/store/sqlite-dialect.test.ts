import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, sql } from 'kysely';
import { openSqlite } from '../../src/store/sqlite-dialect.ts';

test('the node:sqlite adapter binds booleans, undefined, bigints and dates, and tells readers from writers', async () => {
  const db = new Kysely<any>({ dialect: openSqlite(':memory:').dialect });
  try {
    await sql`create table t (id integer primary key autoincrement, flag boolean, big integer, note text, at text)`.execute(db);
    const inserted = await db
      .insertInto('t')
      .values({ flag: true, big: 2n ** 40n, note: undefined, at: new Date('2026-10-05T00:00:00Z') })
      .returning(['id', 'flag', 'big', 'note', 'at'])
      .executeTakeFirstOrThrow();
    assert.deepEqual(inserted, { id: 1, flag: 1, big: 2 ** 40, note: null, at: '2026-10-05T00:00:00.000Z' });
    const result = await db.insertInto('t').values({ flag: false }).executeTakeFirstOrThrow();
    assert.equal(result.insertId, 2n);
    assert.equal(result.numInsertedOrUpdatedRows, 1n);
    const updated = await db.updateTable('t').set({ note: 'x' }).where('flag', '=', false).executeTakeFirstOrThrow();
    assert.equal(updated.numUpdatedRows, 1n);
    const streamed: unknown[] = [];
    for await (const row of db.selectFrom('t').select('id').orderBy('id').stream()) streamed.push(row);
    assert.deepEqual(streamed, [{ id: 1 }, { id: 2 }]);
    // The same statement text many times comes from the statement cache.
    for (let i = 0; i < 100; i++) assert.equal((await db.selectFrom('t').select('id').where('id', '=', 1).executeTakeFirst())?.id, 1);
    const pragma = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
    assert.equal(pragma.rows[0]?.foreign_keys, 1);
  } finally {
    await db.destroy();
  }
});

test('a SQLite file gets WAL and NORMAL synchronous', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'openwsus-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = new Kysely<any>({ dialect: openSqlite(join(dir, 'x.db')).dialect });
  try {
    assert.equal((await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db)).rows[0]?.journal_mode, 'wal');
    assert.equal((await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]?.synchronous, 1);
    assert.equal((await sql<{ timeout: number }>`pragma busy_timeout`.execute(db)).rows[0]?.timeout, 10000);
  } finally {
    await db.destroy();
  }
});

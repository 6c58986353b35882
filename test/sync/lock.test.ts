import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { forEachBackend } from '../support/db.ts';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { processAlive, SyncLockedError, withSyncLock } from '../../src/store/index.ts';
import { INTERRUPTED_RUN_ERROR } from '../../src/domain/sync-run.ts';

const me = { host: 'node-a', pid: 1000, isAlive: () => true };

forEachBackend('one synchronization at a time per database', async ({ store, open }) => {
  // One SQLite store per file and process: the row decides there, the advisory lock on PostgreSQL.
  const other = store.dialect === 'sqlite' ? store : await open();
  const second = { host: 'node-a', pid: 2000, isAlive: (pid: number) => pid === 1000 };
  let inside = false;
  await withSyncLock(store, me, async () => {
    inside = true;
    await assert.rejects(
      withSyncLock(other, second, async () => assert.fail('ran while another held the lock')),
      (error: unknown) => error instanceof SyncLockedError && /already running \(process 1000 on node-a/.test(error.message),
    );
  });
  assert.ok(inside);
  // Released: the other takes it now, even after the holder failed.
  await assert.rejects(withSyncLock(store, me, async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await withSyncLock(other, second, async () => 'ran'), 'ran');
});

forEachBackend('a lock left by a process that died is taken over', async ({ store }) => {
  await sql`insert into sync_lock (name, host, pid, acquired_at) values ('sync', 'node-a', 4242, '2026-01-01T00:00:00Z')`.execute(store.db);
  const alive = { host: 'node-a', pid: 1000, isAlive: () => true };
  if (store.dialect === 'sqlite') {
    await assert.rejects(withSyncLock(store, alive, async () => {}), /process 4242 on node-a/);
  }
  const dead = { host: 'node-a', pid: 1000, isAlive: (pid: number) => pid !== 4242 };
  assert.equal(await withSyncLock(store, dead, async () => 'ran'), 'ran');
  const rows = await sql<{ n: number }>`select count(*) as n from sync_lock`.execute(store.db);
  assert.equal(Number(rows.rows[0]?.n), 0, 'released');
});

forEachBackend('a run whose process is gone reads as interrupted, one whose holder lives as running', async ({ store, open }) => {
  const other = store.dialect === 'sqlite' ? store : await open();
  const holder = { host: hostname(), pid: process.pid, isAlive: processAlive };
  // Running while its process holds the lock, seen from another connection too.
  await withSyncLock(store, holder, async () => {
    const run = await store.syncRuns.start();
    assert.equal((await other.syncRuns.list({ limit: 1 }))[0]?.result, 'running');
    assert.equal((await other.syncRuns.get(run.id))?.result, 'running');
    await store.syncRuns.update(run.id, { result: 'succeeded', phase: 'done' });
  });

  // kill -9 leaves the run marked running and, on SQLite, the lock row naming a pid that is gone
  // (the advisory lock of PostgreSQL went with the connection; the row alone does not count there).
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  assert.equal(processAlive(gone), false);
  await sql`insert into sync_lock (name, host, pid, acquired_at) values ('sync', ${hostname()}, ${store.dialect === 'sqlite' ? gone : process.pid}, '2026-01-01T00:00:00Z')`.execute(store.db);
  const killed = await store.syncRuns.start('updates');
  const [read] = await other.syncRuns.list({ limit: 1 });
  assert.equal(read?.id, killed.id);
  assert.equal(read?.result, 'failed');
  assert.equal(read?.error, INTERRUPTED_RUN_ERROR);
  assert.equal(read?.phase, 'updates', 'the phase it reached stays');
  assert.ok(read?.endedAt);
  assert.deepEqual(await store.syncRuns.get(killed.id), read, 'recorded so in the store');
  // The next synchronization takes the lock over and records its own run.
  assert.equal(await withSyncLock(store, holder, async () => (await store.syncRuns.running())?.id), undefined);
});

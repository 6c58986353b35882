// The automatic synchronization: the timing rule (domain/sync-schedule.ts) as a pure function,
// the scheduler's decisions step by step on a moved clock, and one real synchronization started
// by the schedule inside an in-process `openwsus serve`, its settings changed from another
// connection to the database as `openwsus config set` would.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULTS, type BootConfig } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer } from '../../src/app/server.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { MAX_SCHEDULE_OFFSET_MS, nextSyncDue, scheduleOffsetMs } from '../../src/domain/sync-schedule.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import type { Store } from '../../src/store/index.ts';
import { SyncError } from '../../src/sync/engine.ts';
import { SyncScheduler } from '../../src/sync/scheduler.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { forEachBackend } from '../support/db.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-schedule-'));
after(() => rmSync(work, { recursive: true, force: true }));
const catalogFile = join(work, 'catalog.owx');
await writeGeneratedCatalog({ updates: 150, seed: 'schedule' }, catalogFile);

const SERVER = '3f2c1a77-9d3e-4b55-8a1e-2c0b9f6d4e10';
const daily = (firstSyncTime: string, syncsPerDay = 1) => ({ mode: 'automatic' as const, firstSyncTime, syncsPerDay });
const at = (iso: string): Date => new Date(iso);

describe('when the automatic synchronization is due', () => {
  it('moves each slot by an offset of this server under 30 minutes, the same every time', () => {
    const slot = at('2030-01-01T03:00:00Z');
    const offset = scheduleOffsetMs(SERVER, slot);
    assert.ok(offset >= 0 && offset < MAX_SCHEDULE_OFFSET_MS, String(offset));
    assert.equal(scheduleOffsetMs(SERVER.toUpperCase(), slot), offset, 'the same server, however its id is written');
    // Servers spread over the half hour rather than all asking at 03:00.
    const offsets = new Set(Array.from({ length: 50 }, (_, i) => Math.floor(scheduleOffsetMs(`server-${i}`, slot) / 60_000)));
    assert.ok(offsets.size >= 15, `50 servers land on ${offsets.size} distinct minutes`);
  });

  it('runs at the first slot after the last run, plus the offset', () => {
    const first = nextSyncDue(daily('03:00'), SERVER, at('2030-01-01T01:00:00Z'))!;
    assert.equal(first.slot.toISOString(), '2030-01-01T03:00:00.000Z');
    assert.equal(first.at.getTime() - first.slot.getTime(), scheduleOffsetMs(SERVER, first.slot));
    // The run of that slot started at its time: the next one is tomorrow's.
    assert.equal(nextSyncDue(daily('03:00'), SERVER, first.at)!.slot.toISOString(), '2030-01-02T03:00:00.000Z');
    // Four a day from 22:00: 22:00, 04:00, 10:00, 16:00.
    assert.equal(nextSyncDue(daily('22:00', 4), SERVER, at('2030-01-02T04:10:00Z'))!.slot.toISOString(), '2030-01-02T10:00:00.000Z');
    // Server down over a slot: the run after the last one is in the past, so due at once.
    const missed = nextSyncDue(daily('03:00'), SERVER, at('2030-01-01T03:20:00Z'))!;
    assert.ok(missed.at < at('2030-01-03T00:00:00Z'));
    assert.equal(nextSyncDue({ ...daily('03:00'), mode: 'manual' }, SERVER, at('2030-01-01T01:00:00Z')), undefined);
  });
});

forEachBackend('the scheduler runs when due, once per slot, and survives failures', async ({ store }) => {
  let clock = Date.parse('2030-01-01T01:00:00Z');
  const calls: number[] = [];
  let outcome: 'ok' | 'fail' | 'unconfigured' = 'ok';
  const logged: string[] = [];
  const log = (_: object, message: string): void => void logged.push(message);
  const scheduler = new SyncScheduler({
    store,
    logger: { info: log, warn: log, error: log },
    now: () => new Date(clock),
    run: async () => {
      calls.push(clock);
      const run = await store.syncRuns.start('handshake', new Date(clock).toISOString());
      if (outcome === 'unconfigured') throw new Error('upstream.server is not set');
      if (outcome === 'fail') throw new SyncError('the upstream server answered with a fault', await store.syncRuns.update(run.id, { result: 'failed', error: 'x' }));
      return { run: await store.syncRuns.update(run.id, { result: 'succeeded', phase: 'done' }), ms: 1 } as never;
    },
  });
  assert.deepEqual(await scheduler.step(), { kind: 'manual' });
  await store.settings.set('schedule.mode', 'automatic');
  await store.settings.set('schedule.firstSyncTime', '03:00');
  const waiting = await scheduler.step();
  assert.equal(waiting.kind, 'waiting');
  const due = waiting.kind === 'waiting' ? waiting.next.at.getTime() : 0;
  clock = due - 1000;
  assert.equal((await scheduler.step()).kind, 'waiting', 'not before its time');
  clock = due;
  const ran = await scheduler.step();
  assert.deepEqual([ran.kind, ran.kind === 'ran' && ran.result], ['ran', 'succeeded']);
  assert.equal(ran.kind === 'ran' && ran.next.slot.toISOString(), '2030-01-02T03:00:00.000Z');
  clock += 60_000;
  assert.equal((await scheduler.step()).kind, 'waiting', 'once per slot');

  // A failed run is recorded and the next slot tried; so is a run that could not start.
  outcome = 'fail';
  clock = Date.parse('2030-01-02T03:45:00Z');
  const failed = await scheduler.step();
  assert.equal(failed.kind === 'ran' && failed.result, 'failed');
  assert.equal((await scheduler.step()).kind, 'waiting');
  outcome = 'unconfigured';
  clock = Date.parse('2030-01-03T03:45:00Z');
  const notStarted = await scheduler.step();
  assert.equal(notStarted.kind === 'ran' && notStarted.result, 'not-started');
  assert.equal((await scheduler.step()).kind, 'waiting', 'not tried again at every wake-up');
  // Twice a day now: the schedule is read again at each step.
  outcome = 'ok';
  await store.settings.set('schedule.syncsPerDay', 2);
  clock = Date.parse('2030-01-03T15:45:00Z');
  assert.equal((await scheduler.step()).kind, 'ran');
  assert.equal(calls.length, 4);
  assert.ok(logged.some((m) => m.includes('failed')), logged.join('\n'));
});

// ---- one real run, started by the schedule of an in-process server ----------------------------


function bootConfig(data: string, database: string): BootConfig {
  return { ...DEFAULTS, data, database, host: '127.0.0.1', port: 0, httpsPort: 0, logLevel: 'silent' };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

forEachBackend('openwsus serve synchronizes on its schedule, set from another process', async ({ dialect, dataDir, database, store }) => {
  const rootDir = mkdtempSync(join(work, 'root-'));
  const root = await startServer(bootConfig(rootDir, `sqlite:${join(rootDir, 'openwsus.db')}`), createLogger('silent'));
  try {
    await importCatalogFile(root.store, catalogFile);
    const rootPort = Number(new URL(root.listeners[0]!.url).port);
    let clock = Date.parse('2030-01-01T01:00:00Z');
    // SQLite is opened once per process: the server gets a file of its own and the settings go
    // through its store; PostgreSQL is changed through another connection, as from a shell.
    const served = dialect === 'postgres' ? database : `sqlite:${join(dataDir, 'served.db')}`;
    const server = await startServer(bootConfig(dataDir, served), createLogger('silent'), { schedule: { now: () => new Date(clock), pollMs: 25 } });
    try {
      const admin: Store = dialect === 'postgres' ? store : server.store;
      await admin.settings.set('upstream.source', 'server');
      await admin.settings.set('upstream.server', '127.0.0.1');
      await admin.settings.set('upstream.port', rootPort);
      await admin.settings.set('products', [WINDOWS_PRODUCT_FAMILY_ID]);
      await admin.settings.set('classifications', Object.values(CLASSIFICATIONS));
      await admin.settings.set('schedule.firstSyncTime', '03:00');
      await admin.settings.set('schedule.mode', 'automatic');
      await sleep(150);
      assert.deepEqual(await admin.syncRuns.list(), [], 'nothing runs before the slot');
      clock = Date.parse('2030-01-01T03:30:00Z');
      const run = await until('the scheduled run', async () => (await admin.syncRuns.list()).find((r) => r.result !== 'running'));
      assert.equal(run.result, 'succeeded', run.error);
      assert.ok(run.counts.newRevisions > 0 && run.counts.categories > 0, JSON.stringify(run.counts));
      assert.equal((await admin.catalog.stats()).revisions, run.counts.categories + run.counts.newRevisions + run.counts.expiredRevisions, 'what the run counted is what is held');
      await sleep(150);
      assert.equal((await admin.syncRuns.list()).length, 1, 'one run for the slot');
    } finally {
      await server.close();
    }
  } finally {
    await root.close();
  }
});

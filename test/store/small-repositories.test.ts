import assert from 'node:assert/strict';
import { ANCHORS } from '../../src/domain/sync-run.ts';
import { forEachBackend } from '../support/db.ts';

forEachBackend('anchors: get, set, overwrite, list, delete', async ({ store }) => {
  assert.equal(await store.anchors.get(ANCHORS.config), undefined);
  await store.anchors.set(ANCHORS.config, '9438,2026-10-04 16:33:26.670');
  await store.anchors.set(ANCHORS.updates, '1,2026-10-04 00:00:00.000');
  await store.anchors.set(ANCHORS.config, '9440,2026-10-05 10:00:00.000');
  assert.equal(await store.anchors.get(ANCHORS.config), '9440,2026-10-05 10:00:00.000');
  assert.deepEqual(await store.anchors.all(), {
    [ANCHORS.config]: '9440,2026-10-05 10:00:00.000',
    [ANCHORS.updates]: '1,2026-10-04 00:00:00.000',
  });
  await store.anchors.delete(ANCHORS.updates);
  assert.equal(await store.anchors.get(ANCHORS.updates), undefined);
});

forEachBackend('settings hold JSON values', async ({ store }) => {
  assert.equal(await store.settings.get('products'), undefined);
  const value = { products: ['72e7624a-5b00-45d2-b92f-e561c0a6a160'], schedule: { hour: 3 }, enabled: true, ratio: 0.5, note: 'ü' };
  await store.settings.set('sync', value);
  await store.settings.set('n', 42);
  await store.settings.set('empty', null);
  assert.deepEqual(await store.settings.get('sync'), value);
  assert.equal(await store.settings.get('n'), 42);
  assert.equal(await store.settings.get('empty'), null);
  await store.settings.set('n', 43);
  assert.deepEqual(await store.settings.all(), { empty: null, n: 43, sync: value });
  await store.settings.set('n', undefined);
  assert.equal(await store.settings.get('n'), undefined);
});

forEachBackend('sync runs: start, progress, finish, list newest first', async ({ store }) => {
  const first = await store.syncRuns.start('handshake', '2026-10-05T01:00:00.000Z');
  assert.deepEqual(first, {
    id: first.id,
    startedAt: '2026-10-05T01:00:00.000Z',
    phase: 'handshake',
    counts: { newRevisions: 0, revisedRevisions: 0, expiredRevisions: 0, categories: 0, files: 0 },
    result: 'running',
  });
  assert.equal((await store.syncRuns.running())?.id, first.id);
  await store.syncRuns.update(first.id, { phase: 'updates', counts: { newRevisions: 120, categories: 7 } });
  const failed = await store.syncRuns.update(first.id, { result: 'failed', error: 'upstream said InvalidCookie' });
  assert.equal(failed.phase, 'updates');
  assert.deepEqual(failed.counts, { newRevisions: 120, revisedRevisions: 0, expiredRevisions: 0, categories: 7, files: 0 });
  assert.equal(failed.error, 'upstream said InvalidCookie');
  assert.ok(failed.endedAt !== undefined && failed.endedAt >= failed.startedAt);
  assert.equal(await store.syncRuns.running(), undefined);

  const second = await store.syncRuns.start();
  const done = await store.syncRuns.update(second.id, { phase: 'done', result: 'succeeded', counts: { files: 3 } });
  assert.equal(done.result, 'succeeded');
  assert.ok(second.id > first.id);
  assert.deepEqual((await store.syncRuns.list()).map((r) => r.id), [second.id, first.id]);
  assert.deepEqual((await store.syncRuns.list({ limit: 1, before: second.id })).map((r) => r.id), [first.id]);
  assert.deepEqual(await store.syncRuns.get(first.id), failed);
  await assert.rejects(store.syncRuns.update(999_999, { phase: 'done' }), /no sync run/);
});

forEachBackend('languages: upsert by id, enable a set', async ({ store }) => {
  await store.languages.upsert([
    { id: 1033, shortName: 'en', longName: 'English', enabled: false },
    { id: 1031, shortName: 'de', longName: 'German', enabled: false },
    { id: 1046, shortName: 'pt-br', longName: 'Portuguese (Brazil)', enabled: false },
  ]);
  await store.languages.upsert([{ id: 1031, shortName: 'de', longName: 'Deutsch', enabled: false }]);
  await store.languages.setEnabled(['en', 'pt-br']);
  assert.deepEqual(await store.languages.list(), [
    { id: 1031, shortName: 'de', longName: 'Deutsch', enabled: false },
    { id: 1033, shortName: 'en', longName: 'English', enabled: true },
    { id: 1046, shortName: 'pt-br', longName: 'Portuguese (Brazil)', enabled: true },
  ]);
  await store.languages.setEnabled([]);
  assert.ok((await store.languages.list()).every((l) => !l.enabled));
});

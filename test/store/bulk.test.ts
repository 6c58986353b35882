import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { packText, unpackText } from '../../src/store/codec.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeRevision, syntheticRevision } from './records.ts';

test('packText keeps short texts raw, deflates long ones, and round-trips', async () => {
  const short = 'ünïcødé <x/>';
  assert.equal((await packText(short))[0], 0);
  assert.equal(unpackText(await packText(short)), short);
  assert.equal(unpackText(await packText('')), '');
  const long = '<bar:RegSz Key="HKLM" Value="ü" />'.repeat(500);
  const packed = await packText(long);
  assert.equal(packed[0], 1);
  assert.ok(packed.length < long.length / 10);
  assert.equal(unpackText(packed), long);
  assert.throws(() => unpackText(Uint8Array.of(9, 1, 2)), /unknown codec tag 9/);
});

forEachBackend('one batch larger than the parameter limit of either backend is split and stored whole', async ({ store }) => {
  // 4,000 revisions x 17 columns and 20,000 prerequisite rows: past SQLite's 32,766 and
  // PostgreSQL's 65,535 bound parameters per statement.
  const inputs = Array.from({ length: 4000 }, (_, i) => syntheticRevision(i));
  const result = await store.catalog.upsertRevisions(inputs);
  assert.equal(result.inserted, 4000);
  assert.equal(new Set(result.revisionIds).size, 4000);
  assert.equal((await store.catalog.stats()).revisions, 4000);
  assert.equal((await store.changes.since(0, { limit: 5000 })).length, 4000);
  const sample = await store.catalog.getRevision(result.revisionIds[3999]!);
  assert.equal(sample?.xml, inputs[3999]!.record.xml);
  assert.equal((await store.catalog.relationships(sample!.revisionId)).prerequisites.length, 4);
});

forEachBackend('documents of several megabytes are split across statements and read back intact', async ({ store }) => {
  // Random base64 barely compresses: 24 x (1.5 MB document + 1.5 MB Core) is past the 16 MB a
  // statement carries.
  const inputs = Array.from({ length: 24 }, (_, i) =>
    makeRevision({ updateId: guid(i), revisionNumber: 1, body: `<x>${randomBytes(1_100_000).toString('base64')}</x>` }),
  );
  const { revisionIds } = await store.catalog.upsertRevisions(inputs);
  for (const i of [0, 11, 23]) {
    const stored = await store.catalog.getRevision(revisionIds[i]!);
    assert.equal(stored?.xml, inputs[i]!.record.xml);
    assert.equal(stored?.fragments.core, inputs[i]!.fragments.core);
  }
});

forEachBackend('an empty batch stores nothing and reports the current position', async ({ store }) => {
  await store.catalog.upsertRevisions([makeRevision({ updateId: guid(1), revisionNumber: 1 })]);
  assert.deepEqual(await store.catalog.upsertRevisions([]), { inserted: 0, replaced: 0, unchanged: 0, revisionIds: [], changeSeq: 1 });
});

forEachBackend('the same key twice in one batch: the last document wins', async ({ store }) => {
  const a = makeRevision({ updateId: guid(1), revisionNumber: 1, title: 'first' });
  const b = makeRevision({ updateId: guid(1), revisionNumber: 1, title: 'second' });
  const result = await store.catalog.upsertRevisions([a, b]);
  assert.equal(result.inserted, 1);
  assert.equal(result.revisionIds[0], result.revisionIds[1]);
  assert.equal((await store.catalog.getRevision(result.revisionIds[0]!))?.title, 'second');
  assert.equal(await store.changes.current(), 1);
});

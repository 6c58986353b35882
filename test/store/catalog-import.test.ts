import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Store } from '../../src/store/index.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeFile, makeRevision, sha1Of } from './records.ts';

const A = guid(1);
const B = guid(2);
const PRODUCT = guid(1, 'product');
const CLASSIFICATION = '0fa1201d-4330-4fa8-8ae9-b877473b6441';

async function count(store: Store, table: string, where = sql`1 = 1`): Promise<number> {
  const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where ${where}`.execute(store.db);
  return Number(r.rows[0]!.n);
}

async function latestFlags(store: Store, updateId: string): Promise<Record<number, boolean>> {
  const rows = await store.db
    .selectFrom('revision')
    .select(['revision_number', 'is_latest'])
    .where('update_id', '=', updateId)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.revision_number, Boolean(r.is_latest)]));
}

forEachBackend('revision ids are assigned once per key, unique, and stable across re-sends', async ({ store }) => {
  const first = await store.catalog.upsertRevisions([
    makeRevision({ updateId: A, revisionNumber: 100 }),
    makeRevision({ updateId: B, revisionNumber: 100 }),
    makeRevision({ updateId: A, revisionNumber: 101 }),
  ]);
  assert.equal(new Set(first.revisionIds).size, 3);
  assert.ok(first.revisionIds.every((id) => Number.isInteger(id) && id > 0));
  assert.deepEqual([first.inserted, first.replaced, first.unchanged], [3, 0, 0]);

  // The same keys again, in another order and with a changed document: ids do not move.
  const again = await store.catalog.upsertRevisions([
    makeRevision({ updateId: A, revisionNumber: 101, body: '<changed/>' }),
    makeRevision({ updateId: A, revisionNumber: 100 }),
  ]);
  assert.deepEqual(again.revisionIds, [first.revisionIds[2], first.revisionIds[0]]);

  const c = await store.catalog.upsertRevisions([makeRevision({ updateId: guid(3), revisionNumber: 1 })]);
  assert.ok(!first.revisionIds.includes(c.revisionIds[0]!));
  assert.equal((await store.catalog.getRevision({ updateId: B, revisionNumber: 100 }))?.revisionId, first.revisionIds[1]);
  assert.equal((await store.catalog.getRevision(first.revisionIds[1]!))?.key.updateId, B);
});

forEachBackend('is_latest marks the highest revision whatever order revisions arrive in', async ({ store }) => {
  await store.catalog.upsertRevisions([makeRevision({ updateId: A, revisionNumber: 200 })]);
  assert.deepEqual(await latestFlags(store, A), { 200: true });

  await store.catalog.upsertRevisions([makeRevision({ updateId: A, revisionNumber: 100 })]);
  assert.deepEqual(await latestFlags(store, A), { 100: false, 200: true });

  await store.catalog.upsertRevisions([makeRevision({ updateId: A, revisionNumber: 300 })]);
  assert.deepEqual(await latestFlags(store, A), { 100: false, 200: false, 300: true });

  // Several revisions of one update in one batch, newest first, plus an older one again.
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: B, revisionNumber: 5 }),
    makeRevision({ updateId: B, revisionNumber: 3 }),
    makeRevision({ updateId: B, revisionNumber: 4 }),
    makeRevision({ updateId: A, revisionNumber: 250 }),
  ]);
  assert.deepEqual(await latestFlags(store, B), { 3: false, 4: false, 5: true });
  assert.deepEqual(await latestFlags(store, A), { 100: false, 200: false, 250: false, 300: true });

  const latest = await store.catalog.getLatest(A);
  assert.equal(latest?.key.revisionNumber, 300);
  assert.equal(latest?.isLatest, true);
  assert.equal(await store.catalog.getLatest(guid(99)), undefined);
});

forEachBackend('re-sending the same document changes nothing and takes no change position', async ({ store }) => {
  const batch = [
    makeRevision({ updateId: A, revisionNumber: 1, files: [makeFile('a.cab')], prerequisites: [{ updateIds: [PRODUCT], isCategory: true }] }),
    makeRevision({ updateId: B, revisionNumber: 1, supersedes: [A] }),
  ];
  const first = await store.catalog.upsertRevisions(batch);
  const seq = await store.changes.current();
  assert.equal(seq, 2);
  assert.equal(first.changeSeq, 2);
  const before = await store.catalog.getRevision(first.revisionIds[0]!);

  const again = await store.catalog.upsertRevisions(batch);
  assert.deepEqual([again.inserted, again.replaced, again.unchanged], [0, 0, 2]);
  assert.deepEqual(again.revisionIds, first.revisionIds);
  assert.equal(again.changeSeq, 2);
  assert.equal(await store.changes.current(), 2);
  assert.equal((await store.changes.since(0)).length, 2);
  assert.deepEqual(await store.catalog.getRevision(first.revisionIds[0]!), before);
  assert.equal(await count(store, 'prerequisite'), 1);
  assert.equal(await count(store, 'revision_file'), 1);
});

forEachBackend('a changed document with the same key replaces its derived rows', async ({ store }) => {
  const old = makeRevision({
    updateId: A,
    revisionNumber: 1,
    languages: ['en', 'de'],
    prerequisites: [
      { updateIds: [guid(1, 'detectoid')], isCategory: false },
      { updateIds: [PRODUCT], isCategory: true },
    ],
    bundles: [{ atLeastOne: false, members: [{ updateId: guid(7), revisionNumber: 1 }] }],
    supersedes: [guid(8), guid(9)],
    files: [makeFile('old.cab'), makeFile('shared.cab')],
  });
  const [id] = (await store.catalog.upsertRevisions([old])).revisionIds;
  const seqBefore = await store.changes.current();

  const changed = makeRevision({
    updateId: A,
    revisionNumber: 1,
    title: 'Renamed',
    languages: ['en', 'fr'],
    prerequisites: [{ updateIds: [CLASSIFICATION, PRODUCT], isCategory: true }],
    supersedes: [guid(9)],
    files: [makeFile('shared.cab'), makeFile('new.cab')],
  });
  const result = await store.catalog.upsertRevisions([changed]);
  assert.deepEqual([result.inserted, result.replaced, result.unchanged], [0, 1, 0]);
  assert.deepEqual(result.revisionIds, [id]);
  assert.equal(await store.changes.current(), seqBefore + 1);

  const stored = await store.catalog.getRevision(id!);
  assert.equal(stored?.title, 'Renamed');
  assert.equal(stored?.changeSeq, seqBefore + 1);
  assert.equal(stored?.xml, changed.record.xml);
  assert.deepEqual(stored?.localized.map((l) => l.language), ['en', 'fr']);
  assert.deepEqual(await store.catalog.relationships(id!), {
    prerequisites: [{ updateIds: [CLASSIFICATION, PRODUCT], isCategory: true }],
    bundles: [],
    supersedes: [guid(9)],
  });
  assert.deepEqual((await store.files.ofRevision(id!)).map((f) => f.fileName), ['shared.cab', 'new.cab']);
  // The file table keeps every digest ever seen: other revisions may share them.
  assert.ok(await store.files.get(sha1Of('old.cab')));
});

forEachBackend('reads give back the document, fragments, localized rows and relationships', async ({ store }) => {
  const big = `<upd:ApplicabilityRules>${'<bar:RegSz Key="HKLM" Value="x" />'.repeat(20_000)}</upd:ApplicabilityRules>`;
  const input = makeRevision({
    updateId: A,
    revisionNumber: 200,
    title: 'Security Update ünïcødé ✓',
    kbArticleId: '5031234',
    languages: ['en', 'pt-br'],
    prerequisites: [
      { updateIds: [guid(1, 'detectoid')], isCategory: false },
      { updateIds: [guid(2, 'detectoid'), guid(3, 'detectoid')], isCategory: false },
      { updateIds: [PRODUCT], isCategory: true },
    ],
    bundles: [
      { atLeastOne: false, members: [{ updateId: guid(10), revisionNumber: 200 }] },
      { atLeastOne: true, members: [{ updateId: guid(11), revisionNumber: 201 }, { updateId: guid(12), revisionNumber: 200 }] },
    ],
    supersedes: [guid(20)],
    files: [makeFile('windows11.0-kb5031234-x64.cab', 2 ** 33)],
    body: big,
  });
  const [id] = (await store.catalog.upsertRevisions([input])).revisionIds;
  const stored = await store.catalog.getRevision({ updateId: A, revisionNumber: 200 });
  assert.ok(stored);
  assert.equal(stored.revisionId, id);
  assert.equal(stored.xml, input.record.xml);
  assert.deepEqual(stored.fragments, input.fragments);
  assert.equal(stored.title, 'Security Update ünïcødé ✓');
  assert.equal(stored.kbArticleId, '5031234');
  assert.equal(stored.updateType, 'Software');
  assert.equal(stored.publicationState, 'Published');
  assert.equal(stored.explicitlyDeployable, true);
  assert.equal(stored.creationDate, '2026-09-02T08:19:36.190Z');
  assert.match(stored.receivedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(
    stored.localized.map((l) => [l.language, l.title, l.description]),
    [
      ['en', 'Security Update ünïcødé ✓', 'About Security Update ünïcødé ✓ in en'],
      ['pt-br', 'Security Update ünïcødé ✓ (pt-br)', 'About Security Update ünïcødé ✓ in pt-br'],
    ],
  );
  const relationships = await store.catalog.relationships(id!);
  assert.deepEqual(relationships.bundles, input.record.bundles);
  assert.deepEqual(relationships.prerequisites, input.record.prerequisites);
  assert.deepEqual(relationships.supersedes, [guid(20)]);
  const [file] = await store.files.ofRevision(id!);
  assert.equal(file?.size, 2 ** 33);
  assert.equal(file?.state, 'absent');
  assert.equal(file?.sha256, input.record.files[0]!.sha256);

  // The big document is stored compressed.
  const raw = await store.db.selectFrom('revision').select('xml').where('revision_id', '=', id!).executeTakeFirstOrThrow();
  assert.ok(raw.xml.length < input.record.xml.length / 10, `stored ${raw.xml.length} bytes for ${input.record.xml.length}`);
});

forEachBackend('change log and changedSince list what changed after a position, paged', async ({ store }) => {
  await store.catalog.upsertRevisions([1, 2, 3].map((n) => makeRevision({ updateId: guid(n), revisionNumber: 1 })));
  const mark = await store.changes.current();
  assert.equal(mark, 3);
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: guid(4), revisionNumber: 1 }),
    makeRevision({ updateId: guid(2), revisionNumber: 1, body: '<v2/>' }),
    makeRevision({ updateId: guid(1), revisionNumber: 1 }),
  ]);
  await store.catalog.upsertRevisions([makeRevision({ updateId: guid(2), revisionNumber: 1, body: '<v3/>' })]);

  const log = await store.changes.since(mark);
  assert.deepEqual(
    log.map((e) => e.seq),
    [4, 5, 6],
  );
  assert.ok(log.every((e) => e.kind === 'revision'));
  const two = (await store.catalog.getRevision({ updateId: guid(2), revisionNumber: 1 }))!;
  assert.deepEqual(
    log.map((e) => e.entityId),
    [(await store.catalog.getRevision({ updateId: guid(4), revisionNumber: 1 }))!.revisionId, two.revisionId, two.revisionId],
  );
  assert.deepEqual(await store.changes.since(mark, { kinds: ['approval'] }), []);

  // Per revision: its last change only.
  const changed = await store.catalog.changedSince(mark);
  assert.deepEqual(
    changed.map((r) => [r.key.updateId, r.changeSeq]),
    [
      [guid(4), 4],
      [guid(2), 6],
    ],
  );
  const page1 = await store.catalog.changedSince(0, { limit: 2 });
  const page2 = await store.catalog.changedSince(page1.at(-1)!.changeSeq, { limit: 2 });
  const page3 = await store.catalog.changedSince(page2.at(-1)!.changeSeq, { limit: 2 });
  assert.deepEqual(
    [...page1, ...page2, ...page3].map((r) => r.key.updateId),
    [guid(1), guid(3), guid(4), guid(2)],
  );
  assert.equal(page3.length, 0);
});

forEachBackend('a batch that fails half-way leaves nothing behind', async ({ store }) => {
  await store.catalog.upsertRevisions([makeRevision({ updateId: A, revisionNumber: 1 })]);
  const seq = await store.changes.current();
  const revisions = await count(store, 'revision');

  const good = makeRevision({ updateId: B, revisionNumber: 1, prerequisites: [{ updateIds: [PRODUCT], isCategory: true }] });
  const newerA = makeRevision({ updateId: A, revisionNumber: 2 });
  // The file row is written after the revisions, localized rows and relationships: a file without a
  // name breaks the batch in its last statements.
  const broken = makeRevision({ updateId: guid(3), revisionNumber: 1, files: [{ ...makeFile('x.cab'), fileName: null as unknown as string }] });
  await assert.rejects(store.catalog.upsertRevisions([good, newerA, broken]));

  assert.equal(await count(store, 'revision'), revisions);
  assert.equal(await count(store, 'prerequisite'), 0);
  assert.equal(await count(store, 'localized'), 1);
  assert.equal(await count(store, 'change_log'), seq);
  assert.equal(await store.changes.current(), seq);
  assert.deepEqual(await latestFlags(store, A), { 1: true });

  // The store is usable afterwards and the good part can be stored again.
  const retry = await store.catalog.upsertRevisions([good, newerA]);
  assert.equal(retry.inserted, 2);
  assert.equal(await store.changes.current(), seq + 2);
});

forEachBackend('store.transaction commits revisions and an anchor together, or neither', async ({ store }) => {
  await assert.rejects(
    store.transaction(async (tx) => {
      await tx.catalog.upsertRevisions([makeRevision({ updateId: A, revisionNumber: 1 })]);
      await tx.anchors.set('upstream.updates', '9438,2026-10-04 16:33:26.670');
      throw new Error('connection lost before the phase ended');
    }),
    /connection lost/,
  );
  assert.equal(await count(store, 'revision'), 0);
  assert.equal(await store.anchors.get('upstream.updates'), undefined);
  assert.equal(await store.changes.current(), 0);

  await store.transaction(async (tx) => {
    await tx.catalog.upsertRevisions([makeRevision({ updateId: A, revisionNumber: 1 })]);
    await tx.catalog.upsertRevisions([makeRevision({ updateId: B, revisionNumber: 1 })]);
    await tx.anchors.set('upstream.updates', '9439,2026-10-05 16:33:26.670');
  });
  assert.equal(await count(store, 'revision'), 2);
  assert.equal(await store.anchors.get('upstream.updates'), '9439,2026-10-05 16:33:26.670');
  assert.equal(await store.changes.current(), 2);
});

forEachBackend('files: shared digests, URLs filled in later, download states', async ({ store }) => {
  const shared = makeFile('shared.psf');
  const own = makeFile('own.cab');
  const [a, b] = (
    await store.catalog.upsertRevisions([
      makeRevision({ updateId: A, revisionNumber: 1, files: [own, shared] }),
      makeRevision({ updateId: B, revisionNumber: 1, files: [shared], muUrls: { [shared.sha1]: 'http://mu/shared.psf' } }),
    ])
  ).revisionIds;
  assert.equal(await count(store, 'file'), 2);
  assert.equal((await store.files.get(shared.sha1))?.muUrl, 'http://mu/shared.psf');
  assert.deepEqual((await store.files.ofRevision(a!)).map((f) => f.sha1), [own.sha1, shared.sha1]);
  assert.deepEqual((await store.files.ofRevision(b!)).map((f) => f.sha1), [shared.sha1]);

  // The same document again, now with a URL for its own file: stored, no change position.
  const seq = await store.changes.current();
  await store.catalog.upsertRevisions([makeRevision({ updateId: A, revisionNumber: 1, files: [own, shared], muUrls: { [own.sha1]: 'http://mu/own.cab' } })]);
  assert.equal((await store.files.get(own.sha1))?.muUrl, 'http://mu/own.cab');
  assert.equal(await store.changes.current(), seq);

  assert.equal(await store.files.queue([own.sha1, shared.sha1]), 2);
  await store.files.markPresent(shared.sha1);
  await store.files.markFailed(own.sha1, 'HTTP 404');
  await store.files.markFailed(own.sha1, 'HTTP 404');
  assert.deepEqual(await store.files.get(own.sha1), { ...own, muUrl: 'http://mu/own.cab', state: 'failed', attempts: 2, error: 'HTTP 404' });
  assert.equal(await store.files.queue([own.sha1, shared.sha1]), 1, 'present files are not queued again');
  assert.deepEqual((await store.files.list('queued')).map((f) => f.sha1), [own.sha1]);

  // A later document naming a present file does not reset its state.
  await store.catalog.upsertRevisions([makeRevision({ updateId: guid(3), revisionNumber: 1, files: [shared] })]);
  assert.equal((await store.files.get(shared.sha1))?.state, 'present');
  await store.files.markAbsent(shared.sha1);
  assert.equal((await store.files.get(shared.sha1))?.state, 'absent');
});

forEachBackend('categories tree and catalog stats', async ({ store }) => {
  const company = guid(1, 'company');
  const family = guid(1, 'family');
  const product = guid(1, 'product');
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: product, revisionNumber: 1, updateType: 'Category', categoryType: 'Product', title: 'Windows 11', prerequisites: [{ updateIds: [family], isCategory: true }] }),
    makeRevision({ updateId: company, revisionNumber: 1, updateType: 'Category', categoryType: 'Company', title: 'Microsoft' }),
    makeRevision({ updateId: family, revisionNumber: 1, updateType: 'Category', categoryType: 'ProductFamily', title: 'Windows', prerequisites: [{ updateIds: [company], isCategory: true }] }),
    makeRevision({ updateId: family, revisionNumber: 2, updateType: 'Category', categoryType: 'ProductFamily', title: 'Windows (r2)', prerequisites: [{ updateIds: [company], isCategory: true }] }),
    makeRevision({ updateId: CLASSIFICATION, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Security Updates' }),
    makeRevision({ updateId: guid(1, 'detectoid'), revisionNumber: 1, updateType: 'Detectoid' }),
    makeRevision({ updateId: A, revisionNumber: 1, files: [makeFile('a.cab')], prerequisites: [{ updateIds: [guid(1, 'detectoid')], isCategory: false }, { updateIds: [product], isCategory: true }] }),
    makeRevision({ updateId: A, revisionNumber: 2, files: [makeFile('a2.cab')] }),
    makeRevision({ updateId: B, revisionNumber: 1, publicationState: 'Expired', files: [makeFile('b.cab')] }),
  ]);
  await store.languages.upsert([
    { id: 1033, shortName: 'en', longName: 'English', enabled: true },
    { id: 1031, shortName: 'de', longName: 'German', enabled: false },
  ]);
  await store.files.queue([sha1Of('a.cab')]);
  await store.files.markPresent(sha1Of('a2.cab'));

  const tree = await store.catalog.categories();
  assert.deepEqual(
    tree.map((c) => [c.title, c.categoryType, c.parentIds]).sort(),
    [
      ['Microsoft', 'Company', []],
      ['Security Updates', 'UpdateClassification', []],
      ['Windows (r2)', 'ProductFamily', [company]],
      ['Windows 11', 'Product', [family]],
    ].sort(),
  );

  const stats = await store.catalog.stats();
  assert.deepEqual(stats.revisionsByType, { Category: 4, Detectoid: 1, Software: 2 });
  assert.deepEqual(stats.categories.byType, { Company: 1, ProductFamily: 1, Product: 1, UpdateClassification: 1 });
  assert.deepEqual(stats.files, { absent: 1, queued: 1, present: 1, failed: 0 });
  assert.deepEqual(stats.languages, [
    { id: 1031, shortName: 'de', longName: 'German', enabled: false },
    { id: 1033, shortName: 'en', longName: 'English', enabled: true },
  ]);
  assert.equal(stats.revisions, 9);
  assert.equal(stats.latestRevisions, 7);
  assert.equal(stats.expired, 1);
});

forEachBackend('iterate walks every revision in revision id order, a page at a time', async ({ store }) => {
  const inputs = Array.from({ length: 23 }, (_, i) => makeRevision({ updateId: guid(i), revisionNumber: 1 + (i % 2) }));
  const { revisionIds } = await store.catalog.upsertRevisions(inputs);
  const seen: number[] = [];
  for await (const r of store.catalog.iterate({ pageSize: 5 })) {
    seen.push(r.revisionId);
    assert.equal(r.xml, inputs[revisionIds.indexOf(r.revisionId)]!.record.xml);
    assert.equal(r.localized.length, 1);
  }
  assert.deepEqual(seen, [...revisionIds].sort((x, y) => x - y));
  let n = 0;
  for await (const _ of store.catalog.iterate({ pageSize: 23 })) n++;
  assert.equal(n, 23);
  const summaries = await store.catalog.summaries([revisionIds[3]!, revisionIds[1]!, 999_999]);
  assert.deepEqual(summaries.map((s) => s.revisionId), [revisionIds[1], revisionIds[3]]);
});

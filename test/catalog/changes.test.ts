import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOG_END, generateCatalog, generateCatalogChanges, type CatalogDocument } from '../../src/catalog/index.ts';
import { expectedRecord } from '../../src/metadata/update-writer.ts';
import { SMALL_FILES, needsParser, parseUpdate } from './helpers.ts';

const base = { updates: 1200, seed: 'days', fileSize: SMALL_FILES } as const;
const baseDocs = [...generateCatalog(base).documents()];
const days = [1, 2, 3].map((day) => [...generateCatalogChanges({ base, day }).documents()]);

const newest = new Map<string, CatalogDocument>();
for (const d of baseDocs) {
  const known = newest.get(d.key.updateId);
  if (known === undefined || d.key.revisionNumber > known.key.revisionNumber) newest.set(d.key.updateId, d);
}
const key = (d: CatalogDocument) => `${d.key.updateId}/${d.key.revisionNumber}`;

test('each day brings new updates, new revisions, expiries and a new category', () => {
  for (const docs of days) {
    const kinds = new Set(docs.map((d) => d.change));
    assert.deepEqual(kinds, new Set(['new-category', 'new-update', 'new-revision', 'expiration']));
    assert.ok(docs.every((d) => d.change !== undefined));
  }
});

test('the days are deterministic and differ from one another', () => {
  const again = [...generateCatalogChanges({ base, day: 2 }).documents()];
  assert.deepEqual(again.map((d) => d.xml), days[1]?.map((d) => d.xml));
  assert.notDeepEqual(days[0]?.map((d) => d.xml), days[1]?.map((d) => d.xml));
  const otherSeed = [...generateCatalogChanges({ base: { ...base, seed: 'other' }, day: 1 }).documents()];
  assert.notDeepEqual(otherSeed.map((d) => d.xml), days[0]?.map((d) => d.xml));
});

test('no revision is made twice, across the base and the following days', () => {
  const all = [...baseDocs, ...days.flat()];
  assert.equal(new Set(all.map(key)).size, all.length);
});

test('new updates are dated that day and supersede the newest of their line', () => {
  for (const [i, docs] of days.entries()) {
    const from = new Date(CATALOG_END + i * 86_400_000).toISOString();
    const until = new Date(CATALOG_END + (i + 1) * 86_400_000).toISOString();
    const fresh = docs.filter((d) => d.change === 'new-update');
    assert.ok(fresh.length >= 3, 'at least the day’s Defender definitions');
    for (const d of fresh) {
      const created = d.spec.properties.creationDate ?? '';
      assert.ok(created > from && created <= until, `${created} in day ${i + 1}`);
      assert.ok(!newest.has(d.key.updateId), 'a new update has a new id');
    }
    const superseding = fresh.filter((d) => (d.spec.supersedes ?? []).length > 0);
    assert.ok(superseding.length > 0);
    const known = new Set([...newest.keys(), ...days.slice(0, i + 1).flat().map((d) => d.key.updateId)]);
    for (const d of superseding) for (const id of d.spec.supersedes ?? []) assert.ok(known.has(id), 'supersedes an update that exists');
  }
  // Day 1's newest Defender definition is superseded on day 2.
  const defender = (docs: CatalogDocument[] | undefined) => (docs ?? []).filter((d) => d.role === 'bundle' && d.spec.properties.kbArticleId === '2267602');
  const lastOfDay1 = defender(days[0]).at(-1);
  assert.ok(lastOfDay1 !== undefined);
  assert.ok(defender(days[1]).some((d) => d.spec.supersedes?.includes(lastOfDay1.key.updateId)));
});

test('new revisions and expiries continue the revision numbers of existing updates', () => {
  const revisedOnce = new Map<string, number>();
  for (const docs of days) {
    for (const d of docs.filter((x) => x.change === 'new-revision' || x.change === 'expiration')) {
      const before = newest.get(d.key.updateId);
      assert.ok(before !== undefined, 'revises an update of the base catalog');
      assert.notEqual(before.spec.properties.publicationState, 'Expired', 'an expired update is not revised again');
      const previous = revisedOnce.get(d.key.updateId) ?? before.key.revisionNumber;
      assert.equal(d.key.revisionNumber, previous + 1);
      revisedOnce.set(d.key.updateId, d.key.revisionNumber);
      assert.equal(d.spec.localized[0]?.title, before.spec.localized[0]?.title);
      if (d.change === 'expiration') assert.equal(d.spec.properties.publicationState, 'Expired');
      else assert.match(d.spec.localized[0]?.description ?? '', /Revised on \d{4}-\d{2}-\d{2}/);
    }
  }
});

test('the new category hangs under an existing family and gets a first update', () => {
  for (const docs of days) {
    const cat = docs.find((d) => d.change === 'new-category');
    assert.ok(cat !== undefined);
    assert.equal(cat.spec.category?.categoryType, 'Product');
    const parent = cat.spec.prerequisites?.[0]?.updateIds[0];
    assert.ok(parent !== undefined && newest.has(parent));
    assert.ok(docs.some((d) => d.change === 'new-update' && d.spec.prerequisites?.some((c) => c.isCategory && c.updateIds.includes(cat.key.updateId))));
  }
});

test('every changed document parses into its record', needsParser, () => {
  assert.ok(parseUpdate !== undefined);
  for (const d of days.flat()) assert.deepEqual(parseUpdate(d.xml), expectedRecord(d.spec, d.xml));
});

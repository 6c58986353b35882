import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { XMLValidator } from 'fast-xml-parser';
import { CLASSIFICATIONS, MICROSOFT_COMPANY_ID, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import {
  CATEGORY,
  STATIC_DOCUMENTS,
  filePayload,
  generateCatalog,
  payloadChunks,
  summarizeCatalog,
  type CatalogDocument,
} from '../../src/catalog/index.ts';
import { expectedRecord } from '../../src/metadata/update-writer.ts';
import { SMALL_FILES, needsParser, parseUpdate } from './helpers.ts';

const N = 900;
const docs: CatalogDocument[] = [...generateCatalog({ updates: N, seed: 'shape', fileSize: SMALL_FILES }).documents()];
const byId = new Map<string, CatalogDocument[]>();
for (const d of docs) byId.set(d.key.updateId, [...(byId.get(d.key.updateId) ?? []), d]);
const latest = (id: string) => {
  const all = byId.get(id) ?? [];
  return all.reduce((a, b) => (b.key.revisionNumber > a.key.revisionNumber ? b : a), all[0] as CatalogDocument);
};
const categories = docs.filter((d) => d.role === 'category');
const categoryIds = new Set(categories.map((d) => d.key.updateId));
const parentOf = (d: CatalogDocument) => d.spec.prerequisites?.find((c) => c.isCategory)?.updateIds[0];

test('N is the exact number of documents, from the static minimum up', () => {
  assert.equal(docs.length, N);
  for (const n of [STATIC_DOCUMENTS, STATIC_DOCUMENTS + 1, STATIC_DOCUMENTS + 7, 250, 1333]) {
    const c = generateCatalog({ updates: n, seed: n, fileSize: SMALL_FILES });
    assert.equal(c.size, n);
    assert.equal([...c.documents()].length, n, `N=${n}`);
  }
  assert.throws(() => generateCatalog({ updates: STATIC_DOCUMENTS - 1, seed: 1 }), RangeError);
  // Every (update id, revision) is distinct: N really counts revisions.
  assert.equal(new Set(docs.map((d) => `${d.key.updateId}/${d.key.revisionNumber}`)).size, N);
});

test('same seed gives the same bytes, another seed another catalog', () => {
  const digest = (seed: string | number) => {
    const h = createHash('sha256');
    for (const d of generateCatalog({ updates: 400, seed, fileSize: SMALL_FILES }).documents()) {
      h.update(d.xml);
      for (const f of d.files) h.update(filePayload(f));
    }
    return h.digest('hex');
  };
  assert.equal(digest('a'), digest('a'));
  assert.notEqual(digest('a'), digest('b'));
  assert.notEqual(digest(1), digest(2));
  // Restarting the stream of one catalog yields the same documents again.
  const c = generateCatalog({ updates: 300, seed: 'again', fileSize: SMALL_FILES });
  assert.deepEqual([...c.documents()].map((d) => d.xml), [...c].map((d) => d.xml));
});

test('categories form a company > family > product > sub-product tree with the real ids', () => {
  const company = latest(MICROSOFT_COMPANY_ID);
  assert.equal(company.spec.category?.categoryType, 'Company');
  assert.equal(parentOf(company), undefined);
  assert.equal(latest(WINDOWS_PRODUCT_FAMILY_ID).spec.category?.categoryType, 'ProductFamily');
  assert.equal(parentOf(latest(WINDOWS_PRODUCT_FAMILY_ID)), MICROSOFT_COMPANY_ID);
  const depth = (d: CatalogDocument): number => {
    const parent = parentOf(d);
    return parent === undefined ? 1 : 1 + depth(latest(parent));
  };
  let deepest = 0;
  for (const c of categories) {
    const parent = parentOf(c);
    if (c.spec.category?.categoryType === 'UpdateClassification') {
      assert.equal(parent, undefined, 'classifications are roots');
      continue;
    }
    if (parent !== undefined) {
      assert.ok(categoryIds.has(parent), `${c.spec.localized[0]?.title}: parent is in the catalog`);
      // Parents come first, so a sequential importer always knows them.
      assert.ok(docs.indexOf(latest(parent)) < docs.indexOf(c));
      assert.equal(c.spec.prerequisites?.[0]?.isCategory, true);
    }
    deepest = Math.max(deepest, depth(c));
  }
  assert.ok(deepest >= 4, `tree depth ${deepest}`);
  const families = categories.filter((c) => c.spec.category?.categoryType === 'ProductFamily').map((c) => c.spec.localized[0]?.title);
  for (const f of ['Windows', 'Office', 'Developer Tools, Runtimes, and Redistributables', 'SQL Server']) assert.ok(families.includes(f), f);
  assert.equal(parentOf(latest(CATEGORY.windows10Later)), CATEGORY.windows10);
  assert.equal(parentOf(latest(CATEGORY.windows10)), WINDOWS_PRODUCT_FAMILY_ID);
});

test('all 14 classifications are there with their real GUIDs', () => {
  const classifications = categories.filter((c) => c.spec.category?.categoryType === 'UpdateClassification');
  assert.deepEqual(new Set(classifications.map((c) => c.key.updateId)), new Set(Object.values(CLASSIFICATIONS)));
  assert.equal(classifications.length, 14);
  assert.equal(latest(CLASSIFICATIONS.securityUpdates).spec.localized.find((l) => l.language === 'de')?.title, 'Sicherheitsupdates');
});

test('software updates name a product and a classification; every prerequisite exists', () => {
  const tops = docs.filter((d) => d.role === 'bundle' || d.role === 'standalone' || d.role === 'driver');
  assert.ok(tops.length > 100);
  for (const d of tops) {
    const categoryClauses = (d.spec.prerequisites ?? []).filter((c) => c.isCategory);
    const named = categoryClauses.flatMap((c) => c.updateIds).map((id) => latest(id).spec.category?.categoryType);
    assert.ok(named.includes('Product'), `${d.spec.localized[0]?.title} names a product`);
    assert.ok(named.includes('UpdateClassification'), `${d.spec.localized[0]?.title} names a classification`);
  }
  for (const d of docs) for (const c of d.spec.prerequisites ?? []) for (const id of c.updateIds) assert.ok(byId.has(id), `prerequisite ${id} of ${d.key.updateId}`);
});

test('detectoids are Detectoid documents used as direct prerequisites, also of other detectoids', () => {
  const detectoids = new Set(docs.filter((d) => d.role === 'detectoid').map((d) => d.key.updateId));
  assert.ok(detectoids.size >= 20);
  for (const id of detectoids) assert.equal(latest(id).spec.properties.updateType, 'Detectoid');
  const directUses = docs.flatMap((d) => (d.spec.prerequisites ?? []).filter((c) => !c.isCategory && c.updateIds.length === 1).map((c) => [d, c.updateIds[0] as string] as const));
  assert.ok(directUses.some(([d, id]) => d.role === 'bundle' && detectoids.has(id)));
  assert.ok(directUses.some(([d, id]) => d.role === 'bundled-leaf' && detectoids.has(id)));
  assert.ok(directUses.some(([d, id]) => d.role === 'detectoid' && detectoids.has(id)));
});

test('bundles are explicitly deployable and hold leaf children that are not, with files and a command line', () => {
  const bundles = docs.filter((d) => d.role === 'bundle');
  assert.ok(bundles.length > 20);
  const bundled = new Set<string>();
  let sharedChild = false;
  for (const b of bundles) {
    assert.equal(b.spec.properties.explicitlyDeployable, true);
    assert.equal(b.files.length, 0);
    assert.ok((b.spec.bundles ?? []).length > 0);
    for (const g of b.spec.bundles ?? []) {
      for (const m of g.members) {
        const child = byId.get(m.updateId)?.find((c) => c.key.revisionNumber === m.revisionNumber);
        assert.ok(child !== undefined, `child ${m.updateId}/${m.revisionNumber} is in the catalog`);
        if (bundled.has(m.updateId)) sharedChild = true;
        bundled.add(m.updateId);
        assert.equal(child.role, 'bundled-leaf');
        assert.notEqual(child.spec.properties.explicitlyDeployable, true);
        assert.equal(child.spec.bundles, undefined, 'children are leaves');
        assert.ok(child.files.length > 0);
        assert.equal(child.spec.handlerData?.kind, 'commandLine');
      }
    }
  }
  assert.ok(sharedChild, 'some leaves belong to several bundles (as Defender deltas do on MU)');
  assert.ok(bundles.some((b) => b.spec.bundles?.some((g) => g.atLeastOne)) && bundles.some((b) => b.spec.bundles?.some((g) => !g.atLeastOne)));
});

test('newer updates supersede older ones of their line, in chains', () => {
  const supersedes = new Map<string, readonly string[]>();
  for (const d of docs) if ((d.spec.supersedes ?? []).length > 0) supersedes.set(d.key.updateId, d.spec.supersedes ?? []);
  let chain = 0;
  for (const [a, olds] of supersedes) {
    for (const b of olds) {
      assert.ok(byId.has(b), 'superseded updates are in the catalog');
      // First revisions carry the publication dates (later ones are dated when revised).
      const da = byId.get(a)?.[0];
      const db = byId.get(b)?.[0];
      assert.ok((da?.spec.properties.creationDate ?? '') > (db?.spec.properties.creationDate ?? ''), 'newer supersedes older');
      const products = (d: CatalogDocument | undefined) => d?.spec.prerequisites?.find((c) => c.isCategory)?.updateIds.join();
      assert.equal(products(da), products(db), 'same product line');
      if ((supersedes.get(b) ?? []).length > 0) chain++;
    }
  }
  assert.ok(chain > 5, 'A supersedes B which supersedes C');
});

test('some updates have several revisions (newer = higher) and some are expired', () => {
  const multi = [...byId.values()].filter((all) => all.length > 1 && all[0]?.role !== 'category');
  assert.ok(multi.length > 5);
  for (const all of multi) {
    const numbers = all.map((d) => d.key.revisionNumber);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), 'revisions come in order');
    assert.ok(numbers.every((n) => n >= 100 && n < 300), 'MU-style 100-/200-series numbers');
    for (let i = 1; i < all.length; i++) assert.ok((all[i]?.spec.properties.creationDate ?? '') >= (all[i - 1]?.spec.properties.creationDate ?? ''));
  }
  const expired = docs.filter((d) => d.spec.properties.publicationState === 'Expired');
  assert.ok(expired.length > 0);
  for (const e of expired) {
    assert.match(e.xml, /PublicationState="Expired"/);
    assert.equal(latest(e.key.updateId), e, 'an expiry is the newest revision');
    assert.ok((byId.get(e.key.updateId) ?? []).length >= 2, 'an expiry follows a published revision');
  }
});

test('localized properties in several languages, titles as MU words them', () => {
  const summary = summarizeCatalog(docs);
  assert.deepEqual(summary.languages, ['de', 'en', 'fr', 'ja', 'pt-br', 'zh-cn']);
  const cu = docs.find((d) => /^\d{4}-\d{2} Cumulative Update for Windows 11 Version 25H2 for x64-based Systems \(KB\d{7}\)$/.test(d.spec.localized[0]?.title ?? ''));
  assert.ok(cu !== undefined, 'a Windows 11 25H2 x64 cumulative update');
  assert.equal(cu.spec.localized[0]?.language, 'en');
  assert.match(cu.spec.localized.find((l) => l.language === 'de')?.title ?? '', /Kumulatives Update für Windows 11 Version 25H2/);
  assert.match(cu.spec.localized.find((l) => l.language === 'ja')?.title ?? '', /累積更新プログラム/);
  assert.match(cu.spec.properties.kbArticleId ?? '', /^\d{7}$/);
  assert.ok(['Critical', 'Important', 'Moderate', 'Low'].includes(cu.spec.properties.msrcSeverity ?? ''));
  assert.ok(docs.some((d) => /^Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 \(Version [\d.]+\) - Current Channel \(Broad\)$/.test(d.spec.localized[0]?.title ?? '')));
  const other = [...generateCatalog({ updates: 200, seed: 1, languages: ['es', 'ko'], fileSize: SMALL_FILES }).documents()];
  assert.deepEqual(summarizeCatalog(other).languages, ['en', 'es', 'ko']);
});

test('drivers: Driver type, Drivers classification, driver metadata with a hardware id', () => {
  const drivers = docs.filter((d) => d.role === 'driver');
  assert.ok(drivers.length >= 5);
  for (const d of drivers) {
    assert.equal(d.spec.properties.updateType, 'Driver');
    assert.ok(d.spec.prerequisites?.some((c) => c.isCategory && c.updateIds.includes(CLASSIFICATIONS.drivers)));
    const m = d.spec.drivers?.[0];
    assert.ok(m !== undefined && m.hardwareId.length > 0 && m.driverVerVersion !== undefined);
    assert.match(d.xml, /<upd:Metadata><drv:WindowsDriverMetaData HardwareID="[^"]+"/);
    assert.match(d.xml, /xsi:type="drv:WindowsDriver"/);
    assert.match(d.spec.localized[0]?.title ?? '', / - .+ - \d+\.\d+\.\d+\.\d+$/);
  }
  assert.ok(drivers.some((d) => (d.spec.drivers?.[0]?.computerHardwareIds.length ?? 0) > 0));
});

test('files carry the real SHA-1, SHA-256 and size of their payloads; some are shared', () => {
  const seen = new Map<string, { size: number; updates: Set<string> }>();
  for (const d of docs) {
    for (const f of d.files) {
      const entry = seen.get(f.sha1);
      if (entry !== undefined) {
        assert.equal(entry.size, f.size);
        entry.updates.add(d.key.updateId);
        continue;
      }
      seen.set(f.sha1, { size: f.size, updates: new Set([d.key.updateId]) });
      const bytes = filePayload(f);
      assert.equal(bytes.length, f.size);
      assert.equal(createHash('sha1').update(bytes).digest('base64'), f.sha1);
      assert.equal(createHash('sha256').update(bytes).digest('base64'), f.sha256);
      assert.ok(d.xml.includes(`Digest="${f.sha1}"`) && d.xml.includes(`>${f.sha256}</upd:AdditionalDigest>`) && d.xml.includes(`Size="${f.size}"`));
    }
  }
  assert.ok([...seen.values()].some((e) => e.updates.size > 1), 'one payload named by several updates');
  const sizes = [...seen.values()].map((e) => e.size);
  assert.ok(Math.min(...sizes) >= SMALL_FILES.min && Math.max(...sizes) <= SMALL_FILES.max);
});

test('payloads stream in chunks identical to the whole, and sizes follow the options', () => {
  const [doc] = [...generateCatalog({ updates: STATIC_DOCUMENTS + 5, seed: 'big', fileSize: { min: 2_500_000, max: 2_500_000 } }).documents()].filter((d) => d.files.length > 0);
  const file = doc?.files[0];
  assert.ok(file !== undefined);
  assert.equal(file.size, 2_500_000);
  const chunks = [...payloadChunks(file, 65_536)];
  assert.ok(chunks.every((c) => c.length <= 65_536));
  const sha1 = createHash('sha1');
  for (const c of chunks) sha1.update(c);
  assert.equal(sha1.digest('base64'), file.sha1);
  const large = [...generateCatalog({ updates: STATIC_DOCUMENTS + 80, seed: 'l', fileSize: SMALL_FILES, largeFiles: { every: 4, size: { min: 300_000, max: 300_000 } } }).documents()].flatMap((d) => d.files);
  assert.ok(large.some((f) => f.size === 300_000) && large.some((f) => f.size <= SMALL_FILES.max));
});

test('the summary counts types, categories, languages and files', () => {
  const s = summarizeCatalog(docs);
  assert.equal(s.documents, N);
  assert.equal((s.byType.Category ?? 0) + (s.byType.Detectoid ?? 0) + (s.byType.Software ?? 0) + (s.byType.Driver ?? 0), N);
  assert.equal(s.categoriesByType.UpdateClassification, 14);
  assert.equal(s.categoriesByType.Company, 1);
  assert.ok((s.categoriesByType.ProductFamily ?? 0) >= 4 && (s.categoriesByType.Product ?? 0) >= 10);
  assert.ok((s.byPublicationState.Expired ?? 0) > 0);
  assert.ok(s.files > 0 && s.fileReferences > s.files && s.totalBytes > 0);
  assert.equal(s.updates + s.laterRevisions, N);
});

test('every document is well-formed and parses into the record it was written from', needsParser, () => {
  assert.ok(parseUpdate !== undefined);
  for (const d of docs) {
    assert.equal(XMLValidator.validate(d.xml), true);
    assert.deepEqual(parseUpdate(d.xml), expectedRecord(d.spec, d.xml), `${d.key.updateId}/${d.key.revisionNumber}`);
  }
});

// GetRevisionIdList and GetConfigData over a hand-built catalog: categories first, the product ∧
// classification filter, Delta with an anchor, bundles, expired revisions, and incremental answers
// that list every change exactly once.
import assert from 'node:assert/strict';
import { SoapFault } from '../../src/soap/index.ts';
import type { Store } from '../../src/store/index.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeRevision } from '../store/records.ts';
import { cookieXml, handshake, revisionIdList, withUpstream, type Cookie, type Upstream } from './upstream-harness.ts';

const PRODUCT = guid(1, 'product');
const OTHER_PRODUCT = guid(2, 'product');
const SECURITY = '0fa1201d-4330-4fa8-8ae9-b877473b6441';
const CRITICAL = 'e6cf1350-c01b-414d-a61f-263d14d133b4';
const COMPANY = guid(1, 'company');
const DETECTOID = guid(1, 'detectoid');

const U = (n: number) => guid(n, 'upd');

const inCategories = (...ids: string[]) => ids.map((id) => ({ updateIds: [id], isCategory: true }));

/**
 * Categories and a detectoid, then:
 *   U1 product+security (a bundle of U2, which bundles U3), U4 product+critical,
 *   U5 other product+security, U6 product only, U7 product+security expired, U8 security only.
 */
async function seed(store: Store): Promise<void> {
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: COMPANY, revisionNumber: 100, updateType: 'Category', categoryType: 'Company' }),
    makeRevision({ updateId: PRODUCT, revisionNumber: 100, updateType: 'Category', categoryType: 'Product', prerequisites: inCategories(COMPANY) }),
    makeRevision({ updateId: PRODUCT, revisionNumber: 101, updateType: 'Category', categoryType: 'Product', prerequisites: inCategories(COMPANY) }),
    makeRevision({ updateId: OTHER_PRODUCT, revisionNumber: 100, updateType: 'Category', categoryType: 'Product', prerequisites: inCategories(COMPANY) }),
    makeRevision({ updateId: SECURITY, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification' }),
    makeRevision({ updateId: CRITICAL, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification' }),
    makeRevision({ updateId: DETECTOID, revisionNumber: 100, updateType: 'Detectoid' }),
    makeRevision({
      updateId: U(1),
      revisionNumber: 200,
      prerequisites: [{ updateIds: [DETECTOID], isCategory: false }, ...inCategories(PRODUCT, SECURITY)],
      bundles: [{ members: [{ updateId: U(2), revisionNumber: 200 }], atLeastOne: true }],
    }),
    // Leaf children carry the product in a plain AtLeastOne, as the real ones do.
    makeRevision({
      updateId: U(2),
      revisionNumber: 200,
      prerequisites: [{ updateIds: [PRODUCT], isCategory: false }],
      bundles: [{ members: [{ updateId: U(3), revisionNumber: 200 }], atLeastOne: false }],
    }),
    makeRevision({ updateId: U(3), revisionNumber: 200, prerequisites: [{ updateIds: [PRODUCT], isCategory: false }] }),
    makeRevision({ updateId: U(4), revisionNumber: 200, prerequisites: inCategories(PRODUCT, CRITICAL) }),
    makeRevision({ updateId: U(5), revisionNumber: 200, prerequisites: inCategories(OTHER_PRODUCT, SECURITY) }),
    makeRevision({ updateId: U(6), revisionNumber: 200, prerequisites: inCategories(PRODUCT) }),
    makeRevision({ updateId: U(7), revisionNumber: 200, publicationState: 'Expired', prerequisites: inCategories(PRODUCT, SECURITY) }),
    makeRevision({ updateId: U(8), revisionNumber: 200, prerequisites: inCategories(SECURITY) }),
  ]);
}

const keys = (list: { revisions: Array<{ updateId: string; revisionNumber: number }> }) => list.revisions.map((r) => `${r.updateId}/${r.revisionNumber}`);
const sorted = (values: string[]) => [...values].sort();

function filter(products: Array<[string, boolean]>, classifications: Array<[string, boolean]>, anchor?: string) {
  return {
    getConfig: false,
    ...(anchor !== undefined && { anchor }),
    categories: products.map(([id, delta]) => ({ id, delta })),
    classifications: classifications.map(([id, delta]) => ({ id, delta })),
  };
}

async function run(store: Store, fn: (u: Upstream, cookie: Cookie) => Promise<void>): Promise<void> {
  await seed(store);
  await withUpstream(store, async (u) => fn(u, await handshake(u)));
}

forEachBackend('GetConfig=true lists categories, classifications and detectoids, newest revision each', async ({ store }) => {
  await run(store, async (u, cookie) => {
    const config = await revisionIdList(u, cookie, { getConfig: true });
    assert.deepEqual(sorted(keys(config)), sorted([`${COMPANY}/100`, `${PRODUCT}/101`, `${OTHER_PRODUCT}/100`, `${SECURITY}/1`, `${CRITICAL}/1`, `${DETECTOID}/100`]));
    // The lists do not narrow it.
    const narrowed = await revisionIdList(u, cookie, { getConfig: true, categories: [{ id: OTHER_PRODUCT, delta: true }] });
    assert.equal(narrowed.revisions.length, 6);
    // Nothing changed since: nothing listed.
    assert.deepEqual(keys(await revisionIdList(u, cookie, { getConfig: true, anchor: config.anchor })), []);
    await store.catalog.upsertRevisions([makeRevision({ updateId: guid(3, 'product'), revisionNumber: 100, updateType: 'Category', categoryType: 'Product' })]);
    await store.catalog.upsertRevisions([makeRevision({ updateId: U(9), revisionNumber: 200, prerequisites: inCategories(PRODUCT, SECURITY) })]);
    assert.deepEqual(keys(await revisionIdList(u, cookie, { getConfig: true, anchor: config.anchor })), [`${guid(3, 'product')}/100`]);
  });
});

forEachBackend('GetConfig=false selects product AND classification, with bundle children and expired revisions', async ({ store }) => {
  await run(store, async (u, cookie) => {
    const selected = await revisionIdList(u, cookie, filter([[PRODUCT, false]], [[SECURITY, false]]));
    assert.deepEqual(sorted(keys(selected)), sorted([`${U(1)}/200`, `${U(2)}/200`, `${U(3)}/200`, `${U(7)}/200`]));
    const both = await revisionIdList(u, cookie, filter([[PRODUCT, false], [OTHER_PRODUCT, false]], [[SECURITY, false], [CRITICAL, false]]));
    assert.deepEqual(sorted(keys(both)), sorted([`${U(1)}/200`, `${U(2)}/200`, `${U(3)}/200`, `${U(4)}/200`, `${U(5)}/200`, `${U(7)}/200`]));
    // As the real WSUS: one list only, or an empty one, selects nothing; no lists select everything.
    assert.deepEqual(keys(await revisionIdList(u, cookie, { getConfig: false, categories: [{ id: PRODUCT, delta: false }] })), []);
    assert.deepEqual(keys(await revisionIdList(u, cookie, { getConfig: false, classifications: [{ id: SECURITY, delta: false }] })), []);
    assert.deepEqual(keys(await revisionIdList(u, cookie, filter([[PRODUCT, false]], []))), []);
    assert.deepEqual(keys(await revisionIdList(u, cookie, filter([[guid(99, 'product'), false]], [[SECURITY, false]]))), []);
    const everything = await revisionIdList(u, cookie, { getConfig: false });
    assert.deepEqual(sorted(keys(everything)), sorted([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `${U(n)}/200`)));
    // A parent product does not pull its children's updates.
    assert.deepEqual(keys(await revisionIdList(u, cookie, filter([[COMPANY, false]], [[SECURITY, false]]))), []);
  });
});

forEachBackend('with an anchor, Delta=true lists changes only and Delta=false everything of that id', async ({ store }) => {
  await run(store, async (u, cookie) => {
    const first = await revisionIdList(u, cookie, filter([[PRODUCT, false]], [[SECURITY, false]]));
    const anchor = first.anchor;
    // Nothing changed (000011): empty; Delta=false (000010): all of it again.
    assert.deepEqual(keys(await revisionIdList(u, cookie, filter([[PRODUCT, true]], [[SECURITY, true]], anchor))), []);
    assert.deepEqual(sorted(keys(await revisionIdList(u, cookie, filter([[PRODUCT, false]], [[SECURITY, true]], anchor)))), sorted(keys(first)));
    assert.deepEqual(keys(await revisionIdList(u, cookie, { getConfig: false, anchor })), []);
    // The downstream subscribes to another classification: all of it, and nothing of the old one.
    const added = await revisionIdList(u, cookie, filter([[PRODUCT, true]], [[SECURITY, true], [CRITICAL, false]], anchor));
    assert.deepEqual(keys(added), [`${U(4)}/200`]);
  });
});

forEachBackend('after a catalog change the next incremental call lists each new or revised revision once', async ({ store }) => {
  await run(store, async (u, cookie) => {
    const first = await revisionIdList(u, cookie, filter([[PRODUCT, false]], [[SECURITY, false]]));
    await store.catalog.upsertRevisions([
      makeRevision({ updateId: U(10), revisionNumber: 200, prerequisites: inCategories(PRODUCT, SECURITY) }), // new
      makeRevision({ updateId: U(3), revisionNumber: 201, prerequisites: [{ updateIds: [PRODUCT], isCategory: false }] }), // revised child
      makeRevision({ updateId: U(7), revisionNumber: 201, publicationState: 'Expired', prerequisites: inCategories(PRODUCT, SECURITY) }), // expired again
      makeRevision({ updateId: U(5), revisionNumber: 201, prerequisites: inCategories(OTHER_PRODUCT, SECURITY) }), // outside the filter
      makeRevision({ updateId: U(11), revisionNumber: 200, prerequisites: inCategories(PRODUCT, CRITICAL) }), // outside the filter
    ]);
    // The same revision twice changes nothing, and takes no position.
    await store.catalog.upsertRevisions([makeRevision({ updateId: U(10), revisionNumber: 200, prerequisites: inCategories(PRODUCT, SECURITY) })]);
    const next = await revisionIdList(u, cookie, filter([[PRODUCT, true]], [[SECURITY, true]], first.anchor));
    assert.deepEqual(sorted(keys(next)), sorted([`${U(10)}/200`, `${U(3)}/201`, `${U(7)}/201`]));
    assert.deepEqual(keys(await revisionIdList(u, cookie, filter([[PRODUCT, true]], [[SECURITY, true]], next.anchor))), []);

    // A new revision of the bundle that takes in an update the filter never selected brings it.
    await store.catalog.upsertRevisions([
      makeRevision({
        updateId: U(1),
        revisionNumber: 201,
        prerequisites: inCategories(PRODUCT, SECURITY),
        bundles: [{ members: [{ updateId: U(2), revisionNumber: 200 }, { updateId: U(6), revisionNumber: 200 }], atLeastOne: true }],
      }),
    ]);
    const third = await revisionIdList(u, cookie, filter([[PRODUCT, true]], [[SECURITY, true]], next.anchor));
    assert.deepEqual(sorted(keys(third)), sorted([`${U(1)}/201`, `${U(2)}/200`, `${U(3)}/201`, `${U(6)}/200`]));
  });
});

forEachBackend('a bad anchor is InvalidParameters "filter"; an anchor past the current position lists everything', async ({ store }) => {
  await run(store, async (u, cookie) => {
    for (const anchor of ['garbage', '12,yesterday', '-1,2026-10-04 16:09:27.167']) {
      await assert.rejects(revisionIdList(u, cookie, { getConfig: false, anchor }), (e: unknown) => e instanceof SoapFault && e.errorCode === 'InvalidParameters' && e.message === 'filter');
    }
    await assert.rejects(u.call('GetRevisionIdList', `${cookieXml(cookie)}<filter><GetConfig>maybe</GetConfig></filter>`), (e: unknown) => e instanceof SoapFault && e.message === 'filter');
    await assert.rejects(u.call('GetRevisionIdList', cookieXml(cookie)), (e: unknown) => e instanceof SoapFault && e.message === 'filter');
    await assert.rejects(
      revisionIdList(u, cookie, { getConfig: false, categories: [{ id: 'not-a-guid', delta: true }], classifications: [] }),
      (e: unknown) => e instanceof SoapFault && e.errorCode === 'InvalidParameters' && e.message === 'filter',
    );
    // An empty anchor is no anchor.
    assert.equal((await revisionIdList(u, cookie, { getConfig: true, anchor: '' })).revisions.length, 6);
    // A Windows WSUS's anchor (capture 000010) names positions this database never reached.
    const windows = await revisionIdList(u, cookie, filter([[PRODUCT, true]], [[SECURITY, true]], '94380,2026-10-04 16:09:27.371'));
    assert.equal(windows.revisions.length, 4);
    assert.match(windows.anchor, /^[0-9]+,/);
  });
});

forEachBackend('GetConfigData announces the settings and sends the languages only when they changed', async ({ store }) => {
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const first = (await u.call('GetConfigData', cookieXml(cookie))).result!;
    assert.deepEqual([first.bool('CatalogOnlySync'), first.bool('LazySync'), first.bool('ServerHostsPsfFiles')], [false, true, false]);
    assert.deepEqual(
      ['MaxNumberOfUpdatesPerRequest', 'MaxNumberOfDriverSetsPerRequest', 'MaxNumberOfComputerIdsInRequest', 'MaxNumberOfPnpHardwareIdsInRequest', 'MaxUpdatesPerRequestInGetUpdateDecryptionData'].map((n) => first.int(n)),
      [100, 0, 0, 0, 100],
    );
    assert.equal(first.string('ProtocolVersion'), '1.20');
    const languages = first.list('LanguageUpdateList');
    // No language stored yet: the WSUS table, English enabled, after the `all` entry.
    assert.equal(languages.length, 39);
    assert.deepEqual([languages[0]!.int('LanguageID'), languages[0]!.string('ShortLanguage'), languages[0]!.bool('Enabled')], [0, 'all', false]);
    assert.ok(languages.some((l) => l.string('ShortLanguage') === 'en' && l.bool('Enabled')));

    const anchor = first.string('NewConfigAnchor');
    const again = (await u.call('GetConfigData', `${cookieXml(cookie)}<configAnchor>${anchor}</configAnchor>`)).result!;
    assert.equal(again.list('LanguageUpdateList').length, 0);
    // A catalog change is no config change.
    await store.catalog.upsertRevisions([makeRevision({ updateId: U(1), revisionNumber: 1 })]);
    const later = (await u.call('GetConfigData', `${cookieXml(cookie)}<configAnchor>${anchor}</configAnchor>`)).result!;
    assert.equal(later.list('LanguageUpdateList').length, 0);

    await store.settings.set('upstream.lazySync', false);
    await store.languages.upsert([{ id: 1031, shortName: 'de', longName: 'German', enabled: true }]);
    await withUpstream(store, async (fresh) => {
      const changed = (await fresh.call('GetConfigData', `${cookieXml(cookie)}<configAnchor>${later.string('NewConfigAnchor')}</configAnchor>`)).result!;
      assert.equal(changed.bool('LazySync'), false);
      const list = changed.list('LanguageUpdateList');
      assert.deepEqual(list.map((l) => l.string('ShortLanguage')), ['all', 'de']);
      const settled = (await fresh.call('GetConfigData', `${cookieXml(cookie)}<configAnchor>${changed.string('NewConfigAnchor')}</configAnchor>`)).result!;
      assert.equal(settled.list('LanguageUpdateList').length, 0);
    });
    await assert.rejects(u.call('GetConfigData', `${cookieXml(cookie)}<configAnchor>garbage</configAnchor>`), (e: unknown) => e instanceof SoapFault && e.message === 'configAnchor');
  });
});

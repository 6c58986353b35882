import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CategoryNode } from '../../src/domain/catalog-records.ts';
import {
  displaySettingValue,
  expandProducts,
  knownClassifications,
  MICROSOFT_UPDATE_ORIGIN,
  nextScheduledSync,
  parseSettingText,
  resolveDownstreamSettings,
  selectedLanguages,
  SettingError,
  SETTING_DEFINITIONS,
  upstreamOrigin,
  validateSettingValue,
} from '../../src/domain/settings.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';

function refused(fn: () => unknown, key: string, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SettingError, String(error));
    assert.equal(error.key, key);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('settings', () => {
  it('default to what a fresh WSUS does: Microsoft Update, Windows, critical and security updates', () => {
    const { settings, problems } = resolveDownstreamSettings({});
    assert.deepEqual(problems, []);
    assert.equal(settings.source, 'microsoft-update');
    assert.deepEqual(settings.products, [WINDOWS_PRODUCT_FAMILY_ID]);
    assert.deepEqual(settings.classifications, [CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.securityUpdates]);
    assert.deepEqual(settings.languages, { kind: 'all' });
    assert.deepEqual(settings.schedule, { mode: 'manual', firstSyncTime: '03:00', syncsPerDay: 1 });
    assert.deepEqual(settings.content, { deferredDownloads: true, expressFiles: false, storeLocally: true });
    assert.equal(settings.proxy.port, 80);
    assert.equal(upstreamOrigin(settings), MICROSOFT_UPDATE_ORIGIN);
  });

  it('read command-line values as their key expects', () => {
    assert.equal(parseSettingText('upstream.ssl', 'TRUE'), true);
    assert.equal(parseSettingText('upstream.ssl', 'off'), false);
    assert.equal(parseSettingText('upstream.port', '8531'), 8531);
    assert.equal(parseSettingText('upstream.source', 'Server'), 'server');
    assert.equal(parseSettingText('upstream.server', ' wsus.corp.example '), 'wsus.corp.example');
    assert.deepEqual(parseSettingText('products', '{6964AAB4-C5B5-43BD-A17D-FFB4346A8E1D}, 72e7624a-5b00-45d2-b92f-e561c0a6a160,'), [
      WINDOWS_PRODUCT_FAMILY_ID,
      '72e7624a-5b00-45d2-b92f-e561c0a6a160',
    ]);
    assert.equal(parseSettingText('languages', 'ALL'), 'all');
    assert.equal(parseSettingText('languages', 'locale'), 'locale');
    assert.deepEqual(parseSettingText('languages', 'en, de,pt-BR,en'), ['en', 'de', 'pt-br']);
    assert.equal(parseSettingText('schedule.firstSyncTime', '23:59'), '23:59');
    assert.equal(parseSettingText('schedule.syncsPerDay', '24'), 24);
    assert.equal(parseSettingText('proxy.password', ' with spaces '), ' with spaces ', 'a secret is kept as typed');
    assert.equal(parseSettingText('upstream.cookieLifetimeMinutes', '60'), 60);
    assert.deepEqual(parseSettingText('upstream.allowedDownstreamServers', ''), []);
  });

  it('refuse what a key does not allow, saying what it does', () => {
    refused(() => parseSettingText('upstream.port', '99999'), 'upstream.port', /upstream\.port.*1-65535/);
    refused(() => parseSettingText('upstream.port', '85.5'), 'upstream.port', /1-65535/);
    refused(() => parseSettingText('upstream.ssl', 'maybe'), 'upstream.ssl', /true or false/);
    refused(() => parseSettingText('upstream.source', 'wsus'), 'upstream.source', /microsoft-update or server/);
    refused(() => parseSettingText('products', 'windows'), 'products', /GUID/);
    refused(() => parseSettingText('products', ''), 'products', /GUID/);
    refused(() => parseSettingText('languages', 'english!'), 'languages', /language codes/);
    refused(() => parseSettingText('schedule.firstSyncTime', '24:00'), 'schedule.firstSyncTime', /HH:MM/);
    refused(() => parseSettingText('schedule.syncsPerDay', '0'), 'schedule.syncsPerDay', /1-24/);
    refused(() => parseSettingText('schedule.syncsPerDay', '25'), 'schedule.syncsPerDay', /1-24/);
    refused(() => parseSettingText('upstream.server', 'bad host/'), 'upstream.server', /host name/);
    refused(() => parseSettingText('proxy.password', ''), 'proxy.password', /password/);
    refused(() => parseSettingText('upstream.maxDownstreamServers', '-1'), 'upstream.maxDownstreamServers', />= 0/);
    refused(() => parseSettingText('no.such.key', '1'), 'no.such.key', /unknown setting "no\.such\.key"; known settings: upstream\.source/);
    refused(() => validateSettingValue('proxy.password', 'clear text'), 'proxy.password', /not allowed/);
  });

  it('never show a secret', () => {
    assert.equal(displaySettingValue('proxy.password', { sealed: 'v1:a:b:c' }), '********');
    assert.equal(displaySettingValue('proxy.password', undefined), undefined);
    assert.equal(displaySettingValue('proxy.user', 'alice'), 'alice');
  });

  it('every default is valid for its key', () => {
    for (const d of SETTING_DEFINITIONS) if (d.default !== undefined) assert.deepEqual(validateSettingValue(d.key, d.default), d.default, d.key);
  });

  it('report a stored value that no longer validates and use the default', () => {
    const { settings, problems } = resolveDownstreamSettings({ 'upstream.port': 'x', 'schedule.syncsPerDay': 3, products: [] });
    assert.equal(settings.port, undefined);
    assert.equal(settings.schedule.syncsPerDay, 3);
    assert.deepEqual(settings.products, [WINDOWS_PRODUCT_FAMILY_ID]);
    assert.deepEqual(problems.map((p) => p.key).sort(), ['products', 'upstream.port']);
  });

  it('locate an upstream server: 8530, 8531 with SSL, or the port given', () => {
    const at = (stored: Record<string, unknown>): string => upstreamOrigin(resolveDownstreamSettings({ 'upstream.source': 'server', ...stored }).settings);
    assert.equal(at({ 'upstream.server': 'wsus1' }), 'http://wsus1:8530');
    assert.equal(at({ 'upstream.server': 'wsus1', 'upstream.ssl': true }), 'https://wsus1:8531');
    assert.equal(at({ 'upstream.server': 'wsus1', 'upstream.ssl': true, 'upstream.port': 443 }), 'https://wsus1:443');
    assert.equal(at({ 'upstream.server': '::1', 'upstream.port': 9000 }), 'http://[::1]:9000');
    assert.throws(() => at({}), /upstream\.server is not set/);
  });

  it('pick languages: all, the locale, or a list', () => {
    assert.equal(selectedLanguages({ kind: 'all' }, 'de-DE'), undefined);
    assert.deepEqual(selectedLanguages({ kind: 'locale' }, 'de-DE'), ['de', 'de-de']);
    assert.deepEqual(selectedLanguages({ kind: 'locale' }, 'pt_BR'), ['pt', 'pt-br']);
    assert.deepEqual(selectedLanguages({ kind: 'list', languages: ['en', 'fr'] }, 'de-DE'), ['en', 'fr']);
  });

  it('schedule automatic synchronizations evenly from the first time of the day', () => {
    const s = (firstSyncTime: string, syncsPerDay: number) => ({ mode: 'automatic' as const, firstSyncTime, syncsPerDay });
    assert.equal(nextScheduledSync({ ...s('03:00', 1), mode: 'manual' }, new Date('2026-01-01T00:00:00Z')), undefined);
    assert.equal(nextScheduledSync(s('03:00', 1), new Date('2026-01-01T02:59:59Z'))?.toISOString(), '2026-01-01T03:00:00.000Z');
    assert.equal(nextScheduledSync(s('03:00', 1), new Date('2026-01-01T03:00:00Z'))?.toISOString(), '2026-01-02T03:00:00.000Z');
    assert.equal(nextScheduledSync(s('03:00', 4), new Date('2026-01-01T10:00:00Z'))?.toISOString(), '2026-01-01T15:00:00.000Z');
    // The last slots of a day that began at 22:00 fall after midnight.
    assert.equal(nextScheduledSync(s('22:00', 2), new Date('2026-01-02T05:00:00Z'))?.toISOString(), '2026-01-02T10:00:00.000Z');
    assert.equal(nextScheduledSync(s('00:00', 24), new Date('2026-01-01T23:30:00Z'))?.toISOString(), '2026-01-02T00:00:00.000Z');
  });
});

describe('product selection', () => {
  const node = (updateId: string, categoryType: CategoryNode['categoryType'], parentIds: string[] = []): CategoryNode => ({
    updateId,
    revisionId: 0,
    ...(categoryType !== undefined && { categoryType }),
    title: updateId,
    parentIds,
  });
  const MS = '56309036-4c77-4dd9-951a-99ee9c246a94';
  const W11 = '00000000-0000-0000-0000-000000000011';
  const W11D = '00000000-0000-0000-0000-0000000011d0';
  const W10 = '00000000-0000-0000-0000-000000000010';
  const OFFICE = '00000000-0000-0000-0000-0000000000f0';
  const O16 = '00000000-0000-0000-0000-0000000000f1';
  const tree = [
    node(MS, 'Company'),
    node(WINDOWS_PRODUCT_FAMILY_ID, 'ProductFamily', [MS]),
    node(W11, 'Product', [WINDOWS_PRODUCT_FAMILY_ID]),
    node(W11D, 'Product', [W11]),
    node(W10, 'Product', [WINDOWS_PRODUCT_FAMILY_ID]),
    node(OFFICE, 'ProductFamily', [MS]),
    node(O16, 'Product', [OFFICE]),
    node(CLASSIFICATIONS.securityUpdates, 'UpdateClassification'),
    node(CLASSIFICATIONS.criticalUpdates, 'UpdateClassification'),
  ];

  it('a family stands for every product below it, however deep', () => {
    assert.deepEqual(expandProducts(tree, [WINDOWS_PRODUCT_FAMILY_ID.toUpperCase()]), [W11, W10, W11D].sort());
  });

  it('a product stands for itself and the products below it', () => {
    assert.deepEqual(expandProducts(tree, [W11]), [W11, W11D].sort());
    assert.deepEqual(expandProducts(tree, [O16, W10]), [W10, O16].sort());
  });

  it('a product added later under a selected family is taken from then on', () => {
    const W12 = '00000000-0000-0000-0000-000000000012';
    assert.ok(!expandProducts(tree, [WINDOWS_PRODUCT_FAMILY_ID]).includes(W12));
    assert.ok(expandProducts([...tree, node(W12, 'Product', [WINDOWS_PRODUCT_FAMILY_ID])], [WINDOWS_PRODUCT_FAMILY_ID]).includes(W12));
  });

  it('ids the upstream does not have, or that are no products, select nothing', () => {
    assert.deepEqual(expandProducts(tree, ['99999999-0000-0000-0000-000000000000', CLASSIFICATIONS.securityUpdates]), []);
    assert.deepEqual(expandProducts([], [WINDOWS_PRODUCT_FAMILY_ID]), []);
  });

  it('classifications are kept when the upstream has them', () => {
    assert.deepEqual(knownClassifications(tree, [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.drivers]), [CLASSIFICATIONS.securityUpdates]);
  });
});

// Language selection of a downstream server: the rule (domain/language-selection.ts), and a sync
// from an in-process root offering English, German and French, by a downstream that asks for
// English, German and Japanese: Japanese is not requested and a warning task says why; localized
// data is kept for English and German only (the documents stay whole); choosing languages the
// upstream offers clears the task at the next sync.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULTS } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer } from '../../src/app/server.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { filterLocalized, offeredLanguages, planLanguages } from '../../src/domain/language-selection.ts';
import { WSUS_LANGUAGES } from '../../src/domain/languages.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { LANGUAGES_TASK, synchronize } from '../../src/sync/engine.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { forEachBackend } from '../support/db.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-languages-'));
after(() => rmSync(work, { recursive: true, force: true }));
const catalogFile = join(work, 'catalog.owx');
await writeGeneratedCatalog({ updates: 120, seed: 'languages' }, catalogFile);

describe('which languages a downstream keeps', () => {
  const offered = offeredLanguages(WSUS_LANGUAGES.map((l) => ({ ...l, enabled: ['en', 'de', 'fr'].includes(l.shortName) })));

  it('takes what the upstream marks enabled', () => {
    assert.deepEqual(offered.sort(), ['de', 'en', 'fr']);
    assert.equal(offeredLanguages(WSUS_LANGUAGES.map((l) => ({ ...l, enabled: false }))).length, WSUS_LANGUAGES.length, 'none marked: all listed');
  });

  it('keeps the selection the upstream offers and reports the rest', () => {
    assert.deepEqual(planLanguages({ kind: 'all' }, 'en-US', offered), { kept: undefined, unavailable: [] });
    assert.deepEqual(planLanguages({ kind: 'list', languages: ['en', 'de', 'ja'] }, 'en-US', offered), { kept: ['en', 'de'], unavailable: ['ja'] });
    assert.deepEqual(planLanguages({ kind: 'locale' }, 'de-DE', offered), { kept: ['de'], unavailable: [] });
    assert.deepEqual(planLanguages({ kind: 'locale' }, 'ja-JP', offered), { kept: [], unavailable: ['ja'] });
  });

  it('filters localized data, English kept as the fallback', () => {
    const record = { localized: [{ language: 'en', title: 'E' }, { language: 'de', title: 'D' }, { language: 'fr', title: 'F' }] };
    const fragments = { core: '', extended: '', localized: { en: '<e/>', de: '<d/>', fr: '<f/>' } };
    const kept = filterLocalized(record, fragments, ['de']);
    assert.deepEqual(kept.record.localized.map((l) => l.language), ['en', 'de']);
    assert.deepEqual(Object.keys(kept.fragments.localized), ['en', 'de']);
    assert.deepEqual(filterLocalized({ localized: [{ language: 'ja', title: 'J' }] }, fragments, ['de']).record.localized.map((l) => l.language), ['ja'], 'a title remains');
    assert.equal(filterLocalized(record, fragments, undefined).record, record);
  });
});

forEachBackend('a downstream asks only for languages its upstream offers, and says so', async ({ t, store }) => {
  const rootDir = mkdtempSync(join(work, 'root-'));
  const root = await startServer({ ...DEFAULTS, data: rootDir, host: '127.0.0.1', port: 0, httpsPort: 0, logLevel: 'silent' }, createLogger('silent'));
  t.after(() => root.close());
  await importCatalogFile(root.store, catalogFile);
  await root.store.languages.upsert(WSUS_LANGUAGES);
  await root.store.languages.setEnabled(['en', 'de', 'fr']);

  for (const [key, value] of Object.entries({
    'upstream.source': 'server',
    'upstream.server': '127.0.0.1',
    'upstream.port': Number(new URL(root.listeners[0]!.url).port),
    products: [WINDOWS_PRODUCT_FAMILY_ID],
    classifications: Object.values(CLASSIFICATIONS),
    languages: ['en', 'de', 'ja'],
  })) {
    await store.settings.set(key, value);
  }
  const sync = () => synchronize({ store, serverName: 'languages.test', retry: { attempts: 1, baseDelayMs: 1 } });
  const first = await sync();
  assert.equal(first.run.result, 'succeeded');
  const [task] = await store.tasks.list({ kind: LANGUAGES_TASK });
  assert.match(task?.message ?? '', /^language ja selected here is not offered by the upstream server http:\/\/127\.0\.0\.1:\d+: updates in it are not synchronized/);
  assert.deepEqual((await store.languages.list()).filter((l) => l.enabled).map((l) => l.shortName).sort(), ['de', 'en']);

  // Localized data for English and German only; the document itself stays as the upstream sent it.
  let checked = 0;
  for await (const r of store.catalog.iterate({ latestOnly: true })) {
    if (r.updateType !== 'Software') continue;
    const full = (await store.catalog.getRevision(r.key))!;
    const languages = new Set(full.localized.map((l) => l.language));
    assert.ok([...languages].every((l) => l === 'en' || l === 'de'), `${r.key.updateId}: ${[...languages]}`);
    if (full.xml.includes('<upd:Language>fr</upd:Language>')) checked++;
    if (checked >= 5) break;
  }
  assert.ok(checked > 0, 'documents in French were received whole');

  // A second sync with the same settings keeps one task; fixing the selection clears it.
  await sync();
  assert.equal((await store.tasks.list({ kind: LANGUAGES_TASK }))[0]?.occurrences, 2);
  await store.settings.set('languages', ['en', 'de']);
  await sync();
  assert.deepEqual(await store.tasks.list({ kind: LANGUAGES_TASK }), [], 'resolved once fixed');
  assert.ok((await store.tasks.list({ kind: LANGUAGES_TASK, all: true }))[0]?.resolvedAt);
});

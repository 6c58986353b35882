// Single-update import (the Microsoft Update Catalog path): refused with the missing references
// listed and nothing stored; a file that does not match its digest refused the same way; with
// its prerequisite given too (as a cabinet blob) and sound files, both are stored at new change
// positions and the file is published into the content store.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentStore, DigestMismatchError } from '../../src/content/index.ts';
import { encodeUpdateBlob } from '../../src/metadata/cab/index.ts';
import { writeUpdateXml, type UpdateSpec } from '../../src/metadata/update-writer.ts';
import { importUpdates, UpdateImportError } from '../../src/transfer/update-import.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeRevision } from '../store/records.ts';

const PRODUCT = guid(1, 'import-product');
const CLASSIFICATION = guid(1, 'import-classification');
const UNKNOWN_CATEGORY = guid(2, 'import-product');
const CONTENT = Buffer.from('the update payload');
const FILE = {
  sha1: createHash('sha1').update(CONTENT).digest('base64'),
  sha256: createHash('sha256').update(CONTENT).digest('base64'),
  fileName: 'windows11.0-kb5999999-x64.msu',
  size: CONTENT.length,
};

function spec(updateId: string, title: string, extra: Partial<UpdateSpec> = {}): UpdateSpec {
  return {
    key: { updateId, revisionNumber: 200 },
    properties: { updateType: 'Software', defaultPropertiesLanguage: 'en', explicitlyDeployable: true, creationDate: '2026-11-10T18:00:00.000Z' },
    localized: [{ language: 'en', title }],
    prerequisites: [
      { updateIds: [PRODUCT], isCategory: true },
      { updateIds: [CLASSIFICATION], isCategory: true },
    ],
    ...extra,
  };
}

forEachBackend('updates import: missing references refused and listed, bad files refused, then stored with files', async ({ store, dataDir }) => {
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: PRODUCT, revisionNumber: 1, updateType: 'Category', categoryType: 'Product' }),
    makeRevision({ updateId: CLASSIFICATION, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification' }),
  ]);
  const content = ContentStore.inDataDir(dataDir);
  const base = guid(1, 'import-update');
  const top = guid(2, 'import-update');
  const docs = join(dataDir, 'docs');
  const files = join(dataDir, 'files');
  await mkdir(docs, { recursive: true });
  await mkdir(files, { recursive: true });
  const basePath = join(docs, 'base.cab');
  const topPath = join(docs, 'top.xml');
  const strayPath = join(docs, 'stray.xml');
  await writeFile(basePath, encodeUpdateBlob(writeUpdateXml(spec(base, 'Servicing stack update'))));
  await writeFile(topPath, writeUpdateXml(spec(top, 'Cumulative update', { prerequisites: [...spec(top, '').prerequisites!, { updateIds: [base], isCategory: false }], files: [FILE] })));
  await writeFile(strayPath, writeUpdateXml(spec(guid(3, 'import-update'), 'Stray', { prerequisites: [{ updateIds: [UNKNOWN_CATEGORY], isCategory: true }] })));
  const before = await store.changes.current();

  await assert.rejects(importUpdates(store, content, [topPath]), (error: unknown) => {
    assert.ok(error instanceof UpdateImportError);
    assert.deepEqual(error.missing, [{ updateId: top, kind: 'prerequisite', anyOf: [base] }]);
    assert.match(error.message, new RegExp(`${top} needs prerequisite ${base}`));
    return true;
  });
  await assert.rejects(importUpdates(store, content, [strayPath]), new RegExp(`needs category ${UNKNOWN_CATEGORY}`));

  await writeFile(join(files, FILE.fileName), 'not the payload');
  await assert.rejects(importUpdates(store, content, [basePath, topPath], { filesDir: files }), DigestMismatchError);
  assert.equal(await store.changes.current(), before, 'nothing stored by a refused import');
  assert.equal(await store.catalog.getLatest(top), undefined);

  await writeFile(join(files, FILE.fileName), CONTENT);
  const report = await importUpdates(store, content, [basePath, topPath], { filesDir: files });
  assert.equal(report.stored, 2);
  assert.equal(report.filesPublished, 1);
  const changed = (await store.catalog.changedSince(before)).map((r) => r.key.updateId).sort();
  assert.deepEqual(changed, [base, top].sort(), 'both at new change positions: downstreams and clients see them');
  assert.equal((await store.files.get(FILE.sha1))?.state, 'present');
  assert.equal((await content.stat(FILE))?.size, CONTENT.length);
  const again = await importUpdates(store, content, [basePath, topPath], { filesDir: files });
  assert.equal(again.stored, 0, 'importing the same documents again changes nothing');
});

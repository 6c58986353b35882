// A rough import throughput figure for each backend, printed and not asserted (timings belong to
// bench/). Also checks that a large import reads back complete.
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { forEachBackend } from '../support/db.ts';
import { syntheticRevision } from './records.ts';

const REVISIONS = 5000;
const BATCH = 500;

forEachBackend(`imports ${REVISIONS} synthetic revisions (throughput printed)`, async ({ store, dialect, t }) => {
  const inputs = Array.from({ length: REVISIONS }, (_, i) => syntheticRevision(i + 1));
  const xmlBytes = inputs.reduce((n, i) => n + Buffer.byteLength(i.record.xml), 0);

  // Baseline: the same documents as bare rows (key + uncompressed XML), same batches.
  await sql`create table bare (update_id text, revision_number integer, xml text, primary key (update_id, revision_number))`.execute(store.db);
  let started = performance.now();
  for (let i = 0; i < inputs.length; i += BATCH) {
    const rows = inputs.slice(i, i + BATCH).map((r) => ({ update_id: r.record.key.updateId, revision_number: r.record.key.revisionNumber, xml: r.record.xml }));
    await store.db.transaction().execute((tx) => (tx as any).insertInto('bare').values(rows).execute());
  }
  const bareMs = performance.now() - started;

  started = performance.now();
  for (let i = 0; i < inputs.length; i += BATCH) await store.catalog.upsertRevisions(inputs.slice(i, i + BATCH));
  const fullMs = performance.now() - started;

  started = performance.now();
  for (let i = 0; i < inputs.length; i += BATCH) {
    const r = await store.catalog.upsertRevisions(inputs.slice(i, i + BATCH));
    assert.equal(r.unchanged, Math.min(BATCH, inputs.length - i));
  }
  const againMs = performance.now() - started;

  const rate = (ms: number) => Math.round((REVISIONS / ms) * 1000);
  const line =
    `${dialect}: ${REVISIONS} revisions (${(xmlBytes / REVISIONS / 1024).toFixed(1)} KiB XML each), batches of ${BATCH}: ` +
    `bare rows ${rate(bareMs)}/s, upsertRevisions ${rate(fullMs)}/s (${(fullMs / bareMs).toFixed(1)}x bare), ` +
    `identical re-send ${rate(againMs)}/s`;
  t.diagnostic(line);

  assert.equal(await store.changes.current(), REVISIONS);
  const stats = await store.catalog.stats();
  assert.equal(stats.revisions, REVISIONS);
  const prerequisites = await sql<{ n: number }>`select count(*) as n from prerequisite`.execute(store.db);
  assert.equal(Number(prerequisites.rows[0]!.n), REVISIONS * 5);
});

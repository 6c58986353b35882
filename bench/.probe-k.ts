// Temporary probe (helper K): times the revisions step's statements on PostgreSQL.
import { sql } from 'kysely';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/store/index.ts';
import { makeFile, makeRevision, guid } from '../test/store/records.ts';
import { createTemporaryDatabase } from './lib/postgres.ts';

const N = Number(process.argv[2] ?? 20000);
const pg = await createTemporaryDatabase('postgres://postgres@127.0.0.1:55432/postgres', 'openwsus_probe_k');
const store = await openStore({ dataDir: await mkdtemp(join(tmpdir(), 'probe-k-')), database: pg.url });
try {
  const update = (i: number) => guid(i, 'probe-update');
  for (let s = 0; s < N; s += 1000) {
    const batch = [];
    for (let i = s; i < s + 1000; i++) {
      if (i % 5 === 0) batch.push(makeRevision({ updateId: update(i), revisionNumber: 100, files: [makeFile(`p-${i}-100.cab`, 1000)] }));
      batch.push(makeRevision({ updateId: update(i), revisionNumber: 101, files: [makeFile(`p-${i}-101.cab`, 1000)] }));
    }
    await store.catalog.upsertRevisions(batch);
  }
  await sql`analyze`.execute(store.db);
  const page = await store.cleanup.revisionPage(0, 200);
  const ids = page.map((r) => r.revisionId);
  console.log('page', ids.length);
  const list = sql.join(ids);
  for (const q of [
    sql`explain (analyze, buffers) delete from localized where revision_id in (${list})`,
    sql`explain (analyze, buffers) delete from prerequisite where revision_id in (${list})`,
    sql`explain (analyze, buffers) delete from revision_file where revision_id in (${list})`,
    sql`explain (analyze, buffers) delete from revision where revision_id in (${list})`,
  ]) {
    await store.db.transaction().execute(async (tx) => {
      const r = await q.execute(tx);
      console.log((r.rows as { 'QUERY PLAN': string }[]).map((x) => x['QUERY PLAN']).join('\n'));
      throw new Error('rollback');
    }).catch((e) => { if ((e as Error).message !== 'rollback') throw e; });
  }
  const t0 = performance.now();
  await store.transaction((tx) => tx.cleanup.revisionPage(0, 200));
  console.log('revisionPage ms', (performance.now() - t0).toFixed(1));
  const t1 = performance.now();
  await store.transaction((tx) => tx.cleanup.deleteRevisions(ids));
  console.log('deleteRevisions ms', (performance.now() - t1).toFixed(1));
} finally {
  await store.close();
  await pg.drop();
}

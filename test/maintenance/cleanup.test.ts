// The cleanup on a server with months of history (history.ts): it removes exactly what the WSUS
// rules say, nothing a client still needs, and a run interrupted after any number of batches and
// resumed ends where an uninterrupted one does.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ContentStore } from '../../src/content/index.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { runCleanup } from '../../src/maintenance/cleanup.ts';
import { ScopeCache } from '../../src/services/client/scopes.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { createPostgresDatabase, forEachBackend } from '../support/db.ts';
import { C, FILES, NOW, U, expected, seedHistory, snapshot } from './history.ts';

async function inScope(store: Store, updateId: string): Promise<boolean> {
  const scope = await new ScopeCache(store).scopeFor([ALL_COMPUTERS_GROUP_ID]);
  const i = scope.scope.graph.byUpdateId.get(updateId);
  return i !== undefined && scope.scope.action[i] !== 0;
}

forEachBackend('cleanup removes exactly what the rules say and nothing a client needs', async ({ store, dataDir }) => {
  const content = ContentStore.inDataDir(dataDir);
  await seedHistory(store, content);
  const before = await snapshot(store, content);

  const dry = await runCleanup(store, content, { now: NOW, dryRun: true });
  assert.deepEqual(await snapshot(store, content), before, 'a dry run changes nothing');
  assert.equal(dry.counts.superseded?.declined, 1);
  assert.equal(dry.counts.expired?.declined, 1);
  assert.equal(dry.counts.revisions?.deleted, 1);
  assert.equal(dry.counts.computers?.deleted, 2);
  assert.equal(dry.counts.events?.deleted, expected.staleEvents);

  const report = await runCleanup(store, content, { now: NOW, batchSize: 3, dutyCycle: 1 });
  assert.equal(report.resumed, false);
  assert.ok(report.batches > 7, 'small pages: several batches per step');
  const after = await snapshot(store, content);
  assert.deepEqual(after.declined, expected.declined);
  const revisions = after.revisions as string[];
  for (const r of expected.deletedRevisions) assert.ok(!revisions.includes(r), `${r} deleted`);
  for (const r of expected.keptRevisions) assert.ok(revisions.includes(r), `${r} kept`);
  assert.equal(revisions.length, (before.revisions as string[]).length - expected.deletedRevisions.length);
  assert.deepEqual(after.computers, expected.keptComputers);
  assert.equal(after.events, expected.freshEvents);
  assert.deepEqual(after.statuses, [`${C.active}/${U.a2}`], "the quiet computer's status went with it");
  assert.deepEqual(after.onDisk, expected.keptFiles.map((f) => f.fileName).sort());
  const files = after.files as string[];
  assert.ok(!files.some((f) => f.startsWith(`${FILES.rOld.sha1}:`)), 'a file no revision lists is forgotten');
  assert.ok(files.includes(`${FILES.b2.sha1}:absent`), 'a file of an unapproved update is removed, its record kept');
  assert.ok(files.includes(`${FILES.a5.sha1}:present`));
  assert.deepEqual(report.counts.files, { examined: 6, removed: 3, bytes: FILES.a1.size + FILES.b2.size + FILES.rOld.size, forgotten: 1, dequeued: 2 });

  // What clients are offered is untouched: the approved head, the approved bundle and its member.
  for (const id of [U.a5, U.q, U.k]) assert.ok(await inScope(store, id), `${id} still offered`);
  assert.ok(!(await inScope(store, U.a1)), 'a declined update leaves the scan');

  // Nothing left to do: a second run changes nothing.
  const again = await runCleanup(store, content, { now: NOW, dutyCycle: 1 });
  assert.deepEqual(await snapshot(store, content), after);
  assert.equal(again.counts.superseded?.declined, 0);
  assert.equal(again.counts.revisions?.deleted, 0);
});

forEachBackend('a cleanup interrupted after any batch and resumed ends where an uninterrupted one does', async ({ store, dataDir, dialect }) => {
  // The reference: an uninterrupted run on this test's database.
  const content = ContentStore.inDataDir(dataDir);
  await seedHistory(store, content);
  await runCleanup(store, content, { now: NOW, batchSize: 2, dutyCycle: 1 });
  const reference = await snapshot(store, content);

  // The same history in a second database, cleaned with an abort every 3 batches.
  let database: string;
  let drop = async (): Promise<void> => {};
  if (dialect === 'postgres') {
    const created = await createPostgresDatabase();
    database = created.url;
    drop = created.drop;
  } else {
    database = `sqlite:${join(dataDir, 'second.db')}`;
  }
  const second = await openStore({ database, dataDir: join(dataDir, 'second') });
  try {
    const secondContent = new ContentStore(join(dataDir, 'second-content'));
    await seedHistory(second, secondContent);
    let attempts = 0;
    let resumedRuns = 0;
    for (;;) {
      attempts++;
      assert.ok(attempts < 100, 'the run makes progress between interruptions');
      const controller = new AbortController();
      let batches = 0;
      try {
        // The clock differs on purpose: a resumed run keeps the one it started with.
        const report = await runCleanup(second, secondContent, {
          now: attempts === 1 ? NOW : new Date(NOW.getTime() + 400 * 86_400_000),
          batchSize: 2,
          dutyCycle: 1,
          signal: controller.signal,
          onProgress: () => {
            if (++batches === 3) controller.abort(new Error('killed'));
          },
        });
        if (report.resumed) resumedRuns++;
        break;
      } catch (error) {
        assert.match((error as Error).message, /killed/);
        if (attempts > 1) resumedRuns++;
      }
    }
    assert.ok(attempts > 5, `interrupted ${attempts - 1} times`);
    assert.ok(resumedRuns >= attempts - 1);
    assert.deepEqual(await snapshot(second, secondContent), reference);
    assert.equal((await second.cleanup.unfinished()), undefined, 'the run is finished');
  } finally {
    await second.close();
    await drop();
  }
});

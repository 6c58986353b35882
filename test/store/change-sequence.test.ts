import assert from 'node:assert/strict';
import type { Store } from '../../src/store/index.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeRevision } from './records.ts';

forEachBackend('advance hands out consecutive positions and logs them', async ({ store }) => {
  assert.deepEqual(await store.changes.advance([]), []);
  assert.deepEqual(await store.changes.advance([{ kind: 'approval', entityId: 7 }]), [1]);
  assert.deepEqual(
    await store.changes.advance([
      { kind: 'approval', entityId: 8 },
      { kind: 'decline', entityId: 9 },
    ]),
    [2, 3],
  );
  assert.equal(await store.changes.current(), 3);
  assert.deepEqual(await store.changes.since(1), [
    { seq: 2, kind: 'approval', entityId: 8 },
    { seq: 3, kind: 'decline', entityId: 9 },
  ]);
  assert.deepEqual(await store.changes.since(0, { kinds: ['decline'] }), [{ seq: 3, kind: 'decline', entityId: 9 }]);
  assert.deepEqual(await store.changes.since(0, { limit: 1 }), [{ seq: 1, kind: 'approval', entityId: 7 }]);
  await assert.rejects(store.changes.lock(), /needs a transaction/);
});

forEachBackend('positions taken in a rolled-back transaction are handed out again', async ({ store }) => {
  await store.changes.advance([{ kind: 'approval', entityId: 1 }]);
  await assert.rejects(
    store.transaction(async (tx) => {
      assert.deepEqual(await tx.changes.advance([{ kind: 'approval', entityId: 2 }]), [2]);
      throw new Error('abort');
    }),
  );
  assert.equal(await store.changes.current(), 1);
  assert.deepEqual(await store.changes.advance([{ kind: 'approval', entityId: 3 }]), [2]);
});

async function concurrentWriters(stores: readonly Store[], writers: number, rounds: number) {
  // Each writer, in its own transaction, takes a position, lingers (so transactions overlap),
  // then commits. Positions must be unique, gap-free, and visible in the order handed out.
  const committed: number[] = [];
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const store = stores[w % stores.length]!;
      for (let r = 0; r < rounds; r++) {
        const [seq] = await store.transaction(async (tx) => {
          const seqs = await tx.changes.advance([{ kind: 'approval', entityId: w * 1000 + r }]);
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
          return seqs;
        });
        committed.push(seq!);
      }
    }),
  );
  return committed;
}

forEachBackend(
  'concurrent writers on separate connections get unique positions that become visible in order',
  async ({ store, open }) => {
    const stores = [store, await open(), await open(), await open()];
    const reader = await open();
    // A reader polling meanwhile must never see a gap: a position visible while a lower one is
    // still uncommitted would let a client's watermark skip that change for ever.
    let done = false;
    let polls = 0;
    const polling = (async () => {
      while (!done) {
        const seqs = (await reader.changes.since(0, { limit: 10_000 })).map((e) => e.seq);
        assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'gap in visible positions');
        polls++;
      }
    })();
    const committed = await concurrentWriters(stores, 12, 10);
    done = true;
    await polling;
    assert.ok(polls > 5, `reader polled ${polls} times`);
    assert.equal(committed.length, 120);
    assert.deepEqual(
      [...committed].sort((a, b) => a - b),
      Array.from({ length: 120 }, (_, i) => i + 1),
    );
    assert.equal(await store.changes.current(), 120);
  },
  { only: ['postgres'] },
);

forEachBackend(
  'concurrent transactions on one SQLite store are serialised',
  async ({ store }) => {
    const committed = await concurrentWriters([store], 6, 10);
    assert.deepEqual(committed, Array.from({ length: 60 }, (_, i) => i + 1));
  },
  { only: ['sqlite'] },
);

forEachBackend(
  'catalog writers on separate connections keep is_latest and change positions consistent',
  async ({ store, open }) => {
    const stores = [store, await open(), await open(), await open(), await open(), await open()];
    const updates = Array.from({ length: 20 }, (_, i) => guid(i));
    // Every writer stores a different set of revisions of the same updates, in small batches.
    await Promise.all(
      stores.map(async (s, w) => {
        for (let round = 0; round < 8; round++) {
          const batch = updates.map((updateId, i) => makeRevision({ updateId, revisionNumber: 1 + ((w * 7 + round * 3 + i) % 40) }));
          await s.catalog.upsertRevisions(batch);
        }
      }),
    );
    const rows = await store.db.selectFrom('revision').select(['update_id', 'revision_number', 'is_latest', 'change_seq']).execute();
    for (const updateId of updates) {
      const mine = rows.filter((r) => r.update_id === updateId);
      const newest = Math.max(...mine.map((r) => r.revision_number));
      assert.deepEqual(
        mine.filter((r) => Boolean(r.is_latest)).map((r) => r.revision_number),
        [newest],
        `update ${updateId}`,
      );
    }
    const seqs = rows.map((r) => Number(r.change_seq));
    assert.equal(new Set(seqs).size, rows.length, 'one change position per stored revision');
    const log = await store.changes.since(0, { limit: 10_000 });
    assert.equal(log.length, rows.length);
    assert.equal(await store.changes.current(), rows.length);
  },
  { only: ['postgres'] },
);

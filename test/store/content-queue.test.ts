// The content download queue (store/content-queue-repository.ts) and what fills it
// (reconcileContentQueue: the catalog's facts through domain/content-rule.ts), on each backend.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ALL_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import type { Store } from '../../src/store/index.ts';
import { reconcileContentQueue } from '../../src/sync/content-downloader.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeFile, makeRevision } from './records.ts';

const NOW = new Date().toISOString();
const approve = (store: Store, updateId: string, action: 'Install' | 'PreDeploymentCheck' = 'Install') =>
  store.approvals.upsert([{ id: randomUUID(), updateId, revisionNumber: 1, groupId: ALL_COMPUTERS_GROUP_ID, action, adminName: 'test', createdAt: NOW }]);

// A bundle (no files of its own) holding a child with a CAB and a PSF; a standalone update; an
// update approved for detection only.
const child = { cab: makeFile('windows-kb1-x64.cab'), psf: makeFile('windows-kb1-x64.psf') };
const standalone = makeFile('tool.exe');
const detectOnly = makeFile('detect.exe');
const BUNDLE = guid(1);
const CHILD = guid(2);
const STANDALONE = guid(3);
const DETECT = guid(4);

async function seed(store: Store): Promise<void> {
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: CHILD, revisionNumber: 1, files: [child.cab, child.psf] }),
    makeRevision({ updateId: BUNDLE, revisionNumber: 1, bundles: [{ atLeastOne: false, members: [{ updateId: CHILD, revisionNumber: 1 }] }] }),
    makeRevision({ updateId: STANDALONE, revisionNumber: 1, files: [standalone] }),
    makeRevision({ updateId: DETECT, revisionNumber: 1, files: [detectOnly] }),
  ]);
}

async function queued(store: Store): Promise<string[]> {
  return [...(await store.contentQueue.waiting()).keys()].sort();
}

forEachBackend('deferred downloads queue the files of updates approved for Install, bundled children included', async ({ store }) => {
  await seed(store);
  assert.deepEqual(await reconcileContentQueue(store, 'en-US'), { queued: 0, dropped: 0 });
  await approve(store, BUNDLE);
  await approve(store, DETECT, 'PreDeploymentCheck');
  assert.deepEqual(await reconcileContentQueue(store, 'en-US'), { queued: 1, dropped: 0 });
  // The CAB of the bundle's child; not its PSF (express files off), not the detect-only update's.
  assert.deepEqual(await queued(store), [child.cab.sha1]);
  assert.equal((await store.files.get(child.cab.sha1))?.state, 'queued');

  await store.settings.set('content.expressFiles', true);
  await approve(store, STANDALONE);
  await reconcileContentQueue(store, 'en-US');
  assert.deepEqual(await queued(store), [child.cab.sha1, child.psf.sha1, standalone.sha1].sort());
  // Enqueueing again changes nothing: the digest is the key.
  assert.equal(await store.contentQueue.enqueue([child.cab.sha1, standalone.sha1]), 0);

  // A declined update's files leave the queue (those waiting); the file is absent again.
  await store.declines.upsert([{ updateId: STANDALONE, adminName: 'test', declinedAt: NOW }]);
  assert.deepEqual(await reconcileContentQueue(store, 'en-US'), { queued: 0, dropped: 1 });
  assert.equal((await store.files.get(standalone.sha1))?.state, 'absent');
});

forEachBackend('immediate downloads queue every file; catalog-only queues nothing and empties the queue', async ({ store }) => {
  await seed(store);
  await store.settings.set('content.deferredDownloads', false);
  await reconcileContentQueue(store, 'en-US');
  assert.deepEqual(await queued(store), [child.cab.sha1, standalone.sha1, detectOnly.sha1].sort());
  await store.settings.set('content.storeLocally', false);
  assert.deepEqual(await reconcileContentQueue(store, 'en-US'), { queued: 0, dropped: 3 });
  assert.deepEqual(await queued(store), []);
});

forEachBackend('a file is claimed by one worker at a time; failures count, present is recorded on the file, asked-for files stay', async ({ store }) => {
  await seed(store);
  await store.contentQueue.enqueue([standalone.sha1, detectOnly.sha1]);
  const lease = new Date(Date.now() + 60_000).toISOString();
  const a = await store.contentQueue.claim('host:1:a', 1, lease);
  const b = await store.contentQueue.claim('host:2:b', 5, lease);
  assert.equal(a.length, 1);
  assert.deepEqual(b.map((j) => j.sha1), [standalone.sha1, detectOnly.sha1].filter((s) => s !== a[0]!.sha1));
  assert.deepEqual(await store.contentQueue.claim('host:3:c', 5, lease), [], 'nothing is left to claim');

  await store.contentQueue.markFailed(a[0]!.sha1, 'host:1:a', 'HTTP 500', new Date(Date.now() + 60_000).toISOString());
  await store.contentQueue.markPresent(b[0]!.sha1);
  // Only the owner can record a failure.
  await store.contentQueue.markFailed(b[0]!.sha1, 'host:1:a', 'not mine', NOW);
  assert.deepEqual(await store.contentQueue.counts(), { queued: 0, downloading: 0, present: 1, failed: 1 });
  const failed = await store.contentQueue.get(a[0]!.sha1);
  assert.equal(failed?.attempts, 1);
  assert.equal(failed?.lastError, 'HTTP 500');
  assert.equal((await store.files.get(a[0]!.sha1))?.state, 'failed');
  assert.equal((await store.files.get(b[0]!.sha1))?.state, 'present');
  // Present, then found missing (content verify --fix records it absent): queued again.
  assert.equal(await store.contentQueue.enqueue([b[0]!.sha1]), 0, 'a present file is not queued');
  await store.files.setStates([b[0]!.sha1], 'absent');
  assert.equal(await store.contentQueue.enqueue([b[0]!.sha1]), 1);
  assert.equal((await store.contentQueue.get(b[0]!.sha1))?.state, 'queued');
  await store.contentQueue.drop([b[0]!.sha1]);
  // Not due yet; `content download` makes it due now.
  assert.deepEqual(await store.contentQueue.claim('host:1:a', 5, lease), []);
  assert.equal(await store.contentQueue.dueNow(), 1);
  assert.equal((await store.contentQueue.claim('host:1:a', 5, lease)).length, 1);

  // A lease that ran out (its process died elsewhere) is taken over.
  await store.contentQueue.enqueue([child.cab.sha1]);
  await store.contentQueue.claim('host:9:dead', 1, new Date(Date.now() - 1000).toISOString());
  assert.deepEqual((await store.contentQueue.claim('host:1:a', 5, lease)).map((j) => j.sha1), [child.cab.sha1]);

  // A file a downstream asked for (DownloadFiles) stays queued with no approval (nor express
  // files allowed), and asking again makes a failed one due at once.
  await store.contentQueue.enqueue([child.psf.sha1], { requested: true });
  await reconcileContentQueue(store, 'en-US');
  assert.ok((await store.contentQueue.waiting()).get(child.psf.sha1), 'kept as requested');
  const [asked] = await store.contentQueue.claim('host:1:a', 1, lease);
  assert.equal(asked?.sha1, child.psf.sha1);
  await store.contentQueue.markFailed(child.psf.sha1, 'host:1:a', 'HTTP 404', new Date(Date.now() + 3_600_000).toISOString());
  await store.contentQueue.enqueue([child.psf.sha1], { requested: true });
  assert.ok(Date.parse((await store.contentQueue.get(child.psf.sha1))!.nextAttemptAt) <= Date.now());
});

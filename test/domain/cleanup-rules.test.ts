import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applicableSteps,
  isFileNeeded,
  isObsoleteComputer,
  isUnusedRevision,
  nextCleanupTime,
  parseSteps,
  shouldDeclineExpired,
  shouldDeclineSuperseded,
  sqliteCompaction,
  nextBatchSize,
  CLEANUP_STEPS,
  type SupersededFacts,
} from '../../src/domain/cleanup-rules.ts';

const NOW = new Date('2026-10-01T00:00:00Z');
const ago = (days: number): string => new Date(NOW.getTime() - days * 86_400_000).toISOString();

test('superseded updates are declined only when every WSUS condition holds', () => {
  const base: SupersededFacts = { publicationState: 'Published', declined: false, approved: false, firstReceivedAt: ago(31), neededBy: 0, supersededByApproved: true };
  assert.equal(shouldDeclineSuperseded(base, NOW, 30), true);
  assert.equal(shouldDeclineSuperseded({ ...base, firstReceivedAt: ago(30) }, NOW, 30), true, 'exactly N days counts');
  assert.equal(shouldDeclineSuperseded({ ...base, firstReceivedAt: ago(29) }, NOW, 30), false, 'too recent');
  assert.equal(shouldDeclineSuperseded({ ...base, approved: true }, NOW, 30), false, 'approved');
  assert.equal(shouldDeclineSuperseded({ ...base, neededBy: 1 }, NOW, 30), false, 'needed by a computer');
  assert.equal(shouldDeclineSuperseded({ ...base, supersededByApproved: false }, NOW, 30), false, 'superseding update not approved');
  assert.equal(shouldDeclineSuperseded({ ...base, declined: true }, NOW, 30), false, 'already declined');
});

test('expired updates are declined unless approved', () => {
  assert.equal(shouldDeclineExpired({ publicationState: 'Expired', declined: false, approved: false }), true);
  assert.equal(shouldDeclineExpired({ publicationState: 'Expired', declined: false, approved: true }), false);
  assert.equal(shouldDeclineExpired({ publicationState: 'Published', declined: false, approved: false }), false);
});

test('an old revision goes only when nothing names it and its successor is old enough', () => {
  const base = { isLatest: false, approved: false, bundledByLatest: false, newestReceivedAt: ago(40) };
  assert.equal(isUnusedRevision(base, NOW, 30), true);
  assert.equal(isUnusedRevision({ ...base, isLatest: true }, NOW, 30), false);
  assert.equal(isUnusedRevision({ ...base, approved: true }, NOW, 30), false);
  assert.equal(isUnusedRevision({ ...base, bundledByLatest: true }, NOW, 30), false);
  assert.equal(isUnusedRevision({ ...base, newestReceivedAt: ago(3) }, NOW, 30), false, 'a downstream may still be fetching the new one');
});

test('computers, files, steps, schedule and compaction', () => {
  assert.equal(isObsoleteComputer({ createdAt: ago(100), lastSyncAt: ago(31) }, NOW, 30), true);
  assert.equal(isObsoleteComputer({ createdAt: ago(100), lastSyncAt: ago(31), lastReportAt: ago(2) }, NOW, 30), false, 'a recent report counts as contact');
  assert.equal(isObsoleteComputer({ createdAt: ago(5) }, NOW, 30), false, 'new and never synchronized');

  assert.equal(isFileNeeded([], { keepUnapproved: true }), false, 'no newest revision uses it');
  assert.equal(isFileNeeded([{ declined: false, approved: false }], { keepUnapproved: false }), false);
  assert.equal(isFileNeeded([{ declined: false, approved: false }], { keepUnapproved: true }), true, 'a downstream may approve it');
  assert.equal(isFileNeeded([{ declined: true, approved: true }], { keepUnapproved: true }), false, 'declined');
  assert.equal(isFileNeeded([{ declined: true, approved: false }, { declined: false, approved: true }], { keepUnapproved: false }), true, 'one user is enough');

  assert.deepEqual(parseSteps(undefined), [...CLEANUP_STEPS]);
  assert.deepEqual(parseSteps('files, Computers'), ['computers', 'files'], 'canonical order');
  assert.throws(() => parseSteps('computers,nope'), /unknown cleanup step "nope"; steps are computers, events/);
  assert.deepEqual(applicableSteps(['computers', 'expired', 'superseded', 'files'], true), { run: ['computers', 'files'], skipped: ['expired', 'superseded'] });

  assert.equal(nextCleanupTime('04:00', new Date('2026-10-01T03:59:00Z')).toISOString(), '2026-10-01T04:00:00.000Z');
  assert.equal(nextCleanupTime('04:00', new Date('2026-10-01T04:00:00Z')).toISOString(), '2026-10-02T04:00:00.000Z');

  const space = { pageCount: 1000, freePages: 300, pageSize: 4096, autoVacuum: 0 };
  assert.equal(sqliteCompaction(space).kind, 'vacuum');
  assert.equal(sqliteCompaction({ ...space, freePages: 100 }).kind, 'none');
  assert.equal(sqliteCompaction({ ...space, pageCount: 1_000_000, freePages: 500_000 }).kind, 'none', 'too big to VACUUM while serving');
  assert.deepEqual(sqliteCompaction({ ...space, autoVacuum: 2 }), { kind: 'incremental', pages: 300 });
});

test('a slow cleanup transaction halves the next page; quick ones grow it back to the configured size', () => {
  // 200 configured, 300 ms the limit: a loaded database brings the page down, never below 50.
  let size = 400;
  const seen: number[] = [];
  for (const ms of [900, 700, 450, 400, 350]) seen.push((size = nextBatchSize(size, 400, ms, 300)));
  assert.deepEqual(seen, [200, 100, 50, 50, 50]);
  assert.equal(nextBatchSize(50, 200, 150, 300), 50, 'between a quarter and the limit: kept');
  assert.equal(nextBatchSize(50, 200, 50, 300), 100);
  assert.equal(nextBatchSize(160, 200, 10, 300), 200, 'never above the configured size');
  assert.equal(nextBatchSize(3, 3, 5000, 300), 3, 'a configured size under the floor is kept');
});

// The pure rules of reporting rollup (src/domain/rollup.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bucketOfState,
  checkServerBatch,
  detailsFingerprint,
  emptyServerSummary,
  isSummarizationState,
  NEVER,
  parentsFirst,
  planComputer,
  rollupVersion,
  serverBatches,
  summarizationState,
  ZERO_GUID,
  type ClientSummary,
  type ComputerDetails,
  type DownstreamServerInfo,
} from '../../src/domain/rollup.ts';

const summary = (n: number): ClientSummary => ({ osMajor: 10, osMinor: 0, osBuild: n, osServicePackMajor: 0, osServicePackMinor: 0, osLocale: 'en-US', processorArchitecture: 'AMD64', count: 1 });
const server = (id: string, parent: string, summaries = 0): DownstreamServerInfo => ({
  serverId: id,
  fullDomainName: `${id}.example`,
  lastSyncTime: NEVER,
  parentServerId: parent,
  version: '1.0',
  isReplica: false,
  lastRollupTime: NEVER,
  summary: emptyServerSummary(),
  clientSummaries: Array.from({ length: summaries }, (_, i) => summary(i)),
});

test('server batches hold at most the maximum of client summaries, in order, splitting a big server', () => {
  const batches = serverBatches([server('a', ZERO_GUID, 3), server('b', 'a', 5), server('c', 'b', 0)], 4);
  assert.deepEqual(
    batches.map((b) => b.map((s) => `${s.serverId}:${s.clientSummaries.length}`)),
    [['a:3'], ['b:4'], ['b:1', 'c:0']],
  );
  assert.throws(() => serverBatches([], 0), RangeError);
});

test('parents come first whatever the input order', () => {
  const ordered = parentsFirst([server('c', 'b'), server('b', 'a'), server('d', 'x'), server('a', 'self')]);
  assert.deepEqual(ordered.map((s) => s.serverId), ['a', 'b', 'c', 'd']);
});

test('a server batch must hang below its caller', () => {
  const base = { selfId: 'root', below: new Set(['b']), known: new Set(['a', 'b']) };
  assert.equal(checkServerBatch([server('a', ZERO_GUID), server('b', 'a'), server('c', 'b')], base), undefined);
  assert.equal(checkServerBatch([server('a', ZERO_GUID), server('x', 'zzz')], base)?.kind, 'unknown-parent');
  assert.equal(checkServerBatch([server('a', ZERO_GUID), server('x', 'root')], base)?.kind, 'not-below-caller');
  assert.equal(checkServerBatch([server('root', ZERO_GUID)], base)?.kind, 'self');
  assert.equal(checkServerBatch([server('a', 'a')], base)?.kind, 'own-parent');
  assert.equal(checkServerBatch([server('a', ZERO_GUID), server('e', ZERO_GUID)], base)?.kind, 'two-callers');
  assert.equal(checkServerBatch([server('e', ZERO_GUID)], { ...base, callerId: 'a' })?.kind, 'caller-mismatch');
  // A later batch of the same caller: its servers hang below what it reported before.
  assert.equal(checkServerBatch([server('c', 'b')], { ...base, callerId: 'a' }), undefined);
});

const details = (over: Partial<ComputerDetails> = {}): ComputerDetails => ({
  targetGroupIds: ['g1', 'g2'],
  requestedTargetGroupNames: [],
  ipAddress: '10.0.0.1',
  fullDomainName: 'pc1.corp.example',
  osMajor: 10,
  osMinor: 0,
  osBuild: 26100,
  osServicePackMajor: 0,
  osServicePackMinor: 0,
  osLocale: 'en-US',
  osDescription: 'Windows 11',
  computerMake: '',
  computerModel: '',
  biosVersion: '',
  biosName: '',
  biosReleaseDate: NEVER,
  processorArchitecture: 'AMD64',
  clientVersion: '1507.2601.30012.0',
  ...over,
});

test('the details fingerprint changes with groups, name, address and OS, not with group order', () => {
  const base = detailsFingerprint(details());
  assert.equal(detailsFingerprint(details({ targetGroupIds: ['g2', 'g1'] })), base);
  assert.equal(detailsFingerprint(details({ fullDomainName: 'PC1.corp.example' })), base, 'DNS names compare without case');
  for (const change of [{ targetGroupIds: ['g1'] }, { fullDomainName: 'pc9.corp.example' }, { ipAddress: '10.0.0.2' }, { osBuild: 26200 }]) {
    assert.notEqual(detailsFingerprint(details(change)), base, JSON.stringify(change));
  }
});

test('a computer goes in full when new, changed, out of sync or after a complete status list; else as a delta', () => {
  const now = { details: 'D', attributes: 'A', replacedSince: false };
  assert.deepEqual(planComputer(undefined, now), { sendComputer: true, sendDetails: true, fullStatus: true });
  const sent = { detailsFingerprint: 'D', attributesFingerprint: 'A', rollupNumber: 3, statusSince: '2026-11-01T00:00:00.000Z' };
  assert.deepEqual(planComputer(sent, now), { sendComputer: false, sendDetails: false, fullStatus: false });
  assert.deepEqual(planComputer(sent, { ...now, attributes: 'B' }), { sendComputer: true, sendDetails: false, fullStatus: false });
  assert.deepEqual(planComputer(sent, { ...now, details: 'E' }), { sendComputer: true, sendDetails: true, fullStatus: true });
  assert.equal(planComputer({ ...sent, statusSince: undefined }, now).fullStatus, true, 'the upstream said it is out of sync');
  assert.equal(planComputer(sent, { ...now, replacedSince: true }).fullStatus, true);
});

test('summarization states and their buckets', () => {
  assert.deepEqual(['NotApplicable', 'NotInstalled', 'Downloaded', 'Installed', 'Failed', 'InstalledPendingReboot'].map((s) => summarizationState(s as never)), [0, 2, 3, 4, 5, 6]);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(bucketOfState), ['NotApplicable', 'NotApplicable', 'Needed', 'Needed', 'Installed', 'Failed', 'Installed']);
  assert.deepEqual([-1, 7, 2.5].map(isSummarizationState), [false, false, false]);
  assert.equal(rollupVersion('0.4.0-dev+abc'), '0.4.0');
  assert.equal(rollupVersion('dev'), '0');
});

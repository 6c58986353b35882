import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Approval } from '../../src/domain/deployment.ts';
import { admitDownstream, isValidAccountName } from '../../src/domain/downstream.ts';
import { WSUS_LANGUAGES } from '../../src/domain/languages.ts';
import { DEPLOYMENT_ACTION_CODES, selectDeployments, type ChangedApproval } from '../../src/domain/replica-feed.ts';
import {
  configFingerprint,
  DEFAULT_UPSTREAM_CONFIG,
  languageUpdateList,
  resolveUpstreamConfig,
  sendsCompressedBlob,
} from '../../src/domain/upstream-config.ts';

const A = 'aaaaaaaa-0000-0000-0000-000000000001';
const B = 'bbbbbbbb-0000-0000-0000-000000000002';

describe('downstream admission', () => {
  it('admits known servers whatever the count, new ones below the limit', () => {
    const policy = { maxDownstreamServers: 2 };
    assert.deepEqual(admitDownstream(A, false, 1, policy), { admitted: true });
    assert.deepEqual(admitDownstream(A, false, 2, policy), { admitted: false, reason: 'limit' });
    assert.deepEqual(admitDownstream(A, true, 5, policy), { admitted: true });
    assert.deepEqual(admitDownstream(A, false, 0, { maxDownstreamServers: 0 }), { admitted: false, reason: 'limit' });
  });

  it('lets only listed servers in when there is an allow-list, known or not', () => {
    const policy = { maxDownstreamServers: 10, allowedIds: [A] };
    assert.deepEqual(admitDownstream(A, false, 0, policy), { admitted: true });
    assert.deepEqual(admitDownstream(B, false, 0, policy), { admitted: false, reason: 'not-allowed' });
    assert.deepEqual(admitDownstream(B, true, 0, policy), { admitted: false, reason: 'not-allowed' });
  });

  it('takes FQDN-shaped account names', () => {
    for (const ok of ['probe.lab.invalid', 'WSUS-02', 'wsus_2.corp.example.', 'a']) assert.ok(isValidAccountName(ok), ok);
    for (const bad of ['', ' ', 'a..b', '.a', 'a b', 'a/b', '<x>', 'x'.repeat(256)]) assert.ok(!isValidAccountName(bad), bad);
  });
});

describe('upstream configuration', () => {
  it('defaults to what Windows Server 2025 announced', () => {
    const { config, problems } = resolveUpstreamConfig({});
    assert.deepEqual(config, DEFAULT_UPSTREAM_CONFIG);
    assert.deepEqual([config.catalogOnlySync, config.lazySync, config.serverHostsPsfFiles, config.cookieLifetimeMinutes, config.maxDownstreamServers], [false, true, false, 240, 1000]);
    assert.deepEqual(problems, []);
  });

  it('takes valid settings and reports invalid ones, keeping their defaults', () => {
    const { config, problems } = resolveUpstreamConfig({
      'upstream.catalogOnlySync': true,
      'upstream.lazySync': 'no',
      'upstream.cookieLifetimeMinutes': 0,
      'upstream.maxDownstreamServers': 2,
      'upstream.allowedDownstreamServers': [` {${A.toUpperCase()}} `],
    });
    assert.equal(config.catalogOnlySync, true);
    assert.equal(config.lazySync, true);
    assert.equal(config.cookieLifetimeMinutes, 240);
    assert.equal(config.maxDownstreamServers, 2);
    assert.deepEqual(config.allowedDownstreamServers, [A]);
    assert.deepEqual(problems.map((p) => p.key), ['upstream.lazySync', 'upstream.cookieLifetimeMinutes']);
  });

  it('fails closed on an unreadable allow-list', () => {
    const { config, problems } = resolveUpstreamConfig({ 'upstream.allowedDownstreamServers': ['not-a-guid'] });
    assert.deepEqual(config.allowedDownstreamServers, []);
    assert.equal(problems.length, 1);
  });

  it('lists the `all` pseudo-language first, then the languages by id', () => {
    const list = languageUpdateList([...WSUS_LANGUAGES].reverse());
    assert.deepEqual(list[0], { id: 0, shortName: 'all', longName: 'all', enabled: false });
    assert.deepEqual(list.slice(1).map((l) => l.id), WSUS_LANGUAGES.map((l) => l.id));
    assert.equal(languageUpdateList(WSUS_LANGUAGES.map((l) => ({ ...l, enabled: true })))[0]!.enabled, true);
  });

  it('fingerprints what GetConfigData announces', () => {
    const base = configFingerprint(DEFAULT_UPSTREAM_CONFIG, WSUS_LANGUAGES);
    assert.equal(configFingerprint(DEFAULT_UPSTREAM_CONFIG, [...WSUS_LANGUAGES].reverse()), base);
    assert.notEqual(configFingerprint({ ...DEFAULT_UPSTREAM_CONFIG, lazySync: false }, WSUS_LANGUAGES), base);
    assert.notEqual(configFingerprint(DEFAULT_UPSTREAM_CONFIG, WSUS_LANGUAGES.map((l) => ({ ...l, enabled: l.shortName === 'de' }))), base);
    // Settings that do not reach the wire do not count.
    assert.equal(configFingerprint({ ...DEFAULT_UPSTREAM_CONFIG, maxDownstreamServers: 3 }, WSUS_LANGUAGES), base);
  });

  it('compresses documents past 5,120 bytes of UTF-16, as Windows does', () => {
    assert.equal(sendsCompressedBlob('x'.repeat(2560)), false);
    assert.equal(sendsCompressedBlob('x'.repeat(2561)), true);
    // Characters outside the BMP take two UTF-16 units.
    assert.equal(sendsCompressedBlob('😀'.repeat(1280)), false);
    assert.equal(sendsCompressedBlob(`${'😀'.repeat(1280)}x`), true);
  });
});

describe('replica feed', () => {
  const approval = (id: string): Approval => ({
    id,
    updateId: A,
    revisionNumber: 200,
    groupId: B,
    action: 'Install',
    adminName: 'admin',
    createdAt: '2026-10-04T00:00:00.000Z',
  });
  const changed = (id: string, changeSeq: number, revisionChangeSeq?: number): ChangedApproval => ({ approval: approval(id), changeSeq, revisionChangeSeq });

  it('sends every approval without a sync anchor', () => {
    const selection = selectDeployments([changed('d1', 5, 3), changed('d2', 6, 9)], undefined, 10);
    assert.deepEqual(selection.send.map((a) => a.id), ['d1', 'd2']);
    assert.equal(selection.anchorPosition, 10);
  });

  it('holds back approvals of revisions past the sync anchor, and the anchor with them', () => {
    const selection = selectDeployments([changed('d1', 5, 3), changed('d2', 6, 9), changed('d3', 8, 4)], 7, 10);
    assert.deepEqual(selection.send.map((a) => a.id), ['d1', 'd3']);
    assert.equal(selection.anchorPosition, 5);
  });

  it('leaves out approvals of revisions this server does not hold', () => {
    const selection = selectDeployments([changed('d1', 5)], 7, 10);
    assert.deepEqual(selection.send, []);
    assert.equal(selection.anchorPosition, 10);
  });

  it('codes actions as WSUS UpdateApprovalAction', () => {
    assert.deepEqual(DEPLOYMENT_ACTION_CODES, { Install: 0, Uninstall: 1, PreDeploymentCheck: 2, Block: 3 });
  });
});

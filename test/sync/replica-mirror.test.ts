// The replica mirror rules (domain/replica-mirror.ts) and the replica guard, without a database.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILTIN_GROUPS, type Approval, type ComputerGroup } from '../../src/domain/deployment.ts';
import { refuseOnReplica, ReplicaChangeRefused } from '../../src/domain/replica-guard.ts';
import { declineDeploymentId, NO_DEADLINE, NO_PARENT_GROUP } from '../../src/domain/replica-feed.ts';
import { decodeDeadline, decodeDeploymentAction, decodeParentGroup, parentsFirst, planMirror, type DeploymentFeed, type LocalDeploymentState } from '../../src/domain/replica-mirror.ts';
import { resolveDownstreamSettings } from '../../src/domain/settings.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';

const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';
const U3 = '33333333-3333-3333-3333-333333333333';
const G_A = 'aaaaaaaa-0000-0000-0000-000000000001';
const G_B = 'aaaaaaaa-0000-0000-0000-000000000002';
const G_C = 'aaaaaaaa-0000-0000-0000-000000000003';

const group = (id: string, name: string, parentId = ALL_COMPUTERS_GROUP_ID): ComputerGroup => ({ id, name, parentId, builtin: false });
const approval = (id: string, updateId: string, groupId: string, extra: Partial<Approval> = {}): Approval => ({
  id,
  updateId,
  revisionNumber: 100,
  groupId,
  action: 'Install',
  adminName: 'admin',
  createdAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});
const feed = (over: Partial<DeploymentFeed>): DeploymentFeed => ({ anchor: 'a', groups: [...BUILTIN_GROUPS], deployments: [], dead: [], hidden: [], ...over });
const local = (over: Partial<LocalDeploymentState>): LocalDeploymentState => ({ groups: [...BUILTIN_GROUPS], approvals: [], declined: new Set(), ...over });
const all = (): boolean => true;

test('wire values decode: actions, the no-deadline sentinel, the root parent', () => {
  assert.deepEqual([0, 1, 2, 3].map(decodeDeploymentAction), ['Install', 'Uninstall', 'PreDeploymentCheck', 'Block']);
  assert.equal(decodeDeploymentAction(5), undefined, 'WSUS Bundle has no openwsus approval');
  assert.equal(decodeDeadline(NO_DEADLINE), undefined);
  assert.equal(decodeDeadline('9999-12-31T23:59:59.999Z'), undefined, 'a rounded sentinel too');
  assert.equal(decodeDeadline(undefined), undefined);
  assert.equal(decodeDeadline('2026-12-24T18:00:00Z'), '2026-12-24T18:00:00.000Z');
  assert.equal(decodeDeadline('2026-12-24T18:00:00'), '2026-12-24T18:00:00.000Z', 'no zone = UTC');
  assert.throws(() => decodeDeadline('soon'), RangeError);
  assert.equal(decodeParentGroup(NO_PARENT_GROUP), undefined);
  assert.equal(decodeParentGroup(G_A), G_A);
});

test('parentsFirst puts each parent before its children whatever the input order', () => {
  const ordered = parentsFirst([group(G_C, 'c', G_B), group(G_B, 'b', G_A), group(G_A, 'a')]).map((g) => g.id);
  assert.deepEqual(ordered, [G_A, G_B, G_C]);
});

test('groups become the upstream\'s: new, renamed and moved upserted; absent deleted children first; built-ins kept', () => {
  const plan = planMirror(
    local({
      groups: [...BUILTIN_GROUPS, group(G_A, 'Servers'), group(G_B, 'Old', G_A), group(G_C, 'Gone')],
      approvals: [approval('d-gone', U1, G_C), approval('d-keep', U1, G_A)],
    }),
    feed({
      // The upstream renamed All Computers in its own words: the local built-in keeps its name.
      groups: [{ ...BUILTIN_GROUPS[0]!, name: 'Alle Computer' }, BUILTIN_GROUPS[1]!, group(G_B, 'Renamed'), group(G_A, 'Servers')],
      deployments: [approval('d-keep', U1, G_A)],
    }),
    false,
    all,
  );
  assert.deepEqual(plan.upsertGroups, [group(G_B, 'Renamed')], 'only the changed group (moved to the root and renamed)');
  assert.deepEqual(plan.deleteGroups, [G_C]);
  assert.deepEqual(plan.deleteApprovals, ['d-gone'], 'approvals of a deleted group go');
  assert.equal(plan.advanceAnchor, true);
});

test('a local built-in is never deleted, even when the upstream does not list it', () => {
  const plan = planMirror(local({}), feed({ groups: [BUILTIN_GROUPS[0]!] }), true, all);
  assert.deepEqual(plan.deleteGroups, []);
});

test('absent groups are deleted deepest first', () => {
  const plan = planMirror(local({ groups: [...BUILTIN_GROUPS, group(G_A, 'a'), group(G_B, 'b', G_A), group(G_C, 'c', G_B)] }), feed({}), false, all);
  assert.deepEqual(plan.deleteGroups, [G_C, G_B, G_A]);
});

test('incremental answer: dead deployments deleted, deployments upserted, declines only added', () => {
  const plan = planMirror(
    local({
      groups: [...BUILTIN_GROUPS, group(G_A, 'a')],
      approvals: [approval('d1', U1, G_A), approval('d2', U2, G_A), approval('d3', U3, G_A)],
      declined: new Set([U3]),
    }),
    feed({ groups: [...BUILTIN_GROUPS, group(G_A, 'a')], deployments: [approval('d1b', U1, G_A, { action: 'Block' })], dead: ['d1', 'd2'], hidden: [U2] }),
    false,
    all,
  );
  assert.deepEqual(plan.deleteApprovals, ['d2'], 'd1 is replaced in place by d1b (same update and group): one change, not two');
  assert.deepEqual(plan.upsertApprovals.map((a) => a.id), ['d1b']);
  assert.deepEqual(plan.addDeclines, [U2]);
  assert.deepEqual(plan.removeDeclines, [], 'an incremental answer takes back only the declines it reports dead');
  assert.deepEqual(plan.deleteGroups, []);
});

test('incremental answer: a reinstated update comes as its decline\'s dead deployment GUID, and only that decline goes', () => {
  assert.match(declineDeploymentId(U1), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a version 5 GUID');
  assert.equal(declineDeploymentId(U1.toUpperCase()), declineDeploymentId(U1));
  assert.notEqual(declineDeploymentId(U1), declineDeploymentId(U2));
  const plan = planMirror(
    local({ declined: new Set([U1, U2, U3]) }),
    // U2 reinstated and declined again in the same answer: hidden wins, it stays declined.
    feed({ dead: [declineDeploymentId(U1), declineDeploymentId(U2)], hidden: [U2] }),
    false,
    all,
  );
  assert.deepEqual(plan.removeDeclines, [U1]);
  assert.deepEqual(plan.addDeclines, []);
  assert.deepEqual(plan.deleteApprovals, []);
});

test('a full answer (no anchor sent) removes approvals and declines the upstream does not have', () => {
  const plan = planMirror(
    local({
      groups: [...BUILTIN_GROUPS, group(G_A, 'a')],
      approvals: [approval('same', U1, G_A), approval('stale', U2, G_A), approval('replaced', U3, G_A)],
      declined: new Set([U1, U2]),
    }),
    feed({ groups: [...BUILTIN_GROUPS, group(G_A, 'a')], deployments: [approval('same', U1, G_A), approval('new', U3, G_A)], hidden: [U2] }),
    true,
    all,
  );
  assert.deepEqual(plan.deleteApprovals, ['stale'], 'the approval in a slot an upserted one takes is replaced by the upsert, not deleted');
  assert.deepEqual(plan.upsertApprovals.map((a) => a.id), ['same', 'new']);
  assert.deepEqual(plan.removeDeclines, [U1]);
  assert.deepEqual(plan.addDeclines, []);
});

test('a deployment of a revision not held is skipped and holds the anchor back', () => {
  const held = (updateId: string, revision: number): boolean => !(updateId === U2 && revision === 7);
  const plan = planMirror(
    local({ groups: [...BUILTIN_GROUPS, group(G_A, 'a')], approvals: [approval('old', U2, G_A)] }),
    feed({ groups: [...BUILTIN_GROUPS, group(G_A, 'a')], deployments: [approval('ok', U1, G_A), approval('later', U2, G_A, { revisionNumber: 7 })] }),
    true,
    held,
  );
  assert.deepEqual(plan.upsertApprovals.map((a) => a.id), ['ok']);
  assert.deepEqual(plan.skipped.map((a) => a.id), ['later']);
  assert.equal(plan.advanceAnchor, false);
  assert.deepEqual(plan.deleteApprovals, ['old'], 'the upstream replaced it: the stale one goes even though its successor waits');
});

test('a deployment to a group neither side has is skipped', () => {
  const plan = planMirror(local({}), feed({ deployments: [approval('x', U1, G_C)] }), false, all);
  assert.deepEqual(plan.skipped.map((a) => a.id), ['x']);
  assert.equal(plan.advanceAnchor, false);
});

test('the same answer applied to the state it produced changes nothing', () => {
  const groups = [...BUILTIN_GROUPS, group(G_A, 'a')];
  const plan = planMirror(
    local({ groups, approvals: [approval('d1', U1, G_A)], declined: new Set([U2]) }),
    feed({ groups, deployments: [approval('d1', U1, G_A)], hidden: [U2] }),
    true,
    all,
  );
  assert.deepEqual(plan.upsertGroups, []);
  assert.deepEqual(plan.deleteGroups, []);
  assert.deepEqual(plan.deleteApprovals, []);
  assert.deepEqual(plan.addDeclines, []);
  assert.deepEqual(plan.removeDeclines, []);
  // Upserted again; the repository skips an approval equal to the stored one.
  assert.deepEqual(plan.upsertApprovals.map((a) => a.id), ['d1']);
});

test('refuseOnReplica: nothing on an autonomous server; on a replica, a message naming the upstream', () => {
  const autonomous = resolveDownstreamSettings({ 'upstream.source': 'server', 'upstream.server': 'wsus.example.org' }).settings;
  assert.doesNotThrow(() => refuseOnReplica(autonomous, 'change approvals'));
  const replica = resolveDownstreamSettings({ 'upstream.source': 'server', 'upstream.server': 'wsus.example.org', 'upstream.replica': true }).settings;
  assert.throws(
    () => refuseOnReplica(replica, 'change approvals'),
    (error: Error) =>
      error instanceof ReplicaChangeRefused &&
      error.message ===
        'cannot change approvals: this server is a replica of http://wsus.example.org:8530: approvals, groups, declines, products and classifications come from the upstream; change them there',
  );
  const unconfigured = resolveDownstreamSettings({ 'upstream.source': 'server', 'upstream.replica': true }).settings;
  assert.throws(() => refuseOnReplica(unconfigured, 'set products'), /replica of its upstream server/);
});

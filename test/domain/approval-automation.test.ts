import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileRule,
  DEFAULT_RULE,
  expandRuleProducts,
  planRuleApprovals,
  planSyncAutomation,
  ruleDeadline,
  ruleMatches,
  ruleProblem,
  type ApprovalRule,
  type RuleCandidate,
  type SynchronizedRevision,
} from '../../src/domain/approval-automation.ts';
import type { Approval } from '../../src/domain/deployment.ts';
import { ALL_COMPUTERS_GROUP_ID as ALL, CLASSIFICATIONS } from '../../src/domain/wellknown.ts';

const C = {
  microsoft: '56309036-4c77-4dd9-951a-99ee9c246a94',
  windows: '6964aab4-c5b5-43bd-a17d-ffb4346a8e1d',
  win11: '72e7624a-5b00-45d2-b92f-e561c0a6a160',
  win10: 'a3c2375d-0c8a-42f9-bce0-28333e198407',
  office: '477b856e-65c4-4473-b621-a8b230bb70d9',
  office2016: '25aed893-7c2d-4a31-ae22-28ff8ac150ed',
} as const;
const LAB = '11111111-1111-4111-8111-111111111111';

const categories = [
  { updateId: C.microsoft, parentIds: [] },
  { updateId: C.windows, parentIds: [C.microsoft] },
  { updateId: C.win11, parentIds: [C.windows] },
  { updateId: C.win10, parentIds: [C.windows] },
  { updateId: C.office, parentIds: [C.microsoft] },
  { updateId: C.office2016, parentIds: [C.office] },
];

function rule(over: Partial<ApprovalRule>): ApprovalRule {
  return { id: 1, name: 'r', enabled: true, classificationIds: [], productIds: [], groupIds: [LAB], action: 'Install', builtin: false, ...over };
}

function update(id: string, categoryIds: string[], over: Partial<RuleCandidate> = {}): RuleCandidate {
  return { updateId: id, revisionNumber: 1, updateType: 'Software', publicationState: 'Published', explicitlyDeployable: true, categoryIds, ...over };
}

let n = 0;
const newId = (): string => `d-${++n}`;
const now = new Date('2026-11-20T15:30:00Z');

test('a product family or company takes every product under it; a product only itself', () => {
  assert.deepEqual([...expandRuleProducts([C.windows], categories)].sort(), [C.win10, C.win11, C.windows].sort());
  assert.equal(expandRuleProducts([C.microsoft.toUpperCase()], categories).size, 6);
  assert.deepEqual([...expandRuleProducts([C.win11], categories)], [C.win11]);
});

test('classifications and products: each named criterion must hold, an unnamed one is any', () => {
  const sec = update('u1', [CLASSIFICATIONS.securityUpdates, C.win11]);
  const officeSec = update('u2', [CLASSIFICATIONS.securityUpdates, C.office2016]);
  const winTools = update('u3', [CLASSIFICATIONS.tools, C.win10]);
  const both = compileRule(rule({ classificationIds: [CLASSIFICATIONS.securityUpdates], productIds: [C.windows] }), categories);
  assert.deepEqual([sec, officeSec, winTools].map((u) => ruleMatches(both, u)), [true, false, false]);
  const onlyClass = compileRule(rule({ classificationIds: [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates] }), categories);
  assert.deepEqual([sec, officeSec, winTools].map((u) => ruleMatches(onlyClass, u)), [true, true, false]);
  const onlyProduct = compileRule(rule({ productIds: [C.windows] }), categories);
  assert.deepEqual([sec, officeSec, winTools].map((u) => ruleMatches(onlyProduct, u)), [true, false, true]);
  // Never approved automatically: categories, detectoids, bundle children, expired revisions.
  for (const u of [
    update('c', [CLASSIFICATIONS.securityUpdates], { updateType: 'Category' }),
    update('d', [CLASSIFICATIONS.securityUpdates], { updateType: 'Detectoid' }),
    update('child', [CLASSIFICATIONS.securityUpdates], { explicitlyDeployable: false }),
    update('old', [CLASSIFICATIONS.securityUpdates], { publicationState: 'Expired' }),
  ]) {
    assert.equal(ruleMatches(onlyClass, u), false, u.updateId);
  }
  assert.equal(ruleMatches(onlyClass, update('drv', [CLASSIFICATIONS.securityUpdates], { updateType: 'Driver' })), true);
});

test('deadline: N days after the approval at HH:MM UTC', () => {
  assert.equal(ruleDeadline({ days: 7, time: '03:00' }, now), '2026-11-27T03:00:00.000Z');
  assert.equal(ruleDeadline({ days: 0, time: '23:59' }, now), '2026-11-20T23:59:00.000Z');
  assert.equal(ruleDeadline({ days: 15, time: '00:00' }, now), '2026-12-05T00:00:00.000Z');
  assert.equal(ruleDeadline(undefined, now), undefined);
});

test('rule problems say what to fix', () => {
  assert.equal(ruleProblem({ ...DEFAULT_RULE }), undefined);
  assert.match(ruleProblem({ ...DEFAULT_RULE, classificationIds: [] })!, /needs classifications, products or both/);
  assert.match(ruleProblem({ ...DEFAULT_RULE, groupIds: [] })!, /at least one computer group/);
  assert.match(ruleProblem({ ...DEFAULT_RULE, name: ' ' })!, /1 to 256/);
  assert.match(ruleProblem({ ...DEFAULT_RULE, deadline: { days: 400, time: '03:00' } })!, /0 to 365 days/);
  assert.match(ruleProblem({ ...DEFAULT_RULE, deadline: { days: 1, time: '24:00' } })!, /HH:MM/);
});

test('the default rule: Critical and Security to All Computers, disabled, built in', () => {
  assert.equal(DEFAULT_RULE.name, 'Default Automatic Approval Rule');
  assert.equal(DEFAULT_RULE.enabled, false);
  assert.deepEqual([...DEFAULT_RULE.classificationIds].sort(), [CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.securityUpdates].sort());
  assert.deepEqual(DEFAULT_RULE.groupIds, [ALL]);
});

test('several rules for one group: one approval, the earliest deadline wins; approved groups and declined updates are left alone', () => {
  const u = update('u1', [CLASSIFICATIONS.securityUpdates, C.win11]);
  const later = compileRule(rule({ id: 1, classificationIds: [CLASSIFICATIONS.securityUpdates], groupIds: [LAB, ALL], deadline: { days: 10, time: '03:00' } }), categories);
  const sooner = compileRule(rule({ id: 2, productIds: [C.windows], deadline: { days: 2, time: '03:00' } }), categories);
  const none = compileRule(rule({ id: 3, productIds: [C.win11] }), categories);
  const planned = planRuleApprovals({ rules: [later, sooner, none], updates: [u], now, newId });
  assert.equal(planned.length, 2);
  const lab = planned.find((a) => a.groupId === LAB)!;
  assert.equal(lab.deadline, '2026-11-22T03:00:00.000Z');
  assert.equal(lab.action, 'Install');
  assert.equal(lab.adminName, 'WUS Server');
  assert.equal(planned.find((a) => a.groupId === ALL)!.deadline, '2026-11-30T03:00:00.000Z');
  const kept = planRuleApprovals({ rules: [later], updates: [u], approvedGroups: new Map([['u1', new Set([LAB])]]), now, newId });
  assert.deepEqual(kept.map((a) => a.groupId), [ALL]);
  assert.deepEqual(planRuleApprovals({ rules: [later], updates: [u], declined: new Set(['u1']), now, newId }), []);
});

test('a synchronization: rules for new updates only; new revisions take the approvals; expiring revisions decline', () => {
  const rules = [
    compileRule(rule({ id: 1, classificationIds: [CLASSIFICATIONS.securityUpdates] }), categories),
    compileRule(rule({ id: 2, enabled: false, classificationIds: [CLASSIFICATIONS.tools] }), categories),
  ];
  const rev = (id: string, change: SynchronizedRevision['change'], cls: string, revisionNumber = 1): SynchronizedRevision => ({
    ...update(id, [cls], change === 'expired' ? { publicationState: 'Expired' } : {}),
    revisionNumber,
    change,
  });
  const held: Approval = { id: 'old', updateId: 'rev', revisionNumber: 1, groupId: ALL, action: 'Uninstall', deadline: '2026-12-01T00:00:00.000Z', adminName: 'alice', createdAt: '2026-11-01T00:00:00.000Z' };
  const revisions = [
    rev('new-sec', 'new', CLASSIFICATIONS.securityUpdates),
    rev('new-tools', 'new', CLASSIFICATIONS.tools),
    // A new revision of a security update held before: no rule acts on it.
    rev('rev', 'revised', CLASSIFICATIONS.securityUpdates, 2),
    rev('gone', 'expired', CLASSIFICATIONS.securityUpdates, 3),
    rev('gone-declined', 'expired', CLASSIFICATIONS.securityUpdates, 3),
  ];
  const input = { rules, revisions, approvalsOf: new Map([['rev', [held]]]), declined: new Set(['gone-declined']), now, newId };
  const plan = planSyncAutomation({ ...input, options: { approveNewRevisions: true, declineExpired: true } });
  assert.deepEqual(plan.approvals.map((a) => [a.updateId, a.groupId, a.revisionNumber, a.action]), [
    ['new-sec', LAB, 1, 'Install'],
    ['rev', ALL, 2, 'Uninstall'],
  ]);
  const carried = plan.approvals.find((a) => a.updateId === 'rev')!;
  assert.equal(carried.deadline, held.deadline);
  assert.notEqual(carried.id, held.id);
  assert.deepEqual(plan.declines.map((d) => [d.updateId, d.adminName]), [['gone', 'WUS Server']]);
  const off = planSyncAutomation({ ...input, options: { approveNewRevisions: false, declineExpired: false } });
  assert.deepEqual(off.approvals.map((a) => a.updateId), ['new-sec']);
  assert.deepEqual(off.declines, []);
});

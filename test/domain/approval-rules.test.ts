import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  affectedGroups,
  ancestorChain,
  autoDetectedUpdates,
  buildGroupTree,
  carriedByBundles,
  combineEffectiveApprovals,
  effectiveApprovalOfUpdate,
  effectiveApprovals,
  groupEffectiveApprovals,
  indexApprovals,
  type EffectiveApproval,
} from '../../src/domain/approval-rules.ts';
import type { Approval, ApprovalAction, ComputerGroup } from '../../src/domain/deployment.ts';
import { ALL_COMPUTERS_GROUP_ID as ALL, CLASSIFICATIONS, UNASSIGNED_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';

// The example tree of "Plan your WSUS deployment" (Conflict Resolution), plus an Accounting branch.
const G = {
  desktops: 'd0000000-0000-0000-0000-000000000001',
  desktopsL1: 'd0000000-0000-0000-0000-000000000002',
  desktopsL2: 'd0000000-0000-0000-0000-000000000003',
  servers: 'e0000000-0000-0000-0000-000000000001',
  serversL1: 'e0000000-0000-0000-0000-000000000002',
  accounting: 'f0000000-0000-0000-0000-000000000001',
  payroll: 'f0000000-0000-0000-0000-000000000002',
  payable: 'f0000000-0000-0000-0000-000000000003',
} as const;

const GROUPS: ComputerGroup[] = [
  { id: G.desktops, name: 'Desktop computers', parentId: ALL, builtin: false },
  { id: G.desktopsL1, name: 'Desktops-L1', parentId: G.desktops, builtin: false },
  { id: G.desktopsL2, name: 'Desktops-L2', parentId: G.desktopsL1, builtin: false },
  { id: G.servers, name: 'Servers', parentId: ALL, builtin: false },
  { id: G.serversL1, name: 'Servers-L1', parentId: G.servers, builtin: false },
  { id: G.accounting, name: 'Accounting', parentId: ALL, builtin: false },
  { id: G.payroll, name: 'Payroll', parentId: G.accounting, builtin: false },
  { id: G.payable, name: 'Accounts Payable', parentId: G.accounting, builtin: false },
];

const U1 = '11111111-0000-0000-0000-000000000001';
const U2 = '11111111-0000-0000-0000-000000000002';
const U3 = '11111111-0000-0000-0000-000000000003';

let serial = 0;
function approval(updateId: string, groupId: string, action: ApprovalAction, deadline?: string, createdAt = '2026-10-01T00:00:00Z'): Approval {
  serial++;
  return {
    id: `a${String(serial).padStart(4, '0')}`,
    updateId,
    revisionNumber: 200,
    groupId,
    action,
    ...(deadline !== undefined ? { deadline } : {}),
    adminName: 'test',
    createdAt,
  };
}

function resolve(memberships: string[], approvals: Approval[], declines: string[] = []): Map<string, EffectiveApproval> {
  return effectiveApprovals({ groups: GROUPS, memberships, approvals, declines });
}

function summary(e: EffectiveApproval | undefined): string | undefined {
  return e === undefined ? undefined : `${e.action}${e.deadline ? `@${e.deadline}` : ''} from ${e.groupId} (${e.source})`;
}

describe('group tree', () => {
  it('adds the built-in groups and measures depth from All Computers', () => {
    const tree = buildGroupTree(GROUPS);
    assert.equal(tree.depth.get(ALL), 0);
    assert.equal(tree.depth.get(UNASSIGNED_COMPUTERS_GROUP_ID), 1);
    assert.equal(tree.depth.get(G.desktopsL2), 3);
    assert.deepEqual(ancestorChain(tree, G.desktopsL2), [G.desktopsL2, G.desktopsL1, G.desktops, ALL]);
    assert.deepEqual(affectedGroups(tree, G.accounting).sort(), [G.accounting, G.payable, G.payroll].sort());
  });

  it('refuses orphans, unknown parents and cycles', () => {
    assert.throws(() => buildGroupTree([{ id: 'x', name: 'x', builtin: false }]), /no parent/);
    assert.throws(() => buildGroupTree([{ id: 'x', name: 'x', parentId: 'nowhere', builtin: false }]), /unknown parent/);
    assert.throws(
      () => buildGroupTree([{ id: 'x', name: 'x', parentId: 'y', builtin: false }, { id: 'y', name: 'y', parentId: 'x', builtin: false }]),
      /cycle/,
    );
    assert.throws(() => ancestorChain(buildGroupTree(GROUPS), 'nope'), /unknown computer group/);
  });
});

describe('effective approvals', () => {
  it('apply an approval to the group and every group under it', () => {
    const approvals = [approval(U1, G.accounting, 'Install')];
    assert.equal(summary(resolve([G.accounting], approvals).get(U1)), `Install from ${G.accounting} (direct)`);
    assert.equal(summary(resolve([G.payroll], approvals).get(U1)), `Install from ${G.accounting} (inherited)`);
    assert.equal(resolve([G.servers], approvals).get(U1), undefined);
    assert.equal(resolve([], approvals).get(U1), undefined);
    // All Computers reaches everyone, Unassigned included.
    const everyone = [approval(U2, ALL, 'Install')];
    assert.equal(resolve([UNASSIGNED_COMPUTERS_GROUP_ID], everyone).get(U2)?.action, 'Install');
    assert.equal(resolve([], everyone).get(U2)?.source, 'direct');
  });

  it('let the deeper group win over its ancestors', () => {
    const approvals = [approval(U1, ALL, 'Install'), approval(U1, G.desktops, 'Uninstall')];
    assert.equal(resolve([G.desktops], approvals).get(U1)?.action, 'Uninstall');
    assert.equal(summary(resolve([G.desktopsL2], approvals).get(U1)), `Uninstall from ${G.desktops} (inherited)`);
    assert.equal(resolve([G.servers], approvals).get(U1)?.action, 'Install');
  });

  it('rank by depth alone, across branches (the documented Desktops-L2 vs Servers-L1 example)', () => {
    const approvals = [approval(U1, G.serversL1, 'Install', '2026-10-02T00:00:00Z'), approval(U1, G.desktopsL2, 'Uninstall')];
    const e = resolve([G.desktopsL2, G.serversL1], approvals).get(U1);
    assert.equal(summary(e), `Uninstall from ${G.desktopsL2} (direct)`);
    assert.equal(e?.depth, 3);
  });

  it('let Install override Uninstall at the same depth, deadline or not', () => {
    const approvals = [approval(U1, G.desktops, 'Install'), approval(U1, G.servers, 'Uninstall', '2026-01-01T00:00:00Z')];
    assert.equal(summary(resolve([G.desktops, G.servers], approvals).get(U1)), `Install from ${G.desktops} (direct)`);
    assert.equal(summary(resolve([G.servers, G.desktops], approvals).get(U1)), `Install from ${G.desktops} (direct)`);
  });

  it('prefer an action with a deadline, then the earlier deadline', () => {
    const none = approval(U1, G.desktops, 'Install');
    const late = approval(U1, G.servers, 'Install', '2026-12-01T00:00:00Z');
    const early = approval(U1, G.accounting, 'Install', '2026-11-01T00:00:00.5Z');
    const members = [G.desktops, G.servers, G.accounting];
    assert.equal(resolve(members, [none, late]).get(U1)?.deadline, '2026-12-01T00:00:00Z');
    assert.equal(resolve(members, [none, late, early]).get(U1)?.deadline, '2026-11-01T00:00:00.5Z');
    // Times, not strings: .5 seconds is later than .25 even though '5' > '2' would say the same,
    // and '...00Z' sorts after '...00.9Z' as text but is earlier in time.
    const a = approval(U2, G.desktops, 'Install', '2026-11-01T00:00:00Z');
    const b = approval(U2, G.servers, 'Install', '2026-11-01T00:00:00.900Z');
    assert.equal(resolve(members, [b, a]).get(U2)?.deadline, '2026-11-01T00:00:00Z');
    // A deadline never lifts Uninstall over Install, nor a shallower group over a deeper one.
    const deep = approval(U3, G.payroll, 'Install');
    const shallow = approval(U3, G.desktops, 'Install', '2026-01-01T00:00:00Z');
    assert.equal(resolve([G.payroll, G.desktops], [deep, shallow]).get(U3)?.groupId, G.payroll);
  });

  it('keep deadlines on Install and Uninstall only', () => {
    const e = resolve([G.desktops], [approval(U1, G.desktops, 'PreDeploymentCheck', '2026-11-01T00:00:00Z')]).get(U1);
    assert.equal(e?.action, 'PreDeploymentCheck');
    assert.equal(e?.deadline, undefined);
  });

  it('let Block on a subgroup hold back an update approved above it, but not one approved at the same depth elsewhere', () => {
    const approvals = [approval(U1, ALL, 'Install'), approval(U1, G.desktops, 'Block')];
    assert.equal(resolve([G.desktopsL1], approvals).get(U1)?.action, 'Block');
    assert.equal(resolve([G.servers], approvals).get(U1)?.action, 'Install');
    const sideBySide = [...approvals, approval(U1, G.servers, 'Install')];
    assert.equal(summary(resolve([G.desktops, G.servers], sideBySide).get(U1)), `Install from ${G.servers} (direct)`);
    // Same depth: approving beats detecting beats blocking.
    const detect = [approval(U2, G.desktops, 'PreDeploymentCheck'), approval(U2, G.servers, 'Block')];
    assert.equal(resolve([G.desktops, G.servers], detect).get(U2)?.action, 'PreDeploymentCheck');
    const install = [approval(U3, G.desktops, 'PreDeploymentCheck'), approval(U3, G.servers, 'Install')];
    assert.equal(resolve([G.desktops, G.servers], install).get(U3)?.action, 'Install');
  });

  it('let the newest approval of one group replace its older ones', () => {
    const old = approval(U1, G.desktops, 'Install', undefined, '2026-10-01T00:00:00Z');
    const newer = approval(U1, G.desktops, 'Uninstall', undefined, '2026-10-02T00:00:00Z');
    assert.equal(resolve([G.desktops], [newer, old]).get(U1)?.action, 'Uninstall');
    assert.equal(resolve([G.desktops], [old, newer]).get(U1)?.action, 'Uninstall');
  });

  it('never give a declined update', () => {
    const approvals = [approval(U1, ALL, 'Install'), approval(U2, G.desktops, 'Install')];
    const e = resolve([G.desktops], approvals, [U1]);
    assert.equal(e.has(U1), false);
    assert.equal(e.get(U2)?.action, 'Install');
  });

  it('approve Critical and Security updates for detection unless an approval says otherwise', () => {
    const classification: Record<string, string> = {
      [U1]: CLASSIFICATIONS.securityUpdates,
      [U2]: CLASSIFICATIONS.criticalUpdates,
      [U3]: CLASSIFICATIONS.updates,
    };
    const autoDetect = { updateIds: [U1, U2, U3], classificationOf: (id: string) => classification[id] };
    assert.deepEqual([...autoDetectedUpdates(autoDetect)].sort(), [U1, U2]);
    const run = (memberships: string[], approvals: Approval[], declines: string[] = []) =>
      effectiveApprovals({ groups: GROUPS, memberships, approvals, declines, autoDetect });

    const plain = run([G.desktops], []);
    assert.equal(summary(plain.get(U1)), `PreDeploymentCheck from ${ALL} (autoDetect)`);
    assert.equal(plain.get(U2)?.action, 'PreDeploymentCheck');
    assert.equal(plain.has(U3), false);

    // An explicit approval anywhere in the chain takes over, even the same action on All Computers.
    assert.equal(run([G.desktops], [approval(U1, ALL, 'Install')]).get(U1)?.action, 'Install');
    assert.equal(run([G.desktops], [approval(U1, ALL, 'PreDeploymentCheck')]).get(U1)?.source, 'inherited');
    assert.equal(run([G.desktops], [approval(U1, G.desktops, 'Block')]).get(U1)?.action, 'Block');
    assert.equal(run([G.desktops], [], [U1]).has(U1), false);
    // Another set of classifications.
    const only = autoDetectedUpdates({ ...autoDetect, classificationOf: (id) => [classification[id]!], classifications: new Set([CLASSIFICATIONS.updates]) });
    assert.deepEqual([...only], [U3]);
  });

  it('combine the groups of a computer in several groups', () => {
    const approvals = [
      approval(U1, G.payroll, 'Install'),
      approval(U2, G.servers, 'Uninstall'),
      approval(U3, G.accounting, 'Install'),
      approval(U3, G.serversL1, 'Uninstall'),
    ];
    const e = resolve([G.payroll, G.serversL1], approvals);
    assert.equal(summary(e.get(U1)), `Install from ${G.payroll} (direct)`);
    assert.equal(summary(e.get(U2)), `Uninstall from ${G.servers} (inherited)`);
    // Payroll (2) and Servers-L1 (2) are deeper than Accounting (1): Uninstall at depth 2 wins.
    assert.equal(summary(e.get(U3)), `Uninstall from ${G.serversL1} (direct)`);
    // A computer in a group and in its parent: the parent's approval is direct for it.
    assert.equal(resolve([G.payroll, G.accounting], approvals).get(U3)?.source, 'direct');
  });

  it('give per group and combined the same answer as resolving everything at once, whatever the order (randomised)', () => {
    const tree = buildGroupTree(GROUPS);
    const groupIds = [...tree.depth.keys()].sort();
    const actions: ApprovalAction[] = ['Install', 'Uninstall', 'PreDeploymentCheck', 'Block'];
    const updates = Array.from({ length: 12 }, (_, i) => `22222222-0000-0000-0000-${String(i).padStart(12, '0')}`);
    let x = 12345;
    const next = (n: number) => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x % n;
    };
    for (let round = 0; round < 200; round++) {
      const approvals: Approval[] = [];
      for (const u of updates) {
        for (let k = next(4); k > 0; k--) {
          const deadline = next(3) === 0 ? `2026-11-${String(1 + next(28)).padStart(2, '0')}T00:00:00Z` : undefined;
          approvals.push(approval(u, groupIds[next(groupIds.length)]!, actions[next(4)]!, deadline, `2026-10-${String(1 + next(28)).padStart(2, '0')}T00:00:00Z`));
        }
      }
      const memberships = [...new Set(Array.from({ length: 1 + next(3) }, () => groupIds[next(groupIds.length)]!))];
      const got = resolve(memberships, [...approvals].reverse());

      // Reference, written from the documented rules directly.
      const reach = new Set(memberships.flatMap((g) => ancestorChain(tree, g)));
      const byGroup = indexApprovals(approvals);
      for (const u of updates) {
        const candidates = [...reach].flatMap((g) => (byGroup.get(g) ?? []).filter((a) => a.updateId === u));
        const rank = { Install: 3, Uninstall: 2, PreDeploymentCheck: 1, Block: 0 };
        const dl = (a: Approval) => (a.deadline !== undefined && (a.action === 'Install' || a.action === 'Uninstall') ? Date.parse(a.deadline) : Infinity);
        candidates.sort((a, b) => tree.depth.get(b.groupId)! - tree.depth.get(a.groupId)! || rank[b.action] - rank[a.action] || dl(a) - dl(b));
        const want = candidates[0];
        const have = got.get(u);
        assert.equal(have?.action, want?.action, `round ${round} update ${u}`);
        assert.equal(have?.depth, want === undefined ? undefined : tree.depth.get(want.groupId));
        assert.equal(have === undefined ? undefined : (have.deadline === undefined ? Infinity : Date.parse(have.deadline)), want === undefined ? undefined : dl(want));
      }
    }
  });

  it('can be patched one update at a time after a change', () => {
    const tree = buildGroupTree(GROUPS);
    const approvals = [approval(U1, ALL, 'Install'), approval(U1, G.accounting, 'Uninstall', '2026-11-01T00:00:00Z'), approval(U2, G.payroll, 'Install')];
    const approvalsByGroup = indexApprovals(approvals);
    const declined = new Set<string>();
    const autoDetected = new Set([U3]);
    for (const groupId of affectedGroups(tree, G.accounting)) {
      const whole = groupEffectiveApprovals({ tree, groupId, approvalsByGroup, declined, autoDetected });
      for (const updateId of [U1, U2, U3]) {
        const one = effectiveApprovalOfUpdate({ tree, groupId, updateId, approvals, declined: false, autoDetected: autoDetected.has(updateId) });
        assert.deepEqual(one, whole.get(updateId), `${groupId} ${updateId}`);
      }
    }
    assert.equal(effectiveApprovalOfUpdate({ tree, groupId: G.payroll, updateId: U1, approvals, declined: true, autoDetected: false }), undefined);
    // Combining recomputes direct/inherited for the computer.
    const maps = [G.payroll, G.accounting].map((groupId) => groupEffectiveApprovals({ tree, groupId, approvalsByGroup, declined }));
    assert.equal(combineEffectiveApprovals(maps, [G.payroll, G.accounting]).get(U1)?.source, 'direct');
    assert.equal(combineEffectiveApprovals(maps, [G.payroll]).get(U1)?.source, 'inherited');
  });
});

describe('bundles', () => {
  it('carry their children with the bundle action, recursively, except approved or declined ones', () => {
    const bundle = '33333333-0000-0000-0000-000000000001';
    const inner = '33333333-0000-0000-0000-000000000002';
    const leaf = '33333333-0000-0000-0000-000000000003';
    const own = '33333333-0000-0000-0000-000000000004';
    const gone = '33333333-0000-0000-0000-000000000005';
    const bundled: Record<string, string[]> = { [bundle]: [inner, own, gone], [inner]: [leaf] };
    const effective = resolve([G.desktops], [approval(bundle, ALL, 'Install', '2026-11-01T00:00:00Z'), approval(own, G.desktops, 'Uninstall')]);
    const carried = carriedByBundles(effective, (id) => bundled[id], new Set([gone]));
    assert.deepEqual([...carried.keys()].sort(), [inner, leaf]);
    assert.equal(carried.get(inner)?.bundleId, bundle);
    assert.equal(carried.get(leaf)?.bundleId, inner);
    assert.equal(carried.get(leaf)?.approval.action, 'Install');
    assert.equal(carried.get(leaf)?.approval.deadline, '2026-11-01T00:00:00Z');
  });
});

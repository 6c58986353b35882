import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { effectiveApprovals, type EffectiveApproval } from '../../src/domain/approval-rules.ts';
import type { Approval, ApprovalAction, ComputerGroup } from '../../src/domain/deployment.ts';
import { compileCatalogGraph, prerequisiteUpdateIds, type CatalogGraph, type GraphRevision } from '../../src/domain/prerequisite-graph.ts';
import {
  buildScanScope,
  filterScanScope,
  planSyncUpdates,
  scopeEntry,
  type PlanOptions,
  type ScanScope,
  type ScopeOptions,
  type SyncAnswer,
  type SyncPlan,
  type SyncRequest,
} from '../../src/domain/scan-plan.ts';
import { canonicalGuid, type PrerequisiteClause, type UpdateType } from '../../src/domain/update.ts';
import { ALL_COMPUTERS_GROUP_ID as ALL, CLASSIFICATIONS, MICROSOFT_COMPANY_ID, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { fixturePath, readFixtureText } from '../support/fixtures.ts';

// ---------------------------------------------------------------------------------------------
// A small catalog built by hand

function uid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

const req = (...ids: string[]): PrerequisiteClause => ({ updateIds: ids, isCategory: false });
const cat = (...ids: string[]): PrerequisiteClause => ({ updateIds: ids, isCategory: true });

/** Names of the hand-built catalog; the revision id of each is its number. */
const N = {
  microsoft: 100,
  windows: 101,
  win11: 102,
  office: 103,
  security: 110,
  critical: 111,
  updates: 112,
  x64: 120,
  arm64: 121,
  x64v24h2: 122,
  ssu: 200,
  lcu: 210,
  lcuX64: 211,
  lcuArm64: 212,
  oldLcu: 220,
  officeFix: 230,
  driver: 240,
  removeMe: 260,
} as const;
type Name = keyof typeof N;
const id = (name: Name): string => uid(N[name]);
const nameOf = new Map<number, Name>(Object.entries(N).map(([k, v]) => [v, k as Name]));

function rev(name: Name, updateType: UpdateType, prerequisites: PrerequisiteClause[] = [], bundled: Name[] = []): GraphRevision {
  return { revisionId: N[name], updateId: id(name), updateType, prerequisites, bundledUpdateIds: bundled.map(id) };
}

const CATALOG: GraphRevision[] = [
  rev('microsoft', 'Category'),
  rev('windows', 'Category', [cat(id('microsoft'))]),
  rev('win11', 'Category', [cat(id('windows'))]),
  rev('office', 'Category', [cat(id('microsoft'))]),
  rev('security', 'Category'),
  rev('critical', 'Category'),
  rev('updates', 'Category'),
  rev('x64', 'Detectoid'),
  rev('arm64', 'Detectoid'),
  rev('x64v24h2', 'Detectoid', [req(id('x64'))]),
  // A servicing stack update that the cumulative update requires: a prerequisite chain.
  rev('ssu', 'Software', [req(id('x64')), cat(id('win11')), cat(id('updates'))]),
  rev('lcu', 'Software', [cat(id('win11')), cat(id('security')), req(id('ssu'))], ['lcuX64', 'lcuArm64']),
  rev('lcuX64', 'Software', [req(id('x64v24h2')), { updateIds: [id('win11')], isCategory: false }]),
  rev('lcuArm64', 'Software', [req(id('arm64')), { updateIds: [id('win11')], isCategory: false }]),
  // Superseded by the cumulative update; nobody approved it, it is a security update.
  rev('oldLcu', 'Software', [req(id('x64')), cat(id('win11')), cat(id('security'))]),
  rev('officeFix', 'Software', [cat(id('office')), cat(id('updates'))]),
  rev('driver', 'Driver', [cat(id('win11'))]),
  rev('removeMe', 'Software', [req(id('x64')), cat(id('win11')), cat(id('updates'))]),
];

const CLASSIFICATION: Partial<Record<Name, string>> = {
  lcu: CLASSIFICATIONS.securityUpdates,
  oldLcu: CLASSIFICATIONS.securityUpdates,
  ssu: CLASSIFICATIONS.updates,
  officeFix: CLASSIFICATIONS.updates,
  removeMe: CLASSIFICATIONS.updates,
};

const WORKSTATIONS = 'aaaaaaaa-0000-0000-0000-000000000001';
const OFFICE_PCS = 'aaaaaaaa-0000-0000-0000-000000000002';
const GROUPS: ComputerGroup[] = [
  { id: WORKSTATIONS, name: 'Workstations', parentId: ALL, builtin: false },
  { id: OFFICE_PCS, name: 'Office PCs', parentId: ALL, builtin: false },
];

function approve(name: Name, groupId: string, action: ApprovalAction, deadline?: string): Approval {
  return {
    id: `${name}-${groupId.slice(-1)}-${action}`,
    updateId: id(name),
    revisionNumber: 1,
    groupId,
    action,
    ...(deadline !== undefined ? { deadline } : {}),
    adminName: 'test',
    createdAt: '2026-10-01T00:00:00Z',
  };
}

const APPROVALS: Approval[] = [
  approve('lcu', ALL, 'Install'),
  approve('officeFix', OFFICE_PCS, 'Install'),
  approve('driver', ALL, 'Install'),
  approve('removeMe', WORKSTATIONS, 'Uninstall', '2026-12-24T18:00:00Z'),
];

const GRAPH = compileCatalogGraph(CATALOG);

function effectiveFor(memberships: string[], approvals = APPROVALS, declines: Name[] = [], autoDetect = true): Map<string, EffectiveApproval> {
  return effectiveApprovals({
    groups: GROUPS,
    memberships,
    approvals,
    declines: declines.map(id),
    ...(autoDetect
      ? {
          autoDetect: {
            updateIds: CATALOG.filter((r) => r.updateType === 'Software').map((r) => r.updateId),
            classificationOf: (u: string) => CLASSIFICATION[nameOf.get(GRAPH.revisionIds[GRAPH.byUpdateId.get(u)!]!)!],
          },
        }
      : {}),
  });
}

function scopeFor(memberships: string[], approvals = APPROVALS, declines: Name[] = [], options?: ScopeOptions, autoDetect = true): ScanScope {
  return buildScanScope(GRAPH, effectiveFor(memberships, approvals, declines, autoDetect), new Set(declines.map(id)), options);
}

/** What the workstation evaluates as installed (IsInstalled true). */
const INSTALLED_HERE = new Set<Name>(['microsoft', 'windows', 'win11', 'security', 'critical', 'updates', 'x64', 'x64v24h2', 'ssu']);

function answer(plan: SyncPlan): SyncAnswer {
  assert.equal(plan.kind, 'answer', plan.kind === 'invalid' ? plan.message : '');
  return plan as SyncAnswer;
}

interface Round {
  readonly request: SyncRequest;
  readonly answer: SyncAnswer;
}

/**
 * A Windows Update Agent as MS-WUSP 3.1.5.7 describes it: first call empty; put what evaluates
 * installed and is non-leaf into InstalledNonLeafUpdateIDs, everything else into
 * OtherCachedUpdateIDs; call again while the answer was truncated or held a non-leaf revision.
 */
function walk(
  scope: ScanScope,
  isInstalled: (revisionId: number) => boolean,
  options: PlanOptions = {},
  start: { installed?: number[]; other?: number[] } = {},
  extra: Partial<SyncRequest> = {},
): { rounds: Round[]; installed: number[]; other: number[] } {
  const installed = [...(start.installed ?? [])];
  const other = [...(start.other ?? [])];
  const rounds: Round[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const request: SyncRequest = { skipSoftwareSync: false, installedNonLeafUpdateIds: [...installed], otherCachedUpdateIds: [...other], ...extra };
    const a = answer(planSyncUpdates(scope, request, options));
    rounds.push({ request, answer: a });
    const dropped = new Set([...a.outOfScopeRevisionIds, ...(a.deployedOutOfScopeRevisionIds ?? [])]);
    for (const list of [installed, other]) for (let k = list.length - 1; k >= 0; k--) if (dropped.has(list[k]!)) list.splice(k, 1);
    for (const u of a.newUpdates) (!u.isLeaf && isInstalled(u.revisionId) ? installed : other).push(u.revisionId);
    if (!a.truncated && !a.newUpdates.some((u) => !u.isLeaf)) return { rounds, installed, other };
  }
  throw new Error('the client never stopped');
}

const here = (revisionId: number): boolean => INSTALLED_HERE.has(nameOf.get(revisionId)!);

/** `name action [leaf]` per update of an answer. */
function shape(a: SyncAnswer): string[] {
  return a.newUpdates.map((u) => `${nameOf.get(u.revisionId) ?? u.revisionId} ${u.action}${u.isLeaf ? ' leaf' : ''}`);
}

describe('prerequisite graph', () => {
  it('derives IsLeaf: non-leaf iff something requires it, bundle members are leaves', () => {
    const leaf = (n: Name) => GRAPH.isLeaf[GRAPH.byRevisionId.get(N[n])!] === 1;
    for (const n of ['microsoft', 'windows', 'win11', 'office', 'security', 'updates', 'x64', 'arm64', 'x64v24h2', 'ssu'] as Name[]) assert.equal(leaf(n), false, n);
    for (const n of ['critical', 'lcu', 'lcuX64', 'lcuArm64', 'oldLcu', 'officeFix', 'driver', 'removeMe'] as Name[]) assert.equal(leaf(n), true, n);
    assert.deepEqual(prerequisiteUpdateIds(GRAPH, GRAPH.byRevisionId.get(N.lcu)!), [[id('win11')], [id('security')], [id('ssu')]]);
  });

  it('refuses two revisions of one update and duplicate revision ids', () => {
    assert.throws(() => compileCatalogGraph([rev('x64', 'Detectoid'), { ...rev('arm64', 'Detectoid'), updateId: id('x64') }]), /two revisions/);
    assert.throws(() => compileCatalogGraph([rev('x64', 'Detectoid'), { ...rev('arm64', 'Detectoid'), revisionId: N.x64 }]), /twice/);
  });
});

describe('scan scope', () => {
  it('holds approved updates with their action, what bundles carry, every prerequisite, categories and detectoids', () => {
    const scope = scopeFor([WORKSTATIONS]);
    const entry = (n: Name) => scopeEntry(scope, N[n]);
    assert.equal(entry('lcu')?.action, 'Install');
    assert.equal(entry('lcuX64')?.action, 'Bundle');
    assert.equal(entry('lcuX64')?.approval?.approvalId, `lcu-1-Install`);
    assert.equal(entry('lcuArm64')?.action, 'Bundle');
    assert.equal(entry('ssu')?.action, 'Evaluate');
    assert.equal(entry('oldLcu')?.action, 'PreDeploymentCheck');
    assert.equal(entry('oldLcu')?.approval?.source, 'autoDetect');
    assert.equal(entry('removeMe')?.action, 'Uninstall');
    assert.equal(entry('removeMe')?.deadline, '2026-12-24T18:00:00Z');
    assert.equal(entry('officeFix'), undefined, 'approved for another group only');
    assert.equal(entry('driver'), undefined, 'drivers never go out on the software pass');
    for (const n of ['microsoft', 'windows', 'win11', 'office', 'security', 'critical', 'updates', 'x64', 'arm64', 'x64v24h2'] as Name[]) {
      assert.equal(entry(n)?.action, 'Evaluate', n);
    }
    assert.equal(scopeFor([OFFICE_PCS]).action[GRAPH.byRevisionId.get(N.officeFix)!] !== 0, true);
  });

  it('without evaluateAll holds only the closure of what is approved', () => {
    const scope = scopeFor([WORKSTATIONS], APPROVALS, [], { evaluateAll: false });
    assert.equal(scopeEntry(scope, N.office), undefined);
    assert.equal(scopeEntry(scope, N.critical), undefined);
    assert.equal(scopeEntry(scope, N.arm64)?.action, 'Evaluate', 'required by a carried bundle child');
    assert.equal(scopeEntry(scope, N.microsoft)?.action, 'Evaluate');
  });

  it('sends Block as PreDeploymentCheck by default, or leaves it and its children out', () => {
    const blocked = [...APPROVALS, approve('lcu', WORKSTATIONS, 'Block')];
    const asDetect = scopeFor([WORKSTATIONS], blocked);
    assert.equal(scopeEntry(asDetect, N.lcu)?.action, 'PreDeploymentCheck');
    assert.equal(scopeEntry(asDetect, N.lcuX64)?.action, 'Bundle');
    const omitted = scopeFor([WORKSTATIONS], blocked, [], { block: 'omit', evaluateAll: false });
    assert.equal(scopeEntry(omitted, N.lcu), undefined);
    assert.equal(scopeEntry(omitted, N.lcuX64), undefined);
    assert.equal(scopeEntry(omitted, N.ssu), undefined);
  });

  it('marks the children of a bundle that is only required, not approved, Evaluate', () => {
    const graph = compileCatalogGraph([
      { revisionId: 1, updateId: uid(1), updateType: 'Software', prerequisites: [], bundledUpdateIds: [uid(2)] },
      { revisionId: 2, updateId: uid(2), updateType: 'Software', prerequisites: [] },
      { revisionId: 3, updateId: uid(3), updateType: 'Software', prerequisites: [req(uid(1))], bundledUpdateIds: [uid(4)] },
      { revisionId: 4, updateId: uid(4), updateType: 'Software', prerequisites: [], bundledUpdateIds: [uid(2)] },
    ]);
    const approved: EffectiveApproval = { updateId: uid(3), action: 'Install', groupId: ALL, depth: 0, source: 'direct' };
    const scope = buildScanScope(graph, new Map([[uid(3), approved]]));
    assert.deepEqual([1, 2, 3, 4].map((r) => scopeEntry(scope, r)?.action), ['Evaluate', 'Bundle', 'Install', 'Bundle']);
  });

  it('leaves out declined updates, even as prerequisites or bundle members', () => {
    const scope = scopeFor([WORKSTATIONS], APPROVALS, ['oldLcu', 'lcuArm64']);
    assert.equal(scopeEntry(scope, N.oldLcu), undefined);
    assert.equal(scopeEntry(scope, N.lcuArm64), undefined);
    assert.equal(scopeEntry(scope, N.lcuX64)?.action, 'Bundle');
  });
});

describe('SyncUpdates rounds', () => {
  it('walk the hand-built catalog level by level, as a client would', () => {
    const scope = scopeFor([WORKSTATIONS]);
    const { rounds, installed, other } = walk(scope, here);
    assert.deepEqual(
      rounds.map((r) => shape(r.answer)),
      [
        // Roots: non-leaf first, then leaves.
        ['microsoft Evaluate', 'security Evaluate', 'updates Evaluate', 'x64 Evaluate', 'arm64 Evaluate', 'critical Evaluate leaf'],
        // What Microsoft and x64 unlock; Office evaluates not installed, so nothing under it follows.
        ['windows Evaluate', 'office Evaluate', 'x64v24h2 Evaluate'],
        ['win11 Evaluate'],
        // Under Windows 11: the prerequisite first, then leaves. The arm64 child never comes:
        // its detectoid is not installed. The bundle waits for its prerequisite.
        ['ssu Evaluate', 'lcuX64 Bundle leaf', 'oldLcu PreDeploymentCheck leaf', 'removeMe Uninstall leaf'],
        ['lcu Install leaf'],
      ],
    );
    for (const r of rounds) {
      assert.equal(r.answer.truncated, false);
      assert.deepEqual(r.answer.outOfScopeRevisionIds, []);
      assert.equal(r.answer.driverSyncNotNeeded, true);
    }
    assert.deepEqual(rounds[1]!.request.installedNonLeafUpdateIds, [N.microsoft, N.security, N.updates, N.x64]);
    assert.deepEqual(rounds[1]!.request.otherCachedUpdateIds, [N.arm64, N.critical]);
    assert.equal(rounds[3]!.answer.newUpdates.find((u) => u.revisionId === N.removeMe)?.deadline, '2026-12-24T18:00:00Z');

    // Next day, nothing changed: one call, nothing new, nothing out of scope.
    const again = answer(planSyncUpdates(scope, { skipSoftwareSync: false, installedNonLeafUpdateIds: installed, otherCachedUpdateIds: other }));
    assert.deepEqual([again.newUpdates.length, again.outOfScopeRevisionIds.length, again.truncated], [0, 0, false]);
  });

  it('answer the driver pass with nothing and DriverSyncNotNeeded, dropping any driver the client holds', () => {
    const scope = scopeFor([WORKSTATIONS]);
    const a = answer(
      planSyncUpdates(scope, { skipSoftwareSync: true, hasSystemSpec: true, installedNonLeafUpdateIds: [N.microsoft], cachedDriverIds: [7, 5, 7] }),
    );
    assert.deepEqual(a.newUpdates, []);
    assert.deepEqual(a.outOfScopeRevisionIds, [5, 7]);
    assert.equal(a.truncated, false);
    assert.equal(a.driverSyncNotNeeded, true);
  });

  it('restrict a category scan to the category, its ancestors and what is under it', () => {
    const scope = scopeFor([WORKSTATIONS]);
    const { rounds } = walk(scope, here, {}, {}, { filterCategoryIds: [id('win11').toUpperCase()] });
    assert.deepEqual(rounds.map((r) => shape(r.answer)), [
      ['microsoft Evaluate', 'security Evaluate', 'updates Evaluate', 'x64 Evaluate', 'arm64 Evaluate'],
      ['windows Evaluate', 'x64v24h2 Evaluate'],
      ['win11 Evaluate'],
      ['ssu Evaluate', 'lcuX64 Bundle leaf', 'oldLcu PreDeploymentCheck leaf', 'removeMe Uninstall leaf'],
      ['lcu Install leaf'],
    ]);
  });

  it('split what a category scan no longer covers from what is no longer deployed, when asked to', () => {
    const scope = scopeFor([WORKSTATIONS]);
    const full = walk(scope, here);
    const officeFilter = { filterCategoryIds: [id('office')] };
    const base = { skipSoftwareSync: false, installedNonLeafUpdateIds: full.installed, otherCachedUpdateIds: [...full.other, 999] };
    const two = answer(planSyncUpdates(scope, { ...base, ...officeFilter, needTwoGroupOutOfScopeUpdates: true }));
    assert.deepEqual(two.outOfScopeRevisionIds, [999]);
    assert.equal(two.deployedOutOfScopeRevisionIds?.includes(N.lcu), true);
    assert.equal(two.deployedOutOfScopeRevisionIds?.includes(N.microsoft), false, 'Microsoft is an ancestor of Office');
    const one = answer(planSyncUpdates(scope, { ...base, ...officeFilter }));
    assert.equal(one.deployedOutOfScopeRevisionIds, undefined);
    assert.equal(one.outOfScopeRevisionIds.includes(N.lcu), true);
    // The caller may keep the filtered scope.
    const kept = filterScanScope(scope, officeFilter.filterCategoryIds);
    assert.deepEqual(answer(planSyncUpdates(scope, { ...base, ...officeFilter }, { filtered: kept })), one);
  });

  it('never deliver what lacks a prerequisite the catalog does not hold', () => {
    const graph = compileCatalogGraph([
      { revisionId: 1, updateId: uid(1), updateType: 'Detectoid', prerequisites: [] },
      { revisionId: 2, updateId: uid(2), updateType: 'Software', prerequisites: [req(uid(1)), req(uid(99))] },
      { revisionId: 3, updateId: uid(3), updateType: 'Software', prerequisites: [req(uid(99), uid(1))] },
    ]);
    const e = (u: string): [string, EffectiveApproval] => [u, { updateId: u, action: 'Install', groupId: ALL, depth: 0, source: 'direct' }];
    const scope = buildScanScope(graph, new Map([e(uid(2)), e(uid(3))]));
    const a = answer(planSyncUpdates(scope, { skipSoftwareSync: false, installedNonLeafUpdateIds: [1] }));
    assert.deepEqual(a.newUpdates.map((u) => u.revisionId), [3]);
  });
});

describe('paging', () => {
  function detectoidCatalog(leaves: number): ScanScope {
    const revisions: GraphRevision[] = [];
    for (let k = 0; k < 5; k++) revisions.push({ revisionId: 1000 + k, updateId: uid(1000 + k), updateType: 'Category', prerequisites: [] });
    // Something requires each of the five, so they are non-leaf and come first.
    revisions.push({ revisionId: 5000, updateId: uid(5000), updateType: 'Software', prerequisites: [1000, 1001, 1002, 1003, 1004].map((r) => req(uid(r))) });
    for (let k = 0; k < leaves; k++) revisions.push({ revisionId: 2000 + k, updateId: uid(2000 + k), updateType: 'Detectoid', prerequisites: [] });
    return buildScanScope(compileCatalogGraph(revisions), new Map());
  }

  it('sends 30 per page, non-leaf first, with Truncated while more remain', () => {
    const scope = detectoidCatalog(65);
    const { rounds } = walk(scope, () => true);
    assert.deepEqual(
      rounds.map((r) => [r.answer.newUpdates.length, r.answer.truncated, r.answer.remaining]),
      [[30, true, 40], [30, true, 10], [10, false, 0]],
    );
    assert.deepEqual(rounds[0]!.answer.newUpdates.slice(0, 6).map((u) => [u.revisionId, u.isLeaf]), [
      [1000, false], [1001, false], [1002, false], [1003, false], [1004, false], [2000, true],
    ]);
    const all = rounds.flatMap((r) => r.answer.newUpdates.map((u) => u.revisionId));
    assert.equal(new Set(all).size, 70, 'each revision exactly once');
  });

  it('says Truncated=false on a full last page', () => {
    const { rounds } = walk(detectoidCatalog(55), () => true);
    assert.deepEqual(rounds.map((r) => [r.answer.newUpdates.length, r.answer.truncated]), [[30, true], [30, false]]);
  });

  it('honours another page size', () => {
    const { rounds } = walk(detectoidCatalog(5), () => true, { pageSize: 4 });
    assert.deepEqual(rounds.map((r) => r.answer.newUpdates.length), [4, 4, 2]);
    assert.throws(() => planSyncUpdates(detectoidCatalog(1), { skipSoftwareSync: false }, { pageSize: 0 }), /page size/);
  });
});

describe('request validation', () => {
  const scope = scopeFor([WORKSTATIONS]);

  it('refuses more than 400 InstalledNonLeafUpdateIDs as WSUS does', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, k) => 100_000 + k);
    const refused = planSyncUpdates(scope, { skipSoftwareSync: false, installedNonLeafUpdateIds: ids(401) });
    assert.equal(refused.kind, 'invalid');
    assert.equal(refused.kind === 'invalid' && refused.errorCode, 'InvalidParameters');
    assert.equal(refused.kind === 'invalid' && refused.parameter, 'parameters.InstalledNonLeafUpdateIDs');
    assert.equal(planSyncUpdates(scope, { skipSoftwareSync: false, installedNonLeafUpdateIds: ids(400) }).kind, 'answer');
    // Many OtherCachedUpdateIDs are fine (WSUS took 4,937).
    assert.equal(planSyncUpdates(scope, { skipSoftwareSync: false, otherCachedUpdateIds: ids(5000) }).kind, 'answer');
  });

  it('refuses a SystemSpec on the software pass (MS-WUSP 3.1.5.7)', () => {
    const refused = planSyncUpdates(scope, { skipSoftwareSync: false, hasSystemSpec: true });
    assert.equal(refused.kind === 'invalid' && refused.parameter, 'parameters.SystemSpec');
  });
});

describe('out of scope and changed updates', () => {
  const settled = walk(scopeFor([WORKSTATIONS]), here);
  const held = { skipSoftwareSync: false, installedNonLeafUpdateIds: settled.installed, otherCachedUpdateIds: settled.other };

  it('tell the client to drop a revision once its update is declined', () => {
    const a = answer(planSyncUpdates(scopeFor([WORKSTATIONS], APPROVALS, ['oldLcu']), held));
    assert.deepEqual(a.outOfScopeRevisionIds, [N.oldLcu]);
    assert.deepEqual(a.newUpdates, []);
  });

  it('tell the client to drop a bundle, what it carried and what only it required once unapproved', () => {
    const without = APPROVALS.filter((a) => a.updateId !== id('lcu') && a.updateId !== id('removeMe'));
    const a = answer(planSyncUpdates(scopeFor([WORKSTATIONS], without, [], {}, false), held));
    assert.deepEqual(a.outOfScopeRevisionIds.map((r) => nameOf.get(r)), ['ssu', 'lcu', 'lcuX64', 'oldLcu', 'removeMe']);
    // With automatic detection the unapproved security bundle stays, for detection only: its
    // deployment changed, its children and prerequisite stay with it.
    const positions = new Map([[N.lcu, 11], [N.lcuX64, 11], [N.removeMe, 11]]);
    const b = answer(planSyncUpdates(scopeFor([WORKSTATIONS], without), held, { deploymentChanges: { watermark: 10, positions } }));
    assert.deepEqual(b.outOfScopeRevisionIds.map((r) => nameOf.get(r)), ['removeMe']);
    assert.deepEqual(b.changedUpdates.map((u) => `${nameOf.get(u.revisionId)} ${u.action}`), ['lcu PreDeploymentCheck', 'lcuX64 Bundle']);
  });

  it('drop revisions the catalog no longer offers (an older revision, an unknown id) and those whose prerequisites are gone', () => {
    const a = answer(planSyncUpdates(scopeFor([WORKSTATIONS]), { ...held, otherCachedUpdateIds: [...settled.other, 42, 42] }));
    assert.deepEqual(a.outOfScopeRevisionIds, [42]);
    // The client no longer reports Windows 11 installed: what needs it is no longer needed.
    const b = answer(planSyncUpdates(scopeFor([WORKSTATIONS]), { ...held, installedNonLeafUpdateIds: settled.installed.filter((r) => r !== N.win11) }));
    assert.deepEqual(b.outOfScopeRevisionIds.map((r) => nameOf.get(r)), ['ssu', 'lcu', 'lcuX64', 'oldLcu', 'removeMe']);
  });

  it('send the new deployment of a held revision whose approval changed after the watermark', () => {
    const changedApprovals = [...APPROVALS, approve('oldLcu', WORKSTATIONS, 'Install', '2026-11-30T00:00:00Z')];
    const scope = scopeFor([WORKSTATIONS], changedApprovals);
    const positions = new Map([[N.oldLcu, 11], [N.lcu, 9], [N.officeFix, 12], [77_777, 13]]);
    const a = answer(planSyncUpdates(scope, held, { deploymentChanges: { watermark: 10, positions } }));
    assert.deepEqual(a.changedUpdates.map((u) => [nameOf.get(u.revisionId), u.action, u.deadline, u.isLeaf]), [['oldLcu', 'Install', '2026-11-30T00:00:00Z', true]]);
    assert.deepEqual(a.newUpdates, []);
    // Same answer when the change list is longer than what the client holds.
    const many = new Map(positions);
    for (let k = 0; k < 100; k++) many.set(500_000 + k, 20);
    assert.deepEqual(answer(planSyncUpdates(scope, held, { deploymentChanges: { watermark: 10, positions: many } })).changedUpdates, a.changedUpdates);
    // Nothing changed after the watermark: nothing to send.
    assert.deepEqual(answer(planSyncUpdates(scope, held, { deploymentChanges: { watermark: 11, positions } })).changedUpdates, []);
  });
});

// ---------------------------------------------------------------------------------------------
// Replay: the real agent's first scan against the real WSUS (fixtures wsus-m0-native/scan)

interface CapturedInfo {
  readonly id: number;
  readonly action: string;
  readonly isLeaf: boolean;
  readonly core: string;
}

interface CapturedSync {
  readonly exchange: string;
  readonly request: SyncRequest;
  readonly newUpdates: CapturedInfo[];
  readonly truncated: boolean;
  readonly driverSyncNotNeeded: string | undefined;
  readonly outOfScope: number[];
}

function ints(xml: string, element: string): number[] {
  const m = new RegExp(`<${element}>(.*?)</${element}>`, 's').exec(xml);
  return m === null ? [] : [...m[1]!.matchAll(/<int>(-?\d+)<\/int>/g)].map((x) => Number(x[1]));
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function capturedSyncs(): CapturedSync[] {
  const dir = fixturePath('wsus-m0-native', 'scan');
  const out: CapturedSync[] = [];
  for (const exchange of readdirSync(dir).filter((d) => /^\d+$/.test(d)).sort()) {
    const meta = JSON.parse(readFixtureText('wsus-m0-native', 'scan', exchange, 'meta.json')) as { soap_action: string };
    if (!meta.soap_action.includes('/SyncUpdates')) continue;
    const request = readFixtureText('wsus-m0-native', 'scan', exchange, 'request.body');
    const response = readFixtureText('wsus-m0-native', 'scan', exchange, 'response.body');
    const newUpdates = [...response.matchAll(/<UpdateInfo>(.*?)<\/UpdateInfo>/gs)].map((m) => {
      const u = m[1]!;
      return {
        id: Number(/^<ID>(\d+)<\/ID>/.exec(u)![1]),
        action: /<Action>(\w+)<\/Action>/.exec(u)![1]!,
        isLeaf: /<IsLeaf>(\w+)<\/IsLeaf>/.exec(u)![1] === 'true',
        core: unescapeXml(/<Xml>(.*?)<\/Xml>/s.exec(u)![1]!),
      };
    });
    out.push({
      exchange,
      request: {
        skipSoftwareSync: /<SkipSoftwareSync>true<\/SkipSoftwareSync>/.test(request),
        hasSystemSpec: /<SystemSpec>/.test(request),
        installedNonLeafUpdateIds: ints(request, 'InstalledNonLeafUpdateIDs'),
        otherCachedUpdateIds: ints(request, 'OtherCachedUpdateIDs'),
        cachedDriverIds: ints(request, 'CachedDriverIDs'),
        filterCategoryIds: [...request.matchAll(/<CategoryIdentifier><Id>([^<]+)<\/Id><\/CategoryIdentifier>/g)].map((m) => m[1]!),
        needTwoGroupOutOfScopeUpdates: /<NeedTwoGroupOutOfScopeUpdates>true</.test(request),
      },
      newUpdates,
      truncated: /<Truncated>true<\/Truncated>/.test(response),
      driverSyncNotNeeded: /<DriverSyncNotNeeded>(\w+)<\/DriverSyncNotNeeded>/.exec(response)?.[1],
      outOfScope: ints(response, 'OutOfScopeRevisionIDs'),
    });
  }
  return out;
}

/** A graph revision from a Core fragment as the real WSUS sent it (identity, type, prerequisites). */
function revisionFromCore(revisionId: number, core: string): GraphRevision {
  const updateId = canonicalGuid(/<UpdateIdentity UpdateID="([^"]+)"/.exec(core)![1]!)!;
  const updateType = /<Properties UpdateType="(\w+)"/.exec(core)![1] as UpdateType;
  const prerequisites: PrerequisiteClause[] = [];
  const block = /<Prerequisites>(.*?)<\/Prerequisites>/s.exec(core)?.[1] ?? '';
  for (const m of block.matchAll(/<AtLeastOne( IsCategory="true")?>(.*?)<\/AtLeastOne>|<UpdateIdentity UpdateID="([^"]+)"[^>]*\/>/gs)) {
    if (m[3] !== undefined) prerequisites.push(req(canonicalGuid(m[3])!));
    else prerequisites.push({ updateIds: [...m[2]!.matchAll(/UpdateID="([^"]+)"/g)].map((x) => canonicalGuid(x[1]!)!), isCategory: m[1] !== undefined });
  }
  return { revisionId, updateId, updateType, prerequisites };
}

describe('replay of the real scan (wsus-m0-native/scan)', () => {
  const syncs = capturedSyncs();
  const OOBE_ZDP = 'dd78b8a1-0b20-45c1-add6-4da72e9364cf';

  // What the capture reveals of the lab catalog: the three categories, with their real revision
  // ids and prerequisites, from the Core fragments WSUS sent. The rest of the lab catalog is
  // unknown; these stand-ins fill it out so that the category filter has something to leave out:
  // classifications and detectoids (roots), another product under Windows with an approved bundle,
  // its child and a prerequisite detectoid. None of them names OOBE ZDP, which the real answer
  // marks IsLeaf=true.
  const standIns: GraphRevision[] = [
    { revisionId: 90_001, updateId: CLASSIFICATIONS.securityUpdates, updateType: 'Category', prerequisites: [] },
    { revisionId: 90_002, updateId: CLASSIFICATIONS.criticalUpdates, updateType: 'Category', prerequisites: [] },
    { revisionId: 90_003, updateId: uid(90_003), updateType: 'Detectoid', prerequisites: [] },
    { revisionId: 90_004, updateId: uid(90_004), updateType: 'Category', prerequisites: [cat(WINDOWS_PRODUCT_FAMILY_ID)] },
    {
      revisionId: 90_005,
      updateId: uid(90_005),
      updateType: 'Software',
      prerequisites: [cat(uid(90_004)), cat(CLASSIFICATIONS.securityUpdates), req(uid(90_003))],
      bundledUpdateIds: [uid(90_006)],
    },
    { revisionId: 90_006, updateId: uid(90_006), updateType: 'Software', prerequisites: [req(uid(90_003)), req(uid(90_004))] },
  ];

  function replayGraph(): CatalogGraph {
    const seen = new Map<number, GraphRevision>();
    for (const s of syncs) for (const u of s.newUpdates) seen.set(u.id, revisionFromCore(u.id, u.core));
    return compileCatalogGraph([...seen.values(), ...standIns]);
  }

  it('finds the rounds the capture holds: three software calls and a driver pass', () => {
    assert.deepEqual(syncs.map((s) => s.exchange), ['000006', '000007', '000008', '000009']);
    assert.deepEqual(syncs.map((s) => s.request.installedNonLeafUpdateIds), [[], [108226], [108226, 108231], [108226, 108231]]);
    assert.deepEqual(syncs.map((s) => s.request.skipSoftwareSync), [false, false, false, true]);
    assert.deepEqual(syncs.map((s) => s.newUpdates.map((u) => `${u.id} ${u.action} ${u.isLeaf}`)), [
      ['108226 Evaluate false'],
      ['108231 Evaluate false'],
      ['72571 Evaluate true'],
      [],
    ]);
    const graph = replayGraph();
    assert.deepEqual(prerequisiteUpdateIds(graph, graph.byRevisionId.get(108231)!), [[MICROSOFT_COMPANY_ID]]);
    assert.deepEqual(prerequisiteUpdateIds(graph, graph.byRevisionId.get(72571)!), [[WINDOWS_PRODUCT_FAMILY_ID]]);
  });

  it('answers each real request as the real WSUS did', () => {
    const graph = replayGraph();
    const effective = new Map<string, EffectiveApproval>([
      [uid(90_005), { updateId: uid(90_005), action: 'Install', groupId: ALL, depth: 0, source: 'direct', approvalId: 'x' }],
    ]);
    const scope = buildScanScope(graph, effective);
    for (const s of syncs) {
      const a = answer(planSyncUpdates(scope, s.request));
      assert.deepEqual(
        a.newUpdates.map((u) => `${u.revisionId} ${u.action} ${u.isLeaf}`),
        s.newUpdates.map((u) => `${u.id} ${u.action} ${u.isLeaf}`),
        `exchange ${s.exchange}`,
      );
      assert.equal(a.truncated, s.truncated, `exchange ${s.exchange}`);
      assert.equal(String(a.driverSyncNotNeeded), s.driverSyncNotNeeded);
      assert.deepEqual(a.outOfScopeRevisionIds, s.outOfScope);
    }
    // The same catalog without the category filter starts with every root instead.
    const first = answer(planSyncUpdates(scope, { ...syncs[0]!.request, filterCategoryIds: [] }));
    assert.deepEqual(first.newUpdates.map((u) => u.revisionId), [90_001, 90_003, 108226, 90_002]);
  });

  it('makes a simulated agent send the requests the real agent sent', () => {
    const scope = buildScanScope(replayGraph(), new Map());
    // All three categories evaluate installed (IsInstalled True, or Windows ≥ 6.3 for OOBE ZDP).
    const { rounds } = walk(scope, () => true, {}, {}, { filterCategoryIds: [OOBE_ZDP], needTwoGroupOutOfScopeUpdates: true });
    assert.deepEqual(
      rounds.map((r) => r.request.installedNonLeafUpdateIds),
      syncs.filter((s) => !s.request.skipSoftwareSync).map((s) => s.request.installedNonLeafUpdateIds),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Timing on a synthetic catalog (printed, not asserted)

describe('timing (printed, not asserted)', () => {
  it('50,000 revisions, 10,000 clients', () => {
    let x = 2463534242;
    const rand = (n: number) => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x % n;
    };
    const revisions: GraphRevision[] = [];
    let next = 1;
    const add = (updateType: UpdateType, prerequisites: PrerequisiteClause[], bundledUpdateIds?: string[]): string => {
      const r = next++;
      revisions.push({ revisionId: r * 3, updateId: uid(r), updateType, prerequisites, ...(bundledUpdateIds ? { bundledUpdateIds } : {}) });
      return uid(r);
    };
    const company = add('Category', []);
    const families = Array.from({ length: 10 }, () => add('Category', [cat(company)]));
    const products = Array.from({ length: 200 }, (_, k) => add('Category', [cat(families[k % 10]!)]));
    const classifications = Array.from({ length: 14 }, () => add('Category', []));
    for (let k = 0; k < 250; k++) add('Category', [cat(products[rand(200)]!)]);
    const rootDetectoids = Array.from({ length: 300 }, () => add('Detectoid', []));
    // Detectoids nothing requires: the lab catalog held 3,433 (wsus-m0-cbs/catalog-stats.json).
    for (let k = 0; k < 3400; k++) add('Detectoid', []);
    const detectoids = Array.from({ length: 3200 }, () => add('Detectoid', [req(rootDetectoids[rand(300)]!)]));
    const software: string[] = [];
    const leafClauses = (): PrerequisiteClause[] => [req(detectoids[rand(3200)]!), cat(products[rand(200)]!), cat(classifications[rand(14)]!)];
    for (let k = 0; k < 3000; k++) software.push(add('Software', leafClauses()));
    while (revisions.length < 50_000 - 4) {
      if (rand(3) === 0) {
        const product = products[rand(200)]!;
        const children = Array.from({ length: 3 }, () => add('Software', [req(detectoids[rand(3200)]!), req(product)]));
        software.push(add('Software', [cat(product), cat(classifications[rand(14)]!), req(software[rand(3000)]!)], children));
      } else {
        software.push(add('Software', leafClauses()));
      }
    }
    let t = performance.now();
    const graph = compileCatalogGraph(revisions);
    const compileMs = performance.now() - t;
    t = performance.now();
    compileCatalogGraph(revisions);
    const recompileMs = performance.now() - t;

    const groups: ComputerGroup[] = Array.from({ length: 20 }, (_, k) => ({ id: uid(900_000 + k), name: `g${k}`, parentId: k < 5 ? ALL : uid(900_000 + (k % 5)), builtin: false }));
    const approvals: Approval[] = [];
    for (let k = 0; k < 8000; k++) {
      const groupId = rand(4) === 0 ? ALL : groups[rand(20)]!.id;
      approvals.push({ id: `s${k}`, updateId: software[rand(software.length)]!, revisionNumber: 1, groupId, action: rand(10) === 0 ? 'Uninstall' : 'Install', adminName: 't', createdAt: '2026-10-01T00:00:00Z' });
    }
    const security = new Set(classifications.slice(0, 2));
    const classOf = new Map(revisions.map((r) => [r.updateId, r.prerequisites.find((c) => c.isCategory && classifications.includes(c.updateIds[0]!))?.updateIds[0]]));
    t = performance.now();
    const effective = effectiveApprovals({
      groups,
      memberships: [groups[7]!.id, groups[13]!.id],
      approvals,
      declines: software.slice(0, 500),
      autoDetect: { updateIds: software, classificationOf: (u) => classOf.get(u), classifications: security },
    });
    const approvalsMs = performance.now() - t;
    t = performance.now();
    const scope = buildScanScope(graph, effective, new Set(software.slice(0, 500)));
    const scopeMs = performance.now() - t;

    // A client: installs a few products, every classification, a quarter of the detectoids.
    const installedUpdates = new Set<string>([company, ...families.slice(0, 3), ...products.slice(0, 40), ...classifications]);
    for (const d of rootDetectoids) if (rand(6) === 0) installedUpdates.add(d);
    for (const d of detectoids) if (rand(16) === 0) installedUpdates.add(d);
    const isInstalled = (r: number) => installedUpdates.has(graph.updateIds[graph.byRevisionId.get(r)!]!);
    t = performance.now();
    const scan = walk(scope, isInstalled);
    const walkMs = performance.now() - t;
    const delivered = scan.rounds.reduce((n, r) => n + r.answer.newUpdates.length, 0);

    // Steady state: 10,000 clients, each rescanning with everything it holds, on 10 distinct scopes.
    const scopes = [scope, ...Array.from({ length: 9 }, (_, k) => buildScanScope(graph, effectiveApprovals({ groups, memberships: [groups[k]!.id], approvals, declines: [] })))];
    const rescan: SyncRequest = { skipSoftwareSync: false, installedNonLeafUpdateIds: scan.installed, otherCachedUpdateIds: scan.other };
    t = performance.now();
    for (let c = 0; c < 10_000; c++) planSyncUpdates(scopes[c % 10]!, rescan);
    const rescanMs = performance.now() - t;

    const rows = [
      ['catalog revisions', graph.size],
      ['compile graph, first / again (ms)', `${compileMs.toFixed(0)} / ${recompileMs.toFixed(0)}`],
      ['effective approvals, 2 groups, 8,000 approvals (ms)', approvalsMs.toFixed(1)],
      ['build scope (ms) / revisions in scope', `${scopeMs.toFixed(1)} / ${scope.size}`],
      ['first scan: requests / revisions delivered / total ms / ms per request', `${scan.rounds.length} / ${delivered} / ${walkMs.toFixed(0)} / ${(walkMs / scan.rounds.length).toFixed(2)}`],
      ['client holds: installed non-leaf / other cached', `${scan.installed.length} / ${scan.other.length}`],
      ['10,000 steady-state rescans: total ms / ms each', `${rescanMs.toFixed(0)} / ${(rescanMs / 10_000).toFixed(3)}`],
    ];
    console.log(rows.map(([k, v]) => `  ${String(k).padEnd(76)} ${v}`).join('\n'));
    assert.ok(scan.installed.length <= 400);
  });
});

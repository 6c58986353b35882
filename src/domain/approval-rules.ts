// Which approval a computer gets for each update (DESIGN §3 "Approval"), resolved as WSUS resolves
// it. Sources:
//
// - Microsoft, "Plan your WSUS deployment", section "Conflict Resolution" (learn.microsoft.com,
//   windows-server/administration/windows-server-update-services/plan/plan-your-wsus-deployment;
//   MicrosoftDocs/windowsserverdocs): computers belong to All Computers and to any number of groups;
//   an update approved for a group is deployed to its descendant groups too; conflicts are settled by
//   (1) priority: the deeper group wins, depth alone, "all branches have equal priority" (a group two
//   levels down one branch beats a group one level down another), (2) Install overrides Uninstall,
//   (3) an action with a deadline overrides one without, an earlier deadline a later one.
// - WSUS API UpdateApprovalAction (ms823938) and IUpdateApproval.Delete (ms820602): Block keeps an
//   update approved for All Computers from a group, which is how "Not approved" under an approved
//   parent is expressed; Scan (= PreDeploymentCheck) only reports applicability; Bundle children
//   take the action of their bundle. IUpdate.Approve (ms747129): a deadline applies to Install and
//   Uninstall only.
// - MS-WUSP 2.2.2.2.4: a Block deployment SHOULD reach the client as PreDeploymentCheck (the scan
//   planner does that; here Block stays Block).
//
// Choices where the documents are silent, applied within the same depth: Install > Uninstall >
// PreDeploymentCheck > Block (a group that approves beats one that only detects, which beats one
// that blocks); an explicit approval beats the automatic detection approval; the newest approval
// of one group for one update replaces older ones (WSUS keeps one per group); remaining ties go to
// the smaller group id, then approval id, so the result never depends on input order. "Not
// approved" is the absence of an approval. Inherited approvals keep the depth of the group they
// were made on. Declined updates get nothing. Critical and Security updates (configurable) are
// approved for detection (PreDeploymentCheck) on All Computers unless an approval says otherwise.
//
// The order above is total, so resolving over all candidates equals resolving per group first and
// combining the winners: the service keeps one map per group (groupEffectiveApprovals, from the
// group's ancestor chain), combines the maps of a computer's groups (combineEffectiveApprovals),
// and after one approval changes recomputes that update only, for the group and its descendants
// (affectedGroups + effectiveApprovalOfUpdate).
import { BUILTIN_GROUPS, type Approval, type ApprovalAction, type ComputerGroup, type Decline } from './deployment.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS } from './wellknown.ts';

export interface GroupTree {
  readonly groups: ReadonlyMap<string, ComputerGroup>;
  /** All Computers is 0, its children 1, and so on. */
  readonly depth: ReadonlyMap<string, number>;
  readonly children: ReadonlyMap<string, readonly string[]>;
}

/** The group tree, with the built-in groups added when missing. Throws on orphans and cycles. */
export function buildGroupTree(groups: readonly ComputerGroup[]): GroupTree {
  const byId = new Map<string, ComputerGroup>();
  for (const g of BUILTIN_GROUPS) byId.set(g.id, g);
  for (const g of groups) byId.set(g.id, g);
  const children = new Map<string, string[]>();
  for (const g of byId.values()) {
    if (g.id === ALL_COMPUTERS_GROUP_ID) continue;
    if (g.parentId === undefined) throw new Error(`group ${g.id} has no parent; only All Computers may lack one`);
    if (!byId.has(g.parentId)) throw new Error(`group ${g.id} names an unknown parent ${g.parentId}`);
    const list = children.get(g.parentId) ?? [];
    list.push(g.id);
    children.set(g.parentId, list);
  }
  const depth = new Map<string, number>([[ALL_COMPUTERS_GROUP_ID, 0]]);
  const queue = [ALL_COMPUTERS_GROUP_ID];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    for (const child of children.get(id) ?? []) {
      depth.set(child, depth.get(id)! + 1);
      queue.push(child);
    }
  }
  // A group not reached from All Computers sits on a cycle.
  for (const id of byId.keys()) {
    if (!depth.has(id)) throw new Error(`group ${id} is not under All Computers (its parents form a cycle)`);
  }
  for (const list of children.values()) list.sort();
  return { groups: byId, depth, children };
}

function depthOf(tree: GroupTree, groupId: string): number {
  const d = tree.depth.get(groupId);
  if (d === undefined) throw new Error(`unknown computer group ${groupId}`);
  return d;
}

/** `groupId`, its parent, ..., All Computers. */
export function ancestorChain(tree: GroupTree, groupId: string): string[] {
  depthOf(tree, groupId);
  const chain: string[] = [];
  for (let id: string | undefined = groupId; id !== undefined; id = tree.groups.get(id)?.parentId) chain.push(id);
  return chain;
}

/** The group and every group under it: whose effective approvals an approval on `groupId` can change. */
export function affectedGroups(tree: GroupTree, groupId: string): string[] {
  depthOf(tree, groupId);
  const out = [groupId];
  for (let i = 0; i < out.length; i++) out.push(...(tree.children.get(out[i]!) ?? []));
  return out;
}

export type ApprovalSource = 'direct' | 'inherited' | 'autoDetect';

export interface EffectiveApproval {
  readonly updateId: string;
  readonly action: ApprovalAction;
  /** ISO-8601 UTC, Install and Uninstall only. */
  readonly deadline?: string;
  /** The group the winning approval was made on (All Computers for automatic detection). */
  readonly groupId: string;
  readonly depth: number;
  /** `direct`: made on a group the computer (or the group asked about) is a member of. */
  readonly source: ApprovalSource;
  /** The approval (deployment) behind it; absent for automatic detection. */
  readonly approvalId?: string;
  readonly revisionNumber?: number;
}

const ACTION_RANK: Readonly<Record<ApprovalAction, number>> = { Install: 3, Uninstall: 2, PreDeploymentCheck: 1, Block: 0 };

function deadlineMs(e: EffectiveApproval): number {
  if (e.deadline === undefined) return Infinity;
  const t = Date.parse(e.deadline);
  return Number.isNaN(t) ? Infinity : t;
}

/** Positive when `a` wins over `b`, negative when `b` wins; 0 only for the same approval. */
export function compareApprovals(a: EffectiveApproval, b: EffectiveApproval): number {
  if (a.depth !== b.depth) return a.depth - b.depth;
  if (a.action !== b.action) return ACTION_RANK[a.action] - ACTION_RANK[b.action];
  const da = deadlineMs(a);
  const db = deadlineMs(b);
  if (da !== db) return da < db ? 1 : -1;
  const autoA = a.source === 'autoDetect';
  if (autoA !== (b.source === 'autoDetect')) return autoA ? -1 : 1;
  if (a.groupId !== b.groupId) return a.groupId < b.groupId ? 1 : -1;
  const ia = a.approvalId ?? '';
  const ib = b.approvalId ?? '';
  if (ia !== ib) return ia < ib ? 1 : -1;
  return 0;
}

/** The winner among candidate approvals of one update, or undefined when there are none. */
export function resolveApproval(candidates: Iterable<EffectiveApproval>): EffectiveApproval | undefined {
  let best: EffectiveApproval | undefined;
  for (const c of candidates) if (best === undefined || compareApprovals(c, best) > 0) best = c;
  return best;
}

export const DEFAULT_AUTO_DETECT_CLASSIFICATIONS: ReadonlySet<string> = new Set([
  CLASSIFICATIONS.criticalUpdates,
  CLASSIFICATIONS.securityUpdates,
]);

export interface AutoDetect {
  /** The updates to consider, typically every software update of the catalog. */
  readonly updateIds: Iterable<string>;
  /** Classification id(s) of an update, lower-case. */
  classificationOf(updateId: string): string | readonly string[] | undefined;
  /** Default: Critical Updates and Security Updates. */
  readonly classifications?: ReadonlySet<string>;
}

/** The updates approved for detection without anyone approving them. Compute once per catalog change. */
export function autoDetectedUpdates(autoDetect: AutoDetect): Set<string> {
  const wanted = autoDetect.classifications ?? DEFAULT_AUTO_DETECT_CLASSIFICATIONS;
  const out = new Set<string>();
  for (const id of autoDetect.updateIds) {
    const c = autoDetect.classificationOf(id);
    if (c === undefined) continue;
    if (typeof c === 'string' ? wanted.has(c) : c.some((x) => wanted.has(x))) out.add(id);
  }
  return out;
}

export function declinedSet(declines: Iterable<Decline | string>): Set<string> {
  const out = new Set<string>();
  for (const d of declines) out.add(typeof d === 'string' ? d : d.updateId);
  return out;
}

/** Approvals per group, keeping per (group, update) only the newest one: WSUS holds one. */
export function indexApprovals(approvals: Iterable<Approval>): Map<string, Approval[]> {
  const newest = new Map<string, Approval>();
  for (const a of approvals) {
    const key = `${a.groupId}\u0000${a.updateId}`;
    const seen = newest.get(key);
    if (seen === undefined) {
      newest.set(key, a);
      continue;
    }
    const ta = Date.parse(a.createdAt);
    const ts = Date.parse(seen.createdAt);
    if (ta > ts || (ta === ts && a.id > seen.id)) newest.set(key, a);
  }
  const byGroup = new Map<string, Approval[]>();
  for (const a of newest.values()) {
    const list = byGroup.get(a.groupId) ?? [];
    list.push(a);
    byGroup.set(a.groupId, list);
  }
  return byGroup;
}

function fromApproval(a: Approval, depth: number, source: ApprovalSource): EffectiveApproval {
  const withDeadline = a.deadline !== undefined && (a.action === 'Install' || a.action === 'Uninstall');
  return {
    updateId: a.updateId,
    action: a.action,
    ...(withDeadline ? { deadline: a.deadline } : {}),
    groupId: a.groupId,
    depth,
    source,
    approvalId: a.id,
    revisionNumber: a.revisionNumber,
  };
}

function autoDetectApproval(updateId: string): EffectiveApproval {
  return { updateId, action: 'PreDeploymentCheck', groupId: ALL_COMPUTERS_GROUP_ID, depth: 0, source: 'autoDetect' };
}

function keepBest(map: Map<string, EffectiveApproval>, e: EffectiveApproval): void {
  const seen = map.get(e.updateId);
  if (seen === undefined || compareApprovals(e, seen) > 0) map.set(e.updateId, e);
}

export interface GroupApprovalsInput {
  readonly tree: GroupTree;
  readonly groupId: string;
  /** From indexApprovals. */
  readonly approvalsByGroup: ReadonlyMap<string, readonly Approval[]>;
  readonly declined: ReadonlySet<string>;
  /** From autoDetectedUpdates. */
  readonly autoDetected?: ReadonlySet<string>;
}

/** What a computer that is a member of `groupId` (and so of its ancestors) gets, per update id. */
export function groupEffectiveApprovals(input: GroupApprovalsInput): Map<string, EffectiveApproval> {
  const { tree, groupId, approvalsByGroup, declined } = input;
  const out = new Map<string, EffectiveApproval>();
  for (const id of ancestorChain(tree, groupId)) {
    const depth = depthOf(tree, id);
    const source: ApprovalSource = id === groupId ? 'direct' : 'inherited';
    for (const a of approvalsByGroup.get(id) ?? []) {
      if (!declined.has(a.updateId)) keepBest(out, fromApproval(a, depth, source));
    }
  }
  for (const updateId of input.autoDetected ?? []) {
    if (!declined.has(updateId)) keepBest(out, autoDetectApproval(updateId));
  }
  return out;
}

/**
 * Combines the maps of the groups a computer belongs to. With `memberships`, `source` is made
 * relative to the computer (an approval on one of its own groups is direct).
 */
export function combineEffectiveApprovals(
  maps: Iterable<ReadonlyMap<string, EffectiveApproval>>,
  memberships?: Iterable<string>,
): Map<string, EffectiveApproval> {
  const out = new Map<string, EffectiveApproval>();
  for (const map of maps) for (const e of map.values()) keepBest(out, e);
  if (memberships === undefined) return out;
  const own = new Set(memberships);
  for (const [id, e] of out) {
    if (e.source === 'autoDetect') continue;
    const source: ApprovalSource = own.has(e.groupId) ? 'direct' : 'inherited';
    if (source !== e.source) out.set(id, { ...e, source });
  }
  return out;
}

export interface UpdateApprovalInput {
  readonly tree: GroupTree;
  readonly groupId: string;
  readonly updateId: string;
  /** Approvals of this update, on any groups. */
  readonly approvals: readonly Approval[];
  readonly declined: boolean;
  readonly autoDetected: boolean;
}

/** One update for one group: what to patch into a cached per-group map after a change. */
export function effectiveApprovalOfUpdate(input: UpdateApprovalInput): EffectiveApproval | undefined {
  if (input.declined) return undefined;
  const { tree, groupId } = input;
  const chain = new Set(ancestorChain(tree, groupId));
  const candidates: EffectiveApproval[] = [];
  for (const list of indexApprovals(input.approvals.filter((a) => a.updateId === input.updateId && chain.has(a.groupId))).values()) {
    for (const a of list) candidates.push(fromApproval(a, depthOf(tree, a.groupId), a.groupId === groupId ? 'direct' : 'inherited'));
  }
  if (input.autoDetected) candidates.push(autoDetectApproval(input.updateId));
  return resolveApproval(candidates);
}

export interface ComputerApprovalsInput {
  readonly groups: readonly ComputerGroup[];
  /** The groups the computer was put in (All Computers is implied). */
  readonly memberships: readonly string[];
  readonly approvals: Iterable<Approval>;
  readonly declines: Iterable<Decline | string>;
  readonly autoDetect?: AutoDetect;
}

/** Effective approval of every update for one computer: the whole computation in one call. */
export function effectiveApprovals(input: ComputerApprovalsInput): Map<string, EffectiveApproval> {
  const tree = buildGroupTree(input.groups);
  const approvalsByGroup = indexApprovals(input.approvals);
  const declined = declinedSet(input.declines);
  const autoDetected = input.autoDetect === undefined ? undefined : autoDetectedUpdates(input.autoDetect);
  const groups = input.memberships.length > 0 ? [...new Set(input.memberships)] : [ALL_COMPUTERS_GROUP_ID];
  const maps = groups.map((groupId) =>
    groupEffectiveApprovals({ tree, groupId, approvalsByGroup, declined, ...(autoDetected ? { autoDetected } : {}) }),
  );
  return combineEffectiveApprovals(maps, groups);
}

export interface CarriedApproval {
  readonly updateId: string;
  /** The bundle that carries it (the nearest, for bundles inside bundles). */
  readonly bundleId: string;
  /** The effective approval of the outermost approved bundle: the action the child follows. */
  readonly approval: EffectiveApproval;
}

/**
 * Updates that come with an effectively approved bundle and are not approved themselves: they are
 * deployed with action Bundle, doing what their bundle does. Declined children stay out.
 */
export function carriedByBundles(
  effective: ReadonlyMap<string, EffectiveApproval>,
  bundledUpdatesOf: (updateId: string) => readonly string[] | undefined,
  declined: ReadonlySet<string> = new Set(),
): Map<string, CarriedApproval> {
  const out = new Map<string, CarriedApproval>();
  const queue: { bundleId: string; approval: EffectiveApproval }[] = [];
  for (const id of [...effective.keys()].sort()) queue.push({ bundleId: id, approval: effective.get(id)! });
  for (let i = 0; i < queue.length; i++) {
    const { bundleId, approval } = queue[i]!;
    for (const child of bundledUpdatesOf(bundleId) ?? []) {
      if (effective.has(child) || out.has(child) || declined.has(child)) continue;
      out.set(child, { updateId: child, bundleId, approval });
      queue.push({ bundleId: child, approval });
    }
  }
  return out;
}

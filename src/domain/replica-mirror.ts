// What a replica downstream server changes to mirror its upstream's GetDeployments answer
// (WSUS-PROTOCOLS §2.8): pure, so every rule is tested without a database or a network.
//
// - Groups: the upstream lists every group each time, so the local table is made equal to the
//   list. Built-in groups (same well-known ids everywhere) are kept whatever the list says.
//   Groups missing from the list are deleted, and their approvals with them.
// - Deployments: approvals, keyed by deployment GUID; one approval per update and group, so an
//   upserted one replaces whatever that group had for that update.
// - DeadDeployments: approvals the upstream replaced or removed; deleted here.
// - HiddenUpdates: declined upstream. With a deployment anchor the lists hold what changed since
//   it, so an incremental answer only adds declines; an update reinstated upstream comes as its
//   decline's deployment GUID among the DeadDeployments (replica-feed.ts declineDeploymentId), and
//   its decline goes. Without an anchor
//   (first sync, or after the upstream changed) the answer is the whole state: approvals and
//   declines not in it are removed, so a replica that starts over ends equal to its upstream.
// - A deployment of a revision this server does not hold (its metadata was not synchronized, or
//   came after the sync anchor we sent) is skipped, and the deployment anchor is not advanced:
//   the next call asks from the old anchor again, so the skipped approval is sent again. Applying
//   the rest twice changes nothing (upserts of equal values are no-ops).
import type { Approval, ApprovalAction, ComputerGroup } from './deployment.ts';
import { declineDeploymentId, DEPLOYMENT_ACTION_CODES, NO_PARENT_GROUP } from './replica-feed.ts';

/** The decoded GetDeployments result. */
export interface DeploymentFeed {
  /** The anchor to send next time. */
  readonly anchor: string;
  readonly groups: readonly ComputerGroup[];
  readonly deployments: readonly Approval[];
  readonly dead: readonly string[];
  readonly hidden: readonly string[];
}

export interface LocalDeploymentState {
  readonly groups: readonly ComputerGroup[];
  readonly approvals: readonly Pick<Approval, 'id' | 'updateId' | 'groupId'>[];
  readonly declined: ReadonlySet<string>;
}

export interface MirrorPlan {
  /** New or changed groups, parents before children. */
  readonly upsertGroups: readonly ComputerGroup[];
  /** Local groups the upstream no longer has, children before parents. */
  readonly deleteGroups: readonly string[];
  /** Deployment GUIDs of approvals to delete (dead, in deleted groups, or absent from a full answer). */
  readonly deleteApprovals: readonly string[];
  readonly upsertApprovals: readonly Approval[];
  /** Deployments of revisions not held (or of groups unknown): sent again next time. */
  readonly skipped: readonly Approval[];
  readonly addDeclines: readonly string[];
  /** Local declines the upstream does not have (any on a full answer; reinstated ones otherwise). */
  readonly removeDeclines: readonly string[];
  /** Whether the feed's anchor may be saved (nothing skipped). */
  readonly advanceAnchor: boolean;
}

const ACTION_BY_CODE = new Map<number, ApprovalAction>(Object.entries(DEPLOYMENT_ACTION_CODES).map(([action, code]) => [code, action as ApprovalAction]));

/** The approval action of a ServerSyncDeployment `Action` code; undefined for codes openwsus has no action for. */
export function decodeDeploymentAction(code: number): ApprovalAction | undefined {
  return ACTION_BY_CODE.get(code);
}

/**
 * A `Deadline` as openwsus stores it (ISO-8601 UTC), or undefined for "no deadline": the
 * DateTime.MaxValue sentinel, or any time in year 9999 (a .NET upstream may round it).
 */
export function decodeDeadline(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === '' || t.startsWith('9999-')) return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(t) ? t : `${t}Z`);
  if (Number.isNaN(ms)) throw new RangeError(`Deadline "${text}" is not a time`);
  return new Date(ms).toISOString();
}

/** `ParentGroupId` as openwsus stores it: the zero GUID (root) is no parent. */
export function decodeParentGroup(id: string | undefined): string | undefined {
  return id === undefined || id === NO_PARENT_GROUP ? undefined : id;
}

/** Groups ordered so each parent comes before its children; a group whose parent is absent comes last. */
export function parentsFirst(groups: readonly ComputerGroup[]): ComputerGroup[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const out: ComputerGroup[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (g: ComputerGroup): void => {
    if (placed.has(g.id) || visiting.has(g.id)) return;
    visiting.add(g.id);
    const parent = g.parentId === undefined ? undefined : byId.get(g.parentId);
    if (parent !== undefined) place(parent);
    visiting.delete(g.id);
    placed.add(g.id);
    out.push(g);
  };
  for (const g of groups) place(g);
  return out;
}

function sameGroup(a: ComputerGroup, b: ComputerGroup): boolean {
  return a.name === b.name && (a.parentId ?? '') === (b.parentId ?? '');
}

/**
 * What to change locally to mirror `feed`. `full` = the call was made without a deployment
 * anchor; `held(updateId, revisionNumber)` says whether this server holds that revision.
 */
export function planMirror(local: LocalDeploymentState, feed: DeploymentFeed, full: boolean, held: (updateId: string, revisionNumber: number) => boolean): MirrorPlan {
  const localGroups = new Map(local.groups.map((g) => [g.id, g]));
  const feedGroups = new Map(feed.groups.map((g) => [g.id, g]));

  const upsertGroups = parentsFirst(feed.groups.filter((g) => {
    const mine = localGroups.get(g.id);
    // A built-in group keeps its local name: the well-known ids mean the same group everywhere.
    if (mine?.builtin) return false;
    return mine === undefined || !sameGroup(mine, g);
  }));

  const deleted = new Set(local.groups.filter((g) => !g.builtin && !feedGroups.has(g.id)).map((g) => g.id));
  // Children before parents, by depth in the local tree.
  const depth = (id: string): number => {
    let d = 0;
    const seen = new Set<string>();
    for (let p = localGroups.get(id)?.parentId; p !== undefined && !seen.has(p); p = localGroups.get(p)?.parentId) {
      seen.add(p);
      d++;
    }
    return d;
  };
  const deleteGroups = [...deleted].sort((a, b) => depth(b) - depth(a) || a.localeCompare(b));

  const groupsAfter = new Set([...local.groups.filter((g) => !deleted.has(g.id)).map((g) => g.id), ...feed.groups.map((g) => g.id)]);
  const upsertApprovals: Approval[] = [];
  const skipped: Approval[] = [];
  for (const d of feed.deployments) {
    if (groupsAfter.has(d.groupId) && held(d.updateId, d.revisionNumber)) upsertApprovals.push(d);
    else skipped.push(d);
  }

  const deleteApprovals = new Set<string>();
  const dead = new Set(feed.dead);
  const sentIds = new Set(feed.deployments.map((d) => d.id));
  // The (update, group) slots an upserted approval takes over: the one it replaces goes by upsert.
  const replacedSlot = new Set(upsertApprovals.map((a) => `${a.updateId}|${a.groupId}`));
  for (const a of local.approvals) {
    if (deleted.has(a.groupId)) {
      deleteApprovals.add(a.id);
      continue;
    }
    // Replaced in place by the upsert (one change, not a removal and an addition).
    if (sentIds.has(a.id) || replacedSlot.has(`${a.updateId}|${a.groupId}`)) continue;
    if (dead.has(a.id) || full) deleteApprovals.add(a.id);
  }

  const hidden = new Set(feed.hidden);
  const addDeclines = [...hidden].filter((id) => !local.declined.has(id));
  // A full answer lists every decline; an incremental one names the reinstated among the dead.
  const removeDeclines = [...local.declined].filter((id) => !hidden.has(id) && (full || dead.has(declineDeploymentId(id))));

  return {
    upsertGroups,
    deleteGroups,
    deleteApprovals: [...deleteApprovals],
    upsertApprovals,
    skipped,
    addDeclines,
    removeDeclines,
    advanceAnchor: skipped.length === 0,
  };
}

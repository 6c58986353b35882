// Computer groups and computers as administrators see them (WSUS "Computers" node): shared by the
// REST API and the `openwsus groups` / `openwsus computers` commands.
import { randomUUID } from 'node:crypto';
import type { Computer } from '../../domain/computer.ts';
import type { ComputerGroup } from '../../domain/deployment.ts';
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from '../../domain/wellknown.ts';
import { refuseOnReplica } from '../../domain/replica-guard.ts';
import { resolveDownstreamSettings } from '../../domain/settings.ts';
import type { Store } from '../../store/index.ts';
import { ApiProblem } from '../problem.ts';

export interface GroupRow {
  readonly id: string;
  readonly name: string;
  readonly parentId?: string;
  readonly builtin: boolean;
  /** Computers placed in this group itself. */
  readonly computers: number;
  /** Computers in this group or any group under it, each once. */
  readonly computersInTree: number;
  readonly depth: number;
}

/** The group tree depth first (each group right after its parent, siblings by name), with counts. */
export async function groupRows(store: Store): Promise<GroupRow[]> {
  const [groups, counts, computers] = await Promise.all([store.groups.list(), store.groups.computerCounts(), store.computers.list()]);
  const parentOf = new Map(groups.map((g) => [g.id, g.parentId]));
  // A computer counts once in every group above the ones it is in; All Computers holds them all.
  const inTree = new Map<string, Set<string>>();
  for (const c of computers) {
    for (const start of [...c.groupIds, ALL_COMPUTERS_GROUP_ID]) {
      for (let g: string | undefined = start; g !== undefined; g = parentOf.get(g)) {
        let set = inTree.get(g);
        if (set === undefined) inTree.set(g, (set = new Set()));
        set.add(c.id);
      }
    }
  }
  const depth = (id: string): number => {
    let d = 0;
    for (let p = parentOf.get(id); p !== undefined && d < 64; p = parentOf.get(p)) d++;
    return d;
  };
  const children = new Map<string | undefined, ComputerGroup[]>();
  for (const g of groups) children.set(g.parentId, [...(children.get(g.parentId) ?? []), g]);
  const out: GroupRow[] = [];
  const visit = (parent: string | undefined): void => {
    const list = (children.get(parent) ?? []).sort((a, b) => Number(b.builtin) - Number(a.builtin) || a.name.localeCompare(b.name));
    for (const g of list) {
      out.push({
        id: g.id,
        name: g.name,
        ...(g.parentId !== undefined ? { parentId: g.parentId } : {}),
        builtin: g.builtin,
        computers: g.id === ALL_COMPUTERS_GROUP_ID ? computers.length : (counts.get(g.id) ?? 0),
        computersInTree: inTree.get(g.id)?.size ?? 0,
        depth: depth(g.id),
      });
      visit(g.id);
    }
  };
  visit(undefined);
  return out;
}

export async function groupById(store: Store, id: string): Promise<ComputerGroup> {
  const group = (await store.groups.list()).find((g) => g.id === id.toLowerCase());
  if (group === undefined) throw new ApiProblem(404, `unknown computer group ${id}`);
  return group;
}

/** Creates a group under `parent` (All Computers when absent); names are unique across the tree. */
export async function createGroup(store: Store, name: string, parentId: string | undefined): Promise<{ group: ComputerGroup; parent: ComputerGroup }> {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 256) throw new ApiProblem(400, 'a group name must be 1 to 256 characters', { errors: [{ field: 'body.name', message: '1 to 256 characters' }] });
  const all = await store.groups.list();
  const parent = all.find((g) => g.id === (parentId ?? ALL_COMPUTERS_GROUP_ID).toLowerCase());
  if (parent === undefined) throw new ApiProblem(404, `unknown parent group ${parentId}`);
  if (parent.id === UNASSIGNED_COMPUTERS_GROUP_ID) throw new ApiProblem(409, 'Unassigned Computers cannot have subgroups: choose another parent');
  const clash = all.find((g) => g.name.toLowerCase() === trimmed.toLowerCase());
  if (clash !== undefined) throw new ApiProblem(409, `a group named "${clash.name}" already exists: choose another name`);
  return { group: await store.groups.create({ id: randomUUID(), name: trimmed, parentId: parent.id }), parent };
}

/** Deletes an empty group; its approvals go with it. */
export async function deleteGroup(store: Store, group: ComputerGroup): Promise<{ approvalsRemoved: number }> {
  const result = await store.groups.delete(group.id);
  if (!result.deleted) throw new ApiProblem(result.reason === 'unknown' ? 404 : 409, `cannot delete group "${group.name}": ${result.message}`);
  return { approvalsRemoved: result.approvalsRemoved };
}

function osText(c: Computer): string | null {
  if (c.osDescription !== undefined) return c.osDescription;
  if (c.osMajor === undefined) return null;
  return [c.osMajor, c.osMinor, c.osBuild].filter((n) => n !== undefined).join('.');
}

export interface ComputerRow {
  readonly id: string;
  readonly name: string;
  readonly ipAddress: string | null;
  readonly os: string | null;
  readonly groups: readonly { readonly id: string; readonly name: string }[];
  readonly lastSyncAt: string | null;
  readonly lastReportAt: string | null;
  /** WSUS's "needed" counts what is applicable and not yet installed. */
  readonly updates: { readonly installed: number; readonly needed: number; readonly failed: number };
}

/** A page of computers by name with their groups and update counts, and how many match. */
export async function computerPage(store: Store, filter: { group?: string; text?: string; limit: number; offset: number }): Promise<{ total: number; computers: ComputerRow[] }> {
  // Every computer is in All Computers: asking for it filters nothing.
  const groupId = filter.group === undefined || filter.group === ALL_COMPUTERS_GROUP_ID ? undefined : filter.group;
  const [page, groups] = await Promise.all([
    store.computers.page({ ...(groupId !== undefined && { groupId }), ...(filter.text !== undefined && { text: filter.text }), limit: filter.limit, offset: filter.offset }),
    store.groups.list(),
  ]);
  const counts = await store.adminQueries.statusCountsByComputer(page.computers.map((c) => c.id));
  const nameOf = new Map(groups.map((g) => [g.id, g.name]));
  return { total: page.total, computers: page.computers.map((c) => computerRow(c, nameOf, counts.get(c.id) ?? {})) };
}

export function computerRow(c: Computer, nameOf: ReadonlyMap<string, string>, n: Partial<Record<string, number>>): ComputerRow {
  return {
    id: c.id,
    name: c.dnsName,
    ipAddress: c.ipAddress ?? null,
    os: osText(c),
    groups: c.groupIds.map((g) => ({ id: g, name: nameOf.get(g) ?? g })),
    lastSyncAt: c.lastSyncAt ?? null,
    lastReportAt: c.lastReportAt ?? null,
    updates: {
      installed: (n.Installed ?? 0) + (n.InstalledPendingReboot ?? 0),
      needed: (n.NotInstalled ?? 0) + (n.Downloaded ?? 0),
      failed: n.Failed ?? 0,
    },
  };
}

/** Puts a computer in one group (server-side targeting); it leaves its other groups. */
export async function moveComputer(store: Store, computer: Computer, group: ComputerGroup): Promise<void> {
  // Every computer is in All Computers already; "moving" there would mean no group at all.
  if (group.id === ALL_COMPUTERS_GROUP_ID) throw new ApiProblem(409, 'every computer is in All Computers: choose another group (Unassigned Computers to ungroup it)');
  // A replica takes its groups, memberships included, from the upstream.
  refuseOnReplica(resolveDownstreamSettings(await store.settings.all()).settings, 'move computers between groups');
  if (!(await store.computers.setGroups(computer.id, [group.id]))) throw new ApiProblem(404, `computer ${computer.dnsName} was removed meanwhile`);
}

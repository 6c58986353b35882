// Computer groups and computers.
import type { Handler } from '../context.ts';
import { computerPage, computerRow, createGroup, deleteGroup, groupById, groupRows, moveComputer, type GroupRow } from '../operations/groups.ts';
import { ApiProblem } from '../problem.ts';

function groupView({ depth: _depth, ...g }: GroupRow) {
  return { ...g, parentId: g.parentId ?? null };
}

async function groupRow(ctx: Parameters<Handler>[0], id: string) {
  const row = (await groupRows(ctx.store)).find((g) => g.id === id);
  if (row === undefined) throw new ApiProblem(404, `unknown computer group ${id}`);
  return groupView(row);
}

async function computerById(ctx: Parameters<Handler>[0], id: string) {
  const computer = await ctx.store.computers.get(id.toLowerCase());
  if (computer === undefined) throw new ApiProblem(404, `unknown computer ${id}`);
  return computer;
}

export const computerHandlers: Record<string, Handler> = {
  listGroups: async (ctx) => ({ groups: (await groupRows(ctx.store)).map(groupView) }),

  createGroup: async (ctx) => {
    const body = ctx.body as { name: string; parentId?: string };
    let created;
    try {
      created = await createGroup(ctx.store, body.name, body.parentId);
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 404) throw new ApiProblem(400, error.message, { errors: [{ field: 'body.parentId', message: 'unknown group' }] });
      throw error;
    }
    await ctx.audit('groups.create', created.group.name, { groupId: created.group.id, parentId: created.parent.id });
    return groupRow(ctx, created.group.id);
  },

  getGroup: async (ctx) => groupRow(ctx, ctx.params.groupId),

  deleteGroup: async (ctx) => {
    const group = await groupById(ctx.store, ctx.params.groupId);
    const { approvalsRemoved } = await deleteGroup(ctx.store, group);
    await ctx.audit('groups.delete', group.name, { groupId: group.id, approvalsRemoved });
  },

  listComputers: async (ctx) => {
    const q = ctx.query as { limit: number; offset: number; group?: string; text?: string };
    const page = await computerPage(ctx.store, q);
    return { total: page.total, offset: q.offset, limit: q.limit, computers: page.computers };
  },

  getComputer: async (ctx) => {
    const computer = await computerById(ctx, ctx.params.computerId);
    const [groups, counts, statuses, events] = await Promise.all([
      ctx.store.groups.list(),
      ctx.store.adminQueries.statusCountsByComputer([computer.id]),
      ctx.store.clientEvents.statusOf(computer.id),
      ctx.store.clientEvents.ofComputer(computer.id, { limit: 50 }),
    ]);
    const titles = await ctx.store.adminQueries.titles([...statuses.keys()]);
    const { id: _id, groupIds: _g, ...info } = computer;
    return {
      ...computerRow(computer, new Map(groups.map((g) => [g.id, g.name])), counts.get(computer.id) ?? {}),
      info,
      statuses: [...statuses].map(([updateId, status]) => ({ updateId, title: titles.get(updateId) ?? null, status })).sort((a, b) => (a.title ?? '').localeCompare(b.title ?? '')),
      events: events as unknown as Record<string, unknown>[],
    };
  },

  // Allowed on a replica too: computers register with the server they scan against, so they are
  // this server's own even when its groups and approvals come from the upstream (as in WSUS).
  deleteComputer: async (ctx) => {
    const computer = await computerById(ctx, ctx.params.computerId);
    if (!(await ctx.store.computers.delete(computer.id))) throw new ApiProblem(404, `unknown computer ${ctx.params.computerId}`);
    await ctx.audit('computers.delete', computer.dnsName, { computerId: computer.id, groupIds: computer.groupIds });
  },

  moveComputer: async (ctx) => {
    const computer = await computerById(ctx, ctx.params.computerId);
    let group;
    try {
      group = await groupById(ctx.store, (ctx.body as { groupId: string }).groupId);
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 404) throw new ApiProblem(400, error.message, { errors: [{ field: 'body.groupId', message: 'unknown group' }] });
      throw error;
    }
    await moveComputer(ctx.store, computer, group);
    await ctx.audit('computers.move', computer.dnsName, { computerId: computer.id, groupId: group.id, group: group.name });
    const [groups, counts] = await Promise.all([ctx.store.groups.list(), ctx.store.adminQueries.statusCountsByComputer([computer.id])]);
    const moved = (await ctx.store.computers.get(computer.id)) ?? computer;
    return computerRow(moved, new Map(groups.map((g) => [g.id, g.name])), counts.get(computer.id) ?? {});
  },
};

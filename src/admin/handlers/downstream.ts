// Downstream servers that synchronize from this one, with what they rolled up (servers below
// them, their computers and summaries), as helper E's rollup storage keeps it.
import type { DownstreamServer } from '../../domain/downstream.ts';
import { resetRollup } from '../../services/reporting/rollup.ts';
import type { RolledUpServer } from '../../store/rollup-repository.ts';
import type { Handler } from '../context.ts';
import { downstreamRows } from '../operations/downstream.ts';
import { ApiProblem } from '../problem.ts';

function serverView(s: DownstreamServer, rolled: RolledUpServer | undefined) {
  return {
    id: s.id,
    accountName: s.accountName,
    registeredAt: s.firstContactAt,
    lastSyncAt: s.lastContactAt,
    lastRollupAt: rolled?.lastRollupTime ?? null,
    version: rolled?.version ?? s.protocolVersion ?? null,
    replica: s.isReplica,
    details: rolled === undefined ? {} : { name: rolled.name, lastSyncTime: rolled.lastSyncTime, summary: rolled.summary, clientSummaries: rolled.clientSummaries, receivedAt: rolled.receivedAt },
  };
}

async function rolledUp(ctx: Parameters<Handler>[0]): Promise<Map<string, RolledUpServer>> {
  return new Map((await ctx.store.rollup.servers()).map((s) => [s.id.toLowerCase(), s]));
}

export const downstreamHandlers: Record<string, Handler> = {
  listDownstreamServers: async (ctx) => {
    const [servers, rolled, hierarchy] = await Promise.all([ctx.store.downstreams.list(), rolledUp(ctx), downstreamRows(ctx.store)]);
    return { servers: servers.map((s) => serverView(s, rolled.get(s.id))), hierarchy };
  },

  getDownstreamServer: async (ctx) => {
    const server = await ctx.store.downstreams.get(ctx.params.serverId);
    if (server === undefined) throw new ApiProblem(404, `unknown downstream server ${ctx.params.serverId}`);
    return serverView(server, (await rolledUp(ctx)).get(server.id));
  },

  resetRollup: async (ctx) => {
    const rollupResetId = await resetRollup(ctx.store);
    await ctx.audit('downstream.rollupReset', rollupResetId);
    return { rollupResetId };
  },

  listDownstreamComputers: async (ctx) => {
    const server = await ctx.store.downstreams.get(ctx.params.serverId);
    if (server === undefined) throw new ApiProblem(404, `unknown downstream server ${ctx.params.serverId}`);
    const q = ctx.query as { limit: number; offset: number };
    const computers = await ctx.store.rollup.computers(server.id);
    return { total: computers.length, offset: q.offset, limit: q.limit, computers: computers.slice(q.offset, q.offset + q.limit) as unknown as Record<string, unknown>[] };
  },
};

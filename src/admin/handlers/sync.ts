// Synchronizations: start now, stop, live progress (server-sent events), history.
import { ANSWERED, type Handler } from '../context.ts';
import { ApiProblem } from '../problem.ts';
import type { SyncEvent } from '../sync-runner.ts';

export const syncHandlers: Record<string, Handler> = {
  getSyncStatus: async (ctx) => ctx.sync.status(),

  startSync: async (ctx) => {
    const status = await ctx.sync.start();
    await ctx.audit('sync.start', status.run === null ? undefined : String(status.run.id));
    return status;
  },

  cancelSync: async (ctx) => {
    if (!(await ctx.sync.cancel())) throw new ApiProblem(409, 'no synchronization is running on this server');
    await ctx.audit('sync.cancel', undefined);
  },

  syncEvents: async (ctx) => {
    const { reply, request } = ctx;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let closed = false;
    let unsubscribe = (): void => {};
    const finish = (): void => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(keepAlive);
      res.end();
    };
    // Comments keep proxies from closing an idle stream during a long phase.
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    request.raw.on('close', finish);
    const buffered: SyncEvent[] = [];
    let ready = false;
    unsubscribe = ctx.sync.subscribe((event) => {
      if (!ready) {
        buffered.push(event);
        return;
      }
      deliver(event);
    });
    const deliver = (event: SyncEvent): void => {
      if (closed) return;
      if (event.type === 'progress') send('progress', event.progress);
      else {
        send('end', event.status);
        finish();
      }
    };
    const status = await ctx.sync.status();
    send('state', status);
    ready = true;
    for (const event of buffered) deliver(event);
    // Nothing runs here: the state is all there is to tell.
    if (!ctx.sync.running && !closed) {
      send('end', status);
      finish();
    }
    return ANSWERED;
  },

  listSyncRuns: async (ctx) => {
    const q = ctx.query as { limit: number; before?: number };
    return { runs: await ctx.store.syncRuns.list(q) };
  },

  getSyncRun: async (ctx) => {
    const run = await ctx.store.syncRuns.get(ctx.params.runId);
    if (run === undefined) throw new ApiProblem(404, `no synchronization run ${ctx.params.runId}`);
    return run;
  },
};

// The Overview page: this server, counts, computer status, tasks and warnings.
import { resolveDownstreamSettings, selectedLanguages, upstreamOrigin } from '../../domain/settings.ts';
import type { Task } from '../../domain/task.ts';
import type { Store } from '../../store/index.ts';
import { VERSION } from '../../app/version.ts';
import type { Handler } from '../context.ts';
import { emptyCounts, type StatusBucket } from '../operations/updates.ts';
import { ApiProblem } from '../problem.ts';

export function taskView(t: Task) {
  return { id: t.id, kind: t.kind, subject: t.subject ?? null, message: t.message, createdAt: t.createdAt, lastSeenAt: t.lastSeenAt, occurrences: t.occurrences, resolvedAt: t.resolvedAt ?? null };
}

export async function serverInfo(store: Store) {
  const { settings } = resolveDownstreamSettings(await store.settings.all());
  let upstream: string | null;
  try {
    upstream = upstreamOrigin(settings);
  } catch {
    upstream = null;
  }
  return { version: VERSION, serverId: store.serverId, database: store.dialect, replica: settings.replica, upstream };
}

/** One bucket per computer, as the WSUS overview counts them: failed beats needed beats up to date. */
export function computerBucket(counts: Partial<Record<string, number>>, reported: boolean): StatusBucket {
  if ((counts.Failed ?? 0) > 0) return 'failed';
  if ((counts.NotInstalled ?? 0) + (counts.Downloaded ?? 0) > 0) return 'needed';
  if ((counts.Installed ?? 0) + (counts.InstalledPendingReboot ?? 0) > 0) return 'installed';
  return reported ? 'notApplicable' : 'unknown';
}

export async function warnings(store: Store): Promise<{ kind: string; message: string; subject: string | null }[]> {
  const [stored, languages, [lastRun], tasks] = await Promise.all([store.settings.all(), store.languages.list(), store.syncRuns.list({ limit: 1 }), store.tasks.list({ limit: 100 })]);
  const { settings, problems } = resolveDownstreamSettings(stored);
  const out: { kind: string; message: string; subject: string | null }[] = [];
  for (const p of problems) out.push({ kind: 'settings.invalid', subject: p.key, message: `the stored value of ${p.key} is not usable (${p.reason}); its default applies` });
  // Languages selected here that the upstream does not offer: their updates never arrive (WSUS's language mismatch).
  if (languages.length > 0) {
    const offered = new Set(languages.map((l) => l.shortName.toLowerCase()));
    const wanted = selectedLanguages(settings.languages, Intl.DateTimeFormat().resolvedOptions().locale) ?? [];
    const missing = settings.languages.kind === 'list' ? wanted.filter((l) => !offered.has(l)) : [];
    if (missing.length > 0) {
      out.push({ kind: 'languages.mismatch', subject: missing.join(','), message: `the upstream server does not offer ${missing.join(', ')}: updates in ${missing.length === 1 ? 'that language' : 'those languages'} will not be synchronized; choose languages the upstream offers` });
    }
  }
  if (lastRun?.result === 'failed') out.push({ kind: 'sync.failed', subject: String(lastRun.id), message: `the last synchronization (run ${lastRun.id}, ${lastRun.startedAt}) failed: ${lastRun.error ?? 'no reason recorded'}` });
  for (const t of tasks) out.push({ kind: t.kind, subject: t.subject ?? null, message: t.message });
  return out;
}

export const overviewHandlers: Record<string, Handler> = {
  getServer: async (ctx) => serverInfo(ctx.store),

  getOverview: async (ctx) => {
    const store = ctx.store;
    const [server, sync, all, approved, declined, computers, counts, groups, downstream, warned] = await Promise.all([
      serverInfo(store),
      ctx.sync.status(),
      store.approvals.listUpdates({ limit: 1 }),
      store.approvals.listUpdates({ approved: true, limit: 1 }),
      store.approvals.listUpdates({ declined: true, limit: 1 }),
      store.computers.list(),
      store.clientEvents.statusCountsByComputer(),
      store.groups.list(),
      store.downstreams.count(),
      warnings(store),
    ]);
    const status = emptyCounts();
    for (const c of computers) status[computerBucket(counts.get(c.id) ?? {}, c.lastReportAt !== undefined || counts.has(c.id))]++;
    return {
      server,
      sync,
      counts: { updates: all.total, approved: approved.total, declined: declined.total, computers: computers.length, groups: groups.length, downstreamServers: downstream },
      status,
      warnings: warned.length,
    };
  },

  listTasks: async (ctx) => {
    const q = ctx.query as { all?: boolean; limit: number };
    return { tasks: (await ctx.store.tasks.list({ ...(q.all !== undefined && { all: q.all }), limit: q.limit })).map(taskView) };
  },

  resolveTask: async (ctx) => {
    const id = ctx.params.taskId as number;
    if (!(await ctx.store.tasks.resolve(id))) {
      const exists = (await ctx.store.tasks.list({ all: true, limit: 10_000 })).some((t) => t.id === id);
      throw new ApiProblem(exists ? 409 : 404, exists ? `task ${id} is resolved already` : `no task ${id}`);
    }
    await ctx.audit('tasks.resolve', String(id));
    const task = (await ctx.store.tasks.list({ all: true, limit: 10_000 })).find((t) => t.id === id)!;
    return taskView(task);
  },

  listWarnings: async (ctx) => ({ warnings: await warnings(ctx.store) }),
};

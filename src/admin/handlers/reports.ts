// Reports: computer status summarized per update, per group and per computer, as JSON or CSV.
import { ALL_COMPUTERS_GROUP_ID } from '../../domain/wellknown.ts';
import type { Store } from '../../store/index.ts';
import { ANSWERED, type Handler, type HandlerContext } from '../context.ts';
import { groupRows } from '../operations/groups.ts';
import { emptyCounts, STATUS_BUCKETS, statusBucket, type StatusBucket } from '../operations/updates.ts';
import { computerBucket } from './overview.ts';

type Row = { id: string; name: string } & Record<StatusBucket, number>;

/** One CSV cell: quoted, and a leading formula character defused so a spreadsheet shows it as text. */
function cell(value: string | number): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function toCsv(rows: readonly Row[]): string {
  const header = ['id', 'name', ...STATUS_BUCKETS];
  return [header.map(cell).join(','), ...rows.map((r) => [r.id, r.name, ...STATUS_BUCKETS.map((b) => r[b])].map(cell).join(','))].join('\r\n') + '\r\n';
}

function answer(ctx: HandlerContext, format: 'json' | 'csv', name: string, body: Record<string, unknown> & { rows: Row[] }): unknown {
  if (format === 'json') return body;
  ctx.reply.code(200).type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).header('cache-control', 'no-store').send(toCsv(body.rows));
  return ANSWERED;
}

/** Per update: how many computers are in each bucket; computers without a row count as not applicable once they reported. */
async function updateRows(store: Store, limit: number, offset: number) {
  const page = await store.approvals.listUpdates({ limit, offset });
  const ids = page.updates.map((u) => u.updateId);
  const [counts, reporting] = await Promise.all([store.adminQueries.statusCountsByUpdate(ids), store.adminQueries.computerReporting()]);
  const rows = page.updates.map((u) => {
    const row: Row = { id: u.updateId, name: u.title, ...emptyCounts() };
    let withRow = 0;
    for (const [status, n] of Object.entries(counts.get(u.updateId) ?? {})) {
      row[statusBucket(status, true)] += n ?? 0;
      withRow += n ?? 0;
    }
    row.notApplicable += Math.max(0, reporting.reported - withRow);
    row.unknown += reporting.total - reporting.reported;
    return row;
  });
  return { total: page.total, rows };
}

/** Per computer: how many updates are in each bucket, a page of computers by name. */
async function computerRowsReport(store: Store, limit: number, offset: number) {
  const page = await store.computers.page({ limit, offset });
  const counts = await store.adminQueries.statusCountsByComputer(page.computers.map((c) => c.id));
  const rows = page.computers.map((c) => {
    const row: Row = { id: c.id, name: c.dnsName, ...emptyCounts() };
    for (const [status, n] of Object.entries(counts.get(c.id) ?? {})) row[statusBucket(status, true)] += n ?? 0;
    return row;
  });
  return { total: page.total, rows };
}

/** Per group: its computers (with subgroups) by their worst bucket, as the WSUS console counts them. */
async function groupRowsReport(store: Store) {
  const [groups, computers, counts] = await Promise.all([groupRows(store), store.computers.list(), store.clientEvents.statusCountsByComputer()]);
  const parentOf = new Map(groups.map((g) => [g.id, g.parentId]));
  const rows = new Map<string, Row>(groups.map((g) => [g.id, { id: g.id, name: g.name, ...emptyCounts() }]));
  for (const c of computers) {
    const bucket = computerBucket(counts.get(c.id) ?? {}, c.lastReportAt !== undefined || counts.has(c.id));
    const seen = new Set<string>();
    for (const start of [...c.groupIds, ALL_COMPUTERS_GROUP_ID]) {
      for (let g: string | undefined = start; g !== undefined && !seen.has(g); g = parentOf.get(g)) {
        seen.add(g);
        const row = rows.get(g);
        if (row !== undefined) row[bucket]++;
      }
    }
  }
  return [...rows.values()];
}

export const reportHandlers: Record<string, Handler> = {
  reportUpdates: async (ctx) => {
    const q = ctx.query as { limit: number; offset: number; format: 'json' | 'csv' };
    const { total, rows } = await updateRows(ctx.store, q.limit, q.offset);
    return answer(ctx, q.format, 'updates', { total, offset: q.offset, limit: q.limit, rows });
  },

  reportGroups: async (ctx) => {
    const q = ctx.query as { format: 'json' | 'csv' };
    return answer(ctx, q.format, 'groups', { rows: await groupRowsReport(ctx.store) });
  },

  reportComputers: async (ctx) => {
    const q = ctx.query as { limit: number; offset: number; format: 'json' | 'csv' };
    const { total, rows } = await computerRowsReport(ctx.store, q.limit, q.offset);
    return answer(ctx, q.format, 'computers', { total, offset: q.offset, limit: q.limit, rows });
  },
};

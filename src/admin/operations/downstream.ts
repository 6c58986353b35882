// The downstream servers below this one as `openwsus downstream list` and the API show them: every
// server that rolled up (however deep), and those that synchronize from here but never rolled up.
import type { UpdateStatus } from '../../domain/client-event.ts';
import { bucketOfState, bucketOfStatus, emptyServerSummary, type ServerSummary, type StatusBucket } from '../../domain/rollup.ts';
import type { Store } from '../../store/index.ts';

export interface DownstreamRow {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly mode: 'replica' | 'autonomous';
  readonly parentId: string;
  /** "this server" or the parent's name. */
  readonly parent: string;
  readonly lastSyncTime: string | null;
  readonly lastRollupTime: string | null;
  readonly computersRolledUp: number;
  readonly summary: ServerSummary;
}

/** SOAP's "never" (DateTime.MinValue as WSUS sends it) as null. */
const never = (iso: string): string | null => (iso.startsWith('1753-') ? null : iso);

export async function downstreamRows(store: Store): Promise<DownstreamRow[]> {
  const [servers, computers, registered] = await Promise.all([store.rollup.servers(), store.rollup.computers(), store.downstreams.list()]);
  const selfId = store.serverId;
  const perParent = new Map<string, number>();
  for (const c of computers) perParent.set(c.parentServerId, (perParent.get(c.parentServerId) ?? 0) + 1);
  const nameOf = new Map(servers.map((s) => [s.id, s.name]));
  const rows: DownstreamRow[] = servers.map((s) => ({
    id: s.id,
    name: s.name,
    version: s.version,
    mode: s.isReplica ? 'replica' : 'autonomous',
    parentId: s.parentId,
    parent: s.parentId === selfId ? 'this server' : (nameOf.get(s.parentId) ?? s.parentId),
    lastSyncTime: never(s.lastSyncTime),
    lastRollupTime: never(s.lastRollupTime),
    computersRolledUp: perParent.get(s.id) ?? 0,
    summary: s.summary,
  }));
  // Servers synchronizing from this one that never rolled up (a WSUS whose upstream does not
  // ask for rollup, or a first synchronization under way).
  for (const d of registered) {
    if (rows.some((r) => r.id === d.id)) continue;
    rows.push({ id: d.id, name: d.accountName, version: '', mode: d.isReplica ? 'replica' : 'autonomous', parentId: selfId, parent: 'this server', lastSyncTime: null, lastRollupTime: null, computersRolledUp: 0, summary: emptyServerSummary() });
  }
  return rows;
}

export interface HierarchyStatusRow {
  readonly updateId: string;
  readonly title: string | null;
  readonly installed: number;
  readonly needed: number;
  readonly failed: number;
  readonly notApplicable: number;
  /** This server's own computers, and every computer rolled up from below. */
  readonly thisServer: Record<string, number>;
  readonly downstream: Record<string, number>;
}

/**
 * Per update: computers Installed, Needed, Failed and Not applicable across the whole hierarchy
 * (this server's computers and every computer rolled up from below); one update or every update
 * some computer reported, those needing most first.
 */
export async function hierarchyStatus(store: Store, updateId?: string): Promise<HierarchyStatusRow[]> {
  const [local, below] = await Promise.all([store.rollup.localStatusCountsByUpdate(updateId), store.rollup.statusCountsByUpdate(updateId)]);
  const out = new Map<string, { here: Record<StatusBucket, number>; below: Record<StatusBucket, number> }>();
  const empty = (): Record<StatusBucket, number> => ({ Installed: 0, Needed: 0, Failed: 0, NotApplicable: 0 });
  const entry = (id: string) => out.get(id) ?? (out.set(id, { here: empty(), below: empty() }), out.get(id)!);
  for (const [id, counts] of local) for (const [status, n] of Object.entries(counts)) entry(id).here[bucketOfStatus(status as UpdateStatus)] += n ?? 0;
  for (const c of below) for (const [state, n] of Object.entries(c.states)) entry(c.updateId).below[bucketOfState(Number(state))] += n;
  if (updateId !== undefined) entry(updateId);
  const titles = await store.adminQueries.titles([...out.keys()]);
  const rows = [...out].map(([id, v]) => ({
    updateId: id,
    title: titles.get(id) ?? null,
    installed: v.here.Installed + v.below.Installed,
    needed: v.here.Needed + v.below.Needed,
    failed: v.here.Failed + v.below.Failed,
    notApplicable: v.here.NotApplicable + v.below.NotApplicable,
    thisServer: v.here,
    downstream: v.below,
  }));
  return rows.sort((a, b) => b.needed + b.failed - (a.needed + a.failed) || a.updateId.localeCompare(b.updateId));
}

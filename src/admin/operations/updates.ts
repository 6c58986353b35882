// Approving, taking back and declining updates, and how they are named and listed: shared by the
// REST API and the `openwsus updates` command. Refusals are ApiProblems (status + message) that
// the CLI prints as they are.
import { randomUUID } from 'node:crypto';
import type { StoredRevision } from '../../domain/catalog-records.ts';
import type { Approval, ApprovalAction, ComputerGroup } from '../../domain/deployment.ts';
import type { Store } from '../../store/index.ts';
import { ApiProblem } from '../problem.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KB = /^(?:kb)?(\d{1,10})$/i;

/** The newest revision of the update an administrator names by id or KB number. */
export async function resolveUpdate(store: Store, id: string): Promise<StoredRevision> {
  const text = id.trim();
  let updateId: string;
  if (GUID.test(text)) {
    updateId = text.toLowerCase();
  } else {
    const kb = KB.exec(text)?.[1];
    if (kb === undefined) throw new ApiProblem(400, `"${id}" is neither an update id (a GUID) nor a KB number such as KB5070001`);
    const found = await store.approvals.updatesByKb(kb);
    if (found.length === 0) throw new ApiProblem(404, `unknown update: no update in the catalog has KB${kb} (see openwsus updates list --text ${kb})`);
    if (found.length > 1) {
      const list = found.map((u) => `  ${u.updateId}  ${u.title}`).join('\n');
      throw new ApiProblem(409, `KB${kb} is ambiguous: ${found.length} updates carry it; give the update id of one of them:\n${list}`);
    }
    updateId = found[0]!.updateId;
  }
  const revision = await store.catalog.getLatest(updateId);
  if (revision === undefined) throw new ApiProblem(404, `unknown update ${updateId}: it is not in the catalog (synchronize or import first)`);
  if (revision.updateType !== 'Software' && revision.updateType !== 'Driver') {
    throw new ApiProblem(422, `${updateId} is a ${revision.updateType.toLowerCase()} ("${revision.title}"), not an update that can be approved or declined`);
  }
  return revision;
}

/**
 * A deadline as ISO-8601: a date (midnight UTC) or a date and time; without a zone the time is
 * UTC, as WSUS stores deadlines.
 */
export function parseDeadline(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:\d{2})?)?$/i.exec(text.trim());
  const bad = (): never => {
    throw new ApiProblem(400, `bad deadline "${text}": use a date or date and time such as 2026-12-01 or 2026-12-01T18:00Z (UTC unless a zone is given)`);
  };
  if (m === null) return bad();
  const iso = `${m[1]}T${m[2] ?? '00:00'}${m[3] ?? 'Z'}`;
  const at = new Date(iso);
  // Date accepts 2026-02-30 by rolling over; a date that does not survive the round trip is wrong.
  if (Number.isNaN(at.getTime()) || new Date(`${m[1]}T00:00Z`).toISOString().slice(0, 10) !== m[1]) return bad();
  return at.toISOString();
}

/** Whether an update may be uninstalled: its document, or for a bundle every bundled update's, says how. */
async function uninstallable(store: Store, revision: StoredRevision): Promise<boolean> {
  const { parseUpdate } = await import('../../metadata/update-parser.ts');
  const record = parseUpdate(revision.xml);
  if (record.properties.uninstallationBehavior !== undefined) return true;
  const members = record.bundles.flatMap((b) => b.members);
  if (members.length === 0) return false;
  for (const key of members) {
    const child = await store.catalog.getRevision(key);
    if (child === undefined || parseUpdate(child.xml).properties.uninstallationBehavior === undefined) return false;
  }
  return true;
}

export interface UpdateOutcome {
  readonly updateId: string;
  readonly revisionNumber: number;
  readonly title: string;
  readonly outcome: 'changed' | 'unchanged';
}

export interface ApproveRequest {
  readonly updates: readonly string[];
  readonly group: ComputerGroup;
  readonly action: Exclude<ApprovalAction, 'Block'>;
  readonly deadline?: string;
  readonly adminName: string;
}

/**
 * Approves the newest revision of each update for a group, all or none: every update is checked
 * (known, approvable, not declined, uninstallable for Uninstall) before anything is written.
 * Approving again the same way keeps the deployment as it is (no new GUID, no change position).
 */
export async function approveUpdates(store: Store, request: ApproveRequest): Promise<UpdateOutcome[]> {
  if (request.deadline !== undefined && request.action === 'PreDeploymentCheck') {
    throw new ApiProblem(400, 'a deadline applies to Install and Uninstall approvals, not detection (PreDeploymentCheck)', { errors: [{ field: 'body.deadline', message: 'not allowed with PreDeploymentCheck' }] });
  }
  const declined = new Set((await store.declines.list()).map((d) => d.updateId));
  const planned: { revision: StoredRevision; approval?: Approval }[] = [];
  for (const id of request.updates) {
    const revision = await resolveUpdate(store, id);
    const { updateId, revisionNumber } = revision.key;
    if (declined.has(updateId)) throw new ApiProblem(409, `${updateId} ("${revision.title}") is declined: declined updates cannot be approved`);
    if (request.action === 'Uninstall' && !(await uninstallable(store, revision))) {
      throw new ApiProblem(409, `${updateId} ("${revision.title}") cannot be uninstalled: its document has no UninstallationBehavior; approve it for install or detect`);
    }
    const existing = (await store.approvals.ofUpdate(updateId)).find((a) => a.groupId === request.group.id);
    const same = existing !== undefined && existing.action === request.action && existing.revisionNumber === revisionNumber && existing.deadline === request.deadline;
    planned.push({
      revision,
      ...(!same && {
        approval: {
          id: randomUUID(),
          updateId,
          revisionNumber,
          groupId: request.group.id,
          action: request.action,
          ...(request.deadline !== undefined && { deadline: request.deadline }),
          adminName: request.adminName,
          createdAt: new Date().toISOString(),
        },
      }),
    });
  }
  const approvals = planned.flatMap((p) => (p.approval === undefined ? [] : [p.approval]));
  if (approvals.length > 0) await store.approvals.upsert(approvals);
  return planned.map((p) => ({ ...keyOf(p.revision), outcome: p.approval === undefined ? 'unchanged' : 'changed' }));
}

function keyOf(revision: StoredRevision): Omit<UpdateOutcome, 'outcome'> {
  return { updateId: revision.key.updateId, revisionNumber: revision.key.revisionNumber, title: revision.title };
}

/** Takes back the approvals of updates for a group (WSUS "Not approved"); one not approved there is unchanged. */
export async function unapproveUpdates(store: Store, updates: readonly string[], group: ComputerGroup): Promise<UpdateOutcome[]> {
  const revisions: StoredRevision[] = [];
  for (const id of updates) revisions.push(await resolveUpdate(store, id));
  return store.transaction(async (tx) => {
    const out: UpdateOutcome[] = [];
    for (const revision of revisions) out.push({ ...keyOf(revision), outcome: (await tx.approvals.remove(revision.key.updateId, group.id)) ? 'changed' : 'unchanged' });
    return out;
  });
}

/** Declines updates: they leave every scan. One already declined is unchanged. */
export async function declineUpdates(store: Store, updates: readonly string[], adminName: string): Promise<UpdateOutcome[]> {
  const revisions: StoredRevision[] = [];
  for (const id of updates) revisions.push(await resolveUpdate(store, id));
  const declined = new Set((await store.declines.list()).map((d) => d.updateId));
  const at = new Date().toISOString();
  await store.declines.upsert(revisions.map((r) => ({ updateId: r.key.updateId, adminName, declinedAt: at })));
  return revisions.map((r) => ({ ...keyOf(r), outcome: declined.has(r.key.updateId) ? 'unchanged' : 'changed' }));
}

/** Takes declines back (WSUS "reinstate"): offered again as not approved. One not declined is unchanged. */
export async function reinstateUpdates(store: Store, updates: readonly string[]): Promise<UpdateOutcome[]> {
  const revisions: StoredRevision[] = [];
  for (const id of updates) revisions.push(await resolveUpdate(store, id));
  return store.transaction(async (tx) => {
    const out: UpdateOutcome[] = [];
    for (const revision of revisions) out.push({ ...keyOf(revision), outcome: (await tx.declines.reinstate(revision.key.updateId)) ? 'changed' : 'unchanged' });
    return out;
  });
}

/** Status buckets as the WSUS console counts them. */
export const STATUS_BUCKETS = ['installed', 'needed', 'failed', 'notApplicable', 'unknown'] as const;
export type StatusBucket = (typeof STATUS_BUCKETS)[number];

/** The bucket of one computer's status on one update. */
export function statusBucket(status: string | undefined, reported: boolean): StatusBucket {
  switch (status) {
    case 'Installed':
    case 'InstalledPendingReboot':
      return 'installed';
    case 'NotInstalled':
    case 'Downloaded':
      return 'needed';
    case 'Failed':
      return 'failed';
    case 'NotApplicable':
      return 'notApplicable';
    default:
      // A computer whose report leaves the update out found it not applicable (event 156).
      return reported ? 'notApplicable' : 'unknown';
  }
}

export function emptyCounts(): Record<StatusBucket, number> {
  return { installed: 0, needed: 0, failed: 0, notApplicable: 0, unknown: 0 };
}

/** How each computer stands on an update, with counts per bucket. */
export async function updateStatus(store: Store, revision: StoredRevision) {
  const rows = await store.clientEvents.statusOfUpdate(revision.key.updateId);
  const counts = emptyCounts();
  const computers = rows.map((r) => {
    const bucket = statusBucket(r.status, r.reported);
    counts[bucket]++;
    return { computerId: r.computerId, name: r.dnsName, status: bucket, detail: r.status ?? null, changedAt: r.changedAt ?? null };
  });
  return { updateId: revision.key.updateId, revisionNumber: revision.key.revisionNumber, title: revision.title, counts, computers };
}

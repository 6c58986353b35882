// A server with months of history, seeded through the repositories and then dated by hand (the
// repositories stamp "now"; the cleanup measures ages from its own clock): a supersedence chain
// with an approved head, expired updates, revisions old and new, a bundle naming an old revision
// of its member, computers gone quiet, old events, files on disk of every kind. `expected` says
// what the WSUS rules make of it, case by case, written out by hand.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sql } from 'kysely';
import { ContentStore } from '../../src/content/index.ts';
import type { UpdateFile } from '../../src/domain/update.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import type { Store } from '../../src/store/index.ts';
import { guid, makeFile, makeRevision, type RecordSpec } from '../store/records.ts';

/** The cleanup's clock in these tests. */
export const NOW = new Date('2026-10-01T00:00:00.000Z');
const DAY = 86_400_000;
export const daysAgo = (n: number): string => new Date(NOW.getTime() - n * DAY).toISOString();

const PRODUCT = guid(1, 'product');
const CLASSIFICATION = guid(1, 'classification');
const categoryClauses = [
  { updateIds: [PRODUCT], isCategory: true },
  { updateIds: [CLASSIFICATION], isCategory: true },
];

export const U = {
  a1: guid(1, 'chain'),
  a2: guid(2, 'chain'),
  a3: guid(3, 'chain'),
  a4: guid(4, 'chain'),
  a5: guid(5, 'chain'),
  b1: guid(1, 'unapproved-chain'),
  b2: guid(2, 'unapproved-chain'),
  e1: guid(1, 'expired'),
  e2: guid(2, 'expired'),
  r: guid(1, 'revised'),
  s: guid(1, 'recently-revised'),
  k: guid(1, 'bundled'),
  q: guid(1, 'bundle'),
};

/** A file whose digests are those of its content (its name), so verification finds it sound. */
const contentFile = (name: string): UpdateFile => makeFile(name, Buffer.byteLength(name));

export const FILES = {
  a5: contentFile('a5.cab'),
  a1: contentFile('a1.cab'),
  b2: contentFile('b2.cab'),
  rOld: contentFile('r-100.cab'),
  rNew: contentFile('r-102.cab'),
  k: contentFile('k.cab'),
};

export const C = { quiet: guid(1, 'computer'), never: guid(2, 'computer'), active: guid(3, 'computer') };

/** What the cleanup must do to this history, and what it must leave. */
export const expected = {
  declined: [U.a1, U.e1].sort(),
  notDeclined: [U.a2, U.a3, U.a4, U.a5, U.b1, U.b2, U.e2, U.r, U.s, U.k, U.q],
  deletedRevisions: [`${U.r}/100`],
  keptRevisions: [`${U.r}/101`, `${U.r}/102`, `${U.s}/100`, `${U.s}/101`, `${U.k}/100`, `${U.k}/101`],
  deletedComputers: [C.quiet, C.never].sort(),
  keptComputers: [C.active],
  staleEvents: 20,
  freshEvents: 5,
  removedFiles: [FILES.a1, FILES.b2, FILES.rOld],
  keptFiles: [FILES.a5, FILES.rNew, FILES.k],
};

async function revision(store: Store, spec: RecordSpec, receivedDaysAgo: number): Promise<void> {
  await store.catalog.upsertRevisions([makeRevision({ prerequisites: categoryClauses, ...spec })]);
  await sql`update revision set received_at = ${daysAgo(receivedDaysAgo)} where update_id = ${spec.updateId} and revision_number = ${spec.revisionNumber}`.execute(store.db);
}

async function approve(store: Store, updateId: string, revisionNumber: number, action: 'Install' | 'PreDeploymentCheck'): Promise<void> {
  await store.approvals.upsert([
    { id: guid(revisionNumber, `deployment-${updateId}`), updateId, revisionNumber, groupId: ALL_COMPUTERS_GROUP_ID, action, adminName: 'test', createdAt: daysAgo(50) },
  ]);
}

async function onDisk(content: ContentStore, file: UpdateFile): Promise<void> {
  const path = content.pathOf(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, file.fileName);
}

export async function seedHistory(store: Store, content: ContentStore): Promise<void> {
  await revision(store, { updateId: PRODUCT, revisionNumber: 1, updateType: 'Category', categoryType: 'Product', prerequisites: [] }, 200);
  await revision(store, { updateId: CLASSIFICATION, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification', prerequisites: [] }, 200);

  // a1 <- a2 <- a3 <- a4 <- a5 (approved for install). a2 is needed by a computer, a3 approved
  // for detection, a4 arrived 10 days ago: only a1 meets every condition of the rule.
  await revision(store, { updateId: U.a1, revisionNumber: 100, files: [FILES.a1] }, 120);
  await revision(store, { updateId: U.a2, revisionNumber: 100, supersedes: [U.a1] }, 110);
  await revision(store, { updateId: U.a3, revisionNumber: 100, supersedes: [U.a2] }, 100);
  await revision(store, { updateId: U.a4, revisionNumber: 100, supersedes: [U.a3] }, 10);
  await revision(store, { updateId: U.a5, revisionNumber: 100, supersedes: [U.a4, U.a1, U.a2, U.a3], files: [FILES.a5] }, 5);
  await approve(store, U.a5, 100, 'Install');
  await approve(store, U.a3, 100, 'PreDeploymentCheck');
  // b1 <- b2, and b2 is not approved: b1 stays.
  await revision(store, { updateId: U.b1, revisionNumber: 100 }, 120);
  await revision(store, { updateId: U.b2, revisionNumber: 100, supersedes: [U.b1], files: [FILES.b2] }, 90);
  // Expired: e1 unapproved is declined, e2 approved stays.
  await revision(store, { updateId: U.e1, revisionNumber: 100, publicationState: 'Expired' }, 60);
  await revision(store, { updateId: U.e2, revisionNumber: 100, publicationState: 'Expired' }, 60);
  await approve(store, U.e2, 100, 'Install');
  // r: 100 unused, 101 approved (an approval names it), 102 newest for 60 days.
  await revision(store, { updateId: U.r, revisionNumber: 100, files: [FILES.rOld] }, 150);
  await revision(store, { updateId: U.r, revisionNumber: 101 }, 120);
  await approve(store, U.r, 101, 'Install');
  await revision(store, { updateId: U.r, revisionNumber: 102, files: [FILES.rNew] }, 60);
  // s: its newest revision is 5 days old, so a downstream may not have it yet: 100 stays.
  await revision(store, { updateId: U.s, revisionNumber: 100 }, 150);
  await revision(store, { updateId: U.s, revisionNumber: 101 }, 5);
  // k: the newest bundle q names k's older revision 100, which stays; q is approved, so k's file stays.
  await revision(store, { updateId: U.k, revisionNumber: 100, files: [FILES.k] }, 150);
  await revision(store, { updateId: U.k, revisionNumber: 101, files: [FILES.k] }, 100);
  await revision(store, { updateId: U.q, revisionNumber: 100, bundles: [{ members: [{ updateId: U.k, revisionNumber: 100 }], atLeastOne: false }] }, 100);
  await approve(store, U.q, 100, 'Install');

  for (const file of Object.values(FILES)) await onDisk(content, file);
  await store.files.setStates(Object.values(FILES).map((f) => f.sha1), 'present');

  // Computers: one quiet for 60 days, one created 45 days ago that never synchronized, one active.
  for (const id of Object.values(C)) await store.computers.touch({ id, dnsName: `${id.slice(0, 8)}.example.test`, defaultGroupId: ALL_COMPUTERS_GROUP_ID });
  await sql`update computer set created_at = ${daysAgo(200)}, last_sync_at = ${daysAgo(60)} where computer_id = ${C.quiet}`.execute(store.db);
  await sql`update computer set created_at = ${daysAgo(45)} where computer_id = ${C.never}`.execute(store.db);
  await sql`update computer set created_at = ${daysAgo(200)}, last_sync_at = ${daysAgo(1)} where computer_id = ${C.active}`.execute(store.db);
  await store.clientEvents.applyStatus(C.active, [{ replacesAll: false, changes: [{ updateId: U.a2, status: 'NotInstalled' }] }], new Date(daysAgo(1)));
  await store.clientEvents.applyStatus(C.quiet, [{ replacesAll: false, changes: [{ updateId: U.b1, status: 'NotInstalled' }] }], new Date(daysAgo(60)));
  const event = (n: number) => ({
    eventInstanceId: guid(n, 'event'),
    namespaceId: 1,
    eventId: 183,
    sourceId: 1,
    updateId: U.a5,
    revisionNumber: 100,
    win32HResult: 0,
    appName: 'test',
    timeAtTarget: daysAgo(100),
    replacementStrings: [],
    miscData: [],
  });
  await store.clientEvents.record(C.active, Array.from({ length: 25 }, (_, i) => event(i)));
  await sql`update client_event set received_at = ${daysAgo(100)}`.execute(store.db);
  await sql`update client_event set received_at = ${daysAgo(10)} where event_instance_id in (${sql.join(Array.from({ length: 5 }, (_, i) => guid(i, 'event')))})`.execute(store.db);
}

/** The observable state cleanup acts on, for comparing two runs. */
export async function snapshot(store: Store, content: ContentStore): Promise<Record<string, unknown>> {
  const revisions = await sql<{ k: string }>`select update_id || '/' || revision_number as k from revision order by 1`.execute(store.db);
  const computers = await sql<{ computer_id: string }>`select computer_id from computer order by 1`.execute(store.db);
  const events = await sql<{ n: number }>`select count(*) as n from client_event`.execute(store.db);
  const statuses = await sql<{ k: string }>`select computer_id || '/' || update_id as k from update_status order by 1`.execute(store.db);
  const files = await sql<{ sha1: string; state: string }>`select sha1, state from file order by sha1`.execute(store.db);
  const onDiskNow: string[] = [];
  for (const f of Object.values(FILES)) if ((await content.stat(f)) !== undefined) onDiskNow.push(f.fileName);
  return {
    declined: (await store.declines.list()).map((d) => d.updateId).sort(),
    revisions: revisions.rows.map((r) => r.k),
    computers: computers.rows.map((r) => r.computer_id),
    events: Number(events.rows[0]!.n),
    statuses: statuses.rows.map((r) => r.k),
    files: files.rows.map((r) => `${r.sha1}:${r.state}`),
    onDisk: onDiskNow.sort(),
  };
}

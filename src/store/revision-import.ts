// Storing update revisions: the import hot path (a full catalog is tens of thousands of
// revisions). One transaction per batch, a fixed number of statements per batch whatever its size
// (multi-row inserts, "in list" with one parameter), no per-row SELECT.
import { hash } from 'node:crypto';
import type { UpsertSummary } from '../domain/catalog-records.ts';
import { DERIVATION_VERSION, type Fragments, type UpdateFile, type UpdateRecord } from '../domain/update.ts';
import { ChangeSequence } from './change-sequence.ts';
import { packText } from './codec.ts';
import { atomically, inList, insertRows, insertSpec, nowIso, type InsertSpec, type StoreContext } from './sql-util.ts';

export interface RevisionInput {
  readonly record: UpdateRecord;
  readonly fragments: Fragments;
  /** Upstream download URL by file SHA-1 (base64), as GetUpdateData's file URLs give them. */
  readonly muUrls?: Readonly<Record<string, string>>;
}

export const REVISION_CHANGE = 'revision';

// A replaced revision keeps its revision_id: the key owns the id, the document is what changes.
// No pgTypes: rows go to PostgreSQL as a VALUES list rather than unnest(), because bytea in a
// VALUES parameter travels in binary and inside an array as hex text (measured: twice as slow).
const REVISION_COLUMNS = [
  'update_id',
  'revision_number',
  'update_type',
  'publication_state',
  'is_latest',
  'explicitly_deployable',
  'category_type',
  'title',
  'kb_article_id',
  'msrc_severity',
  'creation_date',
  'xml',
  'core',
  'extended',
  'content_hash',
  'change_seq',
  'received_at',
];
const REVISION: InsertSpec = {
  table: 'revision',
  columns: REVISION_COLUMNS,
  suffix:
    'on conflict ("update_id", "revision_number") do update set ' +
    REVISION_COLUMNS.slice(2)
      .map((c) => `"${c}" = excluded."${c}"`)
      .join(', ') +
    ' returning "revision_id", "update_id", "revision_number"',
};

// Files are content-addressed and shared between revisions: a new document never resets a
// download state, it only fills in what was unknown (a URL, the SHA-256).
const FILE = insertSpec(
  'file',
  {
    sha1: 'text',
    sha256: 'text',
    file_name: 'text',
    size: 'bigint',
    modified: 'text',
    patching_type: 'text',
    mu_url: 'text',
    state: 'text',
    attempts: 'integer',
    updated_at: 'text',
  },
  'on conflict ("sha1") do update set ' +
    '"mu_url" = coalesce(excluded."mu_url", "file"."mu_url"), ' +
    '"sha256" = coalesce("file"."sha256", excluded."sha256"), ' +
    '"updated_at" = excluded."updated_at" ' +
    'where (excluded."mu_url" is not null and excluded."mu_url" is distinct from "file"."mu_url") ' +
    'or ("file"."sha256" is null and excluded."sha256" is not null)',
);

const LOCALIZED = insertSpec('localized', { revision_id: 'integer', language: 'text', title: 'text', description: 'text', fragment: 'text' });
const PREREQUISITE = insertSpec('prerequisite', {
  revision_id: 'integer',
  clause_index: 'integer',
  member_index: 'integer',
  update_id: 'text',
  is_category: 'boolean',
});
const BUNDLE_MEMBER = insertSpec('bundle_member', {
  revision_id: 'integer',
  group_index: 'integer',
  member_index: 'integer',
  at_least_one: 'boolean',
  child_update_id: 'text',
  child_revision_number: 'integer',
});
const SUPERSEDENCE = insertSpec('supersedence', { revision_id: 'integer', superseded_update_id: 'text' });
const REVISION_FILE = insertSpec('revision_file', { revision_id: 'integer', sha1: 'text', file_index: 'integer' });

interface Prepared {
  readonly input: RevisionInput;
  readonly updateId: string;
  readonly revisionNumber: number;
  readonly hash: string;
}

interface Existing {
  readonly revisionId: number;
  readonly hash: string;
}

function keyOf(updateId: string, revisionNumber: number): string {
  return `${updateId}/${revisionNumber}`;
}

/** Everything else is derived from the document, by rules whose version is part of the hash. */
function contentHash(input: RevisionInput): string {
  return hash('sha1', `${DERIVATION_VERSION}\0${input.record.xml}`, 'base64');
}

function fileRow(f: UpdateFile, url: string | null, now: string): unknown[] {
  return [f.sha1, f.sha256 ?? null, f.fileName, f.size, f.modified ?? null, f.patchingType ?? null, url, 'absent', 0, now];
}

function defaultTitle(record: UpdateRecord): string {
  const en = record.localized.find((l) => l.language === 'en');
  return (en ?? record.localized[0])?.title ?? '';
}

/**
 * Stores a batch of revisions in one transaction (the caller's, when called inside one).
 * New keys get a new revision id; a known key with a different document keeps its id and has its
 * derived rows replaced; an identical document is left alone and takes no change position.
 * Each new or replaced revision takes one change position, in input order.
 */
export async function upsertRevisions(ctx: StoreContext, items: readonly RevisionInput[]): Promise<UpsertSummary> {
  // The last occurrence of a key in a batch wins, as if the batch were applied one by one.
  const byKey = new Map<string, Prepared>();
  for (const input of items) {
    const { updateId, revisionNumber } = input.record.key;
    const key = keyOf(updateId, revisionNumber);
    byKey.delete(key);
    byKey.set(key, { input, updateId, revisionNumber, hash: contentHash(input) });
  }
  const prepared = [...byKey.values()];
  if (prepared.length === 0) {
    return { inserted: 0, replaced: 0, unchanged: 0, revisionIds: [], changeSeq: await new ChangeSequence(ctx).current() };
  }

  return atomically(ctx.db, async (db) => {
    const tx: StoreContext = { db, dialect: ctx.dialect };
    const changes = new ChangeSequence(tx);
    // Taken first: the stored revisions read below cannot change under us until we commit.
    const before = await changes.lock();

    const updateIds = [...new Set(prepared.map((p) => p.updateId))];
    const existingRows = await db
      .selectFrom('revision')
      .select(['revision_id', 'update_id', 'revision_number', 'content_hash', 'is_latest'])
      .where(inList(tx.dialect, 'update_id', updateIds))
      .execute();
    const existing = new Map<string, Existing>();
    const newest = new Map<string, number>();
    for (const r of existingRows) {
      existing.set(keyOf(r.update_id, r.revision_number), { revisionId: r.revision_id, hash: r.content_hash });
      newest.set(r.update_id, Math.max(newest.get(r.update_id) ?? -Infinity, r.revision_number));
    }
    for (const p of prepared) newest.set(p.updateId, Math.max(newest.get(p.updateId) ?? -Infinity, p.revisionNumber));

    const changed: Prepared[] = [];
    const replacedIds: number[] = [];
    const unchanged: Prepared[] = [];
    for (const p of prepared) {
      const known = existing.get(keyOf(p.updateId, p.revisionNumber));
      if (known === undefined) changed.push(p);
      else if (known.hash !== p.hash) {
        changed.push(p);
        replacedIds.push(known.revisionId);
      } else unchanged.push(p);
    }

    // Stored revisions not rewritten here whose "newest" flag the batch flips (an older one when
    // a newer revision arrives). A flip takes no change position of its own: the revision that
    // causes it does, and "what changed since N" then names the new newest revision.
    const rewritten = new Set(changed.map((p) => keyOf(p.updateId, p.revisionNumber)));
    const demote: number[] = [];
    const promote: number[] = [];
    for (const r of existingRows) {
      if (rewritten.has(keyOf(r.update_id, r.revision_number))) continue;
      const shouldBeLatest = newest.get(r.update_id) === r.revision_number;
      if (shouldBeLatest !== Boolean(r.is_latest)) (shouldBeLatest ? promote : demote).push(r.revision_id);
    }
    for (const [ids, value] of [[demote, false], [promote, true]] as const) {
      if (ids.length > 0) {
        await db.updateTable('revision').set({ is_latest: value }).where(inList(tx.dialect, 'revision_id', ids)).execute();
      }
    }

    const receivedAt = nowIso();
    let changeSeq = before;
    const idByKey = new Map<string, number>();
    if (changed.length > 0) {
      // Positions are taken before the ids are known: one counter update for the whole batch.
      const first = await changes.claim(changed.length);
      changeSeq = first + changed.length - 1;
      const packed = await Promise.all(changed.map(packDocuments));
      const rows = changed.map((p, i) => revisionRow(p, packed[i]!, newest.get(p.updateId) === p.revisionNumber, first + i, receivedAt));
      const returned = await insertRows<{ revision_id: number; update_id: string; revision_number: number }>(
        tx,
        REVISION,
        rows,
      );
      for (const r of returned) idByKey.set(keyOf(r.update_id, r.revision_number), Number(r.revision_id));
      await changes.log(
        changed.map((p, i) => ({ seq: first + i, kind: REVISION_CHANGE, entityId: idByKey.get(keyOf(p.updateId, p.revisionNumber))! })),
      );
      if (replacedIds.length > 0) await deleteDerived(tx, replacedIds);
      await writeDerived(tx, changed, idByKey, receivedAt);
    }
    await refreshFileUrls(tx, unchanged, receivedAt);

    for (const [key, known] of existing) if (!idByKey.has(key)) idByKey.set(key, known.revisionId);
    const revisionIds = items.map((i) => idByKey.get(keyOf(i.record.key.updateId, i.record.key.revisionNumber))!);
    return {
      inserted: changed.length - replacedIds.length,
      replaced: replacedIds.length,
      unchanged: unchanged.length,
      revisionIds,
      changeSeq,
    };
  });
}

/** The stored forms of a revision's texts; compressed on the thread pool, beside the main thread. */
async function packDocuments(p: Prepared): Promise<readonly [Uint8Array, Uint8Array, Uint8Array]> {
  const { record, fragments } = p.input;
  return Promise.all([packText(record.xml), packText(fragments.core), packText(fragments.extended)]);
}

function revisionRow(p: Prepared, packed: readonly [Uint8Array, Uint8Array, Uint8Array], isLatest: boolean, seq: number, receivedAt: string): unknown[] {
  const { record } = p.input;
  const props = record.properties;
  return [
    p.updateId,
    p.revisionNumber,
    props.updateType,
    props.publicationState,
    isLatest,
    props.explicitlyDeployable,
    record.category?.categoryType ?? null,
    defaultTitle(record),
    props.kbArticleId ?? null,
    props.msrcSeverity ?? null,
    props.creationDate ?? null,
    ...packed,
    p.hash,
    seq,
    receivedAt,
  ];
}

async function deleteDerived(tx: StoreContext, revisionIds: readonly number[]): Promise<void> {
  for (const table of ['localized', 'prerequisite', 'bundle_member', 'supersedence', 'revision_file'] as const) {
    await tx.db.deleteFrom(table).where(inList(tx.dialect, 'revision_id', revisionIds)).execute();
  }
}

async function writeDerived(tx: StoreContext, changed: readonly Prepared[], ids: Map<string, number>, now: string): Promise<void> {
  const localized: unknown[][] = [];
  const prerequisites: unknown[][] = [];
  const bundles: unknown[][] = [];
  const supersedence: unknown[][] = [];
  const revisionFiles: unknown[][] = [];
  // One row per digest (a statement may not upsert a row twice), preferring one that has a URL.
  const files = new Map<string, { row: unknown[]; hasUrl: boolean }>();

  for (const p of changed) {
    const id = ids.get(keyOf(p.updateId, p.revisionNumber));
    if (id === undefined) throw new Error(`revision ${keyOf(p.updateId, p.revisionNumber)} got no id`);
    const { record, fragments, muUrls } = p.input;

    const languages = new Set<string>();
    for (const l of record.localized) {
      if (languages.has(l.language)) continue;
      languages.add(l.language);
      localized.push([id, l.language, l.title, l.description ?? null, fragments.localized[l.language] ?? '']);
    }
    for (const [language, fragment] of Object.entries(fragments.localized)) {
      if (!languages.has(language)) localized.push([id, language, '', null, fragment]);
    }

    // Document order is kept (member_index) so a revision's relationships read back as written.
    record.prerequisites.forEach((clause, index) => {
      [...new Set(clause.updateIds)].forEach((updateId, member) => prerequisites.push([id, index, member, updateId, clause.isCategory]));
    });

    record.bundles.forEach((group, index) => {
      group.members.forEach((m, member) => bundles.push([id, index, member, group.atLeastOne, m.updateId, m.revisionNumber]));
    });

    for (const updateId of new Set(record.supersedes)) supersedence.push([id, updateId]);

    const seenFiles = new Set<string>();
    record.files.forEach((f, index) => {
      if (seenFiles.has(f.sha1)) return;
      seenFiles.add(f.sha1);
      revisionFiles.push([id, f.sha1, index]);
      const url = muUrls?.[f.sha1] ?? null;
      const prior = files.get(f.sha1);
      if (prior === undefined || (url !== null && !prior.hasUrl)) files.set(f.sha1, { row: fileRow(f, url, now), hasUrl: url !== null });
    });
  }

  await insertRows(tx, LOCALIZED, localized);
  await insertRows(tx, PREREQUISITE, prerequisites);
  await insertRows(tx, BUNDLE_MEMBER, bundles);
  await insertRows(tx, SUPERSEDENCE, supersedence);
  await insertRows(tx, FILE, [...files.values()].map((f) => f.row));
  await insertRows(tx, REVISION_FILE, revisionFiles);
}

/** An unchanged document may still come with download URLs the store did not have. */
async function refreshFileUrls(tx: StoreContext, unchanged: readonly Prepared[], now: string): Promise<void> {
  const files = new Map<string, unknown[]>();
  for (const p of unchanged) {
    const urls = p.input.muUrls;
    if (urls === undefined) continue;
    for (const f of p.input.record.files) {
      const url = urls[f.sha1];
      if (url === undefined) continue;
      files.set(f.sha1, fileRow(f, url, now));
    }
  }
  if (files.size > 0) await insertRows(tx, FILE, [...files.values()]);
}

// Single-update import (`openwsus updates import`): one update document (or several: an update
// and its prerequisites), as XML or as the update-blob cabinet WSUS sends, added to the catalog as
// a synchronization would add it — parsed with ingestUpdate, stored with upsertRevisions, so each
// new revision takes a change position and downstream servers and clients see it — with its files
// from a directory, digest-checked while they are published into the content store.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { missingReferences, referencedIds, type MissingReference } from '../domain/update-import.ts';
import type { UpdateFile } from '../domain/update.ts';
import { publish } from '../content/publish.ts';
import type { ContentStore } from '../content/index.ts';
import { decodeUpdateBlob } from '../metadata/cab/index.ts';
import { ingestUpdate, type IngestedUpdate } from '../metadata/update-parser.ts';
import type { Store } from '../store/index.ts';

export class UpdateImportError extends Error {
  override name = 'UpdateImportError';
  readonly missing: readonly MissingReference[];
  constructor(message: string, missing: readonly MissingReference[] = []) {
    super(message);
    this.missing = missing;
  }
}

export interface UpdateImportReport {
  readonly updates: readonly { readonly updateId: string; readonly revisionNumber: number; readonly title: string; readonly files: number }[];
  /** Revisions that were new or changed (0 when the same documents were imported before). */
  readonly stored: number;
  readonly filesPublished: number;
  /** Files the documents list that --files did not hold: recorded, downloaded later from their URL. */
  readonly filesAbsent: readonly string[];
}

/** An update document from a file: XML text, or a cabinet holding the update blob. */
export async function readUpdateDocument(path: string): Promise<IngestedUpdate> {
  const bytes = await readFile(path);
  const isCabinet = bytes.subarray(0, 4).toString('latin1') === 'MSCF';
  const xml = isCabinet ? decodeUpdateBlob(bytes) : bytes.toString('utf8').replace(/^\uFEFF/, '');
  return ingestUpdate(xml);
}

async function findFile(dir: string, file: UpdateFile): Promise<string | undefined> {
  // As the Update Catalog hands them out (its file name), or as WSUS keeps them (hex digest + extension).
  const hex = Buffer.from(file.sha1, 'base64').toString('hex');
  const dot = file.fileName.lastIndexOf('.');
  for (const name of [basename(file.fileName), `${hex}${dot >= 0 ? file.fileName.slice(dot) : ''}`, hex]) {
    const path = join(dir, name);
    if ((await stat(path).catch(() => undefined))?.isFile()) return path;
  }
  return undefined;
}

/**
 * Imports the documents at `paths`. Refused, with nothing stored, when a prerequisite, category
 * or bundled update is neither in the catalog nor among the documents (the error lists them), or
 * when a file in `filesDir` does not match its digest.
 */
export async function importUpdates(store: Store, content: ContentStore, paths: readonly string[], options: { filesDir?: string } = {}): Promise<UpdateImportReport> {
  const documents = await Promise.all(paths.map(readUpdateDocument));
  const records = documents.map((d) => d.record);
  const known = new Set((await store.catalogGraph.latestOf(referencedIds(records))).map((r) => r.updateId.toLowerCase()));
  const missing = missingReferences(records, (id) => known.has(id));
  if (missing.length > 0) {
    const lines = missing.map((m) => `  ${m.updateId} needs ${m.kind === 'category' ? 'category' : m.kind === 'bundled' ? 'bundled update' : 'prerequisite'} ${m.anyOf.join(' or ')}`);
    throw new UpdateImportError(
      `cannot import: ${missing.length} reference(s) are not in the catalog; synchronize the categories first or give the prerequisite documents too:\n${lines.join('\n')}`,
      missing,
    );
  }
  // Files first: content is addressed by digest, so a file published for an import that then
  // fails harms nothing, and an update never points at a file that did not check out.
  const published: string[] = [];
  const absent: string[] = [];
  const seen = new Set<string>();
  for (const file of records.flatMap((r) => r.files)) {
    if (seen.has(file.sha1)) continue;
    seen.add(file.sha1);
    const path = options.filesDir === undefined ? undefined : await findFile(options.filesDir, file);
    if (path === undefined) {
      absent.push(file.fileName);
      continue;
    }
    await publish(content.root, file, createReadStream(path));
    published.push(file.sha1);
  }
  const summary = await store.catalog.upsertRevisions(documents);
  if (published.length > 0) await store.files.setStates(published, 'present');
  // A file the download queue was waiting for is there now.
  for (const sha1 of published) await store.contentQueue.markPresent(sha1);
  return {
    updates: records.map((r) => ({ updateId: r.key.updateId, revisionNumber: r.key.revisionNumber, title: r.localized[0]?.title ?? '', files: r.files.length })),
    stored: summary.inserted + summary.replaced,
    filesPublished: published.length,
    filesAbsent: absent,
  };
}

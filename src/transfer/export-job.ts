// `openwsus export`: the catalog (and optionally groups and approvals) into one export file,
// streamed page by page so memory stays flat whatever the catalog's size.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Store } from '../store/index.ts';
import { FILE_STATES } from '../domain/catalog-records.ts';
import { VERSION } from '../app/version.ts';
import { writeExport, type ExportManifest, type ExportRecord } from './format.ts';

export interface ExportOptions {
  /** Also carry computer groups and approvals (for a server that takes over this one's role). */
  readonly approvals?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
}

async function* catalogRecords(store: Store, options: ExportOptions, total: number): AsyncGenerator<ExportRecord> {
  for (const language of await store.languages.list()) {
    yield { type: 'language', id: language.id, shortName: language.shortName, longName: language.longName, enabled: language.enabled };
  }
  let done = 0;
  for await (const revision of store.catalog.iterate()) {
    yield { type: 'revision', xml: revision.xml };
    options.onProgress?.(++done, total);
  }
  // Upstream download URLs are not in the documents (GetUpdateData carries them beside).
  for (const state of FILE_STATES) {
    let after: string | undefined;
    for (;;) {
      const page = await store.files.list(state, { limit: 1000, ...(after ? { after } : {}) });
      for (const file of page) if (file.muUrl) yield { type: 'fileUrl', sha1: file.sha1, url: file.muUrl };
      if (page.length < 1000) break;
      after = page[page.length - 1]!.sha1;
    }
  }
  if (options.approvals) yield* approvalRecords(store);
}

async function* approvalRecords(store: Store): AsyncGenerator<ExportRecord> {
  for (const group of await store.groups.list()) yield { type: 'group', ...group };
  for await (const approval of store.approvals.iterate()) yield { type: 'approval', ...approval };
  for (const decline of await store.declines.list()) yield { type: 'decline', ...decline };
}

/** Writes the export to `path` atomically: a failed export leaves no file behind. */
export async function exportCatalog(store: Store, path: string, options: ExportOptions = {}): Promise<ExportManifest> {
  const total = (await store.catalog.stats()).revisions;
  const partial = `${path}.partial`;
  try {
    const manifest = await writeExport(
      createWriteStream(partial),
      {
        created: new Date().toISOString(),
        software: `openwsus ${VERSION}`,
        sourceServerId: store.serverId,
        sections: options.approvals ? ['languages', 'revisions', 'fileUrls', 'groups', 'approvals', 'declines'] : ['languages', 'revisions', 'fileUrls'],
      },
      catalogRecords(store, options, total),
    );
    await rename(partial, path);
    return manifest;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

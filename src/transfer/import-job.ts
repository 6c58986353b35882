// `openwsus import`: an export file into this server's store, in one transaction. Records are
// written as they stream in (memory stays at one batch) and the transaction commits only after
// the manifest has checked out; a truncated or corrupt file rolls everything back.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Store, RevisionInput } from '../store/index.ts';
import { approvalFromRecord, declineFromRecord, groupFromRecord } from './deployment-records.ts';
import { ingestUpdate } from '../metadata/update-parser.ts';
import { openExport, ExportFormatError, type ExportRecord } from './format.ts';

export interface ImportSummary {
  readonly revisions: number;
  readonly inserted: number;
  readonly replaced: number;
  readonly unchanged: number;
  readonly languages: number;
  readonly fileUrls: number;
  readonly groups: number;
  readonly approvals: number;
  readonly declines: number;
}

export interface ImportOptions {
  readonly batchSize?: number;
  /** Revisions read so far. */
  readonly onProgress?: (revisions: number) => void;
}

function field<T>(record: ExportRecord, name: string, check: (v: unknown) => v is T, what: string): T {
  const value = record[name];
  if (!check(value)) throw new ExportFormatError(`a ${record.type} record has no valid "${name}" (${what}): the file is corrupt`);
  return value;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isInteger = (v: unknown): v is number => Number.isInteger(v);
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';

export async function importCatalog(store: Store, input: Readable, options: ImportOptions = {}): Promise<ImportSummary> {
  const reader = await openExport(input);
  const batchSize = options.batchSize ?? 500;
  return store.transaction(async (tx) => {
    const counts = { revisions: 0, inserted: 0, replaced: 0, unchanged: 0, languages: 0, fileUrls: 0, groups: 0, approvals: 0, declines: 0 };
    let batch: RevisionInput[] = [];
    // One batch is written while the next is parsed: on PostgreSQL the parse hides the round trips.
    let writing: Promise<void> = Promise.resolve();
    const write = async (): Promise<void> => {
      const full = batch;
      batch = [];
      await writing;
      if (full.length === 0) return;
      writing = tx.catalog.upsertRevisions(full).then((result) => {
        counts.inserted += result.inserted;
        counts.replaced += result.replaced;
        counts.unchanged += result.unchanged;
        options.onProgress?.(counts.revisions);
      });
    };
    const flush = async (): Promise<void> => {
      await write();
      await writing;
    };
    for await (const record of reader.records()) {
      switch (record.type) {
        case 'language':
          await tx.languages.upsert([
            {
              id: field(record, 'id', isInteger, 'a whole number'),
              shortName: field(record, 'shortName', isString, 'text'),
              longName: field(record, 'longName', isString, 'text'),
              enabled: field(record, 'enabled', isBoolean, 'true or false'),
            },
          ]);
          counts.languages++;
          break;
        case 'revision': {
          const xml = field(record, 'xml', isString, 'an update document');
          batch.push(ingestUpdate(xml));
          counts.revisions++;
          if (batch.length >= batchSize) await write();
          break;
        }
        case 'fileUrl':
          await flush();
          await tx.files.setUrl(field(record, 'sha1', isString, 'a digest'), field(record, 'url', isString, 'a URL'));
          counts.fileUrls++;
          break;
        case 'group':
          await flush();
          await tx.groups.upsert([groupFromRecord(record)]);
          counts.groups++;
          break;
        case 'approval':
          await flush();
          await tx.approvals.upsert([approvalFromRecord(record)]);
          counts.approvals++;
          break;
        case 'decline':
          await flush();
          await tx.declines.upsert([declineFromRecord(record)]);
          counts.declines++;
          break;
        default:
          // A newer openwsus may add record types; refusing keeps an import from being partial.
          throw new ExportFormatError(`unknown record type "${record.type}": this file needs a newer openwsus`);
      }
    }
    await flush();
    return counts;
  });
}

export async function importCatalogFile(store: Store, path: string, options: ImportOptions = {}): Promise<ImportSummary> {
  await stat(path).catch(() => {
    throw new ExportFormatError(`no export file at ${path}`);
  });
  return importCatalog(store, createReadStream(path), options);
}

// Content files and their download state (absent -> queued -> present | failed). Digests are
// SHA-1 in base64, as update documents carry them; domain/update.ts converts to the hex of paths.
import type { Selectable } from 'kysely';
import type { FileState, StoredFile } from '../domain/catalog-records.ts';
import type { FileTable } from './schema.ts';
import { inList, nowIso, type StoreContext } from './sql-util.ts';

function toStoredFile(r: Selectable<FileTable>): StoredFile {
  return {
    sha1: r.sha1,
    ...(r.sha256 !== null && { sha256: r.sha256 }),
    fileName: r.file_name,
    size: Number(r.size),
    ...(r.modified !== null && { modified: r.modified }),
    ...(r.patching_type !== null && { patchingType: r.patching_type }),
    ...(r.mu_url !== null && { muUrl: r.mu_url }),
    state: r.state as FileState,
    attempts: Number(r.attempts),
    ...(r.error !== null && { error: r.error }),
  };
}

export class FileRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async get(sha1: string): Promise<StoredFile | undefined> {
    const row = await this.#ctx.db.selectFrom('file').selectAll().where('sha1', '=', sha1).executeTakeFirst();
    return row && toStoredFile(row);
  }

  /** Files of a revision in document order. */
  async ofRevision(revisionId: number): Promise<StoredFile[]> {
    const rows = await this.#ctx.db
      .selectFrom('revision_file as rf')
      .innerJoin('file as f', 'f.sha1', 'rf.sha1')
      .selectAll('f')
      .where('rf.revision_id', '=', revisionId)
      .orderBy('rf.file_index')
      .execute();
    return rows.map(toStoredFile);
  }

  /** Files of many revisions at once, each list in document order; revisions without files are absent. */
  async ofRevisions(revisionIds: readonly number[]): Promise<Map<number, StoredFile[]>> {
    const out = new Map<number, StoredFile[]>();
    if (revisionIds.length === 0) return out;
    const rows = await this.#ctx.db
      .selectFrom('revision_file as rf')
      .innerJoin('file as f', 'f.sha1', 'rf.sha1')
      .selectAll('f')
      .select(['rf.revision_id', 'rf.file_index'])
      .where(inList(this.#ctx.dialect, 'rf.revision_id', revisionIds))
      .orderBy('rf.revision_id')
      .orderBy('rf.file_index')
      .execute();
    for (const r of rows) {
      const list = out.get(r.revision_id) ?? [];
      list.push(toStoredFile(r));
      out.set(r.revision_id, list);
    }
    return out;
  }

  /** The known files among `sha1s`, in digest order. */
  async getMany(sha1s: readonly string[]): Promise<StoredFile[]> {
    if (sha1s.length === 0) return [];
    const rows = await this.#ctx.db
      .selectFrom('file')
      .selectAll()
      .where(inList(this.#ctx.dialect, 'sha1', [...new Set(sha1s)]))
      .orderBy('sha1')
      .execute();
    return rows.map(toStoredFile);
  }

  /** Files in a state, in digest order; page on with `after` = the last digest seen. */
  async list(state: FileState, options: { limit?: number; after?: string } = {}): Promise<StoredFile[]> {
    let query = this.#ctx.db
      .selectFrom('file')
      .selectAll()
      .where('state', '=', state)
      .orderBy('sha1')
      .limit(options.limit ?? 1000);
    if (options.after !== undefined) query = query.where('sha1', '>', options.after);
    return (await query.execute()).map(toStoredFile);
  }

  /** Queues absent or failed files for download; present and already queued ones stay as they are. */
  async queue(sha1s: readonly string[]): Promise<number> {
    if (sha1s.length === 0) return 0;
    const result = await this.#ctx.db
      .updateTable('file')
      .set({ state: 'queued', updated_at: nowIso() })
      .where(inList(this.#ctx.dialect, 'sha1', sha1s))
      .where('state', 'in', ['absent', 'failed'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Sets the state of many files at once (content found on disk, or found missing). */
  async setStates(sha1s: readonly string[], state: 'present' | 'absent'): Promise<number> {
    if (sha1s.length === 0) return 0;
    const result = await this.#ctx.db
      .updateTable('file')
      .set({ state, error: null, ...(state === 'absent' ? { attempts: 0 } : {}), updated_at: nowIso() })
      .where(inList(this.#ctx.dialect, 'sha1', sha1s))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async markPresent(sha1: string): Promise<void> {
    await this.#set(sha1, { state: 'present', error: null });
  }

  /** A failed attempt: counts it and keeps the reason; the downloader decides when to retry. */
  async markFailed(sha1: string, error: string): Promise<void> {
    await this.#ctx.db
      .updateTable('file')
      .set((eb) => ({ state: 'failed', error, attempts: eb('attempts', '+', 1), updated_at: nowIso() }))
      .where('sha1', '=', sha1)
      .execute();
  }

  /** The content went missing (deleted, failed verification): forget it was ever there. */
  async markAbsent(sha1: string): Promise<void> {
    await this.#set(sha1, { state: 'absent', error: null, attempts: 0 });
  }

  async setUrl(sha1: string, muUrl: string): Promise<void> {
    await this.#ctx.db.updateTable('file').set({ mu_url: muUrl, updated_at: nowIso() }).where('sha1', '=', sha1).execute();
  }

  async #set(sha1: string, values: { state: FileState; error: null; attempts?: number }): Promise<void> {
    await this.#ctx.db
      .updateTable('file')
      .set({ ...values, updated_at: nowIso() })
      .where('sha1', '=', sha1)
      .execute();
  }
}

// `openwsus content verify`: re-hashes every file the metadata says is present (content/verify.ts
// does the hashing), a page at a time in digest order. After each page the position is saved, so
// an interrupted verification resumes there (the equivalent of `wsusutil reset`, but incremental
// and resumable). With `fix`, a missing or corrupt file is recorded absent, a corrupt copy is
// removed, and both go back into the download queue.
import { verifyContent, type ContentStore } from '../content/index.ts';
import { removeContent } from '../content/remove.ts';
import type { Store } from '../store/index.ts';

/** Where an unfinished verification stands (the last digest of the last page done). */
export const VERIFY_CHECKPOINT = 'maintenance.contentVerify';

export interface ContentVerifyOptions {
  readonly fix?: boolean;
  /** Ignore a saved position and start from the first file. */
  readonly restart?: boolean;
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { checked: number; ok: number; missing: number; corrupt: number; bytesHashed: number }) => void;
}

export interface ContentVerifyReport {
  /** The digest it resumed after, when it did. */
  readonly resumedAfter?: string;
  readonly checked: number;
  readonly ok: number;
  readonly missing: readonly string[];
  readonly corrupt: readonly { readonly path: string; readonly error: string }[];
  readonly bytesHashed: number;
  /** Files put back in the download queue (with fix). */
  readonly requeued: number;
}

export async function verifyContentStore(store: Store, content: ContentStore, options: ContentVerifyOptions = {}): Promise<ContentVerifyReport> {
  const pageSize = options.pageSize ?? 200;
  const resumedAfter = options.restart ? undefined : await store.anchors.get(VERIFY_CHECKPOINT);
  let after = resumedAfter;
  let checked = 0;
  let ok = 0;
  let bytesHashed = 0;
  let requeued = 0;
  const missing: string[] = [];
  const corrupt: { path: string; error: string }[] = [];
  for (;;) {
    options.signal?.throwIfAborted();
    const page = await store.files.list('present', { limit: pageSize, ...(after !== undefined && { after }) });
    if (page.length === 0) break;
    const report = await verifyContent(content, page, {
      ...(options.signal !== undefined && { signal: options.signal }),
      onProgress: (p) =>
        options.onProgress?.({ checked: checked + p.checked, ok: ok + p.ok, missing: missing.length + p.missing, corrupt: corrupt.length + p.corrupt, bytesHashed: bytesHashed + p.bytesHashed }),
    });
    checked += report.checked;
    ok += report.ok;
    bytesHashed += report.bytesHashed;
    missing.push(...report.missing.map((f) => f.sha1));
    corrupt.push(...report.corrupt.map((c) => ({ path: content.pathOf(c.file), error: c.error.message })));
    const bad = [...report.missing, ...report.corrupt.map((c) => c.file)];
    if (options.fix && bad.length > 0) {
      // A corrupt copy would be served as it is: away with it before the record says absent.
      for (const c of report.corrupt) await removeContent(content, c.file);
      requeued += await store.transaction(async (tx) => {
        await tx.files.setStates(bad.map((f) => f.sha1), 'absent');
        return tx.contentQueue.enqueue(bad.map((f) => f.sha1));
      });
    }
    after = page[page.length - 1]!.sha1;
    await store.anchors.set(VERIFY_CHECKPOINT, after);
    if (page.length < pageSize) break;
  }
  await store.anchors.delete(VERIFY_CHECKPOINT);
  return { ...(resumedAfter !== undefined && { resumedAfter }), checked, ok, missing, corrupt, bytesHashed, requeued };
}

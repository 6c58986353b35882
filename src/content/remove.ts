// Deleting a content file that nothing needs any more (the cleanup's files step). Idempotent: a
// file already gone is not an error, so a run repeated after a crash finishes the job.
import { rm, stat } from 'node:fs/promises';
import type { ContentFile, ContentStore } from './store.ts';

/** Removes the file; returns the bytes freed (0 when it was not there). */
export async function removeContent(store: ContentStore, file: ContentFile): Promise<number> {
  const path = store.pathOf(file);
  const size = (await stat(path).catch(() => undefined))?.size ?? 0;
  await rm(path, { force: true });
  return size;
}

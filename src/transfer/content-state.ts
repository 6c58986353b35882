// Makes the files' download states agree with the content directory: after an import (the
// metadata arrives without content), after `content copy`, or when files were placed by hand.
// A cheap check (exists with the right size); `content verify` is the one that re-hashes.
import type { ContentStore } from '../content/index.ts';
import type { FileState } from '../domain/catalog-records.ts';
import type { Store } from '../store/index.ts';

export interface ContentReconciliation {
  /** Files newly found on disk. */
  readonly found: number;
  /** Files recorded present whose content is gone. */
  readonly lost: number;
}

const PAGE = 1000;

async function sweep(store: Store, content: ContentStore, state: FileState, wantPresent: boolean): Promise<number> {
  let changed = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.files.list(state, { limit: PAGE, ...(after ? { after } : {}) });
    const flip: string[] = [];
    for (const file of page) if ((await content.has(file)) === wantPresent) flip.push(file.sha1);
    changed += await store.files.setStates(flip, wantPresent ? 'present' : 'absent');
    if (page.length < PAGE) return changed;
    after = page[page.length - 1]!.sha1;
  }
}

export async function reconcileContent(store: Store, content: ContentStore): Promise<ContentReconciliation> {
  let found = 0;
  for (const state of ['absent', 'queued', 'failed'] as const) found += await sweep(store, content, state, true);
  const lost = await sweep(store, content, 'present', false);
  return { found, lost };
}

// The decisions of a downstream synchronization that need no I/O (WSUS-PROTOCOLS §2.5): what to
// fetch of a revision list, how to cut it into GetUpdateData batches, which ids go with Delta,
// and how a fetched revision counts in the run's summary.
import type { RevisionKey } from './update.ts';

export interface FetchPlan {
  /** Listed revisions not held: to fetch, each once, in list order. */
  readonly wanted: readonly RevisionKey[];
  /** Listed revisions already held: nothing to do. */
  readonly held: number;
}

/**
 * What to fetch of a revision list, given the revision numbers held per update id. A list may
 * name an id twice (the category list does): it is fetched once.
 */
export function planFetch(listed: readonly RevisionKey[], held: ReadonlyMap<string, ReadonlySet<number>>): FetchPlan {
  const seen = new Set<string>();
  const wanted: RevisionKey[] = [];
  let heldCount = 0;
  for (const k of listed) {
    const id = `${k.updateId}/${k.revisionNumber}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (held.get(k.updateId)?.has(k.revisionNumber)) heldCount++;
    else wanted.push(k);
  }
  return { wanted, held: heldCount };
}

export function batches<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`a batch size must be ≥ 1, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The filter's ids with their Delta flags. With an anchor, an id already sent last time asks
 * only for changes since (Delta=true); an id selected since then asks for everything it has
 * (Delta=false), or its older updates would never come. Without an anchor Delta means nothing.
 */
export function withDelta(ids: readonly string[], previouslySent: ReadonlySet<string>, hasAnchor: boolean): { id: string; delta: boolean }[] {
  return ids.map((id) => ({ id, delta: hasAnchor && previouslySent.has(id) }));
}

export type RevisionChange = 'new' | 'revised' | 'expired';

/** How a fetched revision counts: an expiry, a new revision of a held update, or a new update. */
export function classifyRevision(publicationState: string, heldRevisionsOfUpdate: ReadonlySet<number> | undefined): RevisionChange {
  if (publicationState === 'Expired') return 'expired';
  return heldRevisionsOfUpdate !== undefined && heldRevisionsOfUpdate.size > 0 ? 'revised' : 'new';
}

// Which revisions an upstream lists in GetRevisionIdList (WSUS-PROTOCOLS §2.5). The spec gives no
// semantics; these are the ones a real WSUS showed in the captures:
//
// - GetConfig=true: categories, classifications and detectoids, changed since the anchor (all of
//   them without one); the lists are ignored.
// - GetConfig=false with neither list: every update changed since the anchor.
// - One list only, or an empty list: nothing.
// - Both lists: an update is selected when an `AtLeastOne IsCategory="true"` clause of its newest
//   revision names a listed product AND one names a listed classification. Ids match exactly: a
//   parent product does not pull its children's updates.
// - Delta is per listed id. With an anchor, an update selected through an id whose Delta is false
//   is listed whatever the anchor (the downstream just subscribed to that id); selected only
//   through Delta=true ids, it is listed when it changed since the anchor.
// - The updates a selected bundle bundles are listed with it, transitively (children of a leaf
//   bundle carry the product in a plain `AtLeastOne`, which the rule above does not match). A child
//   whose own revision changed is listed when any bundle above it is selected, and everything
//   under a listed bundle is listed with it, so a bundle's new revision that takes in an older
//   update brings it along.
// - One entry per update: its newest revision. Expired revisions are listed like the others.
//
// The rule is pure; the catalog is read through CatalogGraphReader, whose store implementation
// answers each step with one query, so an answer costs a handful of queries, and an incremental
// one (Delta=true everywhere) costs O(changes).

/** The newest stored revision of an update, as selection sees it. */
export interface RevisionRef {
  readonly revisionId: number;
  readonly updateId: string;
  readonly revisionNumber: number;
  /** Position in the change sequence of the revision's last change. */
  readonly changeSeq: number;
}

/** A revision and one category its `AtLeastOne IsCategory="true"` clauses name. */
export interface CategoryLink {
  readonly revision: RevisionRef;
  readonly categoryId: string;
}

/** A bundle (newest revision) and the newest revision of one update it bundles. */
export interface BundleEdge {
  readonly parent: RevisionRef;
  readonly child: RevisionRef;
}

/** Which revisions `categoryLinks` looks at; no scope means every newest non-category revision. */
export type CategoryLinkScope =
  | { readonly withAnyOf: readonly string[] }
  | { readonly revisionIds: readonly number[] }
  | undefined;

/** The catalog as selection reads it; every method answers for newest revisions only. */
export interface CatalogGraphReader {
  /** Categories and detectoids (`config`) or everything else (`content`), changed after `since` when given. */
  latest(kind: 'config' | 'content', since?: number): Promise<RevisionRef[]>;
  /** Links of revisions to the given categories, restricted to `scope`. */
  categoryLinks(categoryIds: readonly string[], scope?: CategoryLinkScope): Promise<CategoryLink[]>;
  /** Bundle edges from the given bundle revisions down to their children. */
  childrenOf(revisionIds: readonly number[]): Promise<BundleEdge[]>;
  /** Bundle edges from any bundle down to the given child updates. */
  parentsOf(updateIds: readonly string[]): Promise<BundleEdge[]>;
}

export interface IdAndDelta {
  /** Canonical (lower-case) GUID. */
  readonly id: string;
  readonly delta: boolean;
}

export interface RevisionFilter {
  readonly getConfig: boolean;
  /** `Categories` as sent (the products); undefined when the element is absent. */
  readonly categories?: readonly IdAndDelta[] | undefined;
  /** `Classifications` as sent; undefined when the element is absent. */
  readonly classifications?: readonly IdAndDelta[] | undefined;
}

export type FilterPlan =
  | { readonly kind: 'config' }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'everything' }
  | {
      readonly kind: 'match';
      /** Listed product id -> whether it asks for everything (Delta=false). */
      readonly products: ReadonlyMap<string, boolean>;
      readonly classifications: ReadonlyMap<string, boolean>;
    };

function deltaMap(items: readonly IdAndDelta[]): Map<string, boolean> {
  const map = new Map<string, boolean>();
  // An id listed twice asks for everything if either entry does.
  for (const item of items) map.set(item.id, (map.get(item.id) ?? false) || !item.delta);
  return map;
}

export function planRevisionFilter(filter: RevisionFilter): FilterPlan {
  if (filter.getConfig) return { kind: 'config' };
  const { categories, classifications } = filter;
  if (categories === undefined && classifications === undefined) return { kind: 'everything' };
  if (categories === undefined || classifications === undefined) return { kind: 'nothing' };
  if (categories.length === 0 || classifications.length === 0) return { kind: 'nothing' };
  return { kind: 'match', products: deltaMap(categories), classifications: deltaMap(classifications) };
}

export type MatchKind = 'none' | 'delta' | 'full';

/**
 * The product ∧ classification rule for one revision, given the categories its IsCategory
 * clauses name. `full`: selected through an id that asks for everything (or there is no anchor).
 */
export function matchCategories(
  categoryIds: Iterable<string>,
  plan: Extract<FilterPlan, { kind: 'match' }>,
  hasAnchor: boolean,
): MatchKind {
  let product = false;
  let classification = false;
  let full = !hasAnchor;
  for (const id of categoryIds) {
    const p = plan.products.get(id);
    if (p !== undefined) {
      product = true;
      full ||= p;
    }
    const c = plan.classifications.get(id);
    if (c !== undefined) {
      classification = true;
      full ||= c;
    }
  }
  if (!product || !classification) return 'none';
  return full ? 'full' : 'delta';
}

/** Groups links by revision and applies the rule to each. */
export function matchLinks(
  links: readonly CategoryLink[],
  plan: Extract<FilterPlan, { kind: 'match' }>,
  hasAnchor: boolean,
): Map<number, { revision: RevisionRef; match: Exclude<MatchKind, 'none'> }> {
  const byRevision = new Map<number, { revision: RevisionRef; ids: string[] }>();
  for (const link of links) {
    const entry = byRevision.get(link.revision.revisionId);
    if (entry === undefined) byRevision.set(link.revision.revisionId, { revision: link.revision, ids: [link.categoryId] });
    else entry.ids.push(link.categoryId);
  }
  const out = new Map<number, { revision: RevisionRef; match: Exclude<MatchKind, 'none'> }>();
  for (const [id, entry] of byRevision) {
    const match = matchCategories(entry.ids, plan, hasAnchor);
    if (match !== 'none') out.set(id, { revision: entry.revision, match });
  }
  return out;
}

/** One entry per update (its newest revision), in change order: the wire order of NewRevisions. */
export function orderRevisions(revisions: Iterable<RevisionRef>): RevisionRef[] {
  const byUpdate = new Map<string, RevisionRef>();
  for (const r of revisions) {
    const known = byUpdate.get(r.updateId);
    if (known === undefined || r.revisionNumber > known.revisionNumber) byUpdate.set(r.updateId, r);
  }
  return [...byUpdate.values()].sort((a, b) => a.changeSeq - b.changeSeq || a.revisionId - b.revisionId);
}

/** Bundles nest a few levels deep in practice; the bound only stops a cycle in bad data. */
const MAX_BUNDLE_DEPTH = 32;

/** Adds everything bundled under `seeds`, transitively. */
async function withBundled(graph: CatalogGraphReader, seeds: Map<number, RevisionRef>): Promise<Map<number, RevisionRef>> {
  const out = new Map(seeds);
  let frontier = [...seeds.keys()];
  for (let depth = 0; frontier.length > 0 && depth < MAX_BUNDLE_DEPTH; depth++) {
    const next: number[] = [];
    for (const edge of await graph.childrenOf(frontier)) {
      if (out.has(edge.child.revisionId)) continue;
      out.set(edge.child.revisionId, edge.child);
      next.push(edge.child.revisionId);
    }
    frontier = next;
  }
  return out;
}

/**
 * The changed revisions among `changed` that sit under a selected bundle, found by walking up the
 * bundle edges above them and applying the rule to the bundles met.
 */
async function changedUnderSelected(
  graph: CatalogGraphReader,
  plan: Extract<FilterPlan, { kind: 'match' }>,
  listed: readonly string[],
  changed: readonly RevisionRef[],
): Promise<RevisionRef[]> {
  if (changed.length === 0) return [];
  const parentsOfUpdate = new Map<string, RevisionRef[]>();
  const ancestors = new Map<number, RevisionRef>();
  const visited = new Set(changed.map((r) => r.updateId));
  let frontier = [...visited];
  for (let depth = 0; frontier.length > 0 && depth < MAX_BUNDLE_DEPTH; depth++) {
    const next: string[] = [];
    for (const edge of await graph.parentsOf(frontier)) {
      const parents = parentsOfUpdate.get(edge.child.updateId) ?? [];
      parents.push(edge.parent);
      parentsOfUpdate.set(edge.child.updateId, parents);
      ancestors.set(edge.parent.revisionId, edge.parent);
      if (!visited.has(edge.parent.updateId)) {
        visited.add(edge.parent.updateId);
        next.push(edge.parent.updateId);
      }
    }
    frontier = next;
  }
  if (ancestors.size === 0) return [];
  const selected = matchLinks(await graph.categoryLinks(listed, { revisionIds: [...ancestors.keys()] }), plan, true);
  const memo = new Map<string, boolean>();
  const underSelected = (updateId: string): boolean => {
    const known = memo.get(updateId);
    if (known !== undefined) return known;
    memo.set(updateId, false); // a cycle in bad data ends here
    const result = (parentsOfUpdate.get(updateId) ?? []).some((p) => selected.has(p.revisionId) || underSelected(p.updateId));
    memo.set(updateId, result);
    return result;
  };
  return changed.filter((r) => underSelected(r.updateId));
}

/**
 * The revisions GetRevisionIdList lists for `plan`, in wire order. `since` is the position of the
 * caller's anchor (undefined: no anchor, list everything that matches).
 */
export async function selectRevisions(graph: CatalogGraphReader, plan: FilterPlan, since: number | undefined): Promise<RevisionRef[]> {
  switch (plan.kind) {
    case 'nothing':
      return [];
    case 'config':
      return orderRevisions(await graph.latest('config', since));
    case 'everything':
      return orderRevisions(await graph.latest('content', since));
    case 'match':
      break;
  }
  const listed = [...new Set([...plan.products.keys(), ...plan.classifications.keys()])];
  const seeds = new Map<number, RevisionRef>();
  if (since === undefined) {
    for (const [id, m] of matchLinks(await graph.categoryLinks(listed), plan, false)) seeds.set(id, m.revision);
    return orderRevisions((await withBundled(graph, seeds)).values());
  }

  const fullIds = listed.filter((id) => plan.products.get(id) === true || plan.classifications.get(id) === true);
  if (fullIds.length > 0) {
    for (const [id, m] of matchLinks(await graph.categoryLinks(listed, { withAnyOf: fullIds }), plan, true)) {
      if (m.match === 'full') seeds.set(id, m.revision);
    }
  }
  const changed = await graph.latest('content', since);
  if (changed.length > 0) {
    const direct = matchLinks(await graph.categoryLinks(listed, { revisionIds: changed.map((r) => r.revisionId) }), plan, true);
    for (const [id, m] of direct) seeds.set(id, m.revision);
    const rest = changed.filter((r) => !direct.has(r.revisionId) && !seeds.has(r.revisionId));
    for (const r of await changedUnderSelected(graph, plan, listed, rest)) seeds.set(r.revisionId, r);
  }
  return orderRevisions((await withBundled(graph, seeds)).values());
}

// The catalog as a scan sees it (WSUS-PROTOCOLS §3.5, §4.4): the newest revision of every update,
// its prerequisites in conjunctive normal form and the updates it bundles, compiled once into flat
// integer arrays so that answering one client costs what the client sends and receives, not what
// the catalog holds.
//
// - Revisions are numbered by ascending revision id (`index`), so ordering by index is ordering by
//   the id clients see.
// - A prerequisite names an update, meaning its newest revision; an id the catalog lacks can never
//   be installed, so a clause left without any known alternative can never be satisfied.
// - IsLeaf is false iff some revision of the catalog names the update as a prerequisite. Bundling
//   does not count: bundle members are leaves unless something requires them (MS-WUSP 3.1.5.7).
// - Every revision with prerequisites "watches" one of its clauses: it cannot be deliverable
//   unless an alternative of that clause is installed, so the revisions worth checking for a
//   client are the roots and the watchers of what the client reports installed. The watched clause
//   is the one whose alternatives fewer revisions name, typically a detectoid rather than the
//   product or classification thousands of updates share.
import type { PrerequisiteClause, UpdateType } from './update.ts';

export interface GraphRevision {
  readonly revisionId: number;
  /** Lower-case GUID; one revision per update. */
  readonly updateId: string;
  readonly updateType: UpdateType;
  readonly prerequisites: readonly PrerequisiteClause[];
  /** Updates this revision bundles (any group, any revision named: the newest is delivered). */
  readonly bundledUpdateIds?: readonly string[];
}

export const TYPE_CODE: Readonly<Record<UpdateType, number>> = { Software: 0, Driver: 1, Category: 2, Detectoid: 3 };

export interface CatalogGraph {
  readonly size: number;
  /** Revision id of each index, ascending. */
  readonly revisionIds: Int32Array;
  readonly updateIds: readonly string[];
  /** TYPE_CODE of each index. */
  readonly types: Uint8Array;
  /** 1 when nothing names the update as a prerequisite. */
  readonly isLeaf: Uint8Array;
  /** 1 when the revision bundles other updates. */
  readonly isBundle: Uint8Array;
  /** Clauses of index i are clauseStart[i] .. clauseStart[i+1]-1; alternatives of clause c are alts[altStart[c] .. altStart[c+1]-1]. */
  readonly clauseStart: Int32Array;
  readonly altStart: Int32Array;
  readonly alts: Int32Array;
  /** Bundled children of index i: children[childStart[i] .. childStart[i+1]-1]. */
  readonly childStart: Int32Array;
  readonly children: Int32Array;
  /** Revisions watching index i (see above): watchers[watchStart[i] .. watchStart[i+1]-1], ascending. */
  readonly watchStart: Int32Array;
  readonly watchers: Int32Array;
  /** Every revision naming index i in any clause: dependents[dependentStart[i] .. dependentStart[i+1]-1]. */
  readonly dependentStart: Int32Array;
  readonly dependents: Int32Array;
  /** Indexes without prerequisites, ascending. */
  readonly roots: Int32Array;
  readonly byRevisionId: ReadonlyMap<number, number>;
  readonly byUpdateId: ReadonlyMap<string, number>;
  /** Revision id -> index + 1 (0 = unknown) when ids are dense enough; see indexOfRevision. */
  readonly revisionTable?: Int32Array;
}

/** Index of a revision id, or -1. Per-request hot path: a table lookup when ids are dense. */
export function indexOfRevision(graph: CatalogGraph, revisionId: number): number {
  const table = graph.revisionTable;
  if (table !== undefined) return revisionId >= 0 && revisionId < table.length ? table[revisionId]! - 1 : -1;
  return graph.byRevisionId.get(revisionId) ?? -1;
}

/** Prefix sums of `counts` (length n) into a start array of length n + 1. */
function starts(counts: Int32Array): Int32Array {
  const start = new Int32Array(counts.length + 1);
  for (let i = 0; i < counts.length; i++) start[i + 1] = start[i]! + counts[i]!;
  return start;
}

/** Fills buckets from (bucket, item) pairs given in item order, so every bucket is ascending. */
function fill(start: Int32Array, size: number, pairs: (emit: (bucket: number, item: number) => void) => void): Int32Array {
  const items = new Int32Array(start[start.length - 1]!);
  const cursor = start.slice(0, size);
  pairs((bucket, item) => {
    items[cursor[bucket]!++] = item;
  });
  return items;
}

// Typed arrays throughout: per-revision JS arrays made compiling a 50,000-revision catalog spend
// most of its time collecting garbage.
export function compileCatalogGraph(revisions: readonly GraphRevision[]): CatalogGraph {
  const sorted = [...revisions].sort((a, b) => a.revisionId - b.revisionId);
  const size = sorted.length;
  const byRevisionId = new Map<number, number>();
  const byUpdateId = new Map<string, number>();
  const revisionIds = new Int32Array(size);
  const types = new Uint8Array(size);
  let clauseCount = 0;
  let altBound = 0;
  let childBound = 0;
  for (let i = 0; i < size; i++) {
    const r = sorted[i]!;
    if (!Number.isInteger(r.revisionId) || r.revisionId < 0 || r.revisionId > 0x7fffffff) {
      throw new RangeError(`revision id must be a 32-bit whole number, got ${r.revisionId}`);
    }
    if (byRevisionId.has(r.revisionId)) throw new Error(`revision id ${r.revisionId} is listed twice`);
    // Clients may hold one revision per update (MS-WUSP 3.1.5.7): the graph holds the newest only.
    if (byUpdateId.has(r.updateId)) throw new Error(`update ${r.updateId} is listed with two revisions`);
    byRevisionId.set(r.revisionId, i);
    byUpdateId.set(r.updateId, i);
    revisionIds[i] = r.revisionId;
    types[i] = TYPE_CODE[r.updateType];
    clauseCount += r.prerequisites.length;
    for (const clause of r.prerequisites) altBound += clause.updateIds.length;
    childBound += r.bundledUpdateIds?.length ?? 0;
  }

  // Clauses and their known alternatives, deduplicated within a clause.
  const clauseStart = new Int32Array(size + 1);
  const altStart = new Int32Array(clauseCount + 1);
  const altBuffer = new Int32Array(altBound);
  const isLeaf = new Uint8Array(size).fill(1);
  const dependentCount = new Int32Array(size);
  let c = 0;
  let a = 0;
  for (let i = 0; i < size; i++) {
    for (const clause of sorted[i]!.prerequisites) {
      const first = a;
      for (const id of clause.updateIds) {
        const j = byUpdateId.get(id);
        if (j === undefined) continue;
        let dup = false;
        for (let k = first; k < a; k++) if (altBuffer[k] === j) dup = true;
        if (dup) continue;
        altBuffer[a++] = j;
        isLeaf[j] = 0;
        dependentCount[j]!++;
      }
      altStart[++c] = a;
    }
    clauseStart[i + 1] = c;
  }
  const alts = altBuffer.slice(0, a);

  const childStart = new Int32Array(size + 1);
  const childBuffer = new Int32Array(childBound);
  const isBundle = new Uint8Array(size);
  let b = 0;
  for (let i = 0; i < size; i++) {
    const first = b;
    for (const id of sorted[i]!.bundledUpdateIds ?? []) {
      const j = byUpdateId.get(id);
      if (j === undefined || j === i) continue;
      let dup = false;
      for (let k = first; k < b; k++) if (childBuffer[k] === j) dup = true;
      if (!dup) childBuffer[b++] = j;
    }
    if (b > first) isBundle[i] = 1;
    childStart[i + 1] = b;
  }
  const children = childBuffer.slice(0, b);

  const dependentStart = starts(dependentCount);
  const dependents = fill(dependentStart, size, (emit) => {
    for (let i = 0; i < size; i++) {
      for (let k = altStart[clauseStart[i]!]!; k < altStart[clauseStart[i + 1]!]!; k++) emit(alts[k]!, i);
    }
  });

  const watched = new Int32Array(size).fill(-1);
  const watchCount = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    let best = -1;
    let bestWeight = Infinity;
    for (let cl = clauseStart[i]!; cl < clauseStart[i + 1]!; cl++) {
      // An empty clause can never be satisfied: nothing needs to watch for it.
      if (altStart[cl] === altStart[cl + 1]) {
        best = -1;
        break;
      }
      let weight = 0;
      for (let k = altStart[cl]!; k < altStart[cl + 1]!; k++) weight += dependentCount[alts[k]!]!;
      if (weight < bestWeight) {
        best = cl;
        bestWeight = weight;
      }
    }
    watched[i] = best;
    if (best >= 0) for (let k = altStart[best]!; k < altStart[best + 1]!; k++) watchCount[alts[k]!]!++;
  }
  const watchStart = starts(watchCount);
  const watchers = fill(watchStart, size, (emit) => {
    for (let i = 0; i < size; i++) {
      const cl = watched[i]!;
      if (cl >= 0) for (let k = altStart[cl]!; k < altStart[cl + 1]!; k++) emit(alts[k]!, i);
    }
  });

  const roots: number[] = [];
  for (let i = 0; i < size; i++) if (clauseStart[i] === clauseStart[i + 1]) roots.push(i);

  // Revision ids are assigned by this server one after the other, so a table indexed by id is
  // small; a catalog with sparse ids (a test, an import) falls back to the map.
  const maxId = size > 0 ? revisionIds[size - 1]! : -1;
  let revisionTable: Int32Array | undefined;
  if (maxId < 4 * size + 65_536) {
    revisionTable = new Int32Array(maxId + 1);
    for (let i = 0; i < size; i++) revisionTable[revisionIds[i]!] = i + 1;
  }

  return {
    size,
    revisionIds,
    updateIds: sorted.map((r) => r.updateId),
    types,
    isLeaf,
    isBundle,
    clauseStart,
    altStart,
    alts,
    childStart,
    children,
    watchStart,
    watchers,
    dependentStart,
    dependents,
    roots: Int32Array.from(roots),
    byRevisionId,
    byUpdateId,
    ...(revisionTable !== undefined ? { revisionTable } : {}),
  };
}

/**
 * True when every clause of revision `index` has an alternative whose state carries `bit`
 * (the client reported it installed).
 */
export function prerequisitesMet(graph: CatalogGraph, index: number, state: Uint8Array, bit: number): boolean {
  const { clauseStart, altStart, alts } = graph;
  for (let c = clauseStart[index]!; c < clauseStart[index + 1]!; c++) {
    let met = false;
    for (let a = altStart[c]!; a < altStart[c + 1]!; a++) {
      if ((state[alts[a]!]! & bit) !== 0) {
        met = true;
        break;
      }
    }
    if (!met) return false;
  }
  return true;
}

/** The update ids a revision requires, one array per clause (for tests and diagnostics). */
export function prerequisiteUpdateIds(graph: CatalogGraph, index: number): string[][] {
  const out: string[][] = [];
  for (let c = graph.clauseStart[index]!; c < graph.clauseStart[index + 1]!; c++) {
    const clause: string[] = [];
    for (let a = graph.altStart[c]!; a < graph.altStart[c + 1]!; a++) clause.push(graph.updateIds[graph.alts[a]!]!);
    out.push(clause);
  }
  return out;
}

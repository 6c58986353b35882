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
}

/** Compressed adjacency from per-node lists. */
function csr(lists: readonly (readonly number[])[]): { start: Int32Array; items: Int32Array } {
  const start = new Int32Array(lists.length + 1);
  for (let i = 0; i < lists.length; i++) start[i + 1] = start[i]! + lists[i]!.length;
  const items = new Int32Array(start[lists.length]!);
  for (let i = 0; i < lists.length; i++) items.set(lists[i]!, start[i]!);
  return { start, items };
}

export function compileCatalogGraph(revisions: readonly GraphRevision[]): CatalogGraph {
  const sorted = [...revisions].sort((a, b) => a.revisionId - b.revisionId);
  const size = sorted.length;
  const byRevisionId = new Map<number, number>();
  const byUpdateId = new Map<string, number>();
  const revisionIds = new Int32Array(size);
  const types = new Uint8Array(size);
  sorted.forEach((r, i) => {
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
  });

  const clauseCounts = new Int32Array(size + 1);
  const altLists: number[][] = [];
  const dependentLists: number[][] = Array.from({ length: size }, () => []);
  const childLists: number[][] = Array.from({ length: size }, () => []);
  const isLeaf = new Uint8Array(size).fill(1);
  const isBundle = new Uint8Array(size);
  const roots: number[] = [];
  sorted.forEach((r, i) => {
    clauseCounts[i + 1] = clauseCounts[i]! + r.prerequisites.length;
    if (r.prerequisites.length === 0) roots.push(i);
    for (const clause of r.prerequisites) {
      const known: number[] = [];
      for (const id of clause.updateIds) {
        const j = byUpdateId.get(id);
        if (j === undefined || known.includes(j)) continue;
        known.push(j);
        isLeaf[j] = 0;
        dependentLists[j]!.push(i);
      }
      altLists.push(known);
    }
    for (const id of r.bundledUpdateIds ?? []) {
      const j = byUpdateId.get(id);
      if (j === undefined || j === i || childLists[i]!.includes(j)) continue;
      childLists[i]!.push(j);
      isBundle[i] = 1;
    }
  });
  const { start: altStart, items: alts } = csr(altLists);
  const { start: childStart, items: children } = csr(childLists);
  const { start: dependentStart, items: dependents } = csr(dependentLists);

  const watchLists: number[][] = Array.from({ length: size }, () => []);
  for (let i = 0; i < size; i++) {
    let best = -1;
    let bestWeight = Infinity;
    for (let c = clauseCounts[i]!; c < clauseCounts[i + 1]!; c++) {
      let weight = 0;
      for (let a = altStart[c]!; a < altStart[c + 1]!; a++) weight += dependentLists[alts[a]!]!.length;
      // An empty clause can never be satisfied: nothing needs to watch for it.
      if (altStart[c] === altStart[c + 1]) {
        best = -1;
        break;
      }
      if (weight < bestWeight) {
        best = c;
        bestWeight = weight;
      }
    }
    if (best < 0) continue;
    for (let a = altStart[best]!; a < altStart[best + 1]!; a++) watchLists[alts[a]!]!.push(i);
  }
  const { start: watchStart, items: watchers } = csr(watchLists);

  return {
    size,
    revisionIds,
    updateIds: sorted.map((r) => r.updateId),
    types,
    isLeaf,
    isBundle,
    clauseStart: clauseCounts,
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

// What a single-update import (`openwsus updates import`, the Microsoft Update Catalog path) needs
// before it may add updates: every prerequisite clause met by an update the catalog or the import
// holds, every category it names known, every bundled update there. Pure: the caller says which
// update ids are known.
import type { UpdateRecord } from './update.ts';

export interface MissingReference {
  /** The update that needs it. */
  readonly updateId: string;
  readonly kind: 'category' | 'prerequisite' | 'bundled';
  /** The ids of the clause (any one would do), or the bundled update. */
  readonly anyOf: readonly string[];
}

/** References of `records` that neither the catalog (`known`) nor the records themselves satisfy. */
export function missingReferences(records: readonly UpdateRecord[], known: (updateId: string) => boolean): MissingReference[] {
  const given = new Set(records.map((r) => r.key.updateId.toLowerCase()));
  const present = (id: string): boolean => given.has(id.toLowerCase()) || known(id.toLowerCase());
  const out: MissingReference[] = [];
  for (const r of records) {
    for (const clause of r.prerequisites) {
      if (clause.updateIds.length === 0 || clause.updateIds.some(present)) continue;
      out.push({ updateId: r.key.updateId, kind: clause.isCategory ? 'category' : 'prerequisite', anyOf: clause.updateIds });
    }
    for (const group of r.bundles) {
      for (const m of group.members) if (!present(m.updateId)) out.push({ updateId: r.key.updateId, kind: 'bundled', anyOf: [m.updateId] });
    }
  }
  return out;
}

/** Every update id a record refers to (for one look-up in the catalog). */
export function referencedIds(records: readonly UpdateRecord[]): string[] {
  const ids = new Set<string>();
  for (const r of records) {
    for (const c of r.prerequisites) for (const id of c.updateIds) ids.add(id.toLowerCase());
    for (const g of r.bundles) for (const m of g.members) ids.add(m.updateId.toLowerCase());
  }
  return [...ids];
}

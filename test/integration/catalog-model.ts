// What a downstream should receive, worked out from the generator's own specs (not from the
// server's store or its parser): the newest revision of every update, and the selection rule of
// WSUS-PROTOCOLS §2.5 — an update is selected when the `AtLeastOne IsCategory="true"` clauses
// of its newest revision name a listed product and a listed classification; the updates a selected
// bundle bundles come with it, transitively; one entry per update, its newest revision.
import type { CatalogDocument } from '../../src/catalog/index.ts';

export const keyString = (k: { updateId: string; revisionNumber: number }): string => `${k.updateId}/${k.revisionNumber}`;

const CONFIG_TYPES = new Set(['Category', 'Detectoid']);

export class CatalogModel {
  /** Newest document of each update id. */
  readonly newest = new Map<string, CatalogDocument>();
  /** Every document by revision key. */
  readonly byKey = new Map<string, CatalogDocument>();

  constructor(docs: Iterable<CatalogDocument> = []) {
    this.add(docs);
  }

  add(docs: Iterable<CatalogDocument>): this {
    for (const d of docs) {
      this.byKey.set(keyString(d.key), d);
      const known = this.newest.get(d.key.updateId);
      if (known === undefined || d.key.revisionNumber > known.key.revisionNumber) this.newest.set(d.key.updateId, d);
    }
    return this;
  }

  clone(): CatalogModel {
    return new CatalogModel(this.byKey.values());
  }

  static isConfig(d: CatalogDocument): boolean {
    return CONFIG_TYPES.has(d.spec.properties.updateType);
  }

  /** Keys of the newest categories, classifications and detectoids: the GetConfig=true list. */
  configKeys(): Set<string> {
    return new Set([...this.newest.values()].filter(CatalogModel.isConfig).map((d) => keyString(d.key)));
  }

  categoriesOfType(type: 'Product' | 'UpdateClassification'): string[] {
    return [...this.newest.values()].filter((d) => d.spec.category?.categoryType === type).map((d) => d.key.updateId);
  }

  /** Ids named by the IsCategory clauses of an update's newest revision. */
  static categoryIds(d: CatalogDocument): Set<string> {
    return new Set((d.spec.prerequisites ?? []).filter((c) => c.isCategory).flatMap((c) => c.updateIds.map((id) => id.toLowerCase())));
  }

  /** Update ids an update matches with `products` ∧ `classifications` (newest revisions, no config types). */
  matched(products: ReadonlySet<string>, classifications: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    for (const d of this.newest.values()) {
      if (CatalogModel.isConfig(d)) continue;
      const ids = [...CatalogModel.categoryIds(d)];
      if (ids.some((id) => products.has(id)) && ids.some((id) => classifications.has(id))) out.add(d.key.updateId);
    }
    return out;
  }

  /** `seeds` and everything their newest revisions bundle, transitively (update ids). */
  withBundled(seeds: Iterable<string>): Set<string> {
    const out = new Set<string>();
    const stack = [...seeds];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (out.has(id)) continue;
      const doc = this.newest.get(id);
      if (doc === undefined) continue;
      out.add(id);
      for (const group of doc.spec.bundles ?? []) for (const m of group.members) stack.push(m.updateId.toLowerCase());
    }
    return out;
  }

  /** The keys (newest revisions) a full GetRevisionIdList with these lists names. */
  selectedKeys(products: ReadonlySet<string>, classifications: ReadonlySet<string>): Set<string> {
    return this.keysOf(this.withBundled(this.matched(products, classifications)));
  }

  keysOf(updateIds: Iterable<string>): Set<string> {
    const out = new Set<string>();
    for (const id of updateIds) {
      const d = this.newest.get(id);
      if (d !== undefined) out.add(keyString(d.key));
    }
    return out;
  }
}

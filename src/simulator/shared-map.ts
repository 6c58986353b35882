// A map that can share its contents with other maps until one of them changes: a shared base,
// read-only by convention, and this map's own changes over it. Ten thousand simulated computers
// of one group hold the same few thousand revisions; sharing them keeps a benchmark fleet in
// memory (a copy each would take gigabytes).
export class SharedMap<K, V> {
  #base: ReadonlyMap<K, V> = new Map();
  /** Own changes over the base; undefined = deleted. */
  #own = new Map<K, V | undefined>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    return this.#own.has(key) ? this.#own.get(key) : this.#base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): void {
    if (!this.has(key)) this.#size++;
    this.#own.set(key, value);
  }

  delete(key: K): boolean {
    if (!this.has(key)) return false;
    this.#size--;
    if (this.#base.has(key)) this.#own.set(key, undefined);
    else this.#own.delete(key);
    return true;
  }

  clear(): void {
    this.#base = new Map();
    this.#own = new Map();
    this.#size = 0;
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.#base) if (!this.#own.has(k)) yield [k, v];
    for (const [k, v] of this.#own) if (v !== undefined) yield [k, v];
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  *keys(): IterableIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  /** Makes this map hold what `other` holds, sharing it (both fold their own changes into one new base). */
  shareFrom(other: SharedMap<K, V>): void {
    this.#base = other.#fold();
    this.#own = new Map();
    this.#size = other.#size;
  }

  #fold(): ReadonlyMap<K, V> {
    if (this.#own.size === 0) return this.#base;
    const merged = new Map(this.entries());
    this.#base = merged;
    this.#own = new Map();
    return merged;
  }
}

// Seeded randomness for the sample catalog. Every draw is keyed by (seed, purpose, parts…) instead of
// coming from one long stream, so any unit of the catalog can be rebuilt alone, in any order: that is
// what lets the generator stream, count ahead of time, and replay earlier days cheaply.
import { createHash } from 'node:crypto';

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 32-bit MurmurHash3-style hash of a string, for seeding (not for security). */
export function hash32(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    let k = Math.imul(text.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix(h ^ text.length);
}

/** sfc32: small, fast, and good enough for shaping a sample catalog. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(key: string) {
    // One pass over the key, then splitmix32 spreads it over the four state words.
    let x = hash32(key, 0x9e3779b9);
    const next = () => {
      x = (x + 0x9e3779b9) | 0;
      return fmix(x);
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next() | 1;
    for (let i = 0; i < 4; i++) this.u32();
  }

  static of(...parts: readonly (string | number)[]): Rng {
    return new Rng(parts.join('\u0001'));
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** Picks by weight: `[[value, weight], …]`. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of entries) total += w;
    let x = this.float() * total;
    for (const [v, w] of entries) {
      if (x < w) return v;
      x -= w;
    }
    return (entries[entries.length - 1] as readonly [T, number])[0];
  }

  /** A random (version 4 shaped) GUID, lower-case. */
  guid(): string {
    return formatGuid(this.u32(), this.u32(), this.u32(), this.u32());
  }
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function formatGuid(a: number, b: number, c: number, d: number): string {
  const x = hex8(a) + hex8((b & 0xffff0fff) | 0x4000) + hex8((c & 0x3fffffff) | 0x80000000) + hex8(d);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A random-looking (version 4 shaped) GUID that is a function of its parts: ids computed, not drawn. */
export function guidOf(...parts: readonly (string | number)[]): string {
  const key = parts.join('\u0001');
  return formatGuid(hash32(key, 0x85ebca6b), hash32(key, 0xc2b2ae35), hash32(key, 0x27d4eb2f), hash32(key, 0x165667b1));
}

/**
 * A stable GUID for a name (UUID version 5 layout over SHA-1). Used for the catalog's synthetic
 * categories and detectoids, which stay the same whatever the seed, as Microsoft's do.
 */
export function nameGuid(name: string): string {
  const h = createHash('sha1').update('openwsus sample catalog\u0000').update(name).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// Open content files shared between requests for a few seconds, like nginx's open_file_cache.
//
// Delivery Optimization fetches a file as hundreds of 1 MiB ranges, each its own request; opening,
// stat-ing and closing the file for each costs three thread-pool round trips, about a quarter of
// the CPU of a range request (bench/content.ts). Reads are positioned (pread), so one descriptor
// serves any number of concurrent requests. Content under a name never changes (the name is the
// SHA-1 of the bytes), so a cached descriptor cannot serve wrong bytes; a file deleted meanwhile
// is served until the entry expires, and only files that exist are cached, so content that
// arrives is found at once.
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ContentFile, ContentStore } from '../../content/index.ts';

export interface OpenFile {
  readonly handle: FileHandle;
  readonly stats: Stats;
  /** Hands the file back; call exactly once, after the last read. */
  release(): void;
}

export interface OpenFilesOptions {
  /** How long an opened file is reused (0: open and close per request). */
  readonly ttlMs?: number;
  /** Most files kept open at once; past it, files are opened per request. */
  readonly maxEntries?: number;
}

interface Entry {
  readonly key: string;
  readonly opened: Promise<{ handle: FileHandle; stats: Stats } | undefined>;
  readonly openedAt: number;
  refs: number;
  /** Out of the map (expired or evicted): closed when the last user releases it. */
  retired: boolean;
}

export class OpenFiles {
  readonly #store: ContentStore;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  readonly #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(store: ContentStore, options: OpenFilesOptions = {}) {
    this.#store = store;
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#maxEntries = options.maxEntries ?? 256;
    if (this.#ttlMs > 0) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(50, this.#ttlMs / 2));
      this.#sweeper.unref();
    }
  }

  /** The file open for reading, or undefined when there is no such file. */
  async acquire(file: ContentFile): Promise<OpenFile | undefined> {
    if (this.#closed || this.#ttlMs <= 0) return this.#uncached(file);
    const key = this.#store.pathOf(file);
    let entry = this.#entries.get(key);
    if (entry && Date.now() - entry.openedAt >= this.#ttlMs) {
      this.#retire(entry);
      entry = undefined;
    }
    if (!entry) {
      if (this.#entries.size >= this.#maxEntries && !this.#evictIdle()) return this.#uncached(file);
      entry = { key, opened: this.#store.openHandle(file), openedAt: Date.now(), refs: 0, retired: false };
      this.#entries.set(key, entry);
    }
    entry.refs += 1;
    const current = entry;
    let opened;
    try {
      opened = await current.opened;
    } catch (error) {
      current.refs -= 1;
      this.#retire(current);
      throw error;
    }
    if (!opened) {
      // Not there (yet): never remember an absence.
      current.refs -= 1;
      this.#retire(current);
      return undefined;
    }
    let released = false;
    return {
      handle: opened.handle,
      stats: opened.stats,
      release: () => {
        if (released) return;
        released = true;
        current.refs -= 1;
        if (current.retired && current.refs === 0) void closeEntry(current);
      },
    };
  }

  /** Closes every file once its users are done; later acquires open per request. */
  close(): void {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const entry of [...this.#entries.values()]) this.#retire(entry);
  }

  /** Files open now (for tests). */
  get size(): number {
    return this.#entries.size;
  }

  async #uncached(file: ContentFile): Promise<OpenFile | undefined> {
    const opened = await this.#store.openHandle(file);
    if (!opened) return undefined;
    let released = false;
    return {
      ...opened,
      release: () => {
        if (released) return;
        released = true;
        void opened.handle.close().catch(() => undefined);
      },
    };
  }

  #retire(entry: Entry): void {
    if (entry.retired) return;
    entry.retired = true;
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
    if (entry.refs === 0) void closeEntry(entry);
  }

  #evictIdle(): boolean {
    // Map order is insertion order: the first idle entry is the oldest idle one.
    for (const entry of this.#entries.values()) {
      if (entry.refs === 0) {
        this.#retire(entry);
        return true;
      }
    }
    return false;
  }

  #sweep(): void {
    const now = Date.now();
    for (const entry of [...this.#entries.values()]) {
      if (now - entry.openedAt >= this.#ttlMs) this.#retire(entry);
    }
  }
}

async function closeEntry(entry: Entry): Promise<void> {
  const opened = await entry.opened.catch(() => undefined);
  await opened?.handle.close().catch(() => undefined);
}

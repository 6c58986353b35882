// What every upstream operation needs: the store, the clock, the configuration of the moment, and
// the cookie authority. One per registration.
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Language } from '../../domain/catalog-records.ts';
import { WSUS_LANGUAGES } from '../../domain/languages.ts';
import { configFingerprint, resolveUpstreamConfig, UPSTREAM_SETTING_KEYS, type UpstreamConfig } from '../../domain/upstream-config.ts';
import type { SoapBody } from '../../soap/index.ts';
import type { Store } from '../../store/index.ts';
import { CookieAuthority } from './cookies.ts';
import { Gate } from './gate.ts';
import { SharedAnswers } from './shared-answers.ts';

export interface UpstreamDeps {
  readonly store: Store;
  /** The clock (tests move it). Default: the system clock. */
  readonly now?: () => Date;
  /** Random bytes for cookie IVs. Default: node:crypto. */
  readonly random?: (size: number) => Uint8Array;
}

const SETTING_KEYS: readonly string[] = Object.values(UPSTREAM_SETTING_KEYS);
const CONFIG_POSITION_TTL_MS = 60_000;
/**
 * Revision lists computed at once. A full list of a 50,000-revision catalog takes seconds and
 * hundreds of MB while it is built; fifty downstream servers starting a full sync together would
 * otherwise build fifty at once (and, on SQLite, hold the event loop for all of them in a row).
 */
const REVISION_LISTS_AT_ONCE = 1;
/**
 * GetUpdateData answers built at once. On SQLite each is synchronous work anyway; more at once only
 * keeps more batches of documents and half-built answers alive together.
 */
const UPDATE_BATCHES_AT_ONCE = 4;

export class UpstreamContext {
  readonly store: Store;
  readonly now: () => Date;
  readonly cookies: CookieAuthority;
  /** Turns for building GetRevisionIdList answers. */
  readonly revisionLists = new Gate(REVISION_LISTS_AT_ONCE);
  /** GetRevisionIdList answers by filter and change positions: a few filters, a few minutes. */
  readonly revisionListAnswers = new SharedAnswers<SoapBody>({ size: 8, ttlMs: 5 * 60_000 });
  /** Turns for building GetUpdateData answers. */
  readonly updateBatches = new Gate(UPDATE_BATCHES_AT_ONCE);
  #configPosition: { fingerprint: string; position: number; at: number } | undefined;
  /** The lookup under way: concurrent callers share it rather than each taking a position. */
  #configLookup: { fingerprint: string; position: Promise<number> } | undefined;

  constructor(deps: UpstreamDeps) {
    this.store = deps.store;
    this.now = deps.now ?? (() => new Date());
    this.cookies = new CookieAuthority(deps.store, this.now, deps.random ?? ((size) => randomBytes(size)));
  }

  /** The configuration now; a malformed setting is logged and its default used. */
  async config(log?: FastifyBaseLogger): Promise<UpstreamConfig> {
    const values: Record<string, unknown> = {};
    for (const key of SETTING_KEYS) values[key] = await this.store.settings.get(key);
    const { config, problems } = resolveUpstreamConfig(values);
    for (const p of problems) log?.warn({ setting: p.key }, `setting ${p.key} ignored: ${p.reason}`);
    return config;
  }

  /** Languages downstream servers are offered: the store's, or the WSUS table before any was stored. */
  async languages(): Promise<Language[]> {
    const stored = await this.store.languages.list();
    return stored.length > 0 ? stored : [...WSUS_LANGUAGES];
  }

  /** Position in the change sequence of the last change to what GetConfigData announces. */
  async configPosition(config: UpstreamConfig, languages: readonly Language[]): Promise<number> {
    const fingerprint = configFingerprint(config, languages);
    // The store answers this by reading the change log, so the answer is kept a minute; longer
    // could miss a change back and forth made through another front end.
    const at = Date.now();
    const cached = this.#configPosition;
    if (cached !== undefined && cached.fingerprint === fingerprint && at - cached.at < CONFIG_POSITION_TTL_MS) return cached.position;
    // Downstream servers arriving together (after a restart, or a config change) must not each
    // take a position for the same change: every anchor but the last would be stale at once, and
    // each of them would be sent the language list again.
    const pending = this.#configLookup;
    if (pending !== undefined && pending.fingerprint === fingerprint) return pending.position;
    const lookup = { fingerprint, position: this.store.configVersion.positionOf(fingerprint) };
    this.#configLookup = lookup;
    try {
      const position = await lookup.position;
      this.#configPosition = { fingerprint, position, at };
      return position;
    } finally {
      if (this.#configLookup === lookup) this.#configLookup = undefined;
    }
  }
}

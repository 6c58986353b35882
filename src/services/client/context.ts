// What every client operation needs: the store, the clock, the cookies, the scope cache and the
// settings of the client role. One per registration.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { CLIENT_SETTING_KEYS, type TargetingMode } from '../../domain/computer.ts';
import { resolveDownstreamSettings } from '../../domain/settings.ts';
import type { Store } from '../../store/index.ts';
import { ClientCookies } from './cookies.ts';
import { ScopeCache } from './scopes.ts';
import { MAX_EXTENDED_UPDATES_PER_REQUEST, PROTOCOL_VERSION } from './wire.ts';

export interface ClientDeps {
  readonly store: Store;
  /** The clock (tests move it). Default: the system clock. */
  readonly now?: () => Date;
  /** Random bytes for cookie IVs. Default: node:crypto. */
  readonly random?: (size: number) => Uint8Array;
  /** NewUpdates per SyncUpdates answer; WSUS sends 30. */
  readonly pageSize?: number;
}

export interface ClientSettings {
  readonly targetingMode: TargetingMode;
  readonly createMissingGroups: boolean;
}

/** The GetConfig Properties, in the order the real WSUS sends them (fixtures scan/000001). */
export const CONFIG_PROPERTIES: readonly (readonly [string, string])[] = [
  ['MaxExtendedUpdatesPerRequest', String(MAX_EXTENDED_UPDATES_PER_REQUEST)],
  ['PackageServerShare', ''],
  ['ProtocolVersion', PROTOCOL_VERSION],
  ['IsInventoryRequired', '0'],
  ['ClientReportingLevel', '2'],
];

const LAST_CHANGE_KEY = 'clients.configChangedAt';
const LAST_CHANGE_TTL_MS = 60_000;

export class ClientContext {
  readonly store: Store;
  readonly now: () => Date;
  readonly cookies: ClientCookies;
  readonly scopes: ScopeCache;
  readonly pageSize: number;
  #lastChange: { at: Date; readAt: number } | undefined;
  #lastChangeRead: Promise<Date> | undefined;

  constructor(deps: ClientDeps) {
    this.store = deps.store;
    this.now = deps.now ?? (() => new Date());
    this.cookies = new ClientCookies(deps.store, this.now, deps.random ?? ((size) => randomBytes(size)));
    this.scopes = new ScopeCache(deps.store);
    this.pageSize = deps.pageSize ?? 30;
  }

  async settings(log?: FastifyBaseLogger): Promise<ClientSettings> {
    const mode = await this.store.settings.get(CLIENT_SETTING_KEYS.targetingMode);
    const create = await this.store.settings.get(CLIENT_SETTING_KEYS.createMissingGroups);
    if (mode !== undefined && mode !== 'server' && mode !== 'client') log?.warn({ setting: CLIENT_SETTING_KEYS.targetingMode }, 'setting ignored: not server or client');
    return { targetingMode: mode === 'client' ? 'client' : 'server', createMissingGroups: create === true };
  }

  /** A replica takes its groups from the upstream: client-side targeting creates none there. */
  async isReplica(): Promise<boolean> {
    return resolveDownstreamSettings(await this.store.settings.all()).settings.replica;
  }

  /**
   * GetConfig's LastChange: when what GetConfig announces last changed. Kept in the settings with a
   * hash of the announcement, so every front end and restart gives the same time and a new
   * announcement (another version of this server) a new one, which sends clients back to GetConfig.
   */
  async lastChange(): Promise<Date> {
    // Re-read now and then: two front ends starting at once may both write, and the last write must win everywhere.
    if (this.#lastChange !== undefined && Date.now() - this.#lastChange.readAt < LAST_CHANGE_TTL_MS) return this.#lastChange.at;
    // Clients arriving together share one read: each writing its own time would hand some of them
    // a LastChange the next GetCookie already contradicts (ConfigChanged).
    this.#lastChangeRead ??= this.#readLastChange().finally(() => {
      this.#lastChangeRead = undefined;
    });
    return this.#lastChangeRead;
  }

  async #readLastChange(): Promise<Date> {
    const fingerprint = createHash('sha1').update(JSON.stringify(CONFIG_PROPERTIES)).digest('hex');
    const read = async (): Promise<Date | undefined> => {
      const stored = (await this.store.settings.get(LAST_CHANGE_KEY)) as { fingerprint?: unknown; at?: unknown } | undefined;
      if (stored !== undefined && stored.fingerprint === fingerprint && typeof stored.at === 'string' && !Number.isNaN(Date.parse(stored.at))) return new Date(stored.at);
      return undefined;
    };
    let at = await read();
    if (at === undefined) {
      await this.store.settings.set(LAST_CHANGE_KEY, { fingerprint, at: new Date(Math.floor(this.now().getTime() / 10) * 10).toISOString() });
      // Another front end may have written at the same moment: whichever write landed last is the answer.
      at = (await read())!;
    }
    this.#lastChange = { at, readAt: Date.now() };
    return at;
  }
}

// One simulated Windows computer: its identity, what it holds between scans (cookie, cached
// revisions, installed non-leaf ids, fragments, what it installed), and one scan as the agent
// runs it (WSUS-PROTOCOLS §4.3-§4.9):
//   handshake (GetConfig, SimpleAuth GetAuthorizationCookie, GetCookie, RegisterComputer when
//   required) -> SyncUpdates rounds until nothing new unlocks (Truncated pages, non-leaf revisions
//   evaluated, OutOfScopeRevisionIDs dropped, ChangedUpdates applied) -> the driver pass ->
//   GetExtendedUpdateInfo for the updates it needs -> ranged downloads checked against their
//   digests -> ReportEventBatch (147, 156 with U=/V=, download and install events).
// The cookie is kept across scans until the server says otherwise (CookieExpired, ConfigChanged,
// InvalidCookie, ServerChanged, RegistrationRequired), as the agent does.
import type { Dispatcher } from 'undici';
import { guidOf } from '../catalog/random.ts';
import { SoapFault } from '../soap/index.ts';
import { downloadFile, type DownloadOutcome } from './download.ts';
import { EVENT_IDS, eventBatchXml, scanEvents, type AgentEvent, type Machine } from './events.ts';
import { fragmentKind, readCore, readExtendedFiles, readLocalized, type CoreInfo, type FileInfo } from './fragments.ts';
import { SharedMap } from './shared-map.ts';
import { leafState, nonLeafInstalled, resolveProfile, type InstalledProfile, type LeafState } from './profile.ts';
import * as wire from './wire.ts';

/**
 * What the computers of one fleet read from one server, parsed once and shared: Core fragments,
 * extended information and file URLs.
 */
export class CoreBook {
  readonly #cores = new Map<number, CoreInfo>();
  readonly #extended = new Map<number, Extended>();
  readonly #locations = new Map<string, { readonly digest: string; readonly url: string }>();
  read(revisionId: number, xml: string): CoreInfo {
    let core = this.#cores.get(revisionId);
    if (core === undefined) {
      core = readCore(xml);
      this.#cores.set(revisionId, core);
    }
    return core;
  }

  /**
   * One shared copy of a revision's extended information for the whole fleet: a revision id
   * names fixed content, and each computer fetches those of the updates it needs (a thousand
   * file lists per computer, otherwise).
   */
  extended(revisionId: number, fetched: Extended): Extended {
    const known = this.#extended.get(revisionId);
    if (known !== undefined && known.title === fetched.title && known.files.length === fetched.files.length) return known;
    this.#extended.set(revisionId, fetched);
    return fetched;
  }

  /**
   * One copy of a file's URL for the fleet. A string read out of a response can be a slice of
   * the whole response text and keep all of it alive: hundreds of KB per computer, for a URL.
   */
  location(digest: string, url: string): { readonly digest: string; readonly url: string } {
    let known = this.#locations.get(digest);
    if (known?.url !== url) {
      known = { digest: copyOf(digest), url: copyOf(url) };
      this.#locations.set(known.digest, known);
    }
    return known;
  }
}

/** A string of its own, not a slice of a larger one. */
function copyOf(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

export interface SimulatedClientOptions {
  /** `http://host:8530` */
  readonly serverUrl: string;
  /** The computer's number in its fleet: with the seed, fixes its id and name. */
  readonly index: number;
  readonly seed?: number;
  /** Client-side targeting: the TargetGroup policy value (one name, or several with `;`). */
  readonly group?: string | undefined;
  readonly profile?: InstalledProfile;
  /** Download the files of needed Install updates (default true). */
  readonly download?: boolean;
  /** Send ReportEventBatch (default true). */
  readonly report?: boolean;
  /** Install what downloaded well: events 181/183, and later scans find it installed (default false). */
  readonly install?: boolean;
  /** Run the driver pass after the software rounds (default true, as the agent). */
  readonly driverPass?: boolean;
  readonly dispatcher?: Dispatcher;
  readonly book?: CoreBook;
  readonly timeoutMs?: number;
  /** Ask for XPRESS answers (default true, as the agent). */
  readonly acceptXpress?: boolean;
  readonly locales?: readonly string[];
}

export interface OfferedUpdate {
  readonly updateId: string;
  readonly revisionNumber: number;
  readonly revisionId: number;
  /** The Deployment action the server gave it. */
  readonly action: string;
  readonly deadline?: string;
  /** What the computer found: installed, not applicable, or needed. */
  readonly state: LeafState;
  readonly title?: string;
}

export interface DownloadedUpdate {
  readonly updateId: string;
  readonly files: number;
  readonly bytes: number;
  readonly ok: boolean;
  readonly errors?: readonly string[];
}

export interface ScanTimings {
  readonly handshakeMs: number;
  readonly syncMs: number;
  readonly extendedMs: number;
  readonly downloadMs: number;
  readonly reportMs: number;
  readonly totalMs: number;
}

export interface ClientScanResult {
  readonly clientId: string;
  readonly dnsName: string;
  readonly index: number;
  /** 1 for the computer's first scan. */
  readonly scan: number;
  /** 'first' when the computer held nothing, 'incremental' when it scanned with its cache. */
  readonly kind: 'first' | 'incremental';
  readonly ok: boolean;
  readonly error?: string;
  readonly syncCalls: number;
  readonly soapCalls: number;
  readonly newUpdates: number;
  readonly changedUpdates: number;
  /** Revision ids the server took out of scope during this scan. */
  readonly outOfScope: readonly number[];
  /** Leaf software updates the computer holds after the scan (bundle members left out), by update id. */
  readonly offered: readonly OfferedUpdate[];
  readonly downloads: readonly DownloadedUpdate[];
  readonly reported?: { readonly accepted: boolean; readonly eventIds: readonly number[]; readonly notInstalled: number; readonly installed: number };
  readonly timings: ScanTimings;
}

/** A held revision; replaced, never changed, so computers that copy a cache can share them. */
interface Held {
  readonly revisionId: number;
  readonly core: CoreInfo;
  readonly action: string;
  readonly deadline: string | undefined;
  readonly isLeaf: boolean;
  /** For non-leaf revisions: evaluated installed, so listed in InstalledNonLeafUpdateIDs. */
  readonly installed: boolean;
}

interface Extended {
  readonly files: readonly FileInfo[];
  title: string | undefined;
}

/** Server faults the agent recovers from by redoing part of the handshake. */
const RECOVERABLE = new Set(['CookieExpired', 'ConfigChanged', 'InvalidCookie', 'ServerChanged', 'RegistrationRequired']);
const MAX_ROUNDS = 500;
const MAX_RETRIES = 3;

export class SimulatedClient {
  readonly id: string;
  readonly dnsName: string;
  readonly index: number;
  readonly seed: number;
  readonly group: string | undefined;
  readonly machine: Machine;
  readonly #transport: wire.Transport;
  readonly #options: SimulatedClientOptions;
  readonly #profile: Required<InstalledProfile>;
  readonly #book: CoreBook;
  #config: wire.ServerConfig | undefined;
  #cookie: wire.Cookie | undefined;
  #registered = false;
  #cookieStale = false;
  readonly #held = new SharedMap<number, Held>();
  readonly #byUpdateId = new SharedMap<string, number>();
  readonly #extended = new SharedMap<number, Extended>();
  readonly #locations = new SharedMap<string, string>();
  readonly #installedHere = new Set<string>();
  #scans = 0;
  #calls = 0;

  constructor(options: SimulatedClientOptions) {
    this.#options = options;
    this.index = options.index;
    this.seed = options.seed ?? 1;
    this.group = options.group;
    this.id = guidOf('openwsus simulated computer', this.seed, this.index);
    this.dnsName = `sim-${this.seed}-${String(this.index).padStart(5, '0')}.clients.openwsus.invalid`;
    const models = ['Standard PC (Q35 + ICH9, 2009)', 'OptiPlex 7010', 'ThinkPad T14 Gen 4', 'EliteBook 840 G10'];
    const makers = ['QEMU', 'Dell Inc.', 'LENOVO', 'HP'];
    const m = this.index % models.length;
    this.machine = { clientId: this.id, manufacturer: makers[m]!, model: models[m]!, osBuild: 26100 + (this.index % 2) * 100 };
    this.#transport = { serverUrl: options.serverUrl, dispatcher: options.dispatcher, timeoutMs: options.timeoutMs, acceptXpress: options.acceptXpress };
    this.#profile = resolveProfile(options.profile);
    this.#book = options.book ?? new CoreBook();
  }

  /** Revision ids held now (what the next scan sends as installed non-leaf or other cached). */
  get heldRevisionIds(): number[] {
    return [...this.#held.keys()].sort((a, b) => a - b);
  }

  /** The held revision of an update, with the deployment the server last gave it. */
  heldUpdate(updateId: string): { revisionId: number; action: string; deadline: string | undefined; isLeaf: boolean } | undefined {
    const id = this.#byUpdateId.get(updateId.toLowerCase());
    const h = id === undefined ? undefined : this.#held.get(id);
    return h === undefined ? undefined : { revisionId: h.revisionId, action: h.action, deadline: h.deadline, isLeaf: h.isLeaf };
  }

  /**
   * Takes another computer's cache (held revisions, fragments, file locations) as its own, as if
   * it had made the same scans: for benchmarks that need many computers with a full cache
   * without making every first scan. The cookie is not taken: the next scan shakes hands itself.
   */
  adoptCacheOf(other: SimulatedClient): void {
    this.#forgetCache();
    this.#held.shareFrom(other.#held);
    this.#byUpdateId.shareFrom(other.#byUpdateId);
    this.#extended.shareFrom(other.#extended);
    this.#locations.shareFrom(other.#locations);
    this.#cookie = undefined;
  }

  /**
   * The next scan asks for a new cookie first, as the agent does once its cookie expired (an hour
   * on WSUS): the held one goes as oldCookie, carrying the watermark of what it has seen, and
   * the new one carries the computer's current groups.
   */
  renewCookie(): void {
    this.#cookieStale = true;
  }

  async scan(): Promise<ClientScanResult> {
    const started = performance.now();
    const scanStart = new Date();
    const kind: 'first' | 'incremental' = this.#held.size === 0 ? 'first' : 'incremental';
    this.#scans++;
    this.#calls = 0;
    const timings = { handshakeMs: 0, syncMs: 0, extendedMs: 0, downloadMs: 0, reportMs: 0, totalMs: 0 };
    const counts = { syncCalls: 0, newUpdates: 0, changedUpdates: 0 };
    const outOfScope: number[] = [];
    let offered: OfferedUpdate[] = [];
    const downloads: DownloadedUpdate[] = [];
    let reported: ClientScanResult['reported'];
    const base = () => ({ clientId: this.id, dnsName: this.dnsName, index: this.index, scan: this.#scans, kind });
    try {
      let t = performance.now();
      if (this.#cookie === undefined || this.#cookieStale) await this.#handshake();
      timings.handshakeMs = performance.now() - t;

      t = performance.now();
      await this.#sync(counts, outOfScope);
      timings.syncMs = performance.now() - t;

      offered = this.#evaluate();
      const needed = offered.filter((u) => u.state === 'needed' && u.action === 'Install');

      t = performance.now();
      await this.#fetchExtended(needed);
      offered = offered.map((u) => {
        const title = this.#extended.get(u.revisionId)?.title;
        return title === undefined ? u : { ...u, title };
      });
      timings.extendedMs = performance.now() - t;

      const events: AgentEvent[] = [];
      const notInstalled = offered.filter((u) => u.state === 'needed').map((u) => u.updateId);
      const installed = offered.filter((u) => u.state === 'installed').map((u) => u.updateId);
      events.push(...scanEvents(notInstalled.length, notInstalled, installed));

      t = performance.now();
      if (this.#options.download !== false) {
        for (const u of needed) {
          const { result, events: more } = await this.#download(u);
          downloads.push(result);
          events.push(...more);
        }
      }
      timings.downloadMs = performance.now() - t;

      t = performance.now();
      if (this.#options.report !== false) {
        // One batch per scan: a retry within the scan repeats its EventInstanceIDs; another run's scan does not.
        const batch = eventBatchXml(this.machine, `scan ${this.#scans} at ${scanStart.toISOString()}`, new Date(), events);
        const accepted = await this.#withCookie((cookie) => wire.reportEventBatch(this.#transport, cookie, new Date(), batch));
        reported = { accepted, eventIds: events.map((e) => e.eventId), notInstalled: notInstalled.length, installed: installed.length };
      }
      timings.reportMs = performance.now() - t;
      timings.totalMs = performance.now() - started;
      return { ...base(), ok: true, soapCalls: this.#calls, ...counts, outOfScope, offered, downloads, ...(reported ? { reported } : {}), timings };
    } catch (error) {
      timings.totalMs = performance.now() - started;
      return { ...base(), ok: false, error: describe(error), soapCalls: this.#calls, ...counts, outOfScope, offered, downloads, ...(reported ? { reported } : {}), timings };
    }
  }

  // ---- handshake -----------------------------------------------------------------------------

  async #handshake(options: { config?: boolean; forget?: boolean } = {}): Promise<void> {
    if (this.#config === undefined || options.config === true) {
      this.#calls++;
      this.#config = await wire.getConfig(this.#transport);
    }
    this.#calls++;
    const authorization = await wire.getAuthorizationCookie(this.#transport, this.#config, this.id, this.dnsName, this.group);
    const old = options.forget === true ? undefined : this.#cookie;
    for (let attempt = 0; ; attempt++) {
      try {
        this.#calls++;
        this.#cookie = await wire.getCookie(this.#transport, authorization, old, this.#config.lastChange, new Date());
        break;
      } catch (error) {
        // The configuration changed since GetConfig: read it again, as the agent does.
        if (!(error instanceof SoapFault) || error.errorCode !== 'ConfigChanged' || attempt >= MAX_RETRIES) throw error;
        this.#calls++;
        this.#config = await wire.getConfig(this.#transport);
      }
    }
    this.#cookieStale = false;
    if (this.#config.registrationRequired && !this.#registered) await this.#register();
  }

  async #register(): Promise<void> {
    this.#calls++;
    const { osBuild, manufacturer, model } = this.machine;
    await wire.registerComputer(this.#transport, this.#cookie!, { dnsName: this.dnsName, osBuild, manufacturer, model });
    this.#registered = true;
  }

  /** One cookie-carrying call, redoing the part of the handshake a recoverable fault asks for. */
  async #withCookie<T>(fn: (cookie: wire.Cookie) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.#calls++;
        return await fn(this.#cookie!);
      } catch (error) {
        if (!(error instanceof SoapFault) || !RECOVERABLE.has(error.errorCode) || attempt >= MAX_RETRIES) throw error;
        switch (error.errorCode) {
          case 'RegistrationRequired':
            this.#registered = false;
            await this.#register();
            break;
          case 'ConfigChanged':
            await this.#handshake({ config: true });
            break;
          case 'CookieExpired':
            await this.#handshake();
            break;
          default:
            // InvalidCookie, ServerChanged: a new cookie from scratch, and what was cached is
            // no longer known to be this server's (RefreshCache is the agent's finer way back).
            this.#forgetCache();
            await this.#handshake({ config: true, forget: true });
        }
      }
    }
  }

  #forgetCache(): void {
    this.#held.clear();
    this.#byUpdateId.clear();
    this.#extended.clear();
    this.#locations.clear();
  }

  // ---- SyncUpdates -----------------------------------------------------------------------------

  async #sync(counts: { syncCalls: number; newUpdates: number; changedUpdates: number }, outOfScope: number[]): Promise<void> {
    for (let round = 0; ; round++) {
      if (round >= MAX_ROUNDS) throw new Error(`SyncUpdates did not settle after ${MAX_ROUNDS} rounds`);
      const installed: number[] = [];
      const other: number[] = [];
      for (const h of this.#held.values()) (h.installed ? installed : other).push(h.revisionId);
      counts.syncCalls++;
      const info = await this.#withCookie((cookie) => wire.syncUpdates(this.#transport, cookie, { installedNonLeafUpdateIds: installed, otherCachedUpdateIds: other }));
      if (info.newCookie !== undefined) this.#cookie = info.newCookie;
      for (const id of info.outOfScopeRevisionIds) {
        if (this.#drop(id)) outOfScope.push(id);
      }
      for (const u of info.changedUpdates) {
        const h = this.#held.get(u.revisionId);
        if (h === undefined) continue;
        counts.changedUpdates++;
        const installed = !u.isLeaf && nonLeafInstalled(this.#profile, this.seed, this.id, h.core.updateId, h.core.updateType);
        // What came back unchanged stays the shared entry: a computer that took another's cache
        // and shook hands anew is told about everything it holds, and a copy of each entry per
        // computer would not fit a fleet of 10,000 in memory.
        if (h.action === u.deployment.action && h.deadline === u.deployment.deadline && h.isLeaf === u.isLeaf && h.installed === installed) continue;
        this.#held.set(u.revisionId, { ...h, action: u.deployment.action, deadline: u.deployment.deadline, isLeaf: u.isLeaf, installed });
      }
      let nonLeaf = false;
      for (const u of info.newUpdates) {
        counts.newUpdates++;
        const core = this.#book.read(u.revisionId, u.xml);
        const previous = this.#byUpdateId.get(core.updateId);
        if (previous !== undefined && previous !== u.revisionId) this.#drop(previous);
        const installedNonLeaf = !u.isLeaf && nonLeafInstalled(this.#profile, this.seed, this.id, core.updateId, core.updateType);
        this.#held.set(u.revisionId, { revisionId: u.revisionId, core, action: u.deployment.action, deadline: u.deployment.deadline, isLeaf: u.isLeaf, installed: installedNonLeaf });
        this.#byUpdateId.set(core.updateId, u.revisionId);
        if (!u.isLeaf) nonLeaf = true;
      }
      if (!info.truncated && !nonLeaf) break;
    }
    if (this.#options.driverPass !== false) {
      const installed = [...this.#held.values()].filter((h) => h.installed).map((h) => h.revisionId);
      counts.syncCalls++;
      const info = await this.#withCookie((cookie) => wire.syncUpdates(this.#transport, cookie, { installedNonLeafUpdateIds: installed, otherCachedUpdateIds: [], driverPass: true }));
      if (info.newCookie !== undefined) this.#cookie = info.newCookie;
    }
  }

  #drop(revisionId: number): boolean {
    const h = this.#held.get(revisionId);
    if (h === undefined) return false;
    this.#held.delete(revisionId);
    if (this.#byUpdateId.get(h.core.updateId) === revisionId) this.#byUpdateId.delete(h.core.updateId);
    this.#extended.delete(revisionId);
    return true;
  }

  /**
   * The leaf software updates this computer holds and their state. Bundle members are part of
   * their bundle (the agent reports the bundle), so only what a bundle does not carry counts.
   */
  #evaluate(): OfferedUpdate[] {
    const carried = new Set<string>();
    for (const h of this.#held.values()) for (const id of h.core.bundled) carried.add(id);
    const out: OfferedUpdate[] = [];
    for (const h of this.#held.values()) {
      if (!h.isLeaf || h.core.updateType !== 'Software' || h.action === 'Bundle' || carried.has(h.core.updateId)) continue;
      const state = this.#installedHere.has(h.core.updateId) ? 'installed' : leafState(this.#profile, this.seed, this.id, h.core.updateId);
      out.push({
        updateId: h.core.updateId,
        revisionNumber: h.core.revisionNumber,
        revisionId: h.revisionId,
        action: h.action,
        ...(h.deadline === undefined ? {} : { deadline: h.deadline }),
        state,
      });
    }
    return out.sort((a, b) => a.revisionId - b.revisionId);
  }

  // ---- after the scan --------------------------------------------------------------------------

  /** Revision ids whose files an update needs: its own and its bundle members'. */
  #withMembers(revisionId: number): number[] {
    const h = this.#held.get(revisionId);
    if (h === undefined) return [];
    const out = [revisionId];
    for (const id of h.core.bundled) {
      const member = this.#byUpdateId.get(id);
      if (member !== undefined) out.push(...this.#withMembers(member));
    }
    return out;
  }

  async #fetchExtended(needed: readonly OfferedUpdate[]): Promise<void> {
    const wanted = [...new Set(needed.flatMap((u) => this.#withMembers(u.revisionId)))].filter((id) => !this.#extended.has(id));
    const max = this.#config?.maxExtendedUpdatesPerRequest ?? 50;
    const locales = this.#options.locales ?? ['en-US', 'en'];
    for (let i = 0; i < wanted.length; i += max) {
      const ids = wanted.slice(i, i + max);
      const info = await this.#withCookie((cookie) => wire.getExtendedUpdateInfo(this.#transport, cookie, ids, locales));
      for (const [d, u] of info.fileLocations) {
        const { digest, url } = this.#book.location(d, u);
        this.#locations.set(digest, url);
      }
      const fetched = new Set<number>();
      for (const u of info.updates) {
        fetched.add(u.revisionId);
        let e = this.#extended.get(u.revisionId);
        const kind = fragmentKind(u.xml);
        if (kind === 'extended') {
          const files = readExtendedFiles(u.xml);
          if (e === undefined) this.#extended.set(u.revisionId, (e = { files, title: undefined }));
          else this.#extended.set(u.revisionId, (e = { files, title: e.title }));
        } else if (kind === 'localized') {
          const l = readLocalized(u.xml);
          if (e === undefined) this.#extended.set(u.revisionId, (e = { files: [], title: undefined }));
          // The first language answered is the preferred one (the request lists them by preference).
          if (e.title === undefined && l !== undefined) e.title = l.title;
        }
      }
      for (const id of fetched) {
        const e = this.#extended.get(id);
        if (e !== undefined) this.#extended.set(id, this.#book.extended(id, e));
      }
    }
  }

  async #download(u: OfferedUpdate): Promise<{ result: DownloadedUpdate; events: AgentEvent[] }> {
    const update = { updateId: u.updateId, revisionNumber: u.revisionNumber };
    const title = [u.title ?? u.updateId];
    const events: AgentEvent[] = [{ eventId: EVENT_IDS.downloadStarted, update, replacementStrings: title }];
    const files = this.#withMembers(u.revisionId).flatMap((id) => this.#extended.get(id)?.files ?? []);
    const outcomes: DownloadOutcome[] = [];
    const errors: string[] = [];
    for (const f of files) {
      const url = this.#locations.get(f.sha1);
      if (url === undefined) {
        errors.push(`no FileLocation for ${f.fileName} (${f.sha1})`);
        continue;
      }
      const o = await downloadFile(f, url, this.#options.dispatcher);
      outcomes.push(o);
      if (!o.ok) errors.push(`${f.fileName}: ${o.error}`);
    }
    const bytes = outcomes.reduce((n, o) => n + o.bytes, 0);
    const ok = errors.length === 0;
    if (ok) events.push({ eventId: EVENT_IDS.downloadSucceeded, update, replacementStrings: title, misc: [`B=${bytes}`] });
    else events.push({ eventId: EVENT_IDS.downloadFailed, update, hresult: outcomes.find((o) => !o.ok)?.hresult ?? (0x80246007 | 0), replacementStrings: title, misc: [`B=${bytes}`] });
    if (ok && this.#options.install === true) {
      events.push({ eventId: EVENT_IDS.installStarted, update, replacementStrings: title });
      events.push({ eventId: EVENT_IDS.installSucceeded, update, replacementStrings: title });
      this.#installedHere.add(u.updateId);
    }
    return { result: { updateId: u.updateId, files: files.length, bytes, ok, ...(ok ? {} : { errors }) }, events };
  }
}

function describe(error: unknown): string {
  if (error instanceof SoapFault) return `${error.errorCode || 'SOAP fault'}${error.message ? ` (${error.message})` : ''}${error.reason ? `: ${error.reason}` : ''}`;
  return (error as Error)?.message ?? String(error);
}

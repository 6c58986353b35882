// A scripted downstream server: the MS-WSUSSS synchronization algorithm of a DSS
// (WSUS-PROTOCOLS §2), written from the spec as a test client against any upstream URL. It is
// not the product's sync engine: it keeps what it receives in memory so tests can check every
// run (what was listed, what was new, what was listed again), and it checks the upstream's
// answers as it goes (a protocol violation throws a DownstreamProtocolError).
//
//   const dss = new ScriptedDownstream({ url, subscribe: allProductsAndClassifications });
//   const run = await dss.sync();           // handshake, config, categories, updates
//   await dss.downloadContent(run.newFiles); // 1 MiB ranges, SHA-1/SHA-256 verified
//   const next = await dss.sync();          // incremental: anchors and Delta=true
//
// One sync():
//   1. GetAuthConfig -> DssAuth GetAuthorizationCookie -> GetCookie (again when the cookie has
//      less than 30 minutes left, or on InvalidCookie; on ServerChanged the anchors are dropped)
//   2. GetConfigData(configAnchor)
//   3. GetRevisionIdList(GetConfig=true, anchor of the last config list) -> GetUpdateData for the
//      categories, classifications and detectoids not held, in batches
//   4. GetRevisionIdList(GetConfig=false, products ∧ classifications chosen by `subscribe` from
//      the categories learned; with the last sync anchor, Delta=true for ids already subscribed
//      and Delta=false for ids subscribed this run) -> GetUpdateData in batches of
//      MaxNumberOfUpdatesPerRequest for the revisions not held (compressed blobs decoded)
//   5. replica only: GetDeployments(deploymentAnchor, syncAnchor)
// Anchors are committed only once their phase completed, as a DSS must.
import { createHash } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { decodeUpdateBlob } from '../../src/metadata/cab/index.ts';
import { ingestUpdate } from '../../src/metadata/update-parser.ts';
import { soapCall, SoapFault, SoapXmlBuilder, type SoapCallResult, type SoapNode } from '../../src/soap/index.ts';

// WSUS-PROTOCOLS §2.1: paths and namespaces, SOAPAction = namespace + '/' + operation.
export const SERVER_SYNC_PATH = '/ServerSyncWebService/ServerSyncWebService.asmx';
export const SERVER_SYNC_NS = 'http://www.microsoft.com/SoftwareDistribution';
export const DSS_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService';
export const DSS_PLUGIN_ID = 'DssTargeting';

const MiB = 1024 * 1024;
const COOKIE_REFRESH_MS = 30 * 60_000;
const DOWNLOAD_FILES_MAX = 100;

export interface RevisionKey {
  readonly updateId: string;
  readonly revisionNumber: number;
}

export const keyOf = (k: RevisionKey): string => `${k.updateId}/${k.revisionNumber}`;

/** A category, classification or detectoid the downstream learned from GetConfig=true. */
export interface LearnedCategory {
  readonly id: string;
  readonly revisionNumber: number;
  readonly updateType: string;
  /** `Company`, `ProductFamily`, `Product`, `UpdateClassification`, or undefined. */
  readonly categoryType: string | undefined;
  readonly title: string;
}

/** A file a document names, with where the upstream said to get it. */
export interface FileInfo {
  /** SHA-1, base64, as `File/@Digest` and `FileDigestList` carry it. */
  readonly sha1: string;
  readonly sha256: string | undefined;
  readonly size: number;
  readonly fileName: string;
  /** `ServerSyncUrlData/UssUrl` and `MUUrl` of the GetUpdateData answer that named it. */
  readonly ussUrl: string;
  readonly muUrl: string;
}

export interface ReceivedRevision {
  readonly key: RevisionKey;
  readonly phase: 'config' | 'content';
  /** The sync() run (1, 2, …) that fetched it. */
  readonly run: number;
  /** Sent as XmlUpdateBlobCompressed (a cabinet) rather than XmlUpdateBlob. */
  readonly compressed: boolean;
  /** The document (retain: 'documents' only). */
  readonly xml?: string;
  /** FileDigestList, in wire order. */
  readonly fileDigests: readonly string[];
  /** From the parsed document (retain: 'documents', and always for config revisions). */
  readonly updateType?: string;
  readonly publicationState?: string;
  /** Ids named by `AtLeastOne IsCategory="true"` clauses: the update's products and classifications. */
  readonly categoryIds?: readonly string[];
  readonly files?: readonly FileInfo[];
}

export interface Subscription {
  readonly products: readonly string[];
  readonly classifications: readonly string[];
}

/** Every Product and every UpdateClassification learned, present and future: what a "sync all" DSS sends. */
export function allProductsAndClassifications(categories: readonly LearnedCategory[]): Subscription {
  return {
    products: categories.filter((c) => c.categoryType === 'Product').map((c) => c.id),
    classifications: categories.filter((c) => c.categoryType === 'UpdateClassification').map((c) => c.id),
  };
}

/** The given products and classifications, as far as the upstream has them. */
export function onlyThese(products: readonly string[], classifications: readonly string[]): (categories: readonly LearnedCategory[]) => Subscription {
  return (categories) => {
    const known = new Set(categories.map((c) => c.id));
    return { products: products.filter((p) => known.has(p)), classifications: classifications.filter((c) => known.has(c)) };
  };
}

/** Durations of calls by operation, shared by as many downstreams as one wants to measure together. */
export class CallTimings {
  readonly byOperation = new Map<string, number[]>();
  /** When (Date.now()) a call of each operation last ended. */
  readonly lastEnded = new Map<string, number>();
  record(operation: string, ms: number): void {
    let list = this.byOperation.get(operation);
    if (list === undefined) this.byOperation.set(operation, (list = []));
    list.push(ms);
    this.lastEnded.set(operation, Date.now());
  }
}

export interface DownstreamOptions {
  /** The upstream's origin, `http://host:port`. */
  readonly url: string;
  /** accountGuid: the downstream server's id. */
  readonly id: string;
  /** accountName: an FQDN. */
  readonly name?: string;
  readonly protocolVersion?: string;
  /** Which products and classifications to synchronize, from the categories learned (default: all). */
  readonly subscribe?: (categories: readonly LearnedCategory[]) => Subscription;
  /** Replica mode: GetDeployments after the metadata. */
  readonly replica?: boolean;
  /** Send `Accept-Encoding: xpress`. */
  readonly acceptXpress?: boolean;
  /**
   * What to keep of update revisions: `documents` (the XML, parsed and checked: tests), `keys`
   * (which revisions are held, so incremental runs fetch only what is new), `none` (counts only:
   * benchmarks of full pulls with many downstreams in one process).
   */
  readonly retain?: 'documents' | 'keys' | 'none';
  readonly timings?: CallTimings;
  readonly dispatcher?: Dispatcher;
  /** Per call (default 120 s). */
  readonly timeoutMs?: number;
  /** Stop fetching update batches once this is true (benchmarks bounded in time). */
  readonly shouldStop?: () => boolean;
}

export class DownstreamProtocolError extends Error {
  override readonly name = 'DownstreamProtocolError';
}

export interface ConfigData {
  readonly catalogOnlySync: boolean;
  readonly lazySync: boolean;
  readonly serverHostsPsfFiles: boolean;
  readonly maxNumberOfUpdatesPerRequest: number;
  readonly protocolVersion: string;
  readonly newConfigAnchor: string;
  /** LanguageUpdateList entries of this answer (empty when the config anchor was current). */
  readonly languages: readonly { id: number; shortName: string; enabled: boolean }[];
}

export interface DeploymentsAnswer {
  readonly anchor: string;
  readonly groups: readonly { id: string; parentId: string; name: string; builtin: boolean }[];
  readonly deployments: readonly { updateId: string; revisionNumber: number; action: number; groupId: string; deploymentGuid: string }[];
  readonly deadDeployments: readonly string[];
  readonly hiddenUpdates: readonly string[];
}

export interface SyncRun {
  readonly run: number;
  readonly config: ConfigData;
  /** GetRevisionIdList(GetConfig=true) as listed. */
  readonly configList: readonly RevisionKey[];
  /** GetRevisionIdList(GetConfig=false) as listed. */
  readonly contentList: readonly RevisionKey[];
  /** The filter sent with GetConfig=false. */
  readonly filter: {
    readonly anchor: string | undefined;
    readonly products: readonly { id: string; delta: boolean }[];
    readonly classifications: readonly { id: string; delta: boolean }[];
  };
  /** Revisions fetched with GetUpdateData this run (new to this downstream), in order. */
  readonly fetched: readonly ReceivedRevision[];
  /** Revisions listed this run that the downstream already held (not fetched again). */
  readonly relisted: readonly RevisionKey[];
  /** Update ids a list named more than once in this run. */
  readonly listedTwice: readonly string[];
  /** GetUpdateData calls made this run. */
  readonly updateDataCalls: number;
  /** Files of the revisions fetched this run, once each. */
  readonly newFiles: readonly FileInfo[];
  readonly deployments?: DeploymentsAnswer;
  /** Every call this run, in order: `GetRevisionIdList(config)`, `GetUpdateData(content)`, … */
  readonly calls: readonly string[];
  /** Stopped early by `shouldStop` before every batch was fetched. */
  readonly stopped: boolean;
  readonly ms: number;
}

export interface ContentReport {
  readonly files: number;
  readonly bytes: number;
  readonly rangeRequests: number;
  /** Digests verified (SHA-1 always, SHA-256 when the document has one). */
  readonly verified: number;
  readonly sha256Verified: number;
  /** Digests the upstream answered 404 for: asked for with DownloadFiles. */
  readonly missing: readonly string[];
  readonly downloadFilesCalls: number;
  /** Faults DownloadFiles answered with (FileDigestsMissing lists digests the upstream does not know). */
  readonly downloadFilesFaults: readonly SoapFault[];
}

export interface Cookie {
  readonly expiration: string;
  readonly data: string;
}

const builder = (): SoapXmlBuilder => new SoapXmlBuilder();

function cookieTo(b: SoapXmlBuilder, cookie: Cookie): SoapXmlBuilder {
  return b.start('cookie').element('Expiration', cookie.expiration).element('EncryptedData', cookie.data).end();
}

function identitiesTo(b: SoapXmlBuilder, name: string, keys: readonly RevisionKey[]): SoapXmlBuilder {
  b.start(name);
  for (const k of keys) b.start('UpdateIdentity').element('UpdateID', k.updateId).element('RevisionNumber', k.revisionNumber).end();
  return b.end();
}

function readIdentity(node: SoapNode): RevisionKey {
  return { updateId: node.guid('UpdateID'), revisionNumber: node.int('RevisionNumber') };
}

const IDENTITY = /<(?:[A-Za-z0-9_]+:)?UpdateIdentity\b[^>]*>/;

/** The UpdateIdentity of a document, read without parsing it (the `none`/`keys` modes). */
function documentIdentity(xml: string): RevisionKey | undefined {
  const tag = IDENTITY.exec(xml)?.[0];
  const id = tag === undefined ? undefined : /\bUpdateID="([^"]+)"/.exec(tag)?.[1];
  const rev = tag === undefined ? undefined : /\bRevisionNumber="([0-9]+)"/.exec(tag)?.[1];
  return id === undefined || rev === undefined ? undefined : { updateId: id.toLowerCase(), revisionNumber: Number(rev) };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** p50/p99/max of a list of durations. */
export function summarize(values: readonly number[]): { count: number; p50: number; p99: number; max: number; total: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN, total: sorted.reduce((a, b) => a + b, 0) };
}

export class ScriptedDownstream {
  readonly options: DownstreamOptions;
  readonly origin: string;
  /** Held revisions by update id (newest held revision of each update); `retain: 'none'` keeps none. */
  readonly revisions = new Map<string, ReceivedRevision>();
  /** Categories, classifications and detectoids learned, by id. */
  readonly categories = new Map<string, LearnedCategory>();
  /** Every sync() so far. */
  readonly runs: SyncRun[] = [];
  anchors: { config?: string; configList?: string; sync?: string; deployment?: string } = {};
  /** Products and classifications sent in the last completed run (their ids then go with Delta=true). */
  subscribed: { products: Set<string>; classifications: Set<string> } = { products: new Set(), classifications: new Set() };
  config: ConfigData | undefined;
  #cookie: Cookie | undefined;
  #calls: string[] = [];
  readonly #dispatcher: Dispatcher;
  readonly #ownDispatcher: Agent | undefined;

  constructor(options: DownstreamOptions) {
    this.options = options;
    this.origin = options.url.replace(/\/+$/, '');
    // An idle connection is dropped after 30 s whatever the server's Keep-Alive hint (72 s):
    // a downstream whose event loop is held (fifty of them parsing revision lists in one
    // process) must not take a connection the server has just closed for open.
    this.#ownDispatcher = options.dispatcher === undefined ? new Agent({ connections: 8, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 30_000 }) : undefined;
    this.#dispatcher = options.dispatcher ?? this.#ownDispatcher!;
  }

  get retain(): 'documents' | 'keys' | 'none' {
    return this.options.retain ?? 'documents';
  }

  async close(): Promise<void> {
    await this.#ownDispatcher?.close();
  }

  // ---- calls ----------------------------------------------------------------------------

  async #soap(url: string, namespace: string, operation: string, body: SoapXmlBuilder | string, label = operation): Promise<SoapCallResult> {
    const start = performance.now();
    this.#calls.push(label);
    try {
      return await soapCall({
        url,
        namespace,
        operation,
        body,
        dispatcher: this.#dispatcher,
        timeoutMs: this.options.timeoutMs ?? 120_000,
        acceptXpress: this.options.acceptXpress ?? false,
        userAgent: 'openwsus-scripted-downstream',
      });
    } finally {
      this.options.timings?.record(label, performance.now() - start);
    }
  }

  /** A Server Sync call with the cookie first; re-authenticates once on InvalidCookie. */
  async #sync(operation: string, parameters: (b: SoapXmlBuilder) => void, label = operation): Promise<SoapCallResult> {
    for (let attempt = 0; ; attempt++) {
      const cookie = await this.cookie();
      const b = cookieTo(builder(), cookie);
      parameters(b);
      try {
        return await this.#soap(`${this.origin}${SERVER_SYNC_PATH}`, SERVER_SYNC_NS, operation, b, label);
      } catch (error) {
        if (attempt === 0 && error instanceof SoapFault && error.errorCode === 'InvalidCookie') {
          this.#cookie = undefined;
          continue;
        }
        if (error instanceof SoapFault && error.errorCode === 'ServerChanged') {
          // Another upstream answers at this address: its anchors mean nothing here.
          this.anchors = {};
          this.#cookie = undefined;
        }
        throw error;
      }
    }
  }

  /** The cookie to send, after the handshake (again) when there is none or it is about to expire. */
  async cookie(): Promise<Cookie> {
    const cookie = this.#cookie;
    if (cookie !== undefined && Date.parse(cookie.expiration) - Date.now() > COOKIE_REFRESH_MS) return cookie;
    this.#cookie = await this.handshake();
    return this.#cookie;
  }

  /** GetAuthConfig, GetAuthorizationCookie at the plug-in's service, GetCookie. */
  async handshake(): Promise<Cookie> {
    const syncUrl = `${this.origin}${SERVER_SYNC_PATH}`;
    const authConfig = await this.#soap(syncUrl, SERVER_SYNC_NS, 'GetAuthConfig', '');
    const plugIns = authConfig.result?.list('AuthInfo') ?? [];
    const plugIn = plugIns.find((p) => p.optString('PlugInID') === DSS_PLUGIN_ID);
    if (plugIn === undefined) throw new DownstreamProtocolError(`GetAuthConfig names no ${DSS_PLUGIN_ID} plug-in`);
    // The auth URL is the upstream's root + '/' + the relative ServiceUrl (WSUS may send '//…').
    const authUrl = `${this.origin}/${plugIn.string('ServiceUrl').replace(/^\/+/, '')}`;
    const auth = await this.#soap(
      authUrl,
      DSS_AUTH_NS,
      'GetAuthorizationCookie',
      builder().element('accountName', this.options.name ?? `dss-${this.options.id.slice(0, 8)}.lab.invalid`).element('accountGuid', this.options.id),
    );
    const authCookie = auth.result;
    if (authCookie === undefined) throw new DownstreamProtocolError('GetAuthorizationCookie returned nothing');
    const got = await this.#soap(
      syncUrl,
      SERVER_SYNC_NS,
      'GetCookie',
      builder()
        .start('authCookies')
        .start('AuthorizationCookie')
        .element('PlugInId', authCookie.string('PlugInId'))
        .element('CookieData', authCookie.string('CookieData'))
        .end()
        .end()
        .element('protocolVersion', this.options.protocolVersion ?? '1.20'),
    );
    const result = got.result;
    if (result === undefined) throw new DownstreamProtocolError('GetCookie returned nothing');
    const expiration = result.string('Expiration');
    if (Number.isNaN(Date.parse(expiration))) throw new DownstreamProtocolError(`GetCookie: Expiration ${expiration} is not a time`);
    return { expiration, data: result.string('EncryptedData') };
  }

  /** Replaces the cookie (undefined: forget it, so the next call does the handshake again). */
  setCookie(cookie: Cookie | undefined): void {
    this.#cookie = cookie;
  }

  async getConfigData(): Promise<ConfigData> {
    const answer = await this.#sync('GetConfigData', (b) => b.element('configAnchor', this.anchors.config));
    const r = answer.result;
    if (r === undefined) throw new DownstreamProtocolError('GetConfigData returned nothing');
    const config: ConfigData = {
      catalogOnlySync: r.bool('CatalogOnlySync'),
      lazySync: r.bool('LazySync'),
      serverHostsPsfFiles: r.bool('ServerHostsPsfFiles'),
      maxNumberOfUpdatesPerRequest: r.int('MaxNumberOfUpdatesPerRequest'),
      protocolVersion: r.string('ProtocolVersion'),
      newConfigAnchor: r.string('NewConfigAnchor'),
      languages: r.list('LanguageUpdateList').map((l) => ({ id: l.int('LanguageID'), shortName: l.string('ShortLanguage'), enabled: l.bool('Enabled') })),
    };
    if (config.maxNumberOfUpdatesPerRequest < 1) throw new DownstreamProtocolError(`MaxNumberOfUpdatesPerRequest ${config.maxNumberOfUpdatesPerRequest}`);
    return config;
  }

  async getRevisionIdList(filter: {
    anchor?: string | undefined;
    getConfig: boolean;
    products?: readonly { id: string; delta: boolean }[];
    classifications?: readonly { id: string; delta: boolean }[];
  }): Promise<{ anchor: string; revisions: RevisionKey[] }> {
    const idAndDelta = (b: SoapXmlBuilder, name: string, items: readonly { id: string; delta: boolean }[] | undefined): void => {
      if (items === undefined) return;
      b.list(name, items, (x, i) => x.start('IdAndDelta').element('Id', i.id).element('Delta', i.delta).end());
    };
    const answer = await this.#sync(
      'GetRevisionIdList',
      (b) => {
        b.start('filter');
        b.element('Anchor', filter.anchor);
        b.element('GetConfig', filter.getConfig);
        idAndDelta(b, 'Categories', filter.products);
        idAndDelta(b, 'Classifications', filter.classifications);
        b.end();
      },
      filter.getConfig ? 'GetRevisionIdList(config)' : 'GetRevisionIdList(updates)',
    );
    const r = answer.result;
    if (r === undefined) throw new DownstreamProtocolError('GetRevisionIdList returned nothing');
    return { anchor: r.string('Anchor'), revisions: r.list('NewRevisions').map(readIdentity) };
  }

  /**
   * GetUpdateData for `keys` (at most MaxNumberOfUpdatesPerRequest): the documents decoded and
   * checked against what was asked, and the files they name with their URLs.
   */
  async getUpdateData(keys: readonly RevisionKey[], phase: 'config' | 'content', run: number): Promise<ReceivedRevision[]> {
    const answer = await this.#sync('GetUpdateData', (b) => identitiesTo(b, 'updateIds', keys), `GetUpdateData(${phase})`);
    const r = answer.result;
    if (r === undefined) throw new DownstreamProtocolError('GetUpdateData returned nothing');
    const updates = r.list('updates');
    if (updates.length !== keys.length) throw new DownstreamProtocolError(`GetUpdateData: ${keys.length} asked, ${updates.length} returned`);
    const urls = new Map<string, { ussUrl: string; muUrl: string }>();
    for (const u of r.list('fileUrls')) {
      urls.set(u.string('FileDigest'), { ussUrl: u.optString('UssUrl') ?? '', muUrl: u.optString('MUUrl') ?? '' });
    }
    const out: ReceivedRevision[] = [];
    updates.forEach((u, i) => {
      const key = readIdentity(u.need('Id'));
      const asked = keys[i]!;
      if (keyOf(key) !== keyOf(asked)) throw new DownstreamProtocolError(`GetUpdateData: item ${i} is ${keyOf(key)}, ${keyOf(asked)} was asked`);
      const plain = u.optString('XmlUpdateBlob');
      const packed = u.optString('XmlUpdateBlobCompressed');
      if ((plain === undefined) === (packed === undefined)) {
        throw new DownstreamProtocolError(`GetUpdateData: ${keyOf(key)} needs exactly one of XmlUpdateBlob and XmlUpdateBlobCompressed`);
      }
      const xml = plain ?? decodeUpdateBlob(packed!);
      const fileDigests = u.list('FileDigestList').map((d) => d.asString());
      for (const digest of fileDigests) {
        if (!urls.has(digest)) throw new DownstreamProtocolError(`GetUpdateData: no ServerSyncUrlData for digest ${digest} of ${keyOf(key)}`);
      }
      const parse = this.retain === 'documents' || phase === 'config';
      if (!parse) {
        const identity = documentIdentity(xml);
        if (identity === undefined || keyOf(identity) !== keyOf(key)) {
          throw new DownstreamProtocolError(`GetUpdateData: the document sent for ${keyOf(key)} is ${identity === undefined ? 'unreadable' : keyOf(identity)}`);
        }
        out.push({ key, phase, run, compressed: packed !== undefined, fileDigests });
        return;
      }
      const { record } = ingestUpdate(xml);
      if (keyOf(record.key) !== keyOf(key)) throw new DownstreamProtocolError(`GetUpdateData: the document sent for ${keyOf(key)} is ${keyOf(record.key)}`);
      const documentDigests = record.files.map((f) => f.sha1);
      if ([...documentDigests].sort().join() !== [...fileDigests].sort().join()) {
        throw new DownstreamProtocolError(`GetUpdateData: FileDigestList of ${keyOf(key)} (${fileDigests.join()}) is not its document's files (${documentDigests.join()})`);
      }
      const files: FileInfo[] = record.files.map((f) => ({
        sha1: f.sha1,
        sha256: f.sha256,
        size: f.size,
        fileName: f.fileName,
        ussUrl: urls.get(f.sha1)!.ussUrl,
        muUrl: urls.get(f.sha1)!.muUrl,
      }));
      if (record.properties.updateType === 'Category') {
        this.categories.set(key.updateId, {
          id: key.updateId,
          revisionNumber: key.revisionNumber,
          updateType: record.properties.updateType,
          categoryType: record.category?.categoryType,
          title: record.localized.find((l) => l.language === 'en')?.title ?? record.localized[0]?.title ?? '',
        });
      }
      out.push({
        key,
        phase,
        run,
        compressed: packed !== undefined,
        ...(this.retain === 'documents' && { xml }),
        fileDigests,
        updateType: record.properties.updateType,
        publicationState: record.properties.publicationState,
        categoryIds: [...new Set(record.prerequisites.filter((c) => c.isCategory).flatMap((c) => c.updateIds))],
        files,
      });
    });
    return out;
  }

  async getDeployments(): Promise<DeploymentsAnswer> {
    const answer = await this.#sync('GetDeployments', (b) => b.element('deploymentAnchor', this.anchors.deployment ?? '').element('syncAnchor', this.anchors.sync ?? ''));
    const r = answer.result;
    if (r === undefined) throw new DownstreamProtocolError('GetDeployments returned nothing');
    return {
      anchor: r.string('Anchor'),
      groups: r.list('Groups').map((g) => ({ id: g.guid('TargetGroupID'), parentId: g.string('ParentGroupId'), name: g.string('Name'), builtin: g.bool('IsBuiltin') })),
      deployments: r.list('Deployments').map((d) => ({
        updateId: d.guid('UpdateId'),
        revisionNumber: d.int('RevisionNumber'),
        action: d.int('Action'),
        groupId: d.guid('TargetGroupId'),
        deploymentGuid: d.guid('DeploymentGuid'),
      })),
      deadDeployments: r.guids('DeadDeployments'),
      hiddenUpdates: r.guids('HiddenUpdates'),
    };
  }

  /** DownloadFiles: asks the upstream to fetch files it answered 404 for. */
  async downloadFilesRequest(digests: readonly string[]): Promise<void> {
    await this.#sync('DownloadFiles', (b) => b.list('fileDigestList', 'base64Binary', digests));
  }

  // ---- the algorithm --------------------------------------------------------------------

  #held(key: RevisionKey): boolean {
    return this.revisions.get(key.updateId)?.key.revisionNumber === key.revisionNumber;
  }

  #keep(revision: ReceivedRevision): void {
    if (this.retain === 'none' && revision.phase === 'content') return;
    const known = this.revisions.get(revision.key.updateId);
    if (known === undefined || known.key.revisionNumber <= revision.key.revisionNumber) this.revisions.set(revision.key.updateId, revision);
  }

  /** One synchronization, full the first time and incremental after. */
  async sync(): Promise<SyncRun> {
    const start = performance.now();
    const run = this.runs.length + 1;
    this.#calls = [];
    const fetched: ReceivedRevision[] = [];
    const relisted: RevisionKey[] = [];
    const listedTwice: string[] = [];
    let updateDataCalls = 0;
    let stopped = false;

    const config = await this.getConfigData();
    this.config = config;
    const batch = config.maxNumberOfUpdatesPerRequest;

    const fetchAll = async (list: readonly RevisionKey[], phase: 'config' | 'content'): Promise<void> => {
      const seen = new Set<string>();
      const wanted: RevisionKey[] = [];
      for (const k of list) {
        if (seen.has(k.updateId)) listedTwice.push(k.updateId);
        seen.add(k.updateId);
        if (this.#held(k)) relisted.push(k);
        else wanted.push(k);
      }
      for (let i = 0; i < wanted.length; i += batch) {
        if (phase === 'content' && this.options.shouldStop?.()) {
          stopped = true;
          return;
        }
        const got = await this.getUpdateData(wanted.slice(i, i + batch), phase, run);
        updateDataCalls++;
        for (const g of got) {
          fetched.push(g);
          this.#keep(g);
        }
      }
    };

    // Categories, classifications, detectoids first: the updates name them.
    const configList = await this.getRevisionIdList({ getConfig: true, anchor: this.anchors.configList });
    await fetchAll(configList.revisions, 'config');
    const configListAnchor = configList.anchor;

    const wanted = (this.options.subscribe ?? allProductsAndClassifications)([...this.categories.values()]);
    const hasAnchor = this.anchors.sync !== undefined;
    const filter = {
      anchor: this.anchors.sync,
      products: wanted.products.map((id) => ({ id, delta: hasAnchor && this.subscribed.products.has(id) })),
      classifications: wanted.classifications.map((id) => ({ id, delta: hasAnchor && this.subscribed.classifications.has(id) })),
    };
    const contentList = await this.getRevisionIdList({ getConfig: false, ...filter });
    await fetchAll(contentList.revisions, 'content');

    let deployments: DeploymentsAnswer | undefined;
    if (!stopped) {
      // Each phase's anchor is committed once the phase is complete.
      this.anchors = { ...this.anchors, config: config.newConfigAnchor, configList: configListAnchor, sync: contentList.anchor };
      this.subscribed = { products: new Set(wanted.products), classifications: new Set(wanted.classifications) };
      if (this.options.replica) {
        deployments = await this.getDeployments();
        this.anchors = { ...this.anchors, deployment: deployments.anchor };
      }
    }

    const files = new Map<string, FileInfo>();
    for (const f of fetched) for (const file of f.files ?? []) files.set(file.sha1, file);
    const result: SyncRun = {
      run,
      config,
      configList: configList.revisions,
      contentList: contentList.revisions,
      filter,
      fetched,
      relisted,
      listedTwice,
      updateDataCalls,
      newFiles: [...files.values()],
      ...(deployments !== undefined && { deployments }),
      calls: this.#calls,
      stopped,
      ms: performance.now() - start,
    };
    this.runs.push(result);
    return result;
  }

  // ---- content --------------------------------------------------------------------------

  /**
   * Downloads `files` from their UssUrl in closed ranges of `rangeBytes` (1 MiB, as BITS and
   * Delivery Optimization ask), reassembling each and checking its SHA-1 and SHA-256 against the
   * document's digests. Files the upstream answers 404 for are asked for with DownloadFiles
   * (a lazy upstream fetches them from its own upstream), at most 100 digests a call.
   */
  async downloadContent(files: readonly FileInfo[], options: { concurrency?: number; rangeBytes?: number } = {}): Promise<ContentReport> {
    const rangeBytes = options.rangeBytes ?? MiB;
    const queue = [...files];
    let bytes = 0;
    let rangeRequests = 0;
    let verified = 0;
    let sha256Verified = 0;
    const missing: string[] = [];

    const one = async (file: FileInfo): Promise<void> => {
      const url = file.ussUrl;
      if (!url.startsWith(`${this.origin}/Content/`)) throw new DownstreamProtocolError(`UssUrl ${url} of ${file.sha1} is not under ${this.origin}/Content/`);
      const sha1 = createHash('sha1');
      const sha256 = createHash('sha256');
      for (let offset = 0; offset < file.size; offset += rangeBytes) {
        const end = Math.min(offset + rangeBytes, file.size) - 1;
        const response = await request(url, {
          method: 'GET',
          headers: { range: `bytes=${offset}-${end}`, 'user-agent': 'openwsus-scripted-downstream' },
          dispatcher: this.#dispatcher,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000),
        });
        rangeRequests++;
        if (response.statusCode === 404 && offset === 0) {
          await response.body.dump();
          missing.push(file.sha1);
          return;
        }
        if (response.statusCode !== 206) {
          const text = (await response.body.text()).slice(0, 300);
          throw new DownstreamProtocolError(`GET ${url} bytes=${offset}-${end}: HTTP ${response.statusCode} ${text}`);
        }
        const contentRange = String(response.headers['content-range'] ?? '');
        if (contentRange !== `bytes ${offset}-${end}/${file.size}`) {
          await response.body.dump();
          throw new DownstreamProtocolError(`GET ${url} bytes=${offset}-${end}: Content-Range "${contentRange}", expected bytes ${offset}-${end}/${file.size}`);
        }
        let got = 0;
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          got += chunk.length;
          sha1.update(chunk);
          sha256.update(chunk);
        }
        if (got !== end - offset + 1) throw new DownstreamProtocolError(`GET ${url} bytes=${offset}-${end}: ${got} bytes received`);
        bytes += got;
      }
      const s1 = sha1.digest('base64');
      if (s1 !== file.sha1) throw new DownstreamProtocolError(`${url}: SHA-1 ${s1}, the document says ${file.sha1}`);
      verified++;
      if (file.sha256 !== undefined) {
        const s256 = sha256.digest('base64');
        if (s256 !== file.sha256) throw new DownstreamProtocolError(`${url}: SHA-256 ${s256}, the document says ${file.sha256}`);
        sha256Verified++;
      }
    };

    const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) }, async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) await one(file);
    });
    await Promise.all(workers);

    // A lazy upstream holds metadata before content: ask it to fetch what it lacks.
    let downloadFilesCalls = 0;
    const downloadFilesFaults: SoapFault[] = [];
    for (let i = 0; i < missing.length; i += DOWNLOAD_FILES_MAX) {
      downloadFilesCalls++;
      try {
        await this.downloadFilesRequest(missing.slice(i, i + DOWNLOAD_FILES_MAX));
      } catch (error) {
        if (!(error instanceof SoapFault)) throw error;
        downloadFilesFaults.push(error);
      }
    }
    return { files: files.length, bytes, rangeRequests, verified, sha256Verified, missing, downloadFilesCalls, downloadFilesFaults };
  }
}

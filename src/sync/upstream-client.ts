// The MS-WSUSSS client side (WSUS-PROTOCOLS §2): the handshake, the cookie and the Server Sync
// calls a downstream server makes, with the error handling §2.3 asks of it. It turns SOAP into
// plain values and knows nothing of the store; engine.ts decides what to ask for.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { soapCall, SoapClientError, SoapFault, SoapXmlBuilder, type SoapCallResult, type SoapNode } from '../soap/index.ts';
import type { RevisionKey } from '../domain/update.ts';
import type { Language } from '../domain/catalog-records.ts';
import { isPermanentTransportFailure } from './transport.ts';

export const SERVER_SYNC_PATH = '/ServerSyncWebService/ServerSyncWebService.asmx';
export const SERVER_SYNC_NS = 'http://www.microsoft.com/SoftwareDistribution';
export const DSS_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService';
export const DSS_PLUGIN_ID = 'DssTargeting';
/** What WSUS 10 sends as a downstream server. */
export const DSS_PROTOCOL_VERSION = '1.20';
// The reference DSS renews with less than 30 minutes left (WSUS-PROTOCOLS §2.3).
const COOKIE_RENEW_MS = 30 * 60_000;

/** The upstream broke the protocol: an answer this client cannot use. */
export class UpstreamProtocolError extends Error {
  override name = 'UpstreamProtocolError';
}

export interface RetryPolicy {
  /** Tries per call, the first included. */
  readonly attempts: number;
  /** Wait before the second try; doubled before each next one. */
  readonly baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000 };

export interface UpstreamClientOptions {
  /** `scheme://host:port` of the upstream's web services. */
  readonly origin: string;
  /** accountGuid: this server's id. */
  readonly serverId: string;
  /** accountName: this server's name. */
  readonly serverName: string;
  readonly dispatcher?: Dispatcher;
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Called before each retry, for logs. */
  readonly onRetry?: (operation: string, attempt: number, error: Error) => void;
}

export interface UpstreamConfigData {
  readonly catalogOnlySync: boolean;
  readonly lazySync: boolean;
  readonly serverHostsPsfFiles: boolean;
  readonly maxNumberOfUpdatesPerRequest: number;
  readonly protocolVersion: string;
  readonly newConfigAnchor: string;
  /** Empty when the config anchor sent was current. Without the `all` pseudo-entry. */
  readonly languages: readonly Language[];
}

export interface IdAndDelta {
  readonly id: string;
  readonly delta: boolean;
}

export interface RevisionIdFilter {
  readonly anchor?: string;
  readonly getConfig: boolean;
  readonly categories?: readonly IdAndDelta[];
  readonly classifications?: readonly IdAndDelta[];
}

export interface UpdateData {
  readonly key: RevisionKey;
  /** The update document, decompressed when it came as a cabinet. */
  readonly xml: string;
  readonly fileDigests: readonly string[];
}

export interface UpdateDataAnswer {
  readonly updates: readonly UpdateData[];
  /** Where to download each file (SHA-1 base64 -> URL): UssUrl, else MUUrl. */
  readonly fileUrls: ReadonlyMap<string, string>;
}

interface Cookie {
  readonly expiration: string;
  readonly data: string;
}

function isRetryable(error: unknown): boolean {
  if (error instanceof SoapFault) return error.errorCode === 'ServerBusy';
  if (error instanceof SoapClientError) {
    // A proxy refusing our credentials or an untrusted certificate says the same the next time.
    if (isPermanentTransportFailure(error)) return false;
    if (error.problem === 'network' || error.problem === 'timeout') return true;
    return error.problem === 'http' && error.statusCode !== undefined && [429, 502, 503, 504].includes(error.statusCode);
  }
  return false;
}

export class UpstreamClient {
  readonly origin: string;
  readonly #options: UpstreamClientOptions;
  #cookie: Cookie | undefined;
  /** Calls made, by operation (for reports and tests). */
  readonly calls = new Map<string, number>();

  constructor(options: UpstreamClientOptions) {
    this.#options = options;
    this.origin = options.origin.replace(/\/+$/, '');
  }

  async #soap(url: string, namespace: string, operation: string, body: SoapXmlBuilder | string): Promise<SoapCallResult> {
    const retry = this.#options.retry ?? DEFAULT_RETRY;
    for (let attempt = 1; ; attempt++) {
      this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
      try {
        return await soapCall({
          url,
          namespace,
          operation,
          body,
          ...(this.#options.dispatcher !== undefined && { dispatcher: this.#options.dispatcher }),
          ...(this.#options.signal !== undefined && { signal: this.#options.signal }),
          timeoutMs: this.#options.timeoutMs ?? 120_000,
          userAgent: 'openwsus-dss',
        });
      } catch (error) {
        if (attempt >= retry.attempts || !isRetryable(error)) throw error;
        this.#options.onRetry?.(operation, attempt, error as Error);
        await sleep(retry.baseDelayMs * 2 ** (attempt - 1), undefined, this.#options.signal === undefined ? {} : { signal: this.#options.signal });
      }
    }
  }

  /** GetAuthConfig, GetAuthorizationCookie at the DssTargeting plug-in's service, GetCookie. */
  async handshake(): Promise<void> {
    const syncUrl = `${this.origin}${SERVER_SYNC_PATH}`;
    const authConfig = await this.#soap(syncUrl, SERVER_SYNC_NS, 'GetAuthConfig', '');
    const plugIn = (authConfig.result?.list('AuthInfo') ?? []).find((p) => p.optString('PlugInID') === DSS_PLUGIN_ID);
    if (plugIn === undefined) throw new UpstreamProtocolError(`the upstream's GetAuthConfig names no ${DSS_PLUGIN_ID} authorization plug-in`);
    // A relative service URL under the upstream's root; a WSUS may write it with a leading '//'.
    const authUrl = `${this.origin}/${plugIn.string('ServiceUrl').replace(/^\/+/, '')}`;
    const auth = await this.#soap(
      authUrl,
      DSS_AUTH_NS,
      'GetAuthorizationCookie',
      new SoapXmlBuilder().element('accountName', this.#options.serverName).element('accountGuid', this.#options.serverId),
    );
    const authCookie = auth.result;
    if (authCookie === undefined) throw new UpstreamProtocolError('GetAuthorizationCookie returned no cookie');
    const got = await this.#soap(
      syncUrl,
      SERVER_SYNC_NS,
      'GetCookie',
      new SoapXmlBuilder()
        .start('authCookies')
        .start('AuthorizationCookie')
        .element('PlugInId', authCookie.string('PlugInId'))
        .element('CookieData', authCookie.string('CookieData'))
        .end()
        .end()
        .element('protocolVersion', DSS_PROTOCOL_VERSION),
    );
    const result = got.result;
    if (result === undefined) throw new UpstreamProtocolError('GetCookie returned no cookie');
    const expiration = result.string('Expiration');
    if (Number.isNaN(Date.parse(expiration))) throw new UpstreamProtocolError(`GetCookie: Expiration "${expiration}" is not a time`);
    this.#cookie = { expiration, data: result.string('EncryptedData') };
  }

  async #validCookie(): Promise<Cookie> {
    const c = this.#cookie;
    if (c !== undefined && Date.parse(c.expiration.endsWith('Z') ? c.expiration : `${c.expiration}Z`) - Date.now() > COOKIE_RENEW_MS) return c;
    await this.handshake();
    return this.#cookie!;
  }

  /** The server cookie, renewed when it is near its end (the rollup calls carry it too). */
  async cookie(): Promise<{ readonly expiration: string; readonly data: string }> {
    return this.#validCookie();
  }

  /** A Server Sync call with the cookie; on InvalidCookie/InvalidAuthorizationCookie, the handshake again and one more try. */
  async #call(operation: string, parameters: (b: SoapXmlBuilder) => void): Promise<SoapNode | undefined> {
    for (let attempt = 0; ; attempt++) {
      const cookie = await this.#validCookie();
      const b = new SoapXmlBuilder().start('cookie').element('Expiration', cookie.expiration).element('EncryptedData', cookie.data).end();
      parameters(b);
      try {
        return (await this.#soap(`${this.origin}${SERVER_SYNC_PATH}`, SERVER_SYNC_NS, operation, b)).result;
      } catch (error) {
        const code = error instanceof SoapFault ? error.errorCode : undefined;
        if (attempt === 0 && (code === 'InvalidCookie' || code === 'InvalidAuthorizationCookie')) {
          this.#cookie = undefined;
          continue;
        }
        throw error;
      }
    }
  }

  async getConfigData(configAnchor: string | undefined): Promise<UpstreamConfigData> {
    const r = await this.#call('GetConfigData', (b) => b.element('configAnchor', configAnchor));
    if (r === undefined) throw new UpstreamProtocolError('GetConfigData returned nothing');
    const max = r.int('MaxNumberOfUpdatesPerRequest');
    if (max < 1) throw new UpstreamProtocolError(`GetConfigData: MaxNumberOfUpdatesPerRequest is ${max}`);
    return {
      catalogOnlySync: r.bool('CatalogOnlySync'),
      lazySync: r.bool('LazySync'),
      serverHostsPsfFiles: r.bool('ServerHostsPsfFiles'),
      maxNumberOfUpdatesPerRequest: max,
      protocolVersion: r.optString('ProtocolVersion') ?? '',
      newConfigAnchor: r.optString('NewConfigAnchor') ?? '',
      languages: r
        .list('LanguageUpdateList')
        .map((l) => ({ id: l.int('LanguageID'), shortName: l.string('ShortLanguage'), longName: l.optString('LongLanguage') ?? l.string('ShortLanguage'), enabled: l.bool('Enabled') }))
        .filter((l) => l.id !== 0),
    };
  }

  async getRevisionIdList(filter: RevisionIdFilter): Promise<{ anchor: string; revisions: RevisionKey[] }> {
    const idAndDelta = (b: SoapXmlBuilder, name: string, items: readonly IdAndDelta[] | undefined): void => {
      if (items === undefined) return;
      b.start(name);
      for (const i of items) b.start('IdAndDelta').element('Id', i.id).element('Delta', i.delta).end();
      b.end();
    };
    const r = await this.#call('GetRevisionIdList', (b) => {
      b.start('filter');
      b.element('Anchor', filter.anchor);
      b.element('GetConfig', filter.getConfig);
      b.element('Get63LanguageOnly', false);
      idAndDelta(b, 'Categories', filter.categories);
      idAndDelta(b, 'Classifications', filter.classifications);
      b.end();
    });
    if (r === undefined) throw new UpstreamProtocolError('GetRevisionIdList returned nothing');
    return {
      anchor: r.optString('Anchor') ?? '',
      revisions: r.list('NewRevisions').map((n) => ({ updateId: n.guid('UpdateID'), revisionNumber: n.int('RevisionNumber') })),
    };
  }

  async getUpdateData(keys: readonly RevisionKey[], decode: (compressed: string) => string): Promise<UpdateDataAnswer> {
    const r = await this.#call('GetUpdateData', (b) => {
      b.start('updateIds');
      for (const k of keys) b.start('UpdateIdentity').element('UpdateID', k.updateId).element('RevisionNumber', k.revisionNumber).end();
      b.end();
    });
    if (r === undefined) throw new UpstreamProtocolError('GetUpdateData returned nothing');
    const fileUrls = new Map<string, string>();
    for (const u of r.list('fileUrls')) {
      const url = u.optString('UssUrl') || u.optString('MUUrl') || '';
      if (url !== '') fileUrls.set(u.string('FileDigest'), url);
    }
    const updates = r.list('updates').map((u): UpdateData => {
      const id = u.need('Id');
      const key = { updateId: id.guid('UpdateID'), revisionNumber: id.int('RevisionNumber') };
      const plain = u.optString('XmlUpdateBlob');
      const packed = u.optString('XmlUpdateBlobCompressed');
      if (plain === undefined && packed === undefined) throw new UpstreamProtocolError(`GetUpdateData: no document for ${key.updateId}/${key.revisionNumber}`);
      let xml = plain;
      if (xml === undefined) {
        try {
          xml = decode(packed!);
        } catch (error) {
          throw new UpstreamProtocolError(`GetUpdateData: the compressed document of ${key.updateId}/${key.revisionNumber} cannot be read (${(error as Error).message})`);
        }
      }
      return { key, xml, fileDigests: u.list('FileDigestList').map((d) => d.asString()) };
    });
    return { updates, fileUrls };
  }

  /**
   * DownloadFiles (WSUS-PROTOCOLS §2.7): asks a lazy upstream to fetch files it answered 404 for
   * (at most 100 SHA-1 digests, base64). Digests it does not know fail the call with
   * FileDigestsMissing, whose Message lists them joined by `|`.
   */
  async downloadFiles(digests: readonly string[]): Promise<void> {
    await this.#call('DownloadFiles', (b) => b.list('fileDigestList', 'base64Binary', digests));
  }

  /** GetDeployments (replica mode, WSUS-PROTOCOLS §2.8): the result element, decoded by sync/replica.ts. */
  async getDeployments(deploymentAnchor: string | undefined, syncAnchor: string | undefined): Promise<SoapNode> {
    const r = await this.#call('GetDeployments', (b) => {
      b.element('deploymentAnchor', deploymentAnchor);
      b.element('syncAnchor', syncAnchor);
    });
    if (r === undefined) throw new UpstreamProtocolError('GetDeployments returned nothing');
    return r;
  }
}

// The client side of MS-WUSP as the Windows Update Agent speaks it (WSUS-PROTOCOLS §4; requests
// shaped like fixtures wsus-m0-native/scan/): the names on the wire, the request bodies, and the
// reading of the answers. Written from the spec and the captures, not from the server's code.
import type { Dispatcher } from 'undici';
import { formatDateTime, SoapXmlBuilder, soapCall, type SoapNode } from '../soap/index.ts';

export const CLIENT_PATH = '/ClientWebService/client.asmx';
export const REPORTING_PATH = '/ReportingWebService/ReportingWebService.asmx';
export const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
export const SIMPLE_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService';
export const REPORTING_NS = 'http://www.microsoft.com/SoftwareDistribution';

/** What the native agent of the captures announces (Win11 25H2). */
export const AGENT_PROTOCOL_VERSION = '2.90';
export const AGENT_VERSION = { major: 1507, minor: 2601, build: 30012, qfe: 0 } as const;
export const USER_AGENT = `Windows-Update-Agent/${AGENT_VERSION.major}.${AGENT_VERSION.minor}.${AGENT_VERSION.build}.${AGENT_VERSION.qfe} Client-Protocol/${AGENT_PROTOCOL_VERSION}`;
const SIMPLE_TARGETING = 'SimpleTargeting';

export interface Cookie {
  readonly expiration: string;
  readonly encryptedData: string;
}

export interface ServerConfig {
  readonly lastChange: string;
  readonly registrationRequired: boolean;
  /** Absolute URL of the SimpleTargeting plug-in (GetConfig gives it relative to the server). */
  readonly simpleAuthUrl: string;
  readonly maxExtendedUpdatesPerRequest: number;
  readonly protocolVersion: string | undefined;
}

export interface Deployment {
  readonly id: number;
  /** Install, Uninstall, PreDeploymentCheck, Bundle, Evaluate (or whatever the server says). */
  readonly action: string;
  readonly deadline: string | undefined;
  readonly lastChangeTime: string | undefined;
}

export interface UpdateInfo {
  readonly revisionId: number;
  readonly deployment: Deployment;
  readonly isLeaf: boolean;
  /** The escaped Core fragment, decoded; '' on ChangedUpdates (the client holds it already). */
  readonly xml: string;
}

export interface SyncInfo {
  readonly newUpdates: readonly UpdateInfo[];
  readonly outOfScopeRevisionIds: readonly number[];
  readonly changedUpdates: readonly UpdateInfo[];
  readonly truncated: boolean;
  readonly newCookie: Cookie | undefined;
  readonly driverSyncNotNeeded: boolean;
}

export interface ExtendedInfo {
  /** One entry per (revision, fragment) the server sent, in its order. */
  readonly updates: readonly { revisionId: number; xml: string }[];
  /** SHA-1 digest (base64) -> URL. */
  readonly fileLocations: ReadonlyMap<string, string>;
  readonly outOfScopeRevisionIds: readonly number[];
}

/** How one simulated computer reaches the server. */
export interface Transport {
  readonly serverUrl: string;
  readonly dispatcher?: Dispatcher | undefined;
  readonly timeoutMs?: number | undefined;
  /** Ask for XPRESS-compressed answers, as the agent does. */
  readonly acceptXpress?: boolean | undefined;
}

/** SystemSpec-free device attributes as the agent sends them (a short but real-looking subset). */
export const DEVICE_ATTRIBUTES =
  'App=WU_OS;AppVer=1507.2601.30012.0;DeviceFamily=Windows.Desktop;InstallationType=Client;OSArchitecture=AMD64;OSSkuId=48;OSVersion=10.0.26200.8037;ProductType=WinNT;';
export const CALLER_ATTRIBUTES = 'Interactive=0;SheddingAware=1;Id=openwsus simulator;';

/** One operation at `path` on the server (or at an absolute URL); its result element. */
export async function call(t: Transport, path: string, namespace: string, operation: string, body: SoapXmlBuilder | string): Promise<SoapNode | undefined> {
  const result = await soapCall({
    url: new URL(path, t.serverUrl),
    namespace,
    operation,
    body,
    userAgent: USER_AGENT,
    acceptXpress: t.acceptXpress ?? true,
    ...(t.dispatcher === undefined ? {} : { dispatcher: t.dispatcher }),
    ...(t.timeoutMs === undefined ? {} : { timeoutMs: t.timeoutMs }),
  });
  return result.result;
}

function writeCookie(x: SoapXmlBuilder, cookie: Cookie, name = 'cookie'): SoapXmlBuilder {
  return x.start(name).element('Expiration', cookie.expiration).element('EncryptedData', cookie.encryptedData).end();
}

function readCookie(node: SoapNode | undefined): Cookie | undefined {
  if (node === undefined) return undefined;
  return { expiration: node.string('Expiration'), encryptedData: node.string('EncryptedData') };
}

// ---- handshake -------------------------------------------------------------------------------

export async function getConfig(t: Transport): Promise<ServerConfig> {
  const r = await call(t, CLIENT_PATH, CLIENT_NS, 'GetConfig', new SoapXmlBuilder().element('protocolVersion', AGENT_PROTOCOL_VERSION));
  if (r === undefined) throw new Error('GetConfig returned no Config');
  const plugIns = r.child('AuthInfo')?.items() ?? [];
  const simple = plugIns.find((p) => p.optString('PlugInID') === SIMPLE_TARGETING);
  if (simple === undefined) throw new Error(`the server offers no ${SIMPLE_TARGETING} authorization plug-in`);
  const properties = new Map(r.list('Properties').map((p) => [p.string('Name'), p.optString('Value') ?? '']));
  const max = Number(properties.get('MaxExtendedUpdatesPerRequest'));
  return {
    lastChange: r.string('LastChange'),
    registrationRequired: r.optBool('IsRegistrationRequired') ?? false,
    simpleAuthUrl: new URL(simple.optString('ServiceUrl') ?? '', t.serverUrl.endsWith('/') ? t.serverUrl : `${t.serverUrl}/`).toString(),
    maxExtendedUpdatesPerRequest: Number.isInteger(max) && max > 0 ? max : 50,
    protocolVersion: properties.get('ProtocolVersion'),
  };
}

export async function getAuthorizationCookie(t: Transport, config: ServerConfig, clientId: string, dnsName: string, targetGroupName: string | undefined): Promise<string> {
  const x = new SoapXmlBuilder().element('clientId', clientId).element('targetGroupName', targetGroupName).element('dnsName', dnsName);
  const r = await call(t, config.simpleAuthUrl, SIMPLE_AUTH_NS, 'GetAuthorizationCookie', x);
  const data = r?.optString('CookieData');
  if (data === undefined || data === '') throw new Error('GetAuthorizationCookie returned no CookieData');
  return data;
}

/** `oldCookie`: the held cookie, or (first contact) one with only an Expiration, as the native agent sends. */
export async function getCookie(t: Transport, authorization: string, oldCookie: Cookie | undefined, lastChange: string, now: Date): Promise<Cookie> {
  const x = new SoapXmlBuilder()
    .start('authCookies')
    .start('AuthorizationCookie')
    .element('PlugInId', SIMPLE_TARGETING)
    .element('CookieData', authorization)
    .end()
    .end();
  if (oldCookie === undefined) x.start('oldCookie').element('Expiration', formatDateTime(now)).end();
  else writeCookie(x, oldCookie, 'oldCookie');
  x.element('lastChange', lastChange).element('currentTime', formatDateTime(now)).element('protocolVersion', AGENT_PROTOCOL_VERSION);
  const cookie = readCookie(await call(t, CLIENT_PATH, CLIENT_NS, 'GetCookie', x));
  if (cookie === undefined) throw new Error('GetCookie returned no Cookie');
  return cookie;
}

export interface ComputerDescription {
  readonly dnsName: string;
  readonly osBuild: number;
  readonly manufacturer: string;
  readonly model: string;
}

export async function registerComputer(t: Transport, cookie: Cookie, c: ComputerDescription): Promise<void> {
  const x = writeCookie(new SoapXmlBuilder(), cookie)
    .start('computerInfo')
    .element('DnsName', c.dnsName)
    .element('OSMajorVersion', 10)
    .element('OSMinorVersion', 0)
    .element('OSBuildNumber', c.osBuild)
    .element('OSServicePackMajorNumber', 0)
    .element('OSServicePackMinorNumber', 0)
    .element('OSLocale', 'en-US')
    .element('ComputerManufacturer', c.manufacturer)
    .element('ComputerModel', c.model)
    .element('BiosVersion', 'unknown')
    .element('BiosName', 'unknown')
    .element('BiosReleaseDate', '2022-02-02T00:00:00Z')
    .element('ProcessorArchitecture', 'AMD64')
    .element('SuiteMask', 256)
    .element('OldProductType', 1)
    .element('NewProductType', 48)
    .element('SystemMetrics', 0)
    .element('ClientVersionMajorNumber', AGENT_VERSION.major)
    .element('ClientVersionMinorNumber', AGENT_VERSION.minor)
    .element('ClientVersionBuildNumber', AGENT_VERSION.build)
    .element('ClientVersionQfeNumber', AGENT_VERSION.qfe)
    .element('OSDescription', 'Windows 10 Pro')
    .element('OEM', c.manufacturer)
    .element('DeviceType', c.model)
    .element('FirmwareVersion', 'unknown')
    .element('MobileOperator', 'Not Present')
    .end();
  await call(t, CLIENT_PATH, CLIENT_NS, 'RegisterComputer', x);
}

// ---- SyncUpdates -----------------------------------------------------------------------------

export interface SyncParameters {
  readonly installedNonLeafUpdateIds: readonly number[];
  readonly otherCachedUpdateIds: readonly number[];
  /** The driver pass: SkipSoftwareSync with a SystemSpec. */
  readonly driverPass?: boolean;
}

/** SyncUpdateParameters in schema order; empty arrays left out, as the native agent does. */
export async function syncUpdates(t: Transport, cookie: Cookie, p: SyncParameters): Promise<SyncInfo> {
  const x = writeCookie(new SoapXmlBuilder(), cookie).start('parameters').element('ExpressQuery', false);
  if (p.installedNonLeafUpdateIds.length > 0) x.list('InstalledNonLeafUpdateIDs', 'int', p.installedNonLeafUpdateIds);
  if (p.otherCachedUpdateIds.length > 0) x.list('OtherCachedUpdateIDs', 'int', p.otherCachedUpdateIds);
  if (p.driverPass === true) {
    // One printer class driver, as in scan/000009.
    x.start('SystemSpec')
      .start('Device')
      .list('HardwareIDs', 'string', ['{084f01fa-e634-4d77-83ee-074817c03581}'])
      .start('installedDriver')
      .element('MatchingID', '{084f01fa-e634-4d77-83ee-074817c03581}')
      .element('DriverVerDate', '2006-06-21T00:00:00Z')
      .element('DriverVerVersion', '2814751477600644')
      .element('Class', 'Printer')
      .element('Manufacturer', 'Microsoft')
      .element('Provider', 'Microsoft')
      .element('Model', 'Microsoft Print To PDF')
      .element('DriverRank', -1)
      .end()
      .element('DeviceFlags', 1)
      .end()
      .end();
  }
  x.element('SkipSoftwareSync', p.driverPass === true)
    .element('NeedTwoGroupOutOfScopeUpdates', false)
    .element('AlsoPerformRegularSync', false)
    .empty('ComputerSpec')
    .start('ProductsParameters')
    .element('SyncCurrentVersionOnly', false)
    .element('DeviceAttributes', DEVICE_ATTRIBUTES)
    .element('CallerAttributes', CALLER_ATTRIBUTES)
    .empty('Products')
    .end()
    .end();
  const r = await call(t, CLIENT_PATH, CLIENT_NS, 'SyncUpdates', x);
  if (r === undefined) throw new Error('SyncUpdates returned no SyncInfo');
  return {
    newUpdates: r.list('NewUpdates').map(readUpdateInfo),
    outOfScopeRevisionIds: r.ints('OutOfScopeRevisionIDs'),
    changedUpdates: r.list('ChangedUpdates').map(readUpdateInfo),
    truncated: r.optBool('Truncated') ?? false,
    newCookie: readCookie(r.child('NewCookie')),
    driverSyncNotNeeded: (r.optString('DriverSyncNotNeeded') ?? '').trim().toLowerCase() === 'true',
  };
}

function readUpdateInfo(u: SoapNode): UpdateInfo {
  const d = u.need('Deployment');
  return {
    revisionId: u.int('ID'),
    deployment: { id: d.int('ID'), action: d.string('Action'), deadline: d.optString('Deadline'), lastChangeTime: d.optString('LastChangeTime') },
    isLeaf: u.optBool('IsLeaf') ?? true,
    xml: u.optString('Xml') ?? '',
  };
}

// ---- after the scan --------------------------------------------------------------------------

export async function getExtendedUpdateInfo(t: Transport, cookie: Cookie, revisionIds: readonly number[], locales: readonly string[]): Promise<ExtendedInfo> {
  const x = writeCookie(new SoapXmlBuilder(), cookie)
    .list('revisionIDs', 'int', revisionIds)
    .list('infoTypes', 'XmlUpdateFragmentType', ['Extended', 'LocalizedProperties'])
    .list('locales', 'string', locales)
    .element('deviceAttributes', DEVICE_ATTRIBUTES)
    .element('GeoId', 'USA')
    .element('callerAttributes', CALLER_ATTRIBUTES);
  const r = await call(t, CLIENT_PATH, CLIENT_NS, 'GetExtendedUpdateInfo', x);
  return {
    updates: (r?.list('Updates') ?? []).map((u) => ({ revisionId: u.int('ID'), xml: u.optString('Xml') ?? '' })),
    fileLocations: new Map((r?.list('FileLocations') ?? []).map((f) => [f.base64('FileDigest').toString('base64'), f.string('Url')])),
    outOfScopeRevisionIds: r?.ints('OutOfScopeRevisionIDs') ?? [],
  };
}

export async function reportEventBatch(t: Transport, cookie: Cookie, clientTime: Date, eventsXml: string): Promise<boolean> {
  const x = writeCookie(new SoapXmlBuilder(), cookie).element('clientTime', formatDateTime(clientTime)).start('eventBatch').raw(eventsXml).end();
  const r = await call(t, REPORTING_PATH, REPORTING_NS, 'ReportEventBatch', x);
  return r?.asBool() ?? false;
}

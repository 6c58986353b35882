// How a synchronization reaches the outside world: one undici dispatcher, built from the
// settings, for every outbound request of a sync (the upstream's web services now, content
// downloads later) and for nothing else. Either a direct Agent or a ProxyAgent to
// `http://proxy.host:proxy.port`; either way trusting the CA of `upstream.caFile` besides the
// default ones, so an upstream with a certificate from a private CA works, through the proxy too
// (the TLS session runs inside the CONNECT tunnel, so the CA applies there).
//
// Proxy authentication is Basic only, and only when the administrator allowed it
// (`proxy.allowBasicAuth`), since Basic sends the password in clear text to the proxy. NTLM and
// Negotiate need a handshake per connection that undici does not do; a proxy asking for them gets
// a message saying so. The password is opened here, goes into one header and nowhere else: not
// into the proxy URL (undici repeats URLs in errors), not into any message.
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { getCACertificates } from 'node:tls';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { resolveDownstreamSettings, SettingError, type DownstreamSettings } from '../domain/settings.ts';
import type { SettingRepository, Store } from '../store/index.ts';
import { openSecret, SecretError } from './secrets.ts';

/** What the dispatcher is made of, worked out from the settings (pure, for tests). */
export interface TransportPlan {
  /** PEM certificates to trust; undefined: the default trust. */
  readonly ca?: readonly string[];
  readonly proxy?: {
    /** `http://host:port`, without credentials. */
    readonly uri: string;
    /** `DOMAIN\user` or `user`, for messages. */
    readonly account?: string;
    /** The `Proxy-Authorization` value (holds the password: never print it). */
    readonly authorization?: string;
    /** Credentials are configured but Basic is not allowed, so none are sent. */
    readonly basicWithheld: boolean;
  };
}

/** The user name as the proxy sees it: the domain, when set, in front (`DOMAIN\user`). */
export function proxyAccount(user: string, domain: string | undefined): string {
  return domain === undefined ? user : `${domain}\\${user}`;
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The plan for a sync's dispatcher. `password` is the opened `proxy.password`; `caPem` the
 * text of `upstream.caFile`; `defaultCa` the certificates trusted anyway (tests pass their own).
 */
export function planTransport(settings: DownstreamSettings, inputs: { password?: string; caPem?: string; defaultCa?: readonly string[] } = {}): TransportPlan {
  const ca = inputs.caPem === undefined ? undefined : [...(inputs.defaultCa ?? getCACertificates('default')), inputs.caPem];
  const p = settings.proxy;
  if (!p.enabled) return ca === undefined ? {} : { ca };
  if (p.host === undefined) throw new SettingError('proxy.host', 'proxy.enabled is true but proxy.host is not set (openwsus config set proxy.host NAME)');
  const uri = `http://${hostForUrl(p.host)}:${p.port}`;
  let account: string | undefined;
  let authorization: string | undefined;
  let basicWithheld = false;
  if (p.user !== undefined) {
    account = proxyAccount(p.user, p.domain);
    if (p.allowBasicAuth) {
      if (inputs.password === undefined) throw new SettingError('proxy.password', 'proxy.user is set but proxy.password is not (openwsus config set proxy.password)');
      authorization = `Basic ${Buffer.from(`${account}:${inputs.password}`, 'utf8').toString('base64')}`;
    } else {
      basicWithheld = true;
    }
  }
  return {
    ...(ca !== undefined && { ca }),
    proxy: { uri, ...(account !== undefined && { account }), ...(authorization !== undefined && { authorization }), basicWithheld },
  };
}

/** The undici options a plan stands for: for `new Agent(...)`, or `new ProxyAgent(...)` when `proxy` is set. */
export function dispatcherOptions(plan: TransportPlan): { kind: 'agent'; options: Agent.Options } | { kind: 'proxy'; options: ProxyAgent.Options } {
  const tls = plan.ca === undefined ? undefined : { ca: [...plan.ca] };
  if (plan.proxy === undefined) return { kind: 'agent', options: tls === undefined ? {} : { connect: tls } };
  return {
    kind: 'proxy',
    options: {
      uri: plan.proxy.uri,
      ...(plan.proxy.authorization !== undefined && { token: plan.proxy.authorization }),
      // Plain HTTP goes as a forward request (absolute URI), as WSUS does: proxies commonly
      // allow CONNECT to port 443 only, and an upstream on 8530 would be refused. HTTPS tunnels.
      proxyTunnel: false,
      ...(tls !== undefined && { requestTls: tls }),
    },
  };
}

export interface SyncTransport {
  readonly dispatcher: Dispatcher;
  readonly plan: TransportPlan;
  /**
   * A message for an administrator when `error` (from a request made with this dispatcher, to
   * `url`) is a proxy authentication or certificate failure; undefined for anything else.
   */
  explainFailure(error: unknown, url: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * From resolved settings: opens the proxy password and reads the CA file. Throws SettingError.
 * A `given` dispatcher (tests) is used instead of building one, and left open by `close`.
 */
export async function createSyncTransport(settings: DownstreamSettings, secrets: SettingRepository, given?: Dispatcher): Promise<SyncTransport> {
  let caPem: string | undefined;
  if (settings.caFile !== undefined) {
    try {
      caPem = await readFile(settings.caFile, 'utf8');
    } catch (error) {
      throw new SettingError('upstream.caFile', `cannot read upstream.caFile ${settings.caFile}: ${(error as Error).message}`);
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(caPem)) throw new SettingError('upstream.caFile', `upstream.caFile ${settings.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  let password: string | undefined;
  const p = settings.proxy;
  if (p.enabled && p.user !== undefined && p.allowBasicAuth && p.password !== undefined) {
    try {
      password = await openSecret(secrets, p.password);
    } catch (error) {
      if (error instanceof SecretError) throw new SettingError('proxy.password', `proxy.password: ${error.message}`);
      throw error;
    }
  }
  const plan = planTransport(settings, { ...(password !== undefined && { password }), ...(caPem !== undefined && { caPem }) });
  const built = dispatcherOptions(plan);
  const dispatcher: Dispatcher = given ?? (built.kind === 'agent' ? new Agent(built.options) : new ProxyAgent(built.options));
  return {
    dispatcher,
    plan,
    explainFailure: (error, url) => explainTransportFailure(error, url, plan, settings.caFile),
    close: async () => {
      if (given === undefined) await dispatcher.close();
    },
  };
}

/** The transport of the next sync, from the store's settings (for the content downloader too). */
export async function openSyncTransport(store: Store): Promise<SyncTransport> {
  const { settings } = resolveDownstreamSettings(await store.settings.all());
  return createSyncTransport(settings, store.settings);
}

// ---- failures ------------------------------------------------------------------------------------

const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && out.length < 8; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/**
 * The proxy's refusal in an error, as undici reports it: a CONNECT answered with anything but 200
 * (tunnelling), or a 407 to a forwarded request. 401 counts: tinyproxy, for one, answers a wrong
 * password with `401` and `WWW-Authenticate` instead of 407. A forwarded request's 401 may come
 * from the upstream as well; explainTransportFailure asks the proxy to tell them apart.
 */
function proxyRefusal(error: unknown): { status: 401 | 407; forwarded: boolean } | undefined {
  for (const e of causes(error)) {
    const message = (e as Error)?.message ?? '';
    const tunnel = /Proxy response \((401|407)\) !== 200/.exec(message);
    if (tunnel !== null) return { status: Number(tunnel[1]) as 401 | 407, forwarded: false };
    if (/Proxy Authentication Required \(407\)/.test(message)) return { status: 407, forwarded: true };
  }
  return undefined;
}

/** An HTTP 401 answer to a forwarded request (soap/client.ts's SoapClientError), from the proxy or the upstream. */
function forwarded401(error: unknown): boolean {
  return causes(error).some((e) => (e as { problem?: unknown })?.problem === 'http' && (e as { statusCode?: unknown }).statusCode === 401);
}

function certificateCode(error: unknown): string | undefined {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown })?.code;
    if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) return code;
  }
  return undefined;
}

/** Failures that trying again cannot fix: the proxy refused us, or the certificate is not trusted. */
export function isPermanentTransportFailure(error: unknown): boolean {
  return proxyRefusal(error) !== undefined || certificateCode(error) !== undefined;
}

interface ProxyAnswer {
  readonly status: number | undefined;
  /** The schemes of `Proxy-Authenticate` (lower case). */
  readonly schemes: readonly string[];
  readonly proxyAuthenticate: readonly string[];
  readonly wwwAuthenticate: readonly string[];
}

function headerValues(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * Asks the proxy once the way the failed request went (CONNECT for HTTPS, a forward HEAD for
 * HTTP), with `authorization` or without credentials, and reads what it answers.
 */
export async function probeProxy(proxyUri: string, targetUrl: string, authorization?: string, timeoutMs = 5000): Promise<ProxyAnswer> {
  const proxy = new URL(proxyUri);
  const target = new URL(targetUrl);
  const tunnel = target.protocol === 'https:';
  const port = target.port === '' ? (tunnel ? '443' : '80') : target.port;
  return new Promise((resolve) => {
    const done = (res: IncomingMessage | undefined): void => {
      const proxyAuthenticate = headerValues(res?.headers['proxy-authenticate']);
      const schemes = [...new Set(proxyAuthenticate.map((v) => v.trim().split(/\s+/)[0]!.toLowerCase()).filter((v) => v !== ''))];
      resolve({ status: res?.statusCode, schemes, proxyAuthenticate, wwwAuthenticate: headerValues(res?.headers['www-authenticate']) });
    };
    const req = httpRequest({
      host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: proxy.port === '' ? 80 : Number(proxy.port),
      method: tunnel ? 'CONNECT' : 'HEAD',
      path: tunnel ? `${target.hostname}:${port}` : `${target.origin}/`,
      headers: { host: `${target.hostname}:${port}`, ...(authorization !== undefined && { 'proxy-authorization': authorization }) },
      timeout: timeoutMs,
    });
    req.once('connect', (res, socket) => {
      socket.destroy();
      done(res);
    });
    req.once('response', (res) => {
      res.resume();
      done(res);
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => done(undefined));
    req.end();
  });
}

const realm = (challenge: string): string | undefined => /realm="([^"]*)"/i.exec(challenge)?.[1];

async function explainTransportFailure(error: unknown, url: string, plan: TransportPlan, caFile: string | undefined): Promise<string | undefined> {
  const proxy = plan.proxy;
  let refusal = proxy === undefined ? undefined : proxyRefusal(error);
  if (proxy !== undefined && refusal === undefined && proxy.authorization !== undefined && forwarded401(error)) {
    // The proxy's 401 or the upstream's? The proxy's when, given our credentials, it answers 401
    // in the realm it asks for credentials in.
    const [anonymous, authenticated] = await Promise.all([probeProxy(proxy.uri, url), probeProxy(proxy.uri, url, proxy.authorization)]);
    const realms = new Set(anonymous.proxyAuthenticate.map(realm));
    if (anonymous.status === 407 && authenticated.status === 401 && authenticated.wwwAuthenticate.some((c) => realms.has(realm(c)))) refusal = { status: 401, forwarded: true };
  }
  if (proxy !== undefined && refusal !== undefined) {
    const { schemes } = await probeProxy(proxy.uri, url);
    const asked = schemes.length === 0 ? '' : ` (it asks for ${schemes.join(', ')})`;
    const answer = refusal.status === 407 ? '407 Proxy Authentication Required' : '401 Unauthorized (its answer to credentials it refuses)';
    const prefix = `the proxy ${proxy.uri} refused the request: ${answer}${asked}; `;
    if (proxy.authorization !== undefined && (refusal.status === 401 || schemes.includes('basic'))) {
      return `${prefix}it did not accept the credentials of ${proxy.account}: check proxy.user, proxy.domain and proxy.password`;
    }
    if (schemes.includes('basic')) {
      if (proxy.basicWithheld) {
        return `${prefix}the proxy asks for basic authentication, which is off (proxy.allowBasicAuth): basic sends the password in clear text; set proxy.allowBasicAuth true to allow it`;
      }
      return `${prefix}set proxy.user and proxy.password (and proxy.allowBasicAuth true)`;
    }
    if (schemes.some((v) => v === 'ntlm' || v === 'negotiate' || v === 'kerberos')) {
      return `${prefix}NTLM and Negotiate (Kerberos) proxy authentication are not supported: let this server through the proxy with basic authentication (proxy.allowBasicAuth) or without authentication`;
    }
    return `${prefix}${proxy.account === undefined ? 'set proxy.user and proxy.password' : 'only basic authentication is supported'}`;
  }
  const code = certificateCode(error);
  if (code !== undefined) {
    const origin = new URL(url).origin;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the certificate of ${origin} is not issued to that name (${code}): use the name the certificate has in upstream.server`;
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `the certificate of ${origin} is not valid now (${code})`;
    return caFile === undefined
      ? `the certificate of ${origin} is not trusted (${code}): if a private CA issued it, set upstream.caFile to that CA's PEM file`
      : `the certificate of ${origin} is not trusted (${code}): neither the system's CAs nor the one in upstream.caFile (${caFile}) issued it`;
  }
  return undefined;
}


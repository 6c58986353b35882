// A real openwsus client service for the client tests: the HTTP frame of src/app/http.ts with the
// client services, on loopback, over a store of the test's backend, and a raw SOAP sender that
// talks to it the way the Windows Update Agent does.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { request } from 'undici';
import { createHttpServer } from '../../src/app/http.ts';
import type { ContentStore } from '../../src/content/index.ts';
import { registerClientServices } from '../../src/services/client/index.ts';
import { registerContentRoutes } from '../../src/services/content-route.ts';
import type { Store } from '../../src/store/index.ts';
import { at, parseAnswer, textAt } from './xml-shape.ts';
import type { XmlElement } from '../../src/xml/index.ts';

export const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
export const SIMPLE_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService';
export const CLIENT_PATH = '/ClientWebService/client.asmx';
export const SIMPLE_AUTH_PATH = '/SimpleAuthWebService/SimpleAuth.asmx';

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly root: XmlElement;
}

export interface ClientServer {
  readonly store: Store;
  readonly app: FastifyInstance;
  readonly origin: string;
  readonly clock: { now: Date | undefined };
  /** Posts a raw body (an Envelope) with a SOAPAction. */
  post(path: string, action: string, body: string): Promise<Answer>;
  /** One operation of the client service (or SimpleAuth) with `inner` as its parameters. */
  call(operation: string, inner?: string, service?: 'client' | 'auth'): Promise<Answer>;
  close(): Promise<void>;
}

export interface ClientServerOptions {
  readonly pageSize?: number;
  /** Also serve /Content/ from this store, as a running server does. */
  readonly content?: ContentStore;
}

export async function startClientServer(store: Store, options: ClientServerOptions = {}): Promise<ClientServer> {
  const clock: { now: Date | undefined } = { now: undefined };
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const app = await createHttpServer({
    logger: pino({ level: 'warn' }, sink),
    health: async () => ({ status: 'ok', version: 'test', serverId: store.serverId, database: store.dialect, uptimeSeconds: 0, checks: {} }),
    routes: async (instance) => {
      if (options.content !== undefined) registerContentRoutes(instance, { content: options.content });
      await registerClientServices(instance, { store, now: () => clock.now ?? new Date(), ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}) });
    },
  });
  const origin = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  const post = async (path: string, action: string, body: string): Promise<Answer> => {
    const response = await request(`${origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${action}"` },
      body,
    });
    const text = await response.body.text();
    return { status: response.statusCode, text, root: parseAnswer(text) };
  };
  return {
    store,
    app,
    origin,
    clock,
    post,
    call: (operation, inner = '', service = 'client') => {
      const ns = service === 'client' ? CLIENT_NS : SIMPLE_AUTH_NS;
      const body = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><${operation} xmlns="${ns}">${inner}</${operation}></s:Body></s:Envelope>`;
      return post(service === 'client' ? CLIENT_PATH : SIMPLE_AUTH_PATH, `${ns}/${operation}`, body);
    },
    close: () => app.close(),
  };
}

export async function withClientServer(store: Store, fn: (server: ClientServer) => Promise<void>, options: ClientServerOptions = {}): Promise<void> {
  const server = await startClientServer(store, options);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

export interface ClientCookie {
  readonly expiration: string;
  readonly data: string;
}

export function cookieXml(cookie: ClientCookie, name = 'cookie'): string {
  return `<${name}><Expiration>${cookie.expiration}</Expiration><EncryptedData>${cookie.data}</EncryptedData></${name}>`;
}

export function faultCode(answer: Answer): string | undefined {
  return textAt(answer.root, 'Body/Fault/detail/ErrorCode');
}

export const CLIENT_ID = 'e1da06a3-5601-43c9-bac3-52d5db701494';

/** GetConfig, GetAuthorizationCookie, GetCookie, RegisterComputer, as the native agent does. */
export async function clientHandshake(
  server: ClientServer,
  options: { clientId?: string; dnsName?: string; targetGroupName?: string; register?: boolean; oldCookie?: ClientCookie } = {},
): Promise<{ cookie: ClientCookie; lastChange: string; authorization: string }> {
  const config = await server.call('GetConfig', '<protocolVersion>2.90</protocolVersion>');
  const lastChange = textAt(config.root, 'Body/GetConfigResponse/GetConfigResult/LastChange')!;
  const dnsName = options.dnsName ?? 'pc1.lab.invalid';
  const auth = await server.call(
    'GetAuthorizationCookie',
    `<clientId>${options.clientId ?? CLIENT_ID}</clientId>` +
      (options.targetGroupName !== undefined ? `<targetGroupName>${options.targetGroupName}</targetGroupName>` : '') +
      `<dnsName>${dnsName}</dnsName>`,
    'auth',
  );
  const authorization = textAt(auth.root, 'Body/GetAuthorizationCookieResponse/GetAuthorizationCookieResult/CookieData')!;
  const now = new Date().toISOString();
  const got = await server.call(
    'GetCookie',
    `<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>${authorization}</CookieData></AuthorizationCookie></authCookies>` +
      (options.oldCookie !== undefined ? cookieXml(options.oldCookie, 'oldCookie') : `<oldCookie><Expiration>${now}</Expiration></oldCookie>`) +
      `<lastChange>${lastChange}</lastChange><currentTime>${now}</currentTime><protocolVersion>2.90</protocolVersion>`,
  );
  const result = at(got.root, 'Body/GetCookieResponse/GetCookieResult');
  if (result === undefined) throw new Error(`GetCookie failed: ${got.text}`);
  const cookie = { expiration: textAt(result, 'Expiration')!, data: textAt(result, 'EncryptedData')! };
  if (options.register !== false) {
    const r = await server.call('RegisterComputer', `${cookieXml(cookie)}<computerInfo><DnsName>${dnsName}</DnsName><OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion><OSBuildNumber>26200</OSBuildNumber><ProcessorArchitecture>AMD64</ProcessorArchitecture><ClientVersionMajorNumber>1507</ClientVersionMajorNumber><ClientVersionMinorNumber>2601</ClientVersionMinorNumber><ClientVersionBuildNumber>30012</ClientVersionBuildNumber><ClientVersionQfeNumber>0</ClientVersionQfeNumber></computerInfo>`);
    if (r.status !== 200) throw new Error(`RegisterComputer failed: ${r.text}`);
  }
  return { cookie, lastChange, authorization };
}

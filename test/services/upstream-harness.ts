// A real openwsus upstream for the server-sync tests: the HTTP frame of src/app/http.ts with the
// upstream services, on loopback, over a store of the test's backend; a SOAP client that speaks to
// it like a downstream server; and catalogs to serve (the real fixture documents, generated ones).
import { readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createHttpServer } from '../../src/app/http.ts';
import { generateCatalog } from '../../src/catalog/index.ts';
import { WSUS_LANGUAGES } from '../../src/domain/languages.ts';
import { ingestUpdate } from '../../src/metadata/update-parser.ts';
import { registerUpstreamServices } from '../../src/services/upstream/index.ts';
import { soapCall, SoapXmlBuilder, type SoapCallResult } from '../../src/soap/index.ts';
import type { RevisionInput, Store } from '../../src/store/index.ts';
import { fixturePath, readFixtureText } from '../support/fixtures.ts';

export const SERVER_SYNC_NS = 'http://www.microsoft.com/SoftwareDistribution';
export const DSS_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService';
export const SERVER_SYNC_PATH = '/ServerSyncWebService/ServerSyncWebService.asmx';
export const DSS_AUTH_PATH = '/DssAuthWebService/DssAuthWebService.asmx';

export const DEFENDER = '8c3fcc84-7410-4a95-8b89-a166a0190486';
export const DEFINITION_UPDATES = 'e0789628-ce08-4437-be74-2495b842f43b';
export const SECURITY_UPDATES = '0fa1201d-4330-4fa8-8ae9-b877473b6441';

export interface Clock {
  now: Date;
}

export interface Upstream {
  readonly store: Store;
  readonly app: FastifyInstance;
  /** `http://127.0.0.1:port` */
  readonly origin: string;
  /** JSON log lines the server wrote. */
  readonly logs: Array<Record<string, unknown>>;
  /** Moves with real time unless a test sets `clock.now`. */
  readonly clock: { now: Date | undefined };
  call(operation: string, body?: string, service?: 'sync' | 'auth'): Promise<SoapCallResult>;
  close(): Promise<void>;
}

export async function startUpstream(store: Store): Promise<Upstream> {
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const clock: { now: Date | undefined } = { now: undefined };
  const app = await createHttpServer({
    logger: pino({ level: 'info' }, stream),
    health: async () => ({ status: 'ok', version: 'test', serverId: store.serverId, database: store.dialect, uptimeSeconds: 0, checks: {} }),
    routes: (instance) => registerUpstreamServices(instance, { store, now: () => clock.now ?? new Date() }),
  });
  const origin = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  return {
    store,
    app,
    origin,
    logs,
    clock,
    call: (operation, body = '', service = 'sync') =>
      soapCall({
        url: `${origin}${service === 'sync' ? SERVER_SYNC_PATH : DSS_AUTH_PATH}`,
        namespace: service === 'sync' ? SERVER_SYNC_NS : DSS_AUTH_NS,
        operation,
        body,
        timeoutMs: 60_000,
      }),
    close: () => app.close(),
  };
}

/** Runs `fn` against an upstream serving `store`, closing it afterwards whatever happens. */
export async function withUpstream(store: Store, fn: (upstream: Upstream) => Promise<void>): Promise<void> {
  const upstream = await startUpstream(store);
  try {
    await fn(upstream);
  } finally {
    await upstream.close();
  }
}

export interface Cookie {
  readonly expiration: string;
  readonly data: string;
}

export function cookieXml(cookie: Cookie, name = 'cookie'): string {
  return `<${name}><Expiration>${cookie.expiration}</Expiration><EncryptedData>${cookie.data}</EncryptedData></${name}>`;
}

export interface HandshakeOptions {
  readonly id?: string;
  readonly name?: string;
  readonly protocolVersion?: string;
}

export const DSS_ID = '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12';

export async function authorizationCookie(upstream: Upstream, options: HandshakeOptions = {}): Promise<string> {
  const body = new SoapXmlBuilder()
    .element('accountName', options.name ?? 'dss.lab.invalid')
    .element('accountGuid', options.id ?? DSS_ID)
    .xml;
  const answer = await upstream.call('GetAuthorizationCookie', body, 'auth');
  return answer.result!.string('CookieData');
}

/** GetAuthConfig, GetAuthorizationCookie, GetCookie: the cookie a downstream then carries. */
export async function handshake(upstream: Upstream, options: HandshakeOptions = {}): Promise<Cookie> {
  await upstream.call('GetAuthConfig');
  const data = await authorizationCookie(upstream, options);
  const answer = await upstream.call(
    'GetCookie',
    `<authCookies><AuthorizationCookie><PlugInId>DssTargeting</PlugInId><CookieData>${data}</CookieData></AuthorizationCookie></authCookies>` +
      `<protocolVersion>${options.protocolVersion ?? '1.20'}</protocolVersion>`,
  );
  return { expiration: answer.result!.string('Expiration'), data: answer.result!.string('EncryptedData') };
}

export interface IdDelta {
  readonly id: string;
  readonly delta: boolean;
}

export function filterXml(filter: { anchor?: string; getConfig: boolean; categories?: IdDelta[]; classifications?: IdDelta[] }): string {
  const list = (name: string, items: IdDelta[] | undefined) =>
    items === undefined ? '' : `<${name}>${items.map((i) => `<IdAndDelta><Id>${i.id}</Id><Delta>${i.delta}</Delta></IdAndDelta>`).join('')}</${name}>`;
  return (
    `<filter>${filter.anchor === undefined ? '' : `<Anchor>${filter.anchor}</Anchor>`}<GetConfig>${filter.getConfig}</GetConfig>` +
    `${list('Categories', filter.categories)}${list('Classifications', filter.classifications)}</filter>`
  );
}

export interface RevisionList {
  readonly anchor: string;
  readonly revisions: Array<{ updateId: string; revisionNumber: number }>;
}

export async function revisionIdList(
  upstream: Upstream,
  cookie: Cookie,
  filter: { anchor?: string; getConfig: boolean; categories?: IdDelta[]; classifications?: IdDelta[] },
): Promise<RevisionList> {
  const answer = await upstream.call('GetRevisionIdList', cookieXml(cookie) + filterXml(filter));
  const result = answer.result!;
  return {
    anchor: result.string('Anchor'),
    revisions: result.list('NewRevisions').map((u) => ({ updateId: u.guid('UpdateID'), revisionNumber: u.int('RevisionNumber') })),
  };
}

export function keysXml(keys: ReadonlyArray<{ updateId: string; revisionNumber: number }>, name = 'updateIds'): string {
  return `<${name}>${keys.map((k) => `<UpdateIdentity><UpdateID>${k.updateId}</UpdateID><RevisionNumber>${k.revisionNumber}</RevisionNumber></UpdateIdentity>`).join('')}</${name}>`;
}

// ---- catalogs ------------------------------------------------------------------------------

export const REAL_DOCS = 'wsus-m0-wsusss/docs';

/** The download URL the real WSUS gave for the one file among the real documents (capture 000014). */
export const REAL_MU_URLS: Readonly<Record<string, string>> = {
  'h/W9BGlYUAaqXTp30cZi/SiV3c0=':
    'http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe',
};

export interface RealDocument {
  readonly updateId: string;
  readonly revisionNumber: number;
  readonly xml: string;
}

export function realDocuments(): RealDocument[] {
  return readdirSync(fixturePath(REAL_DOCS))
    .filter((name) => name.endsWith('.xml'))
    .sort()
    .map((name) => {
      const m = /^(.+)-r([0-9]+)\.xml$/.exec(name)!;
      return { updateId: m[1]!, revisionNumber: Number(m[2]), xml: readFixtureText(REAL_DOCS, name) };
    });
}

export async function loadRealDocuments(store: Store): Promise<RealDocument[]> {
  const docs = realDocuments();
  await store.catalog.upsertRevisions(docs.map((d) => ({ ...ingestUpdate(d.xml), muUrls: REAL_MU_URLS })));
  return docs;
}

/** A generated catalog of `updates` documents, ingested as a sync would, with the WSUS languages. */
export async function loadGeneratedCatalog(store: Store, updates: number, seed: number | string = 7): Promise<number> {
  await store.languages.upsert(WSUS_LANGUAGES);
  let batch: RevisionInput[] = [];
  let count = 0;
  for (const doc of generateCatalog({ updates, seed }).documents()) {
    batch.push(ingestUpdate(doc.xml));
    count++;
    if (batch.length === 500) {
      await store.catalog.upsertRevisions(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.catalog.upsertRevisions(batch);
  return count;
}

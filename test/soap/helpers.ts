// Shared by the SOAP tests: the captured exchanges and a real fastify server on loopback.
import { readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { fixturePath, readFixture, readFixtureText } from '../support/fixtures.ts';

export const SERVER_SYNC_NS = 'http://www.microsoft.com/SoftwareDistribution';
export const DSS_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService';
export const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
export const SIMPLE_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService';

export interface Capture {
  readonly folder: string;
  readonly id: string;
  readonly requestLine: string;
  /** Header names lower-cased. */
  readonly requestHeaders: ReadonlyMap<string, string>;
  readonly requestBody: Buffer;
  readonly statusLine: string;
  readonly responseHeaders: ReadonlyMap<string, string>;
  readonly responseBody: Buffer;
  readonly meta: { status: number; path: string; soap_action: string };
}

function parseHeaders(text: string): { first: string; headers: Map<string, string> } {
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { first: lines[0] ?? '', headers };
}

export function readCaptures(folder: string): Capture[] {
  const ids = readdirSync(fixturePath(folder))
    .filter((name) => /^[0-9]{6}$/.test(name))
    .sort();
  return ids.map((id) => {
    const request = parseHeaders(readFixtureText(folder, id, 'request.headers'));
    const response = parseHeaders(readFixtureText(folder, id, 'response.headers'));
    return {
      folder,
      id,
      requestLine: request.first,
      requestHeaders: request.headers,
      requestBody: readFixture(folder, id, 'request.body'),
      statusLine: response.first,
      responseHeaders: response.headers,
      responseBody: readFixture(folder, id, 'response.body'),
      meta: JSON.parse(readFixtureText(folder, id, 'meta.json')) as Capture['meta'],
    };
  });
}

export const WSUSSS = 'wsus-m0-wsusss/exchanges';
export const NATIVE = 'wsus-m0-native/scan';

export interface TestServer {
  readonly app: FastifyInstance;
  readonly url: string;
  /** JSON log lines the server wrote. */
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A fastify configured like the real one (case-insensitive routes), listening on loopback. */
export async function startServer(setup: (app: FastifyInstance) => Promise<void> | void): Promise<TestServer> {
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = Fastify({
    logger: { level: 'info', stream },
    bodyLimit: 32 * 1024 * 1024,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
  }) as unknown as FastifyInstance;
  await setup(app);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, logs, close: () => app.close() };
}

/** Replaces what differs between two faults of the same kind: the ID and the host in faultactor. */
export function normalizeFault(xml: string): string {
  return xml
    .replace(/<ID>[0-9a-f-]{36}<\/ID>/, '<ID>(id)</ID>')
    .replace(/<faultactor>http:\/\/[^/<]+\//, '<faultactor>http://(host)/');
}

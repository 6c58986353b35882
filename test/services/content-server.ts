// A real content server on loopback for the content tests: the server frame from src/app/http.ts
// (its case-insensitive router is part of what is tested) with the content routes, over a fresh
// content directory. Plus a raw HTTP/1.1 client for what undici would tidy up: exact request
// bytes, `..` and encoded slashes, header-name case, and hanging up mid-body.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readlink, rm, utimes } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../../src/app/http.ts';
import { createLogger } from '../../src/app/log.ts';
import { ContentStore } from '../../src/content/index.ts';
import { contentPath, type UpdateFile } from '../../src/domain/update.ts';
import { registerContentRoutes } from '../../src/services/content-route.ts';

export interface ContentServer {
  readonly app: FastifyInstance;
  readonly store: ContentStore;
  /** The directory holding the content root (things outside the root go here). */
  readonly dataDir: string;
  readonly port: number;
  readonly origin: string;
}

interface AfterHook {
  after(fn: () => Promise<void> | void): void;
}

export async function startContentServer(
  t: AfterHook,
  options: { stallTimeoutMs?: number; openFileTtlMs?: number; zeroCopy?: boolean; onRequest?: () => void } = {},
): Promise<ContentServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'openwsus-content-route-'));
  const store = ContentStore.inDataDir(dataDir);
  await mkdir(store.root, { recursive: true });
  const app = await createHttpServer({
    logger: createLogger('silent'),
    health: async () => ({ status: 'ok', version: 'test', serverId: 'test', database: 'none', uptimeSeconds: 0, checks: {} }),
    routes: (instance) => {
      const { onRequest, ...routeOptions } = options;
      if (onRequest) instance.addHook('onRequest', async () => onRequest());
      registerContentRoutes(instance, { content: store, ...routeOptions });
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  t.after(async () => {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { app, store, dataDir, port: address.port, origin: `http://127.0.0.1:${address.port}` };
}

export interface Published {
  readonly bytes: Buffer;
  readonly file: UpdateFile;
  readonly sha1Hex: string;
  /** `/Content/XX/SHA1HEX.ext` as WSUS hands it out. */
  readonly url: string;
}

/** Random bytes published through the store, as the downloader does it. */
export async function publishRandom(store: ContentStore, size: number, fileName = 'windows-kb.exe'): Promise<Published> {
  const bytes = randomBytes(size);
  const file: UpdateFile = { sha1: createHash('sha1').update(bytes).digest('base64'), fileName, size };
  await store.publishFromStream(file, (async function* () {
    for (let i = 0; i < bytes.length; i += 1 << 20) yield bytes.subarray(i, i + (1 << 20));
  })());
  const sha1Hex = createHash('sha1').update(bytes).digest('hex').toUpperCase();
  return { bytes, file, sha1Hex, url: `/Content/${contentPath(file)}` };
}

/**
 * A sparse file of `size` bytes put straight into the layout under a given name. The route does
 * not re-hash what it serves (publishing did), so the real captures' names and sizes can be
 * replayed without their bytes.
 */
export async function placeSparse(store: ContentStore, relPath: string, size: number, mtime?: Date): Promise<string> {
  const path = join(store.root, relPath);
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'w');
  try {
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
  if (mtime) await utimes(path, mtime, mtime);
  return path;
}

export interface RawResponse {
  readonly statusLine: string;
  readonly status: number;
  /** Header fields in wire order, names as sent. */
  readonly fields: readonly (readonly [string, string])[];
  /** Lower-cased name → value (last wins). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * Sends `request` verbatim and reads one response. The body is read by Content-Length (every
 * content answer has one); `head` says the response has none whatever its headers say.
 */
export function rawExchange(port: number, request: string | Buffer, options: { head?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let received = 0;
    let head: Omit<RawResponse, 'body'> | undefined;
    let bodyStart = 0;
    let expected = 0;
    const finish = (): void => {
      const all = Buffer.concat(chunks, received);
      socket.destroy();
      resolve({ ...head!, body: all.subarray(bodyStart, bodyStart + expected) });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (!head) {
        const all = Buffer.concat(chunks, received);
        const end = all.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = parseHead(all.subarray(0, end).toString('latin1'));
        bodyStart = end + 4;
        expected = options.head || head.status === 304 ? 0 : Number(head.headers['content-length'] ?? 0);
      }
      if (received - bodyStart >= expected) finish();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (!head) reject(new Error(`connection closed before a response (${received} bytes)`));
      else if (received - bodyStart < expected) reject(new Error(`body cut short: ${received - bodyStart} of ${expected}`));
    });
    socket.write(request);
  });
}

/** `GET path` (or another method) as a minimal HTTP/1.1 request with extra header lines. */
export function requestText(method: string, path: string, headers: Readonly<Record<string, string>> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export function parseHead(text: string): Omit<RawResponse, 'body'> {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const fields = lines.filter((l) => l !== '').map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()] as const;
  });
  return {
    statusLine,
    status: Number(statusLine.split(' ')[1]),
    fields,
    headers: Object.fromEntries(fields.map(([k, v]) => [k.toLowerCase(), v])),
  };
}

/**
 * Starts downloading `path` and hangs up once `afterBytes` of the response have arrived
 * (0: right after sending the request). Resolves when the socket is gone.
 */
export function abortedDownload(port: number, path: string, afterBytes: number, headers: Readonly<Record<string, string>> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= afterBytes) socket.destroy();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.write(requestText('GET', path, headers), () => {
      if (afterBytes === 0) socket.destroy();
    });
  });
}

/** Open descriptors of this process that point under `dir` (Linux /proc), or undefined elsewhere. */
export async function descriptorsUnder(dir: string): Promise<number | undefined> {
  let names: string[];
  try {
    names = await readdir('/proc/self/fd');
  } catch {
    return undefined;
  }
  let count = 0;
  for (const name of names) {
    const target = await readlink(`/proc/self/fd/${name}`).catch(() => '');
    if (target.startsWith(dir)) count += 1;
  }
  return count;
}

export async function descriptorCount(): Promise<number | undefined> {
  return readdir('/proc/self/fd').then((names) => names.length, () => undefined);
}

/** Polls `probe` until it returns true or `timeoutMs` passes; returns the last answer. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Content download: `GET`/`HEAD /Content/XX/SHA1HEX.ext` (WSUS-PROTOCOLS §2.10, §4.9), what
// Delivery Optimization, BITS and downstream servers fetch, mostly as closed 1 MiB ranges over
// up to 7 keep-alive connections per client.
//
// Headers follow what a real WSUS (IIS 10) sends: Content-Type, Last-Modified, Accept-Ranges,
// ETag, Server, Date, Content-Length, Content-Range; fixtures in wsus-m0-native/content-headers.
// Bodies are written straight to the socket after `reply.hijack()`, so no onSend hook (a
// compression plugin, say) can ever re-encode or re-frame a file.
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ContentStore } from '../content/index.ts';
import {
  evaluatePreconditions,
  evaluateRange,
  ifRangeHolds,
  type Span,
  type Validators,
} from './content/conditional.ts';
import { parseContentName, type ContentName } from './content/name.ts';
import { OpenFiles, type OpenFile } from './content/open-files.ts';
import { sendSpan, STALL_TIMEOUT_MS } from './content/send.ts';

export interface ContentRouteOptions {
  readonly content: ContentStore;
  /** `Server` header of content answers (IIS sends `Microsoft-IIS/10.0`). */
  readonly serverHeader?: string;
  /** Hang up on a client that takes no bytes for this long (default: IIS's two minutes). */
  readonly stallTimeoutMs?: number;
  /** How long an opened file is reused by later requests (default 10 s; 0: never). */
  readonly openFileTtlMs?: number;
  /**
   * sendfile(2) on plain HTTP where the native module was built (default true); false always
   * copies through memory, as HTTPS must.
   */
  readonly zeroCopy?: boolean;
}

// IIS maps `.exe` to this; clients ignore the type of what they download.
const CONTENT_TYPE = 'application/octet-stream';

export function registerContentRoutes(app: FastifyInstance, options: ContentRouteOptions): void {
  const files = new OpenFiles(options.content, options.openFileTtlMs === undefined ? {} : { ttlMs: options.openFileTtlMs });
  app.addHook('onClose', async () => files.close());
  const settings: Settings = {
    files,
    server: options.serverHeader ?? 'openwsus',
    stallTimeoutMs: options.stallTimeoutMs ?? STALL_TIMEOUT_MS,
    zeroCopy: options.zeroCopy ?? true,
    log: app.log,
  };
  app.route<{ Params: { folder: string; name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/Content/:folder/:name',
    handler: (request, reply) => serveContent(settings, request, reply),
  });
  // Plain, well-formed content requests skip the framework: its per-request objects, routing
  // and child logger cost a fifth of the event loop's time on a 1 MiB-range load
  // (bench/content.ts). Everything else (odd encodings, misses, 403s) goes the routed way.
  frontRoute(app, (req, res) => {
    const name = plainContentName(req);
    if (name === undefined) return false;
    void (async () => {
      const opened = await files.acquire(name.file);
      if (!opened) return app.routing(req, res);
      await send(settings, req.method!, req.headers, name.sha1Hex, opened, res);
      // The one line the router would have logged (it logs two).
      settings.log.info({ method: req.method, url: req.url, statusCode: res.statusCode, remoteAddress: req.socket.remoteAddress }, 'content request');
    })().catch((error: unknown) => {
      settings.log.warn({ err: error, url: req.url }, 'content request failed');
      res.destroy();
    });
    return true;
  });
}

interface Settings {
  readonly files: OpenFiles;
  readonly server: string;
  readonly stallTimeoutMs: number;
  readonly zeroCopy: boolean;
  readonly log: FastifyBaseLogger;
}

/**
 * Puts `handler` before the framework on the app's own server: it answers what it takes (true)
 * and leaves the rest to fastify's router. Does nothing where fastify does not route through
 * `app.routing` as its request listener.
 */
function frontRoute(app: FastifyInstance, handler: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const server = app.server;
  if (!server.listeners('request').includes(app.routing)) return;
  server.removeListener('request', app.routing);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!handler(req, res)) app.routing(req, res);
  });
}

const PREFIX = '/content/';

/** The name in a `GET`/`HEAD /Content/XX/NAME.ext` written plainly (no query, escape or extra slash). */
function plainContentName(req: IncomingMessage): Extract<ContentName, { kind: 'file' }> | undefined {
  const { method, url } = req;
  if ((method !== 'GET' && method !== 'HEAD') || url === undefined || url.length > 96) return undefined;
  if (url.slice(0, PREFIX.length).toLowerCase() !== PREFIX || /[?%#\\]/.test(url)) return undefined;
  const rest = url.slice(PREFIX.length).split('/');
  if (rest.length !== 2) return undefined;
  const name = parseContentName(rest[0]!, rest[1]!);
  return name.kind === 'file' ? name : undefined;
}

async function serveContent(
  settings: Settings,
  request: FastifyRequest<{ Params: { folder: string; name: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply | void> {
  const name = parseContentName(request.params.folder, request.params.name);
  if (name.kind === 'no-extension') return problem(reply, 403, 'Forbidden', 'content names end in an extension');
  if (name.kind === 'invalid') return notFound(reply);
  // Opened before anything is decided: the size we announce is the size of the very file we
  // then read.
  const opened = await settings.files.acquire(name.file);
  if (!opened) return notFound(reply);
  await send(settings, request.method, request.headers, name.sha1Hex, opened, reply.hijack().raw as ServerResponse);
}

/** Answers from an opened file (released here) straight on the socket. */
async function send(
  { server, stallTimeoutMs, zeroCopy, log }: Settings,
  method: string,
  headers: IncomingHttpHeaders,
  sha1Hex: string,
  opened: OpenFile,
  res: ServerResponse,
): Promise<void> {
  const { handle, stats } = opened;
  try {
    const answer = decide(headers, sha1Hex, stats.size, stats.mtimeMs, server);
    // 304, 412, 416 and empty files have no body. HEAD gets exactly the headers GET would,
    // ranges included, as IIS and nginx answer it.
    if (answer.span === undefined || method === 'HEAD') {
      res.writeHead(answer.status, answer.headers);
      res.end();
      return;
    }
    // The client left while we opened the file: nothing to send to.
    if (res.destroyed) return;
    res.writeHead(answer.status, answer.headers);
    try {
      await sendSpan(handle, answer.span.start, answer.span.end, res, stallTimeoutMs, zeroCopy);
    } catch (error) {
      log.warn({ err: error, url: res.req.url }, 'content transfer failed');
    }
  } finally {
    opened.release();
  }
}

interface Answer {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  /** Bytes to send; undefined for answers without a body. */
  readonly span?: Span;
}

/** Status and headers for a request on a file of `size` bytes, per RFC 9110 and IIS's habits. */
function decide(headers: IncomingHttpHeaders, sha1Hex: string, size: number, mtimeMs: number, server: string): Answer {
  const validators: Validators = {
    // The digest is the file's identity: a strong tag that survives re-downloads, copies between
    // servers and shared stores, where IIS's FILETIME-based `"809ce85db53add1:0"` would not.
    // The `:0` keeps IIS's shape for anything that pattern-matches it.
    etag: `"${sha1Hex.toLowerCase()}:0"`,
    lastModifiedSeconds: Math.floor(mtimeMs / 1000),
  };
  const lastModified = new Date(validators.lastModifiedSeconds * 1000).toUTCString();
  const precondition = evaluatePreconditions(
    {
      ifMatch: headers['if-match'],
      ifNoneMatch: headers['if-none-match'],
      ifModifiedSince: headers['if-modified-since'],
      ifUnmodifiedSince: headers['if-unmodified-since'],
    },
    validators,
  );
  if (precondition === 'not-modified') {
    return { status: 304, headers: { 'Last-Modified': lastModified, ETag: validators.etag, Server: server } };
  }
  if (precondition === 'failed') {
    return { status: 412, headers: { 'Last-Modified': lastModified, ETag: validators.etag, Server: server, 'Content-Length': 0 } };
  }
  const range = ifRangeHolds(single(headers['if-range']), validators) ? evaluateRange(headers.range, size) : { kind: 'whole' as const };
  if (range.kind === 'unsatisfiable') {
    return {
      status: 416,
      headers: {
        'Last-Modified': lastModified,
        'Accept-Ranges': 'bytes',
        ETag: validators.etag,
        Server: server,
        'Content-Length': 0,
        'Content-Range': `bytes */${size}`,
      },
    };
  }
  // Names, order and formats as IIS sends them (Date comes from Node).
  const common = {
    'Content-Type': CONTENT_TYPE,
    'Last-Modified': lastModified,
    'Accept-Ranges': 'bytes',
    ETag: validators.etag,
    Server: server,
  };
  if (range.kind === 'partial') {
    const { start, end } = range.span;
    return {
      status: 206,
      headers: { ...common, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` },
      span: range.span,
    };
  }
  return { status: 200, headers: { ...common, 'Content-Length': size }, ...(size > 0 ? { span: { start: 0, end: size - 1 } } : {}) };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The server's own 404, so content misses look like every other miss. */
function notFound(reply: FastifyReply): FastifyReply {
  reply.callNotFound();
  return reply;
}

function problem(reply: FastifyReply, status: number, title: string, detail: string): FastifyReply {
  return reply.code(status).type('application/problem+json').send({ type: 'about:blank', title, status, detail });
}

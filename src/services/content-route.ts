// Content download: `GET`/`HEAD /Content/XX/SHA1HEX.ext` (WSUS-PROTOCOLS §2.10, §4.9), what
// Delivery Optimization, BITS and downstream servers fetch, mostly as closed 1 MiB ranges over
// up to 7 keep-alive connections per client.
//
// Headers follow what a real WSUS (IIS 10) sends: Content-Type, Last-Modified, Accept-Ranges,
// ETag, Server, Date, Content-Length, Content-Range; fixtures in wsus-m0-native/content-headers.
// Bodies are written straight to the socket after `reply.hijack()`, so no onSend hook (a
// compression plugin, say) can ever re-encode or re-frame a file.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ContentStore } from '../content/index.ts';
import {
  evaluatePreconditions,
  evaluateRange,
  ifRangeHolds,
  type Span,
  type Validators,
} from './content/conditional.ts';
import { parseContentName } from './content/name.ts';
import { OpenFiles } from './content/open-files.ts';
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
  };
  app.route<{ Params: { folder: string; name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/Content/:folder/:name',
    handler: (request, reply) => serveContent(settings, request, reply),
  });
}

interface Settings {
  readonly files: OpenFiles;
  readonly server: string;
  readonly stallTimeoutMs: number;
  readonly zeroCopy: boolean;
}

async function serveContent(
  { files, server, stallTimeoutMs, zeroCopy }: Settings,
  request: FastifyRequest<{ Params: { folder: string; name: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply | void> {
  const name = parseContentName(request.params.folder, request.params.name);
  if (name.kind === 'no-extension') return problem(reply, 403, 'Forbidden', 'content names end in an extension');
  if (name.kind === 'invalid') return notFound(reply);
  // Opened before anything is decided: the size we announce is the size of the very file we
  // then read.
  const opened = await files.acquire(name.file);
  if (!opened) return notFound(reply);
  const { handle, stats } = opened;
  try {
    const answer = decide(request, name.sha1Hex, stats.size, stats.mtimeMs, server);
    // 304, 412, 416 and empty files have no body. HEAD gets exactly the headers GET would,
    // ranges included, as IIS and nginx answer it.
    if (answer.span === undefined || request.method === 'HEAD') return sendEmpty(reply, answer.status, answer.headers);
    // The client left while we opened the file: nothing to send to.
    if (reply.raw.destroyed) return;
    const res = reply.hijack().raw as ServerResponse;
    res.writeHead(answer.status, answer.headers);
    try {
      await sendSpan(handle, answer.span.start, answer.span.end, res, stallTimeoutMs, zeroCopy);
    } catch (error) {
      request.log.warn({ err: error, url: request.url }, 'content transfer failed');
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
function decide(request: FastifyRequest, sha1Hex: string, size: number, mtimeMs: number, server: string): Answer {
  const validators: Validators = {
    // The digest is the file's identity: a strong tag that survives re-downloads, copies between
    // servers and shared stores, where IIS's FILETIME-based `"809ce85db53add1:0"` would not.
    // The `:0` keeps IIS's shape for anything that pattern-matches it.
    etag: `"${sha1Hex.toLowerCase()}:0"`,
    lastModifiedSeconds: Math.floor(mtimeMs / 1000),
  };
  const lastModified = new Date(validators.lastModifiedSeconds * 1000).toUTCString();
  const headers = request.headers;
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

function sendEmpty(reply: FastifyReply, status: number, headers: OutgoingHttpHeaders): void {
  const res = reply.hijack().raw as ServerResponse;
  res.writeHead(status, headers);
  res.end();
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

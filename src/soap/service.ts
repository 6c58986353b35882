// SOAP services on fastify: one POST route per service path, dispatch on SOAPAction, typed
// parameters for the handler, the answer in the envelope shape the real service uses, and every
// failure turned into a WSUS fault. Nothing here knows what an operation means.
//
// Choices a real WSUS does not dictate:
// - GET (and HEAD) on a service path answers 200 text/plain naming the service and its
//   operations, in place of the ASP.NET HTML service page; there is no WSDL.
// - A request that cannot be dispatched (not XML, DTD, no Envelope/Body, unknown SOAPAction,
//   body over the size limit) gets a `Client` fault with ErrorCode InvalidParameters and a
//   plain-language Message, HTTP 500 like every fault of a real WSUS.
// - SOAP headers are ignored (WSUS defines none).
// - A body over the size limit is not parsed, but what the client goes on sending is read and
//   thrown away before the fault is sent (a lingering close, RFC 9112 §9.6): an HTTP/1.1 client
//   sends its whole request before it reads, and a socket closed under it loses the fault.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encodeXpressBody } from '../metadata/xpress.ts';
import { SoapXmlBuilder, type SoapBody } from './builder.ts';
import { contentTypeFor, type SoapVersion } from './constants.ts';
import { readSoapEnvelope, SoapMessageError, type SoapEnvelope } from './envelope.ts';
import { SoapFault } from './fault.ts';
import { acceptsXpress, contentTypeParameter, mediaTypeOf, soapActionOf } from './headers.ts';
import { DEFAULT_REQUEST_LIMITS, resolveSoapLimits, type SoapLimits } from './limits.ts';
import { SERVER_SCOPE, SoapNode } from './node.ts';
import { writeSoapFault, writeSoapResponse, type EnvelopeShape, type EnvelopeStyle } from './writer.ts';

/** The operation element of a request, with typed parameter readers (see SoapNode). */
export class SoapOperation extends SoapNode {
  readonly version: SoapVersion;
  /** The action the request was dispatched on (`namespace/Operation`). */
  readonly action: string;

  constructor(envelope: SoapEnvelope, action: string) {
    super(envelope.content, '', envelope.refs === undefined ? SERVER_SCOPE : { ...SERVER_SCOPE, refs: envelope.refs });
    this.version = envelope.version;
    this.action = action;
  }
}

export interface SoapRequestContext {
  readonly http: FastifyRequest;
  readonly log: FastifyBaseLogger;
  readonly service: SoapService;
  /** Operation name, the key it has in the service's `operations`. */
  readonly operation: string;
  readonly version: SoapVersion;
  /** The service URL as the client addressed it (`http://host:8530/ClientWebService/client.asmx`). */
  readonly serviceUrl: string;
  /** A builder that writes empty elements the way this service's real counterpart does. */
  xml(): SoapXmlBuilder;
  /** `<OperationResult>…</OperationResult>`, its content written by `build`. */
  result(build?: (xml: SoapXmlBuilder) => void): SoapBody;
}

/**
 * Returns the inner XML of `<OperationResponse>`: usually `<OperationResult>…` (see
 * `request.result`), out parameters for operations without a result (StartCategoryScan), or
 * nothing for void operations (`<RegisterComputerResponse … />`).
 */
export type SoapHandler = (
  op: SoapOperation,
  request: SoapRequestContext,
) => Promise<SoapBody | string | void> | SoapBody | string | void;

export interface SoapServiceDefinition {
  /** For logs and the GET page; defaults to the first path's file name without extension. */
  readonly name?: string;
  /** Absolute paths, e.g. `/ServerSyncWebService/ServerSyncWebService.asmx`. */
  readonly paths: readonly string[];
  /** Namespace of the operation elements; SOAPAction = namespace + '/' + operation. */
  readonly namespace: string;
  readonly operations: Readonly<Record<string, SoapHandler>>;
  /** Operations in another namespace than the service's (`Ping` of IMonitorable). */
  readonly operationNamespaces?: Readonly<Record<string, string>>;
  /** Envelope shape of the answers: `asmx` (default) or `wcf` (the client service). */
  readonly style?: EnvelopeStyle;
  /** Answer `Accept-Encoding: xpress` with an XPRESS body. Default true. */
  readonly xpress?: boolean;
  readonly limits?: Partial<SoapLimits>;
}

export interface SoapService {
  readonly name: string;
  readonly paths: readonly string[];
  readonly namespace: string;
  readonly operations: Readonly<Record<string, SoapHandler>>;
  readonly style: EnvelopeStyle;
  readonly xpress: boolean;
  readonly limits: SoapLimits;
  /** Namespace of an operation's elements and action. */
  namespaceOf(operation: string): string;
  actionOf(operation: string): string;
  /** The operation an action names, if any. */
  operationFor(action: string): string | undefined;
}

const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function defineSoapService(definition: SoapServiceDefinition): SoapService {
  if (definition.paths.length === 0) throw new Error('a SOAP service needs at least one path');
  for (const path of definition.paths) {
    if (!path.startsWith('/') || path.startsWith('//')) throw new Error(`SOAP service path ${JSON.stringify(path)} must start with one '/'`);
  }
  if (definition.namespace === '') throw new Error('a SOAP service needs a namespace');
  const namespaces = new Map<string, string>();
  const actions = new Map<string, string>();
  for (const [operation, handler] of Object.entries(definition.operations)) {
    if (!XML_NAME.test(operation)) throw new Error(`operation name ${JSON.stringify(operation)} is not an XML name`);
    if (typeof handler !== 'function') throw new Error(`operation ${operation} has no handler`);
    const ns = definition.operationNamespaces?.[operation] ?? definition.namespace;
    namespaces.set(operation, ns);
    actions.set(`${ns}/${operation}`, operation);
  }
  const first = definition.paths[0]!;
  const name = definition.name ?? first.slice(first.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '');
  return Object.freeze({
    name,
    paths: Object.freeze([...definition.paths]),
    namespace: definition.namespace,
    operations: Object.freeze({ ...definition.operations }),
    style: definition.style ?? 'asmx',
    xpress: definition.xpress ?? true,
    limits: resolveSoapLimits(DEFAULT_REQUEST_LIMITS, definition.limits),
    namespaceOf: (operation: string) => namespaces.get(operation) ?? definition.namespace,
    actionOf: (operation: string) => `${namespaces.get(operation) ?? definition.namespace}/${operation}`,
    operationFor: (action: string) => actions.get(action),
  });
}

export interface RegisterSoapOptions {
  /** Overrides the service's request limits. */
  readonly limits?: Partial<SoapLimits>;
  /** Write `faultactor` (the service URL) in faults, as WSUS does. Default true. */
  readonly faultActor?: boolean;
  /** Bounds on reading and discarding the rest of an oversized body (DEFAULT_DISCARD_LIMITS). */
  readonly discard?: Partial<DiscardLimits>;
}

/** How much of an oversized request body is read and thrown away, and for how long at most. */
export interface DiscardLimits {
  /** Most bytes read and dropped; a body declared longer (Content-Length) is not waited for. */
  readonly maxBytes: number;
  /** From the refusal to the end of the body; a slower client gets the fault and a closed socket. */
  readonly maxMs: number;
}

/** Room for a client that sends some tens of MB over a slow link, as nginx's lingering_time. */
export const DEFAULT_DISCARD_LIMITS: DiscardLimits = Object.freeze({ maxBytes: 64 * 1024 * 1024, maxMs: 30_000 });

/** Media types a SOAP request may be sent as; a missing Content-Type is tolerated. */
const SOAP_MEDIA_TYPES = new Set(['text/xml', 'application/soap+xml', 'application/xml']);

/**
 * Registers the service's routes in their own fastify scope (so its content-type parser stays
 * local): POST and GET on each path and on its `//` form, which WSUS builds when it joins an
 * upstream root ending in '/' with a relative service URL.
 */
export async function registerSoapService(
  app: FastifyInstance,
  service: SoapService,
  options: RegisterSoapOptions = {},
): Promise<void> {
  const limits = resolveSoapLimits(service.limits, options.limits);
  const faultActor = options.faultActor ?? true;
  const discard = { ...DEFAULT_DISCARD_LIMITS, ...options.discard };
  // A router that ignores duplicate slashes already sends '//X' to '/X' (and refuses both).
  const config = app.initialConfig as { ignoreDuplicateSlashes?: boolean; routerOptions?: { ignoreDuplicateSlashes?: boolean } };
  const collapsesSlashes = Boolean(config.routerOptions?.ignoreDuplicateSlashes || config.ignoreDuplicateSlashes);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Raw bytes whatever the Content-Type: the handler decides what it accepts, so every refusal
    // is a SOAP fault rather than fastify's JSON error.
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const post = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      await handlePost(service, limits, faultActor, request, reply);
      return reply;
    };
    const errorHandler = async (error: Error, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const tooLarge = (error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      const fault = tooLarge
        ? new SoapFault('InvalidParameters', `the request body exceeds the limit of ${limits.maxBodyBytes} bytes`)
        : new SoapFault('InvalidParameters', `the request could not be read: ${error.message}`, { cause: error });
      // fastify marks the answer `Connection: close` because the body was left unread; once it
      // has been read to its end, the connection can serve the next request.
      if (tooLarge) {
        if (await discardBody(request.raw, discard)) reply.removeHeader('connection');
        else lingerOnClose(request.raw, Math.min(discard.maxMs, LINGER_MS));
      }
      const version: SoapVersion = mediaTypeOf(request.headers['content-type']) === 'application/soap+xml' ? '1.2' : '1.1';
      sendFault(service, faultActor, request, reply, fault, version, quotedAction(request, version));
      return reply;
    };
    const get = async (_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const operations = Object.keys(service.operations).join(', ');
      return reply
        .code(200)
        .type('text/plain; charset=utf-8')
        .send(`${service.name}: a WSUS SOAP service (openwsus). POST SOAP 1.1 or 1.2 requests here.\nOperations: ${operations}\n`);
    };
    for (const path of service.paths) {
      // One path, one service: two services sharing a path (the rollup and the client reporting
      // operations both live at /ReportingWebService/ReportingWebService.asmx) must be merged
      // into one definition, or the second would silently never be reached.
      if (scope.hasRoute({ method: 'POST', url: path })) {
        throw new Error(`POST ${path} is already registered: serve all operations of one path from one SOAP service`);
      }
      for (const url of [path, `/${path}`]) {
        if (url !== path && collapsesSlashes) continue;
        scope.route({ method: 'POST', url, bodyLimit: limits.maxBodyBytes, errorHandler, handler: post });
        scope.route({ method: 'GET', url, handler: get });
      }
    }
  });
}

/**
 * Reads the rest of a refused body and drops it, without holding more than one chunk. True when
 * the body was read to its end; false when the client declared or sent more than the bound,
 * took longer than allowed, or went away (the fault then goes out with `Connection: close`).
 */
function discardBody(raw: IncomingMessage, bounds: DiscardLimits): Promise<boolean> {
  if (raw.complete) return Promise.resolve(true);
  // With a Content-Length over the limit, fastify refuses before reading a byte of the body.
  if (raw.destroyed || Number(raw.headers['content-length']) > bounds.maxBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let bytes = 0;
    const finish = (drained: boolean): void => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', onEnd).off('close', onGone).off('error', onGone);
      if (!drained) raw.pause();
      resolve(drained);
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > bounds.maxBytes) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onGone = (): void => finish(false);
    const timer = setTimeout(onGone, bounds.maxMs);
    raw.on('data', onData).on('end', onEnd).on('close', onGone).on('error', onGone);
    raw.resume();
  });
}

/** How long a connection closed on an unread body stays open for reading after its fault. */
const LINGER_MS = 2_000;

/**
 * Closing a socket with unread bytes in it makes the kernel send a reset, which can destroy the
 * fault before the client has read it. So the close that Node makes after a `Connection: close`
 * answer becomes a half-close: the fault and a FIN go out, what the client still sends is read
 * and dropped, and the socket is destroyed when the client closes its side or after `ms`.
 */
function lingerOnClose(raw: IncomingMessage, ms: number): void {
  const socket = raw.socket as IncomingMessage['socket'] & { destroySoon?: () => void };
  raw.on('data', () => {});
  raw.resume();
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.once('end', () => socket.destroy());
    socket.once('close', () => clearTimeout(timer));
  };
}

/** The action of a request: SOAPAction for 1.1, the Content-Type `action` parameter for 1.2. */
function requestAction(request: FastifyRequest, version: SoapVersion): string | undefined {
  const header = soapActionOf(request.headers.soapaction);
  const parameter = contentTypeParameter(request.headers['content-type'], 'action');
  const action = version === '1.2' ? (parameter ?? header) : (header ?? parameter);
  return action === undefined || action === '' ? undefined : action;
}

function quotedAction(request: FastifyRequest, version: SoapVersion): string {
  return `"${requestAction(request, version) ?? ''}"`;
}

/** Picks the operation: the action when there is one, else the Body's element name. */
function dispatch(service: SoapService, action: string | undefined, envelope: SoapEnvelope): string {
  const element = envelope.content;
  if (action !== undefined) {
    const operation = service.operationFor(action);
    if (operation === undefined) {
      throw new SoapFault('InvalidParameters', `Server did not recognize the value of HTTP Header SOAPAction: ${action}.`);
    }
    const ns = service.namespaceOf(operation);
    if (element.local !== operation || (element.uri !== ns && element.uri !== '')) {
      throw new SoapFault(
        'InvalidParameters',
        `the Body holds <${element.local} xmlns="${element.uri}">, but the action names ${operation} in ${ns}`,
      );
    }
    return operation;
  }
  const operation = Object.hasOwn(service.operations, element.local) ? element.local : undefined;
  if (operation === undefined || (element.uri !== service.namespaceOf(operation) && element.uri !== '')) {
    throw new SoapFault(
      'InvalidParameters',
      `no SOAPAction, and <${element.local} xmlns="${element.uri}"> is not an operation of ${service.name}`,
    );
  }
  return operation;
}

function serviceUrlOf(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf('?');
  return `${request.protocol}://${request.host}${query === -1 ? url : url.slice(0, query)}`;
}

async function handlePost(
  service: SoapService,
  limits: SoapLimits,
  faultActor: boolean,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const mediaType = mediaTypeOf(request.headers['content-type']);
  let version: SoapVersion = mediaType === 'application/soap+xml' ? '1.2' : '1.1';
  let method = quotedAction(request, version);
  try {
    if (mediaType !== undefined && !SOAP_MEDIA_TYPES.has(mediaType)) {
      throw new SoapFault(
        'InvalidParameters',
        `unsupported Content-Type ${mediaType}: SOAP 1.1 requests are text/xml, SOAP 1.2 requests application/soap+xml`,
      );
    }
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
      throw new SoapFault('InvalidParameters', `unsupported request Content-Encoding ${encoding}: send the envelope uncompressed`);
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let envelope: SoapEnvelope;
    try {
      envelope = readSoapEnvelope(body, limits);
    } catch (error) {
      if (!(error instanceof SoapMessageError)) throw error;
      throw new SoapFault('InvalidParameters', error.message, {
        ...(error.problem === 'version' ? { faultCode: 'VersionMismatch' as const } : {}),
        cause: error,
      });
    }
    version = envelope.version;
    const action = requestAction(request, version);
    method = `"${action ?? ''}"`;
    const operation = dispatch(service, action, envelope);
    const resolvedAction = action ?? service.actionOf(operation);
    method = `"${resolvedAction}"`;
    const op = new SoapOperation(envelope, resolvedAction);
    const emptyElement = service.style === 'wcf' ? '/>' : ' />';
    const context: SoapRequestContext = {
      http: request,
      log: request.log,
      service,
      operation,
      version,
      serviceUrl: serviceUrlOf(request),
      xml: () => new SoapXmlBuilder({ emptyElement }),
      result: (build) => {
        const xml = new SoapXmlBuilder({ emptyElement }).start(`${operation}Result`);
        build?.(xml);
        return xml.end();
      },
    };
    const result = await service.operations[operation]!(op, context);
    const shape: EnvelopeShape = { style: service.style, version };
    const xpress = service.xpress && acceptsXpress(request.headers['accept-encoding']);
    const encode = (): Buffer => {
      const bytes = Buffer.from(writeSoapResponse(shape, service.namespaceOf(operation), operation, result ?? undefined), 'utf8');
      return xpress ? encodeXpressBody(bytes) : bytes;
    };
    const payload = typeof result === 'object' && sharedBodies.has(result) ? encodedOnce(result, `${version} ${operation} ${xpress}`, encode) : encode();
    send(service, reply, 200, payload, xpress, shape, service.style === 'wcf' ? 'private' : 'private, max-age=0');
  } catch (error) {
    sendFault(service, faultActor, request, reply, error, version, method);
  }
}

function sendFault(
  service: SoapService,
  faultActor: boolean,
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  version: SoapVersion,
  method: string,
): void {
  const fault = error instanceof SoapFault ? error : new SoapFault('InternalServerError', '', { cause: error });
  const id = fault.id ?? randomUUID();
  if (error instanceof SoapFault) {
    request.log.info(
      { soapFault: { id, errorCode: fault.errorCode, message: fault.message, reason: fault.reason, method } },
      `SOAP fault from ${service.name}: ${fault.describe()}`,
    );
  } else {
    // The wire carries only the fault ID; the log carries the cause under the same ID.
    request.log.error({ err: error, soapFault: { id, method } }, `SOAP operation of ${service.name} failed`);
  }
  const shape: EnvelopeShape = { style: service.style, version };
  const xpress = service.xpress && acceptsXpress(request.headers['accept-encoding']);
  const text = writeSoapFault(shape, fault, {
    id,
    actor: faultActor ? (fault.actor ?? serviceUrlOf(request)) : undefined,
    method: fault.method ?? method,
  });
  const bytes = Buffer.from(text, 'utf8');
  send(service, reply, 500, xpress ? encodeXpressBody(bytes) : bytes, xpress, shape, 'private');
}

function send(
  service: SoapService,
  reply: FastifyReply,
  status: number,
  payload: Buffer,
  xpress: boolean,
  shape: EnvelopeShape,
  cacheControl: string,
): void {
  reply.code(status).header('content-type', contentTypeFor(shape.version)).header('cache-control', cacheControl);
  if (service.xpress) reply.header('vary', 'Accept-Encoding');
  if (xpress) reply.header('content-encoding', 'xpress');
  void reply.send(payload);
}

/** Answers handed to many requests at once (see sharedSoapBody), encoded once per wire form. */
const sharedBodies = new WeakMap<object, Map<string, Buffer>>();

/**
 * Marks an answer that a handler returns to many requests alike (GetRevisionIdList of a whole
 * catalog, asked by fifty downstream servers at once): its envelope is written and encoded once
 * per wire form, and every socket is sent the same bytes, instead of one copy of several MB each.
 */
export function sharedSoapBody(xml: string): SoapBody {
  const body = Object.freeze({ xml });
  sharedBodies.set(body, new Map());
  return body;
}

function encodedOnce(body: object, form: string, encode: () => Buffer): Buffer {
  const forms = sharedBodies.get(body)!;
  let bytes = forms.get(form);
  if (bytes === undefined) forms.set(form, (bytes = encode()));
  return bytes;
}

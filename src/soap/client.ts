// Calling a WSUS SOAP operation over HTTP(S) with undici. The caller brings the dispatcher (a
// ProxyAgent for a proxy, an Agent with a custom CA for HTTPS); this module brings the envelope,
// the size limit, the timeout and the three outcomes a caller must tell apart: a result, a WSUS
// fault (SoapFault with the ErrorCode to act on), or a transport problem (SoapClientError).

import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import { decodeXpressBody } from '../metadata/xpress.ts';
import type { SoapBody } from './builder.ts';
import { contentTypeFor, type SoapVersion } from './constants.ts';
import { readSoapEnvelope, readSoapFault, SoapMessageError, type SoapEnvelope } from './envelope.ts';
import { SoapFault } from './fault.ts';
import { DEFAULT_RESPONSE_LIMITS, resolveSoapLimits, type SoapLimits } from './limits.ts';
import { SoapNode, type SoapNodeScope } from './node.ts';
import { writeSoapRequest } from './writer.ts';

export type SoapClientProblem =
  | 'http' // an HTTP error status without a SOAP fault
  | 'network' // connection refused, reset, TLS, DNS...
  | 'timeout'
  | 'aborted' // the caller's signal
  | 'too-large' // the response passed the size limit
  | 'malformed'; // not a SOAP answer to this operation, or a value in it unreadable

export class SoapClientError extends Error {
  override readonly name = 'SoapClientError';
  readonly problem: SoapClientProblem;
  readonly url: string;
  readonly operation: string;
  readonly statusCode: number | undefined;
  /** The start of the response body, for reports ('' when none was read). */
  readonly bodyExcerpt: string;

  constructor(
    problem: SoapClientProblem,
    message: string,
    details: { url: string; operation: string; statusCode?: number; bodyExcerpt?: string; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.problem = problem;
    this.url = details.url;
    this.operation = details.operation;
    this.statusCode = details.statusCode;
    this.bodyExcerpt = details.bodyExcerpt ?? '';
  }
}

export interface SoapCallOptions {
  readonly url: string | URL;
  readonly namespace: string;
  readonly operation: string;
  /** Inner XML of the operation element (its parameters), already escaped. */
  readonly body?: string | SoapBody;
  readonly soapVersion?: SoapVersion;
  /** Defaults to `namespace + '/' + operation`. */
  readonly action?: string;
  readonly dispatcher?: Dispatcher;
  readonly signal?: AbortSignal;
  /** Whole call, connection to last byte. Default 120 s. */
  readonly timeoutMs?: number;
  /** Send `Accept-Encoding: xpress` (as the Windows Update Agent does). */
  readonly acceptXpress?: boolean;
  /** Response limits; see DEFAULT_RESPONSE_LIMITS. */
  readonly limits?: Partial<SoapLimits>;
  readonly userAgent?: string;
}

export interface SoapCallResult {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly envelope: SoapEnvelope;
  /** `<OperationResponse>`: holds out parameters of operations without a result. */
  readonly response: SoapNode;
  /** `<OperationResult>`, or undefined when the operation returned nothing (or null). */
  readonly result: SoapNode | undefined;
}

export const DEFAULT_SOAP_TIMEOUT_MS = 120_000;
const EXCERPT_CHARS = 500;

function excerptOf(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, EXCERPT_CHARS * 4)).toString('utf8');
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Calls one operation. Resolves with its result; throws SoapFault or SoapClientError. */
export async function soapCall(options: SoapCallOptions): Promise<SoapCallResult> {
  const url = String(options.url);
  const operation = options.operation;
  const version = options.soapVersion ?? '1.1';
  const limits = resolveSoapLimits(DEFAULT_RESPONSE_LIMITS, options.limits);
  const action = options.action ?? `${options.namespace}/${operation}`;
  const fail = (problem: SoapClientProblem, message: string, extra: { statusCode?: number; bodyExcerpt?: string; cause?: unknown } = {}) =>
    new SoapClientError(problem, `${operation} at ${url}: ${message}`, { url, operation, ...extra });

  const headers: Record<string, string> = {
    'content-type': version === '1.2' ? `${contentTypeFor('1.2')}; action="${action}"` : contentTypeFor('1.1'),
    'accept-encoding': options.acceptXpress ? 'xpress' : 'identity',
    'user-agent': options.userAgent ?? 'openwsus',
  };
  if (version === '1.1') headers.soapaction = `"${action}"`;
  const payload = writeSoapRequest(version, options.namespace, operation, options.body ?? '');

  const timeoutMs = options.timeoutMs ?? DEFAULT_SOAP_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  const translate = (error: unknown): unknown => {
    if (error instanceof SoapClientError || error instanceof SoapFault) return error;
    if (options.signal?.aborted) return fail('aborted', 'the call was aborted', { cause: error });
    if (timeout.aborted) return fail('timeout', `no complete answer within ${timeoutMs} ms`, { cause: error });
    const code = (error as { code?: string }).code;
    return fail('network', `${(error as Error).message}${code === undefined ? '' : ` (${code})`}`, { cause: error });
  };

  let statusCode: number;
  let responseHeaders: Record<string, string | string[] | undefined>;
  let wire: Buffer;
  try {
    const response = await request(url, {
      method: 'POST',
      headers,
      body: payload,
      signal,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
    statusCode = response.statusCode;
    responseHeaders = response.headers;
    const declared = Number(headerString(response.headers['content-length']));
    if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
      response.body.destroy();
      throw fail('too-large', `the response announces ${declared} bytes, over the limit of ${limits.maxBodyBytes}`, { statusCode });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limits.maxBodyBytes) {
        response.body.destroy();
        throw fail('too-large', `the response passed the limit of ${limits.maxBodyBytes} bytes`, { statusCode });
      }
      chunks.push(chunk);
    }
    wire = Buffer.concat(chunks, size);
  } catch (error) {
    throw translate(error);
  }

  const contentEncoding = (headerString(responseHeaders['content-encoding']) ?? 'identity').trim().toLowerCase();
  let body: Buffer;
  try {
    body = decodeContent(wire, contentEncoding, limits.maxBodyBytes);
  } catch (error) {
    throw fail('malformed', `cannot decode the ${contentEncoding} response body: ${(error as Error).message}`, {
      statusCode,
      bodyExcerpt: excerptOf(wire),
      cause: error,
    });
  }

  const ok = statusCode >= 200 && statusCode < 300;
  let envelope: SoapEnvelope;
  try {
    envelope = readSoapEnvelope(body, limits);
  } catch (error) {
    if (!(error instanceof SoapMessageError)) throw error;
    const excerpt = excerptOf(body);
    if (error.problem === 'too-large') throw fail('too-large', error.message, { statusCode, bodyExcerpt: excerpt });
    if (!ok) {
      throw fail('http', `HTTP ${statusCode}${excerpt === '' ? '' : `: ${excerpt}`}`, { statusCode, bodyExcerpt: excerpt, cause: error });
    }
    throw fail('malformed', `the response is not a SOAP envelope: ${error.message}`, { statusCode, bodyExcerpt: excerpt, cause: error });
  }

  const fault = readSoapFault(envelope);
  if (fault !== undefined) throw fault;
  if (!ok) {
    const excerpt = excerptOf(body);
    throw fail('http', `HTTP ${statusCode} with a SOAP answer that is not a fault`, { statusCode, bodyExcerpt: excerpt });
  }

  const element = envelope.content;
  const expected = `${operation}Response`;
  if (element.local !== expected || element.uri !== options.namespace) {
    throw fail('malformed', `expected <${expected} xmlns="${options.namespace}">, got <${element.local} xmlns="${element.uri}">`, {
      statusCode,
      bodyExcerpt: excerptOf(body),
    });
  }
  const scope: SoapNodeScope = {
    invalid: (path, reason) => fail('malformed', `${expected}/${path.replaceAll('.', '/')}: ${reason}`, { statusCode }),
    refs: envelope.refs,
  };
  const response = new SoapNode(element, '', scope);
  const result = response.child(`${operation}Result`);
  return { statusCode, headers: responseHeaders, envelope, response, result };
}

function decodeContent(wire: Buffer, encoding: string, maxBytes: number): Buffer {
  switch (encoding) {
    case '':
    case 'identity':
      return wire;
    case 'xpress':
      return decodeXpressBody(wire, maxBytes);
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(wire, { maxOutputLength: maxBytes });
    case 'deflate':
      return inflateSync(wire, { maxOutputLength: maxBytes });
    case 'br':
      return brotliDecompressSync(wire, { maxOutputLength: maxBytes });
    default:
      throw new Error(`unsupported Content-Encoding ${encoding}`);
  }
}

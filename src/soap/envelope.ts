// Reading a SOAP 1.1 or 1.2 message: bytes -> text -> strict XML tree under limits -> Envelope,
// optional Header, Body, and the Body's first element (the operation, or a Fault). Prefixes are
// never looked at, only namespaces: WSUS writes `s:` on one service and `soap:` on the others.
// Both sides use it, so problems are reported as SoapMessageError and each side decides what
// that means (a client fault on the server, a transport error on the client).

import { TextDecoder } from 'node:util';
import { attribute, parseXml, XmlError, type XmlElement } from '../xml/index.ts';
import { SOAP11_ENVELOPE_NS, SOAP12_ENVELOPE_NS, type SoapVersion } from './constants.ts';
import { SoapFault, type SoapFaultCode } from './fault.ts';
import { xmlLimitsOf, type SoapLimits } from './limits.ts';

export type SoapMessageProblem =
  | 'too-large' // over maxBodyBytes
  | 'encoding' // not decodable text
  | 'empty' // no bytes at all
  | 'not-xml' // not well-formed
  | 'dtd' // DOCTYPE / entity declarations
  | 'limit' // depth, element count, text length
  | 'not-soap' // root is not a SOAP Envelope
  | 'version' // an Envelope in some other namespace
  | 'no-body' // Envelope without Body
  | 'empty-body'; // Body without an element

export class SoapMessageError extends Error {
  override readonly name = 'SoapMessageError';
  readonly problem: SoapMessageProblem;

  constructor(problem: SoapMessageProblem, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.problem = problem;
  }
}

export interface SoapEnvelope {
  readonly version: SoapVersion;
  /** The envelope namespace, the one `Header`, `Body` and `Fault` are in. */
  readonly namespace: string;
  readonly envelope: XmlElement;
  readonly header: XmlElement | undefined;
  readonly body: XmlElement;
  /** The Body's first element: the operation of a request, the `OpResponse` or `Fault` of a response. */
  readonly content: XmlElement;
  /** Other top-level Body elements with an `id` (SOAP-encoded multi-references). */
  readonly refs: ReadonlyMap<string, XmlElement> | undefined;
}

function decoderFor(bytes: Uint8Array): { decoder: TextDecoder; skip: number } {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { decoder: new TextDecoder('utf-16le', { fatal: true }), skip: 2 };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { decoder: new TextDecoder('utf-16be', { fatal: true }), skip: 2 };
  // UTF-8 is what every WSUS peer sends; the decoder drops a UTF-8 BOM itself.
  return { decoder: new TextDecoder('utf-8', { fatal: true }), skip: 0 };
}

export function decodeSoapText(bytes: Uint8Array): string {
  const { decoder, skip } = decoderFor(bytes);
  try {
    return decoder.decode(skip === 0 ? bytes : bytes.subarray(skip));
  } catch (error) {
    throw new SoapMessageError('encoding', 'the message is not valid UTF-8 (or UTF-16 with a byte order mark)', error);
  }
}

const XML_PROBLEMS: Readonly<Record<XmlError['code'], SoapMessageProblem>> = {
  syntax: 'not-xml',
  namespace: 'not-xml',
  entity: 'not-xml',
  dtd: 'dtd',
  limit: 'limit',
};

/** Parses and checks the envelope. Throws SoapMessageError. */
export function readSoapEnvelope(input: string | Uint8Array, limits: SoapLimits): SoapEnvelope {
  if (input.length > limits.maxBodyBytes) {
    throw new SoapMessageError('too-large', `the message exceeds the limit of ${limits.maxBodyBytes} bytes`);
  }
  const text = typeof input === 'string' ? input : decodeSoapText(input);
  if (text.trim() === '') throw new SoapMessageError('empty', 'the message is empty: a SOAP Envelope is required');
  let root: XmlElement;
  try {
    root = parseXml(text, { limits: xmlLimitsOf(limits) }).root;
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
    const what = error.code === 'limit' ? 'the message exceeds a limit' : 'the message is not acceptable XML';
    throw new SoapMessageError(XML_PROBLEMS[error.code], `${what}: ${error.message}`, error);
  }

  if (root.local !== 'Envelope') {
    throw new SoapMessageError('not-soap', `the root element is <${root.name}>, not a SOAP Envelope`);
  }
  let version: SoapVersion;
  if (root.uri === SOAP11_ENVELOPE_NS) version = '1.1';
  else if (root.uri === SOAP12_ENVELOPE_NS) version = '1.2';
  else {
    throw new SoapMessageError(
      'version',
      `the Envelope is in namespace "${root.uri}", neither SOAP 1.1 (${SOAP11_ENVELOPE_NS}) nor SOAP 1.2 (${SOAP12_ENVELOPE_NS})`,
    );
  }

  let header: XmlElement | undefined;
  let body: XmlElement | undefined;
  for (const child of root.children) {
    if (child.type !== 'element') continue;
    if (child.uri === root.uri && child.local === 'Header' && header === undefined && body === undefined) {
      header = child;
      continue;
    }
    if (child.uri === root.uri && child.local === 'Body') body = child;
    // SOAP 1.1 allows elements after Body; anything else before it means there is no Body.
    break;
  }
  if (body === undefined) throw new SoapMessageError('no-body', 'the Envelope has no Body');

  let content: XmlElement | undefined;
  let refs: Map<string, XmlElement> | undefined;
  for (const child of body.children) {
    if (child.type !== 'element') continue;
    if (content === undefined) {
      content = child;
      continue;
    }
    const id = attribute(child, 'id');
    if (id !== undefined) (refs ??= new Map()).set(id, child);
  }
  if (content === undefined) throw new SoapMessageError('empty-body', 'the Body is empty: it must hold the operation element');

  return { version, namespace: root.uri, envelope: root, header, body, content, refs };
}

function firstChild(element: XmlElement, local: string, uri?: string): XmlElement | undefined {
  for (const c of element.children) {
    if (c.type === 'element' && c.local === local && (uri === undefined || c.uri === uri)) return c;
  }
  return undefined;
}

function textOf(element: XmlElement | undefined): string | undefined {
  if (element === undefined) return undefined;
  let text = '';
  for (const c of element.children) if (c.type === 'text') text += c.value;
  return text;
}

function faultCodeOf(qname: string): SoapFaultCode {
  const local = qname.slice(qname.indexOf(':') + 1).trim();
  if (local === 'Client' || local.startsWith('Client.') || local === 'Sender') return 'Client';
  if (local === 'VersionMismatch') return 'VersionMismatch';
  if (local === 'MustUnderstand') return 'MustUnderstand';
  return 'Server';
}

export function isSoapFaultElement(envelope: SoapEnvelope): boolean {
  return envelope.content.local === 'Fault' && envelope.content.uri === envelope.namespace;
}

/**
 * The fault a response carries, as a SoapFault (ErrorCode '' when the peer sent no WSUS
 * detail), or undefined when the Body holds something else.
 */
export function readSoapFault(envelope: SoapEnvelope): SoapFault | undefined {
  if (!isSoapFaultElement(envelope)) return undefined;
  const fault = envelope.content;
  const ns = envelope.namespace;
  let code: string | undefined;
  let faultString: string | undefined;
  let actor: string | undefined;
  let detail: XmlElement | undefined;
  if (envelope.version === '1.1') {
    // SOAP 1.1 fault children are unqualified.
    code = textOf(firstChild(fault, 'faultcode'));
    faultString = textOf(firstChild(fault, 'faultstring'));
    actor = textOf(firstChild(fault, 'faultactor'));
    detail = firstChild(fault, 'detail');
  } else {
    const codeElement = firstChild(fault, 'Code', ns);
    code = textOf(codeElement === undefined ? undefined : firstChild(codeElement, 'Value', ns));
    const reason = firstChild(fault, 'Reason', ns);
    faultString = textOf(reason === undefined ? undefined : firstChild(reason, 'Text', ns));
    actor = textOf(firstChild(fault, 'Node', ns) ?? firstChild(fault, 'Role', ns));
    detail = firstChild(fault, 'Detail', ns);
  }
  const fromDetail = (name: string): string | undefined =>
    detail === undefined ? undefined : textOf(firstChild(detail, name));
  const options = {
    faultCode: faultCodeOf(code ?? ''),
    faultString: faultString ?? '',
    ...(actor !== undefined && actor !== '' ? { actor } : {}),
    ...(fromDetail('ID') !== undefined ? { id: fromDetail('ID')!.trim() } : {}),
    ...(fromDetail('Method') !== undefined ? { method: fromDetail('Method')! } : {}),
  };
  return new SoapFault(fromDetail('ErrorCode')?.trim() ?? '', fromDetail('Message') ?? '', options);
}

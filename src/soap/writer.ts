// Writing envelopes byte for byte in the two shapes a real WSUS (Windows Server 2025) sends:
//
//   asmx  (ServerSync, DssAuth, SimpleAuth, Reporting):
//     <?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap=… xmlns:xsi=… xmlns:xsd=…>
//     <soap:Body><OpResponse xmlns="ns">…</OpResponse></soap:Body></soap:Envelope>
//   wcf   (ClientWebService):
//     <s:Envelope xmlns:s=…><s:Body xmlns:xsi=… xmlns:xsd=…><OpResponse xmlns="ns">…</s:Envelope>
//
// Faults follow the captured ASMX fault exactly (faultcode, faultstring `Fault occurred`,
// faultactor, unqualified detail with ErrorCode, Message, ID, Method). No fault of the WCF
// service was captured: its shape here is the ASMX content in that service's envelope, with
// the `xml:lang` WCF puts on faultstring (inferred, not observed).

import { escapeText } from '../xml/index.ts';
import type { SoapBody } from './builder.ts';
import { envelopeNamespace, XSD_NS, XSI_NS, type SoapVersion } from './constants.ts';
import type { SoapFault, SoapFaultCode } from './fault.ts';

export type EnvelopeStyle = 'asmx' | 'wcf';

export interface EnvelopeShape {
  readonly style: EnvelopeStyle;
  readonly version: SoapVersion;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';
const SCHEMA_DECLARATIONS = ` xmlns:xsi="${XSI_NS}" xmlns:xsd="${XSD_NS}"`;

function prefixOf(style: EnvelopeStyle): string {
  return style === 'wcf' ? 's' : 'soap';
}

function open(shape: EnvelopeShape, schemaDeclarations: boolean): string {
  const p = prefixOf(shape.style);
  const ns = envelopeNamespace(shape.version);
  if (shape.style === 'wcf') {
    return `<${p}:Envelope xmlns:${p}="${ns}"><${p}:Body${schemaDeclarations ? SCHEMA_DECLARATIONS : ''}>`;
  }
  return `${XML_DECLARATION}<${p}:Envelope xmlns:${p}="${ns}"${SCHEMA_DECLARATIONS}><${p}:Body>`;
}

function close(shape: EnvelopeShape): string {
  const p = prefixOf(shape.style);
  return `</${p}:Body></${p}:Envelope>`;
}

/** `<OpResponse xmlns="ns">inner</OpResponse>` in an envelope; an empty inner closes it empty. */
export function writeSoapResponse(
  shape: EnvelopeShape,
  namespace: string,
  operation: string,
  inner: SoapBody | string | undefined,
): string {
  const xml = inner === undefined ? '' : typeof inner === 'string' ? inner : inner.xml;
  const start = `<${operation}Response xmlns="${namespace}"`;
  const element =
    xml === ''
      ? `${start}${shape.style === 'wcf' ? '/>' : ' />'}`
      : `${start}>${xml}</${operation}Response>`;
  return open(shape, true) + element + close(shape);
}

export interface FaultWireFields {
  /** `detail/ID`: a fresh GUID per fault, which the server also logs. */
  readonly id: string;
  /** `faultactor`, the service URL; omitted when undefined. */
  readonly actor?: string | undefined;
  /** `detail/Method`, the quoted SOAPAction. */
  readonly method: string;
}

const SOAP12_CODES: Readonly<Record<SoapFaultCode, string>> = {
  Client: 'Sender',
  Server: 'Receiver',
  VersionMismatch: 'VersionMismatch',
  MustUnderstand: 'MustUnderstand',
};

function detailContent(fault: SoapFault, fields: FaultWireFields): string {
  // Full end tags even when empty (`<Message></Message>`), as the captured faults have them.
  return (
    `<ErrorCode>${escapeText(fault.errorCode)}</ErrorCode>` +
    `<Message>${escapeText(fault.message)}</Message>` +
    `<ID>${escapeText(fields.id)}</ID>` +
    `<Method>${escapeText(fields.method)}</Method>`
  );
}

export function writeSoapFault(shape: EnvelopeShape, fault: SoapFault, fields: FaultWireFields): string {
  const p = prefixOf(shape.style);
  let out = open(shape, false) + `<${p}:Fault>`;
  if (shape.version === '1.1') {
    const lang = shape.style === 'wcf' ? ' xml:lang="en-US"' : '';
    out += `<faultcode>${p}:${fault.faultCode}</faultcode>`;
    out += `<faultstring${lang}>${escapeText(fault.faultString)}</faultstring>`;
    if (fields.actor !== undefined) out += `<faultactor>${escapeText(fields.actor)}</faultactor>`;
    out += `<detail>${detailContent(fault, fields)}</detail>`;
  } else {
    out += `<${p}:Code><${p}:Value>${p}:${SOAP12_CODES[fault.faultCode]}</${p}:Value></${p}:Code>`;
    out += `<${p}:Reason><${p}:Text xml:lang="en">${escapeText(fault.faultString)}</${p}:Text></${p}:Reason>`;
    if (fields.actor !== undefined) out += `<${p}:Node>${escapeText(fields.actor)}</${p}:Node>`;
    out += `<${p}:Detail>${detailContent(fault, fields)}</${p}:Detail>`;
  }
  return `${out}</${p}:Fault>${close(shape)}`;
}

/**
 * A request as a Windows downstream server writes one: declaration, `soap:` prefix, `xsi` and
 * `xsd` declared (so bodies may use `xsi:nil`), the operation element default-namespaced.
 */
export function writeSoapRequest(version: SoapVersion, namespace: string, operation: string, inner: SoapBody | string): string {
  const xml = typeof inner === 'string' ? inner : inner.xml;
  const start = `<${operation} xmlns="${namespace}"`;
  const element = xml === '' ? `${start} />` : `${start}>${xml}</${operation}>`;
  return open({ style: 'asmx', version }, true) + element + close({ style: 'asmx', version });
}

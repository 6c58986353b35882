// The SOAP transport of the WSUS protocols: envelopes in and out, faults, limits, dispatch on
// fastify, and a client. It knows nothing of what the operations mean.

export {
  SOAP11_ENVELOPE_NS,
  SOAP12_ENVELOPE_NS,
  SOAP11_ENCODING_NS,
  SOAP12_ENCODING_NS,
  XSI_NS,
  XSD_NS,
  SOAP11_CONTENT_TYPE,
  SOAP12_CONTENT_TYPE,
  type SoapVersion,
} from './constants.ts';
export {
  SoapFault,
  SOAP_ERROR_CODES,
  WSUS_FAULT_STRING,
  invalidParameter,
  isSoapErrorCode,
  type SoapErrorCode,
  type SoapFaultCode,
  type SoapFaultOptions,
} from './fault.ts';
export { DEFAULT_REQUEST_LIMITS, DEFAULT_RESPONSE_LIMITS, resolveSoapLimits, type SoapLimits } from './limits.ts';
export {
  formatDate,
  formatDateTime,
  parseBase64,
  parseBoolean,
  parseDateTime,
  parseGuid,
  parseInt32,
  parseInt64,
} from './values.ts';
export { SoapNode, type InvalidValueError, type SoapNodeScope } from './node.ts';
export {
  readSoapEnvelope,
  readSoapFault,
  decodeSoapText,
  SoapMessageError,
  type SoapEnvelope,
  type SoapMessageProblem,
} from './envelope.ts';
export {
  SoapXmlBuilder,
  formatSoapValue,
  type SoapBody,
  type SoapValue,
  type SoapAttributes,
  type EmptyElementStyle,
} from './builder.ts';
export {
  writeSoapResponse,
  writeSoapFault,
  writeSoapRequest,
  type EnvelopeStyle,
  type EnvelopeShape,
  type FaultWireFields,
} from './writer.ts';
export { acceptsXpress, soapActionOf, contentTypeParameter, mediaTypeOf } from './headers.ts';
export {
  defineSoapService,
  registerSoapService,
  SoapOperation,
  type SoapHandler,
  type SoapRequestContext,
  type SoapService,
  type SoapServiceDefinition,
  type RegisterSoapOptions,
  type DiscardLimits,
  DEFAULT_DISCARD_LIMITS,
  sharedSoapBody,
} from './service.ts';
export {
  soapCall,
  SoapClientError,
  DEFAULT_SOAP_TIMEOUT_MS,
  type SoapCallOptions,
  type SoapCallResult,
  type SoapClientProblem,
} from './client.ts';

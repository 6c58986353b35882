// The project's XML toolkit: strict reader, query helpers, escaping and writers.

export * from './types.ts';
export { XmlError, lineAndColumn, type XmlErrorCode } from './errors.ts';
export { DEFAULT_XML_LIMITS, resolveLimits, type XmlLimits } from './limits.ts';
export { parseXml, parseXmlFragment, type XmlParseOptions } from './reader.ts';
export {
  collectXmlInput,
  collectXmlInputAsync,
  parseXmlChunks,
  parseXmlChunksAsync,
  type XmlChunk,
} from './input.ts';
export { attribute, childElements, findChild, findChildren, isElement, textContent } from './query.ts';
export { escapeAttribute, escapeText } from './escape.ts';
export {
  XmlWriter,
  formatAttributes,
  serializeElement,
  serializeNode,
  type XmlAttributeValue,
  type XmlAttributes,
  type EmptyElementStyle,
} from './writer.ts';

// Limits that bound the reader's time and memory on hostile or broken input. The defaults admit
// the largest real update documents (a CBS core manifest of 47 MB, WSUS-PROTOCOLS fixtures
// catalog-stats) and a SOAP text node carrying such a document; callers facing the network
// should pass tighter ones.

export interface XmlLimits {
  /** Longest accepted input, in UTF-16 code units. */
  readonly maxInputChars: number;
  /** Deepest element nesting (the root is depth 1). */
  readonly maxDepth: number;
  /** Most elements in one input. */
  readonly maxElements: number;
  /** Most attributes (namespace declarations included) on one element. */
  readonly maxAttributes: number;
  /** Longest single text node (after merging adjacent text and CDATA) or attribute value. */
  readonly maxTextLength: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = Object.freeze({
  maxInputChars: 128 * 1024 * 1024,
  maxDepth: 256,
  maxElements: 1_000_000,
  maxAttributes: 256,
  maxTextLength: 64 * 1024 * 1024,
});

export function resolveLimits(overrides: Partial<XmlLimits> | undefined): XmlLimits {
  if (overrides === undefined) return DEFAULT_XML_LIMITS;
  const limits = { ...DEFAULT_XML_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`XML limit ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}

// Bounds on what one SOAP message may cost to read. Requests come from anyone who can reach the
// port, so their limits are tight; responses come from an upstream we chose, and a full catalog's
// GetRevisionIdList or a GetUpdateData batch is large, so the client's limits are generous.

import type { XmlLimits } from '../xml/index.ts';

export interface SoapLimits {
  /** Largest body accepted, in bytes (after XPRESS decoding on the client). */
  readonly maxBodyBytes: number;
  /** Deepest element nesting, the Envelope being depth 1. */
  readonly maxDepth: number;
  readonly maxElements: number;
  readonly maxAttributes: number;
  /** Longest text node or attribute value, in characters. */
  readonly maxTextLength: number;
}

/**
 * Requests: the largest a WSUS peer sends is a few hundred KB (SyncUpdates with thousands of
 * cached ids, RefreshCache, rollup batches). 8 MiB leaves room for big rollups while refusing a
 * 10 MB flood before it is parsed.
 */
export const DEFAULT_REQUEST_LIMITS: SoapLimits = Object.freeze({
  maxBodyBytes: 8 * 1024 * 1024,
  maxDepth: 64,
  maxElements: 400_000,
  maxAttributes: 32,
  maxTextLength: 4 * 1024 * 1024,
});

/**
 * Responses: 24,509 revision ids made a 3 MB GetRevisionIdList answer, so a whole Microsoft
 * Update catalog can reach tens of MB; one XmlUpdateBlob can hold a 47 MB CBS document.
 */
export const DEFAULT_RESPONSE_LIMITS: SoapLimits = Object.freeze({
  maxBodyBytes: 128 * 1024 * 1024,
  maxDepth: 128,
  maxElements: 8_000_000,
  maxAttributes: 64,
  maxTextLength: 64 * 1024 * 1024,
});

export function resolveSoapLimits(base: SoapLimits, overrides: Partial<SoapLimits> | undefined): SoapLimits {
  if (overrides === undefined) return base;
  const limits = { ...base, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`SOAP limit ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return Object.freeze(limits);
}

/** The reader's limits for a body of `maxBodyBytes`: UTF-8 never has more characters than bytes. */
export function xmlLimitsOf(limits: SoapLimits): XmlLimits {
  return {
    maxInputChars: limits.maxBodyBytes,
    maxDepth: limits.maxDepth,
    maxElements: limits.maxElements,
    maxAttributes: limits.maxAttributes,
    maxTextLength: limits.maxTextLength,
  };
}

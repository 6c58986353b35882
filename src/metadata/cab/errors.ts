/**
 * The one error type the cabinet codec throws for bad input, so callers (sync ingest, SOAP
 * handlers) can tell "this peer sent us garbage" apart from a bug in our own code.
 */
export class CabinetError extends Error {
  override name = 'CabinetError';
}

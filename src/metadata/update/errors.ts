// The error for input that is not a usable update document, whatever the reason (not XML, wrong
// root, bad identity, bad value). The message names the element or attribute to fix.

export class UpdateDocumentError extends Error {
  override readonly name = 'UpdateDocumentError';
}

/** Quotes a value for a message, cut short so a hostile value cannot flood a log. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

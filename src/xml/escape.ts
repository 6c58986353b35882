// Escaping as .NET's XmlWriter does it, which is what a real WSUS's output shows (` />` on empty
// elements is its signature): text escapes & < >, attributes also " and the whitespace characters
// that attribute-value normalization would otherwise turn into spaces. CR is written as a
// reference in text too, so a value survives a write-read round trip unchanged.

const TEXT_SPECIAL = /[&<>\r]/;
const TEXT_SPECIAL_ALL = /[&<>\r]/g;
const ATTRIBUTE_SPECIAL = /[&<>"\t\n\r]/;
const ATTRIBUTE_SPECIAL_ALL = /[&<>"\t\n\r]/g;

const REFERENCES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};

function reference(ch: string): string {
  return REFERENCES[ch]!;
}

export function escapeText(value: string): string {
  return TEXT_SPECIAL.test(value) ? value.replace(TEXT_SPECIAL_ALL, reference) : value;
}

/** For a value written between double quotes. */
export function escapeAttribute(value: string): string {
  return ATTRIBUTE_SPECIAL.test(value) ? value.replace(ATTRIBUTE_SPECIAL_ALL, reference) : value;
}

// How a real WSUS writes a piece of an update document into a client fragment (WSUS-PROTOCOLS
// §4.5, checked against the real fragments in fixtures wusp-reference/ and wsus-m0-cbs/):
// - elements of BaseApplicabilityRules become `b.<local>`, MsiApplicabilityRules `m.<local>`,
//   WindowsDriver `d.<local>`; every other element is written by its local name alone;
// - attributes are written by local name (`xsi:type` becomes `type`, its value untouched);
// - prefixed namespace declarations are dropped. A default declaration of a foreign namespace is
//   kept where it was written: the real CBS core keeps `<assembly xmlns="urn:schemas-microsoft-
//   com:asm.v3" …>`. Default declarations of msus namespaces are dropped like prefixed ones, so a
//   document written with a default namespace gives the same fragments as one written with prefixes;
// - whitespace-only text is dropped, as .NET readers drop it by default: real documents have
//   none, and an indented document then gives the same fragments as a compact one;
// - an empty element keeps the form it had (`<a />` or `<a></a>`), as .NET's writers copy it.

import { NAMESPACES } from '../../domain/wellknown.ts';
import { escapeAttribute, escapeText, type XmlElement, type XmlNamespaceDeclaration } from '../../xml/index.ts';

const RENAMED = new Map<string, string>([
  [NAMESPACES.bar, 'b.'],
  [NAMESPACES.mar, 'm.'],
  [NAMESPACES.drv, 'd.'],
]);

const MSUS = 'http://schemas.microsoft.com/msus/';

export function fragmentName(element: XmlElement): string {
  const prefix = element.uri === '' ? undefined : RENAMED.get(element.uri);
  return prefix === undefined ? element.local : prefix + element.local;
}

function keptDefaultNamespace(element: XmlElement): XmlNamespaceDeclaration | undefined {
  for (const d of element.namespaces) {
    if (d.prefix === '' && d.uri !== '' && !d.uri.startsWith(MSUS)) return d;
  }
  return undefined;
}

/** ` a="v"…` for the element's attributes, leaving out those whose local name is in `omit`. */
export function fragmentAttributes(element: XmlElement, omit?: ReadonlySet<string>): string {
  const attrs = element.attributes;
  const keep = element.namespaces.length === 0 ? undefined : keptDefaultNamespace(element);
  let out = '';
  for (let i = 0; i < attrs.length; i++) {
    if (keep !== undefined && keep.position === i) out += ` xmlns="${escapeAttribute(keep.uri)}"`;
    const a = attrs[i]!;
    if (omit !== undefined && omit.has(a.local)) continue;
    out += ` ${a.local}="${escapeAttribute(a.value)}"`;
  }
  if (keep !== undefined && keep.position >= attrs.length) out += ` xmlns="${escapeAttribute(keep.uri)}"`;
  return out;
}

function isWhitespace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** The element's children as fragment text. */
export function fragmentContent(element: XmlElement): string {
  let out = '';
  for (const c of element.children) {
    if (c.type === 'element') out += fragmentElement(c);
    else if (!isWhitespace(c.value)) out += escapeText(c.value);
  }
  return out;
}

export function fragmentElement(element: XmlElement): string {
  const name = fragmentName(element);
  const start = `<${name}${fragmentAttributes(element)}`;
  const content = fragmentContent(element);
  if (content === '') return element.selfClosing ? `${start} />` : `${start}></${name}>`;
  return `${start}>${content}</${name}>`;
}

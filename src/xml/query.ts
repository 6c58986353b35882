// Small lookups consumers need on the tree. Elements match on namespace URI + local name, never on
// a prefix: prefixes vary between writers and are redeclared freely.

import type { XmlElement, XmlNode } from './types.ts';

export function isElement(node: XmlNode): node is XmlElement {
  return node.type === 'element';
}

export function childElements(element: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of element.children) if (child.type === 'element') out.push(child);
  return out;
}

/** First child element with this local name, in namespace `uri` when one is given. */
export function findChild(element: XmlElement, local: string, uri?: string): XmlElement | undefined {
  for (const child of element.children) {
    if (child.type === 'element' && child.local === local && (uri === undefined || child.uri === uri)) {
      return child;
    }
  }
  return undefined;
}

export function findChildren(element: XmlElement, local: string, uri?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of element.children) {
    if (child.type === 'element' && child.local === local && (uri === undefined || child.uri === uri)) {
      out.push(child);
    }
  }
  return out;
}

/**
 * Value of the attribute with this local name. `uri` defaults to '' (unprefixed attributes, the
 * usual case); pass a namespace for qualified ones such as `xsi:type`.
 */
export function attribute(element: XmlElement, local: string, uri = ''): string | undefined {
  for (const a of element.attributes) {
    if (a.local === local && a.uri === uri) return a.value;
  }
  return undefined;
}

/** Concatenated text of the node and all its descendants. */
export function textContent(node: XmlNode): string {
  if (node.type === 'text') return node.value;
  let out = '';
  for (const child of node.children) out += child.type === 'text' ? child.value : textContent(child);
  return out;
}

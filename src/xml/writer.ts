// Building XML text: a tiny streaming writer for messages we compose (SOAP answers) and a
// serializer for trees we parsed. Both write empty elements as `<a />`, with the space, as a real
// WSUS does.

import { escapeAttribute, escapeText } from './escape.ts';
import type { XmlElement, XmlNode } from './types.ts';

export type XmlAttributeValue = string | number | boolean | bigint | null | undefined;

/** Attributes in writing order; null and undefined values are left out. */
export type XmlAttributes =
  | Readonly<Record<string, XmlAttributeValue>>
  | Iterable<readonly [string, XmlAttributeValue]>;

function isIterable(value: XmlAttributes): value is Iterable<readonly [string, XmlAttributeValue]> {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

export function formatAttributes(attributes: XmlAttributes | undefined): string {
  if (attributes === undefined) return '';
  let out = '';
  const entries = isIterable(attributes) ? attributes : Object.entries(attributes);
  for (const [name, value] of entries) {
    if (value === null || value === undefined) continue;
    out += ` ${name}="${escapeAttribute(String(value))}"`;
  }
  return out;
}

/**
 * How an empty element is closed: ` />` is what .NET's XmlWriter and ASMX services write
 * (`<Parameter />`), `/>` what the WCF-hosted client service writes (`<Parameter/>`).
 */
export type EmptyElementStyle = ' />' | '/>';

export class XmlWriter {
  #out = '';
  readonly #open: string[] = [];
  /** The last start tag still lacks its '>' so that an element left empty can become `<a />`. */
  #pendingStart = false;
  readonly #empty: EmptyElementStyle;

  constructor(options: { emptyElement?: EmptyElementStyle } = {}) {
    this.#empty = options.emptyElement ?? ' />';
  }

  declaration(): this {
    if (this.#out !== '') throw new Error('the XML declaration must come first');
    this.#out = '<?xml version="1.0" encoding="utf-8"?>';
    return this;
  }

  start(name: string, attributes?: XmlAttributes): this {
    this.#closeStart();
    this.#out += `<${name}${formatAttributes(attributes)}`;
    this.#open.push(name);
    this.#pendingStart = true;
    return this;
  }

  /** Escaped text; an empty string writes nothing and keeps the element empty. */
  text(value: string): this {
    if (value === '') return this;
    if (this.#open.length === 0) throw new Error('text must be inside an element');
    this.#closeStart();
    this.#out += escapeText(value);
    return this;
  }

  /** Pre-serialized markup, written as is (the caller vouches for it). */
  raw(xml: string): this {
    if (xml === '') return this;
    this.#closeStart();
    this.#out += xml;
    return this;
  }

  end(): this {
    const name = this.#open.pop();
    if (name === undefined) throw new Error('end() without an open element');
    if (this.#pendingStart) {
      this.#out += this.#empty;
      this.#pendingStart = false;
    } else {
      this.#out += `</${name}>`;
    }
    return this;
  }

  /** Closes the open element with an end tag even when it is empty (`<a></a>`). */
  fullEnd(): this {
    this.#closeStart();
    return this.end();
  }

  /** `<name attrs>text</name>`, or `<name attrs />` when text is undefined or empty. */
  element(name: string, text?: string | number | boolean | bigint, attributes?: XmlAttributes): this {
    this.start(name, attributes);
    if (text !== undefined) this.text(String(text));
    return this.end();
  }

  toString(): string {
    if (this.#open.length > 0) throw new Error(`element <${this.#open.at(-1)}> is still open`);
    return this.#out;
  }

  #closeStart(): void {
    if (this.#pendingStart) {
      this.#out += '>';
      this.#pendingStart = false;
    }
  }
}

/**
 * Writes a parsed element back as XML: qualified names and namespace declarations as they were
 * written, attributes in their order, `<a />` or `<a></a>` as the input had it.
 */
export function serializeElement(element: XmlElement): string {
  return writeElement(element);
}

export function serializeNode(node: XmlNode): string {
  return node.type === 'text' ? escapeText(node.value) : writeElement(node);
}

function writeElement(element: XmlElement): string {
  let out = `<${element.name}`;
  const decls = element.namespaces;
  let d = 0;
  for (let i = 0; i <= element.attributes.length; i++) {
    while (d < decls.length && decls[d]!.position === i) {
      const decl = decls[d++]!;
      out += decl.prefix === '' ? ' xmlns' : ` xmlns:${decl.prefix}`;
      out += `="${escapeAttribute(decl.uri)}"`;
    }
    const a = element.attributes[i];
    if (a !== undefined) out += ` ${a.name}="${escapeAttribute(a.value)}"`;
  }
  if (element.children.length === 0) return out + (element.selfClosing ? ' />' : `></${element.name}>`);
  out += '>';
  for (const child of element.children) {
    out += child.type === 'text' ? escapeText(child.value) : writeElement(child);
  }
  return `${out}</${element.name}>`;
}

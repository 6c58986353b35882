// Typed reading of operation parameters. A SoapNode wraps one element and knows its path from the
// operation element (`parameters.InstalledNonLeafUpdateIDs`), so a missing or malformed value is
// reported under the name a real WSUS uses in its InvalidParameters faults.
//
// Matching is on local names only: WSUS peers qualify parameters with the service namespace,
// SOAP-encoded senders leave them unqualified, and prefixes vary. `xsi:nil="true"` counts as
// absent. Arrays are the element's children whatever their names, which reads literal sequences
// (`<updateIds><UpdateIdentity>…`) and SOAP-encoded arrays (`soapenc:arrayType`, `<item>`) alike;
// SOAP-encoded `href="#id"` references are resolved against the Body's top-level elements.

import { attribute, type XmlElement } from '../xml/index.ts';
import { XSI_NS } from './constants.ts';
import { invalidParameter } from './fault.ts';
import { parseBase64, parseBoolean, parseDateTime, parseGuid, parseInt32, parseInt64 } from './values.ts';

/** Builds the error for a bad value at `path`: a SoapFault on the server, a response error on the client. */
export type InvalidValueError = (path: string, reason: string) => Error;

export interface SoapNodeScope {
  readonly invalid: InvalidValueError;
  /** SOAP-encoded multi-reference targets by `id`, or undefined when the Body has none. */
  readonly refs?: ReadonlyMap<string, XmlElement> | undefined;
}

export const SERVER_SCOPE: SoapNodeScope = Object.freeze({ invalid: invalidParameter });

function isNil(element: XmlElement): boolean {
  const nil = attribute(element, 'nil', XSI_NS);
  return nil !== undefined && (nil.trim() === 'true' || nil.trim() === '1');
}

export class SoapNode {
  readonly element: XmlElement;
  /** Dotted path from the operation element; '' for the operation element itself. */
  readonly path: string;
  readonly #scope: SoapNodeScope;

  constructor(element: XmlElement, path: string, scope: SoapNodeScope = SERVER_SCOPE) {
    this.element = element;
    this.path = path;
    this.#scope = scope;
  }

  get name(): string {
    return this.element.local;
  }

  get namespace(): string {
    return this.element.uri;
  }

  get isNil(): boolean {
    return isNil(this.element);
  }

  /** The error to throw for this node: `InvalidParameters` with this node's path on the server. */
  invalid(reason = 'invalid value'): Error {
    return this.#scope.invalid(this.path === '' ? this.element.local : this.path, reason);
  }

  // ---- structure -------------------------------------------------------------------------

  /** The child element with this local name, or undefined when absent or nil. */
  child(name: string): SoapNode | undefined {
    for (const c of this.element.children) {
      if (c.type === 'element' && c.local === name) {
        const target = this.#resolve(c, this.#childPath(name));
        return isNil(target) ? undefined : new SoapNode(target, this.#childPath(name), this.#scope);
      }
    }
    return undefined;
  }

  /** Like `child`, but a missing or nil child is an invalid parameter. */
  need(name: string): SoapNode {
    const node = this.child(name);
    if (node === undefined) throw this.#scope.invalid(this.#childPath(name), 'missing');
    return node;
  }

  has(name: string): boolean {
    return this.child(name) !== undefined;
  }

  /**
   * The elements of the array this node is: its child elements, references resolved. Items keep
   * the array's path, which is what WSUS names when one of them is wrong.
   */
  items(): SoapNode[] {
    const out: SoapNode[] = [];
    for (const c of this.element.children) {
      if (c.type === 'element') out.push(new SoapNode(this.#resolve(c, this.path), this.path, this.#scope));
    }
    return out;
  }

  /** Items of the array child `name`; absent or nil is an empty array (the WUA omits empty arrays). */
  list(name: string): SoapNode[] {
    return this.child(name)?.items() ?? [];
  }

  /** Items of the array child `name`, which must be present (it may be empty). */
  needList(name: string): SoapNode[] {
    return this.need(name).items();
  }

  attr(name: string): string | undefined {
    return attribute(this.element, name);
  }

  needAttr(name: string): string {
    const value = attribute(this.element, name);
    if (value === undefined) throw this.#scope.invalid(this.#childPath(name), 'missing attribute');
    return value;
  }

  // ---- this node's value -----------------------------------------------------------------

  /** Text of this element; '' when empty. An element with child elements has no simple value. */
  asString(): string {
    if (isNil(this.element)) throw this.invalid('nil where a value is required');
    let text = '';
    for (const c of this.element.children) {
      if (c.type === 'element') throw this.invalid(`element <${c.local}> where a simple value is expected`);
      text += c.value;
    }
    return text;
  }

  asInt(): number {
    return this.#parsed(parseInt32, 'an int');
  }

  asLong(): bigint {
    return this.#parsed(parseInt64, 'a long');
  }

  asBool(): boolean {
    return this.#parsed(parseBoolean, 'a boolean');
  }

  asDateTime(): Date {
    return this.#parsed(parseDateTime, 'an xs:dateTime');
  }

  /** Lower-case canonical GUID. */
  asGuid(): string {
    return this.#parsed(parseGuid, 'a GUID');
  }

  asBase64(): Buffer {
    return this.#parsed(parseBase64, 'base64');
  }

  // ---- children's values (required, then optional) ---------------------------------------

  string(name: string): string {
    return this.need(name).asString();
  }
  int(name: string): number {
    return this.need(name).asInt();
  }
  long(name: string): bigint {
    return this.need(name).asLong();
  }
  bool(name: string): boolean {
    return this.need(name).asBool();
  }
  dateTime(name: string): Date {
    return this.need(name).asDateTime();
  }
  guid(name: string): string {
    return this.need(name).asGuid();
  }
  base64(name: string): Buffer {
    return this.need(name).asBase64();
  }

  optString(name: string): string | undefined {
    return this.child(name)?.asString();
  }
  optInt(name: string): number | undefined {
    return this.child(name)?.asInt();
  }
  optLong(name: string): bigint | undefined {
    return this.child(name)?.asLong();
  }
  optBool(name: string): boolean | undefined {
    return this.child(name)?.asBool();
  }
  optDateTime(name: string): Date | undefined {
    return this.child(name)?.asDateTime();
  }
  optGuid(name: string): string | undefined {
    return this.child(name)?.asGuid();
  }
  optBase64(name: string): Buffer | undefined {
    return this.child(name)?.asBase64();
  }

  // ---- arrays of simple values (absent = empty) ------------------------------------------

  strings(name: string): string[] {
    return this.list(name).map((item) => item.asString());
  }
  ints(name: string): number[] {
    return this.list(name).map((item) => item.asInt());
  }
  guids(name: string): string[] {
    return this.list(name).map((item) => item.asGuid());
  }
  base64s(name: string): Buffer[] {
    return this.list(name).map((item) => item.asBase64());
  }

  #childPath(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  #parsed<T>(parse: (text: string) => T | undefined, what: string): T {
    const text = this.asString();
    const value = parse(text);
    if (value === undefined) {
      const shown = text.length > 64 ? `${text.slice(0, 64)}…` : text;
      throw this.invalid(`${JSON.stringify(shown)} is not ${what}`);
    }
    return value;
  }

  /** Follows a SOAP-encoded `href="#id"` to its multi-reference element. */
  #resolve(element: XmlElement, path: string): XmlElement {
    const href = attribute(element, 'href');
    if (href === undefined || !href.startsWith('#')) return element;
    const target = this.#scope.refs?.get(href.slice(1));
    if (target === undefined) throw this.#scope.invalid(path, `reference ${href} has no target in the Body`);
    if (attribute(target, 'href') !== undefined) throw this.#scope.invalid(path, `reference ${href} points to another reference`);
    return target;
  }
}

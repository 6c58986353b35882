// Building operation results as text. Handlers append elements in schema order (the order is part
// of the contract: .NET peers deserialize sequences strictly) and the envelope writer wraps the
// result. Appending to one string is the fastest way V8 has to build a large answer, such as a
// GetRevisionIdList of tens of thousands of identities.

import { escapeAttribute, escapeText } from '../xml/index.ts';
import { formatDateTime } from './values.ts';

/** Inner XML of an `<OpResponse>` element, ready to be written into an envelope. */
export interface SoapBody {
  readonly xml: string;
}

/**
 * How an empty element is closed: ` />` is what ASMX services write (`<Parameter />`), `/>` what
 * the WCF-hosted client service writes (`<Parameter/>`).
 */
export type EmptyElementStyle = ' />' | '/>';

/** Values written as element text or attribute values. null and undefined mean "leave it out". */
export type SoapValue = string | number | bigint | boolean | Date | Uint8Array | null | undefined;

export type SoapAttributes = Readonly<Record<string, SoapValue>>;

/** Lexical form as .NET writes it: `true`/`false`, UTC dateTime with `Z`, base64 for bytes. */
export function formatSoapValue(value: Exclude<SoapValue, null | undefined>): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} as an XML number`);
      return String(value);
    default:
      if (value instanceof Date) return formatDateTime(value);
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  }
}

export class SoapXmlBuilder implements SoapBody {
  #out = '';
  readonly #open: string[] = [];
  /** The last start tag lacks its '>' so that an element left empty can be closed as `<a />`. */
  #pending = false;
  readonly #empty: EmptyElementStyle;

  constructor(options: { emptyElement?: EmptyElementStyle } = {}) {
    this.#empty = options.emptyElement ?? ' />';
  }

  /** The XML written so far; every element must be closed. */
  get xml(): string {
    if (this.#open.length > 0) throw new Error(`element <${this.#open.at(-1)}> is still open`);
    return this.#out;
  }

  start(name: string, attributes?: SoapAttributes): this {
    this.#closeStart();
    this.#out += `<${name}`;
    if (attributes !== undefined) this.#attributes(attributes);
    this.#open.push(name);
    this.#pending = true;
    return this;
  }

  end(): this {
    const name = this.#open.pop();
    if (name === undefined) throw new Error('end() without an open element');
    if (this.#pending) {
      this.#out += this.#empty;
      this.#pending = false;
    } else {
      this.#out += `</${name}>`;
    }
    return this;
  }

  /**
   * `<name>value</name>`; `''` writes an empty element; undefined or null writes nothing, which
   * is how optional (minOccurs=0) members are left out.
   */
  element(name: string, value: SoapValue, attributes?: SoapAttributes): this {
    if (value === undefined || value === null) return this;
    this.start(name, attributes);
    const text = formatSoapValue(value);
    if (text !== '') {
      this.#closeStart();
      this.#out += escapeText(text);
    }
    return this.end();
  }

  empty(name: string, attributes?: SoapAttributes): this {
    return this.start(name, attributes).end();
  }

  /** `<name xsi:nil="true" />`; the envelope declares `xsi`. */
  nil(name: string): this {
    return this.empty(name, { 'xsi:nil': 'true' });
  }

  text(value: Exclude<SoapValue, null | undefined>): this {
    if (this.#open.length === 0) throw new Error('text must be inside an element');
    const text = formatSoapValue(value);
    if (text === '') return this;
    this.#closeStart();
    this.#out += escapeText(text);
    return this;
  }

  /** Pre-serialized markup, written as is: the caller vouches that it is well-formed. */
  raw(xml: string): this {
    if (xml === '') return this;
    this.#closeStart();
    this.#out += xml;
    return this;
  }

  /** A literal array of simple values: `<name><item>v</item>…</name>`, `<name />` when empty. */
  list(name: string, itemName: string, values: Iterable<Exclude<SoapValue, null | undefined>>): this;
  /** A literal array of structures, each written by `write`. */
  list<T>(name: string, items: Iterable<T>, write: (builder: this, item: T) => void): this;
  list<T>(
    name: string,
    second: string | Iterable<T>,
    third: Iterable<Exclude<SoapValue, null | undefined>> | ((builder: this, item: T) => void),
  ): this {
    this.start(name);
    if (typeof second === 'string') {
      for (const value of third as Iterable<Exclude<SoapValue, null | undefined>>) this.element(second, value);
    } else {
      const write = third as (builder: this, item: T) => void;
      for (const item of second) write(this, item);
    }
    return this.end();
  }

  #attributes(attributes: SoapAttributes): void {
    for (const [key, value] of Object.entries(attributes)) {
      if (value === undefined || value === null) continue;
      this.#out += ` ${key}="${escapeAttribute(formatSoapValue(value))}"`;
    }
  }

  #closeStart(): void {
    if (this.#pending) {
      this.#out += '>';
      this.#pending = false;
    }
  }
}

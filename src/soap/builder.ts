// Building operation results as text. Handlers append elements in schema order (the order is part
// of the contract: .NET peers deserialize sequences strictly) and the envelope writer wraps the
// result. Appending to one string is the fastest way V8 has to build a large answer, such as a
// GetRevisionIdList of tens of thousands of identities.

import { XmlWriter, type EmptyElementStyle } from '../xml/index.ts';
import { formatDateTime } from './values.ts';

/** Inner XML of an `<OpResponse>` element, ready to be written into an envelope. */
export interface SoapBody {
  readonly xml: string;
}

export type { EmptyElementStyle } from '../xml/index.ts';

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
  readonly #writer: XmlWriter;

  constructor(options: { emptyElement?: EmptyElementStyle } = {}) {
    this.#writer = new XmlWriter(options);
  }

  /** The XML written so far; every element must be closed. */
  get xml(): string {
    return this.#writer.toString();
  }

  start(name: string, attributes?: SoapAttributes): this {
    this.#writer.start(name, attributes && formatAttributes(attributes));
    return this;
  }

  end(): this {
    this.#writer.end();
    return this;
  }

  /**
   * `<name>value</name>`; `''` writes an empty element; undefined or null writes nothing, which
   * is how optional (minOccurs=0) members are left out.
   */
  element(name: string, value: SoapValue, attributes?: SoapAttributes): this {
    if (value === undefined || value === null) return this;
    return this.start(name, attributes).text(value).end();
  }

  empty(name: string, attributes?: SoapAttributes): this {
    return this.start(name, attributes).end();
  }

  /** `<name xsi:nil="true" />`; the envelope declares `xsi`. */
  nil(name: string): this {
    return this.empty(name, { 'xsi:nil': 'true' });
  }

  text(value: Exclude<SoapValue, null | undefined>): this {
    this.#writer.text(formatSoapValue(value));
    return this;
  }

  /** Pre-serialized markup, written as is: the caller vouches that it is well-formed. */
  raw(xml: string): this {
    this.#writer.raw(xml);
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
}

function formatAttributes(attributes: SoapAttributes): [string, string | undefined][] {
  return Object.entries(attributes).map(([key, value]) => [key, value === undefined || value === null ? undefined : formatSoapValue(value)]);
}

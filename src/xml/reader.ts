// A strict, namespace-aware XML reader for the documents WSUS exchanges: update metadata and SOAP
// bodies. One forward pass with indexOf/charCodeAt, no backtracking, every construct bounded by a
// limit, so time is linear in the input and no input can hang it or make it allocate beyond the
// limits. DTDs and entities other than the predefined five are refused outright: nothing is ever
// expanded, which rules out billion-laughs and external-entity attacks by construction.

import { XmlError, lineAndColumn, type XmlErrorCode } from './errors.ts';
import { resolveLimits, type XmlLimits } from './limits.ts';
import {
  XML_NAMESPACE,
  XMLNS_NAMESPACE,
  type XmlAttribute,
  type XmlDocument,
  type XmlElement,
  type XmlNamespaceDeclaration,
  type XmlNode,
} from './types.ts';

export interface XmlParseOptions {
  readonly limits?: Partial<XmlLimits>;
}

/** Parses one well-formed document. Throws `XmlError`. */
export function parseXml(input: string, options?: XmlParseOptions): XmlDocument {
  const roots = new Reader(input, resolveLimits(options?.limits), false).read();
  return { root: roots[0]! };
}

/**
 * Parses a sequence of top-level elements without a single root, as WSUS's Core and Extended
 * fragments are written (WSUS-PROTOCOLS §4.5). Everything else is as strict as `parseXml`.
 */
export function parseXmlFragment(input: string, options?: XmlParseOptions): readonly XmlElement[] {
  return new Reader(input, resolveLimits(options?.limits), true).read();
}

interface OpenElement {
  type: 'element';
  name: string;
  prefix: string;
  local: string;
  uri: string;
  attributes: readonly XmlAttribute[];
  namespaces: readonly XmlNamespaceDeclaration[];
  children: XmlNode[];
  selfClosing: boolean;
  start: number;
  end: number;
}

const NO_ATTRIBUTES: readonly XmlAttribute[] = Object.freeze([]);
const NO_NAMESPACES: readonly XmlNamespaceDeclaration[] = Object.freeze([]);
// Shared by every self-closing element: their children never change.
const NO_CHILDREN = Object.freeze([]) as unknown as XmlNode[];

// ASCII name characters: 1 = may start a name, 2 = may only continue one. Non-ASCII characters
// are accepted as name characters without checking the XML 1.0 ranges.
const NAME_TABLE = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_:]/.test(ch)) NAME_TABLE[c] = 1;
  else if (/[0-9.-]/.test(ch)) NAME_TABLE[c] = 2;
}

// charCodeAt past the end gives NaN, which is neither.
function isNameStart(c: number): boolean {
  return c < 128 ? NAME_TABLE[c] === 1 : !Number.isNaN(c);
}

function isNameChar(c: number): boolean {
  return c < 128 ? NAME_TABLE[c] !== 0 : !Number.isNaN(c);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** XML end-of-line handling: CR LF and lone CR become LF. */
function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

const FORBIDDEN_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

class Reader {
  private readonly s: string;
  private readonly len: number;
  private readonly limits: XmlLimits;
  private readonly fragment: boolean;
  private readonly stack: OpenElement[] = [];
  /** Length of `bindings` before each open element's declarations were pushed. */
  private readonly marks: number[] = [];
  /** In-scope namespace bindings as flat (prefix, uri) pairs, innermost last. */
  private readonly bindings: string[] = ['xml', XML_NAMESPACE];
  private readonly roots: OpenElement[] = [];
  private elementCount = 0;
  private declarationAt = 0;
  // Cached positions of the next '&', CR and ']]>' at or after the last text node: text nodes are
  // visited in order, so each search resumes where the last stopped and the total cost stays
  // linear however far apart the occurrences are.
  private nextAmp = -1;
  private nextCr = -1;
  private nextLf = -1;
  private nextTab = -1;
  private nextCdataEnd = -1;
  /** The first '<' after the last start tag, where the main loop resumes without searching. */
  private ltHint = -1;
  // Scratch space for the raw attributes of the start tag being read.
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  private readonly offsets: number[] = [];
  /** Offset of the ';' of the last entity reference decoded. */
  private entityEnd = 0;

  constructor(input: string, limits: XmlLimits, fragment: boolean) {
    this.s = input;
    this.len = input.length;
    this.limits = limits;
    this.fragment = fragment;
  }

  read(): OpenElement[] {
    const { s, len } = this;
    // Checked before the input is touched: an oversize string may be a rope that any scan flattens.
    if (len > this.limits.maxInputChars) {
      throw new XmlError(
        'limit',
        `input of ${len} characters exceeds the limit of ${this.limits.maxInputChars}`,
        undefined,
        this.limits.maxInputChars,
      );
    }
    // One native scan for characters XML 1.0 forbids anywhere (C0 controls other than tab, LF,
    // CR; U+FFFE, U+FFFF), so the per-construct code never has to look for them.
    const bad = FORBIDDEN_CHARACTER.exec(s);
    if (bad !== null) {
      const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      this.fail('syntax', `character U+${code} is not allowed in XML`, bad.index);
    }
    let pos = s.charCodeAt(0) === 0xfeff ? 1 : 0;
    this.declarationAt = pos;
    while (pos < len) {
      const lt = this.ltHint >= pos ? this.ltHint : this.find('<', pos);
      if (lt === len) {
        this.text(pos, len);
        pos = len;
        break;
      }
      if (lt > pos) this.text(pos, lt);
      const c = s.charCodeAt(lt + 1);
      if (c === 0x2f) pos = this.endTag(lt);
      else if (c === 0x21) pos = this.markup(lt);
      else if (c === 0x3f) pos = this.processingInstruction(lt);
      else pos = this.startTag(lt);
    }
    const open = this.stack[this.stack.length - 1];
    if (open !== undefined) this.fail('syntax', `element <${open.name}> is not closed`, open.start);
    if (this.roots.length === 0 && !this.fragment) this.fail('syntax', 'no root element', len);
    return this.roots;
  }

  private fail(code: XmlErrorCode, what: string, at: number): never {
    throw new XmlError(code, what, this.s, at);
  }

  private skipSpace(p: number): number {
    const { s, len } = this;
    while (p < len && isSpace(s.charCodeAt(p))) p++;
    return p;
  }

  /** End of the name starting at `p`; fails unless a name starts there. */
  private name(p: number, what: string): number {
    const { s, len } = this;
    if (!isNameStart(s.charCodeAt(p))) this.fail('syntax', `expected ${what}`, p);
    let i = p + 1;
    while (i < len && isNameChar(s.charCodeAt(i))) i++;
    return i;
  }

  private startTag(lt: number): number {
    const { s, len, limits, names, values, offsets } = this;
    const nameEnd = this.name(lt + 1, "an element name after '<'");
    const qname = s.slice(lt + 1, nameEnd);
    if (this.stack.length === 0 && this.roots.length > 0 && !this.fragment) {
      this.fail('syntax', `second root element <${qname}>: a document has exactly one`, lt);
    }
    // No '<' may occur inside a start tag, so the first one after it bounds every attribute value
    // and is where the main loop resumes.
    const nextLt = this.find('<', lt + 1);
    this.ltHint = nextLt;
    let count = 0;
    let selfClosing = false;
    let p = nameEnd;
    for (;;) {
      const spaceStart = p;
      while (p < len && isSpace(s.charCodeAt(p))) p++;
      if (p >= len) this.fail('syntax', `start tag <${qname}> is not terminated`, lt);
      const c = s.charCodeAt(p);
      if (c === 0x3e) {
        p++;
        break;
      }
      if (c === 0x2f) {
        if (s.charCodeAt(p + 1) !== 0x3e) this.fail('syntax', `expected '>' after '/' in <${qname}>`, p + 1);
        p += 2;
        selfClosing = true;
        break;
      }
      if (p === spaceStart) this.fail('syntax', `expected whitespace, '>' or '/>' in start tag <${qname}>`, p);
      const attrStart = p;
      const attrEnd = this.name(p, "an attribute name, '>' or '/>' in a start tag");
      p = attrEnd;
      while (isSpace(s.charCodeAt(p))) p++;
      if (s.charCodeAt(p) !== 0x3d) {
        this.fail('syntax', `expected '=' after attribute ${s.slice(attrStart, attrEnd)}`, p);
      }
      p++;
      while (isSpace(s.charCodeAt(p))) p++;
      const quote = s.charCodeAt(p);
      if (quote !== 0x22 && quote !== 0x27) {
        this.fail('syntax', `value of attribute ${s.slice(attrStart, attrEnd)} must be in quotes`, p);
      }
      const close = s.indexOf(quote === 0x22 ? '"' : "'", p + 1);
      if (close === -1) this.fail('syntax', `value of attribute ${s.slice(attrStart, attrEnd)} is not terminated`, p);
      if (nextLt < close) this.fail('syntax', "'<' is not allowed in an attribute value", nextLt);
      if (count >= limits.maxAttributes) {
        this.fail('limit', `element <${qname}> has more than ${limits.maxAttributes} attributes`, attrStart);
      }
      const value = this.attributeValue(p + 1, close);
      if (value.length > limits.maxTextLength) {
        this.fail(
          'limit',
          `value of attribute ${s.slice(attrStart, attrEnd)} (${value.length} characters) exceeds the limit of ${limits.maxTextLength}`,
          p,
        );
      }
      names[count] = s.slice(attrStart, attrEnd);
      values[count] = value;
      offsets[count] = attrStart;
      count++;
      p = close + 1;
    }

    if (this.stack.length >= limits.maxDepth) {
      this.fail('limit', `elements nest deeper than ${limits.maxDepth} levels`, lt);
    }
    if (++this.elementCount > limits.maxElements) {
      this.fail('limit', `input has more than ${limits.maxElements} elements`, lt);
    }

    const mark = this.bindings.length;
    let attributes = NO_ATTRIBUTES;
    let namespaces = NO_NAMESPACES;
    if (count > 0) {
      if (count > 1) this.checkDuplicateNames(count);
      let attrs: XmlAttribute[] | undefined;
      let decls: XmlNamespaceDeclaration[] | undefined;
      // Declarations first: a prefix may be used on the element or an attribute before the
      // attribute that declares it.
      let ordinary = 0;
      for (let i = 0; i < count; i++) {
        const n = names[i]!;
        if (n.charCodeAt(0) === 0x78 && n.startsWith('xmlns') && (n.length === 5 || n.charCodeAt(5) === 0x3a)) {
          decls ??= [];
          decls.push(this.bindPrefix(n.length === 5 ? '' : n.slice(6), values[i]!, ordinary, offsets[i]!));
        } else {
          ordinary++;
        }
      }
      for (let i = 0; i < count; i++) {
        const n = names[i]!;
        const colon = n.indexOf(':');
        if (colon === -1) {
          if (n === 'xmlns') continue;
          attrs ??= [];
          attrs.push({ name: n, prefix: '', local: n, uri: '', value: values[i]! });
        } else {
          if (decls !== undefined && n.startsWith('xmlns:')) continue;
          const prefix = this.prefixOf(n, colon, offsets[i]!);
          const uri = this.lookup(prefix);
          if (uri === undefined) {
            this.fail('namespace', `namespace prefix '${prefix}' of attribute ${n} is not declared`, offsets[i]!);
          }
          attrs ??= [];
          attrs.push({ name: n, prefix, local: n.slice(colon + 1), uri, value: values[i]! });
        }
      }
      if (attrs !== undefined) {
        if (attrs.length > 1) this.checkDuplicateExpandedNames(attrs, qname, lt);
        attributes = attrs;
      }
      if (decls !== undefined) namespaces = decls;
    }

    let prefix = '';
    let local = qname;
    let uri: string | undefined;
    const colon = qname.indexOf(':');
    if (colon === -1) {
      uri = this.lookup('') ?? '';
    } else {
      prefix = this.prefixOf(qname, colon, lt + 1);
      local = qname.slice(colon + 1);
      uri = this.lookup(prefix);
      if (uri === undefined) this.fail('namespace', `namespace prefix '${prefix}' of <${qname}> is not declared`, lt + 1);
    }

    const element: OpenElement = {
      type: 'element',
      name: qname,
      prefix,
      local,
      uri,
      attributes,
      namespaces,
      children: selfClosing ? NO_CHILDREN : [],
      selfClosing,
      start: lt,
      end: selfClosing ? p : -1,
    };
    const parent = this.stack[this.stack.length - 1];
    if (parent !== undefined) {
      parent.children.push(element);
    } else {
      this.roots.push(element);
    }
    if (selfClosing) {
      this.bindings.length = mark;
    } else {
      this.stack.push(element);
      this.marks.push(mark);
    }
    return p;
  }

  private prefixOf(qname: string, colon: number, at: number): string {
    if (colon === 0 || colon === qname.length - 1 || qname.indexOf(':', colon + 1) !== -1) {
      this.fail('namespace', `'${qname}' is not a valid qualified name`, at);
    }
    return qname.slice(0, colon);
  }

  private bindPrefix(prefix: string, uri: string, position: number, at: number): XmlNamespaceDeclaration {
    if (prefix === 'xmlns') this.fail('namespace', "the prefix 'xmlns' cannot be declared", at);
    if (prefix.indexOf(':') !== -1) this.fail('namespace', `'xmlns:${prefix}' is not a valid declaration`, at);
    if ((prefix === 'xml') !== (uri === XML_NAMESPACE)) {
      this.fail('namespace', `the prefix 'xml' is bound to ${XML_NAMESPACE} and nothing else is`, at);
    }
    if (uri === XMLNS_NAMESPACE) this.fail('namespace', `no prefix may be bound to ${XMLNS_NAMESPACE}`, at);
    if (prefix !== '' && uri === '') this.fail('namespace', `prefix '${prefix}' cannot be undeclared in XML 1.0`, at);
    this.bindings.push(prefix, uri);
    return { prefix, uri, position };
  }

  /** Innermost binding of `prefix`; the default namespace is '' when nothing declares it. */
  private lookup(prefix: string): string | undefined {
    const b = this.bindings;
    for (let i = b.length - 2; i >= 0; i -= 2) {
      if (b[i] === prefix) return b[i + 1];
    }
    return prefix === '' ? '' : undefined;
  }

  private checkDuplicateNames(count: number): void {
    const { names, offsets } = this;
    if (count <= 16) {
      for (let i = 1; i < count; i++) {
        for (let j = 0; j < i; j++) {
          if (names[i] === names[j]) this.fail('syntax', `attribute ${names[i]} is repeated`, offsets[i]!);
        }
      }
      return;
    }
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      if (seen.has(names[i]!)) this.fail('syntax', `attribute ${names[i]} is repeated`, offsets[i]!);
      seen.add(names[i]!);
    }
  }

  /** Two prefixes bound to one namespace must not give an element the same attribute twice. */
  private checkDuplicateExpandedNames(attrs: readonly XmlAttribute[], qname: string, at: number): void {
    for (let i = 1; i < attrs.length; i++) {
      const a = attrs[i]!;
      if (a.uri === '') continue;
      for (let j = 0; j < i; j++) {
        const b = attrs[j]!;
        if (b.local === a.local && b.uri === a.uri) {
          this.fail('namespace', `attributes ${b.name} and ${a.name} of <${qname}> are the same attribute`, at);
        }
      }
    }
  }

  private endTag(lt: number): number {
    const { s } = this;
    const element = this.stack.pop();
    const name = element?.name;
    const after = lt + 2 + (name?.length ?? 0);
    if (element === undefined || !s.startsWith(name!, lt + 2) || isNameChar(s.charCodeAt(after))) {
      const nameEnd = this.name(lt + 2, "an element name after '</'");
      const qname = s.slice(lt + 2, nameEnd);
      if (element === undefined) this.fail('syntax', `end tag </${qname}> has no start tag`, lt);
      const open = lineAndColumn(s, element.start);
      this.fail(
        'syntax',
        `end tag </${qname}> does not match start tag <${element.name}> (line ${open.line}, column ${open.column})`,
        lt,
      );
    }
    const p = this.skipSpace(after);
    if (s.charCodeAt(p) !== 0x3e) this.fail('syntax', `expected '>' to close end tag </${name}>`, p);
    element.end = p + 1;
    this.bindings.length = this.marks.pop()!;
    return p + 1;
  }

  /** `<!`: a comment or CDATA section; DTD and other declarations are refused unread. */
  private markup(lt: number): number {
    const { s } = this;
    if (s.startsWith('--', lt + 2)) {
      const end = s.indexOf('-->', lt + 4);
      if (end === -1) this.fail('syntax', 'comment is not terminated', lt);
      const dashes = s.indexOf('--', lt + 4);
      if (dashes < end) this.fail('syntax', "'--' is not allowed inside a comment", dashes);
      return end + 3;
    }
    if (s.startsWith('[CDATA[', lt + 2)) {
      const parent = this.stack[this.stack.length - 1];
      if (parent === undefined) this.fail('syntax', 'CDATA section outside the root element', lt);
      const end = s.indexOf(']]>', lt + 9);
      if (end === -1) this.fail('syntax', 'CDATA section is not terminated', lt);
      const raw = s.slice(lt + 9, end);
      this.appendText(parent, raw.indexOf('\r') === -1 ? raw : normalizeNewlines(raw), lt);
      return end + 3;
    }
    if (s.startsWith('DOCTYPE', lt + 2)) {
      this.fail('dtd', 'DOCTYPE declarations are not allowed: no DTD, no entity definitions', lt);
    }
    if (/^(?:ENTITY|ELEMENT|ATTLIST|NOTATION)/.test(s.slice(lt + 2, lt + 10))) {
      this.fail('dtd', 'markup declarations are not allowed: no DTD, no entity definitions', lt);
    }
    return this.fail('syntax', "'<!' must start a comment or a CDATA section", lt);
  }

  private processingInstruction(lt: number): number {
    const { s } = this;
    const targetEnd = this.name(lt + 2, 'a processing instruction target');
    const target = s.slice(lt + 2, targetEnd);
    const end = s.indexOf('?>', targetEnd);
    if (end === -1) this.fail('syntax', `processing instruction <?${target} is not terminated`, lt);
    if (end > targetEnd && !isSpace(s.charCodeAt(targetEnd))) {
      this.fail('syntax', `expected whitespace after <?${target}`, targetEnd);
    }
    if (target.toLowerCase() === 'xml') {
      if (lt !== this.declarationAt || target !== 'xml') {
        this.fail('syntax', 'an XML declaration is only allowed at the very start of the input', lt);
      }
      if (!s.startsWith('version', this.skipSpace(targetEnd))) {
        this.fail('syntax', 'the XML declaration must start with version', targetEnd);
      }
    }
    return end + 2;
  }

  private text(from: number, to: number): void {
    const { s } = this;
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined) {
      for (let i = from; i < to; i++) {
        if (!isSpace(s.charCodeAt(i))) this.fail('syntax', 'text outside the root element', i);
      }
      return;
    }
    if (this.nextCdataEnd < from) this.nextCdataEnd = this.find(']]>', from);
    if (this.nextCdataEnd < to) this.fail('syntax', "']]>' is not allowed in text", this.nextCdataEnd);
    if (this.nextAmp < from) this.nextAmp = this.find('&', from);
    let value: string;
    if (this.nextAmp < to) {
      value = this.decodeText(from, to);
    } else {
      value = s.slice(from, to);
      if (this.nextCr < from) this.nextCr = this.find('\r', from);
      if (this.nextCr < to) value = normalizeNewlines(value);
    }
    this.appendText(parent, value, from);
  }

  /** Index of `needle` at or after `from`, or the input length when there is none. */
  private find(needle: string, from: number): number {
    const i = this.s.indexOf(needle, from);
    return i === -1 ? this.len : i;
  }

  private decodeText(from: number, to: number): string {
    const { s } = this;
    let out = '';
    let i = from;
    for (;;) {
      if (this.nextAmp < i) this.nextAmp = this.find('&', i);
      const amp = this.nextAmp < to ? this.nextAmp : to;
      let raw = s.slice(i, amp);
      if (raw.indexOf('\r') !== -1) raw = normalizeNewlines(raw);
      out += raw;
      if (amp === to) return out;
      out += this.entity(amp, to);
      i = this.entityEnd + 1;
    }
  }

  /**
   * Attribute-value normalization (XML 1.0 §3.3.3): references expanded, each literal tab, LF,
   * CR or CR LF becomes one space. The common value without any of these is a plain slice.
   */
  private attributeValue(from: number, to: number): string {
    const { s } = this;
    if (this.nextAmp < from) this.nextAmp = this.find('&', from);
    if (this.nextCr < from) this.nextCr = this.find('\r', from);
    if (this.nextLf < from) this.nextLf = this.find('\n', from);
    if (this.nextTab < from) this.nextTab = this.find('\t', from);
    if (this.nextAmp >= to && this.nextLf >= to && this.nextCr >= to && this.nextTab >= to) {
      return s.slice(from, to);
    }
    let out = '';
    let segment = from;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x26) {
        out += s.slice(segment, i) + this.entity(i, to);
        i = this.entityEnd;
        segment = i + 1;
      } else if (c === 0x0d || c === 0x0a || c === 0x09) {
        out += s.slice(segment, i) + ' ';
        if (c === 0x0d && i + 1 < to && s.charCodeAt(i + 1) === 0x0a) i++;
        segment = i + 1;
      }
    }
    return out + s.slice(segment, to);
  }

  /** Decodes the reference at `amp` (which is '&'); sets `entityEnd` to its ';'. */
  private entity(amp: number, limit: number): string {
    const { s } = this;
    let semi = -1;
    const stop = Math.min(limit, amp + 34);
    for (let i = amp + 1; i < stop; i++) {
      if (s.charCodeAt(i) === 0x3b) {
        semi = i;
        break;
      }
    }
    if (semi === -1) {
      this.fail('syntax', "'&' must start an entity or character reference (write &amp; for '&')", amp);
    }
    this.entityEnd = semi;
    const name = s.slice(amp + 1, semi);
    const predefined = PREDEFINED[name];
    if (predefined !== undefined) return predefined;
    if (name.charCodeAt(0) === 0x23) {
      const hex = name.charCodeAt(1) === 0x78;
      const digits = name.slice(hex ? 2 : 1);
      if (!(hex ? /^[0-9A-Fa-f]+$/ : /^[0-9]+$/).test(digits)) {
        this.fail('syntax', `malformed character reference &${name};`, amp);
      }
      const cp = Number.parseInt(digits, hex ? 16 : 10);
      if (!isXmlChar(cp)) this.fail('syntax', `character reference &${name}; is not an XML character`, amp);
      return String.fromCodePoint(cp);
    }
    return this.fail(
      'entity',
      `undefined entity &${name};: only &lt; &gt; &amp; &apos; &quot; and character references are allowed`,
      amp,
    );
  }

  private appendText(parent: OpenElement, value: string, at: number): void {
    if (value === '') return;
    const children = parent.children;
    const last = children[children.length - 1];
    const merging = last !== undefined && last.type === 'text';
    const merged = merging ? last.value + value : value;
    if (merged.length > this.limits.maxTextLength) {
      this.fail(
        'limit',
        `text of ${merged.length} characters in <${parent.name}> exceeds the limit of ${this.limits.maxTextLength}`,
        at,
      );
    }
    if (merging) children[children.length - 1] = { type: 'text', value: merged };
    else children.push({ type: 'text', value });
  }
}


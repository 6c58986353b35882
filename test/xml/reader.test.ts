import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import {
  XML_NAMESPACE,
  XmlError,
  attribute,
  childElements,
  findChild,
  findChildren,
  parseXml,
  parseXmlFragment,
  textContent,
  type XmlElement,
  type XmlErrorCode,
} from '../../src/xml/index.ts';
import { fixturePath, readFixtureText } from '../support/fixtures.ts';

const UPD = 'http://schemas.microsoft.com/msus/2002/12/Update';
const BAR = 'http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** Asserts that parsing fails with an XmlError of this code whose message matches. */
function rejects(input: string, code: XmlErrorCode, message: RegExp, limits?: Parameters<typeof parseXml>[1]): XmlError {
  let caught: unknown;
  try {
    parseXml(input, limits);
  } catch (error) {
    caught = error;
  }
  // No message built from `input` here: slicing an oversize rope would flatten it.
  assert.ok(caught instanceof XmlError, `expected an XmlError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  return caught;
}

function root(xml: string): XmlElement {
  return parseXml(xml).root;
}

test('every real update document parses, with names, namespaces and attributes as written', () => {
  const docs = readdirSync(fixturePath('wsus-m0-wsusss', 'docs'));
  assert.equal(docs.length, 9);
  for (const name of docs) {
    const { root: update } = parseXml(readFixtureText('wsus-m0-wsusss', 'docs', name));
    assert.equal(update.name, 'upd:Update');
    assert.equal(update.prefix, 'upd');
    assert.equal(update.local, 'Update');
    assert.equal(update.uri, UPD);
    const identity = findChild(update, 'UpdateIdentity', UPD)!;
    assert.equal(attribute(identity, 'UpdateID')!.toLowerCase(), name.slice(0, 36));
  }
});

test('prefixes redeclared on nested elements resolve to the innermost declaration', () => {
  // The real documents declare xmlns:bar on every bar: element (docs/266f6222…).
  const update = root(readFixtureText('wsus-m0-wsusss', 'docs', '266f6222-c89d-43f2-9f8a-69340271e677-r200.xml'));
  const isInstalled = findChild(findChild(update, 'ApplicabilityRules', UPD)!, 'IsInstalled', UPD)!;
  const and = childElements(isInstalled)[0]!;
  assert.equal(and.name, 'lar:And');
  assert.deepEqual(and.namespaces, [
    { prefix: 'lar', uri: 'http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules', position: 0 },
  ]);
  const regDword = childElements(childElements(and)[0]!)[0]!;
  assert.equal(regDword.local, 'RegDword');
  assert.equal(regDword.uri, BAR);
  assert.equal(attribute(regDword, 'Subkey'), 'SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates');
  // Declarations are not attributes: six ordinary ones, then xmlns:bar at position 6.
  assert.equal(regDword.attributes.length, 5);
  assert.deepEqual(regDword.namespaces, [{ prefix: 'bar', uri: BAR, position: 5 }]);

  const handler = findChild(update, 'HandlerSpecificData', UPD)!;
  assert.deepEqual(handler.attributes[0], {
    name: 'xsi:type',
    prefix: 'xsi',
    local: 'type',
    uri: XSI,
    value: 'cmd:CommandLineInstallation',
  });
  assert.equal(attribute(handler, 'type', XSI), 'cmd:CommandLineInstallation');
  assert.equal(attribute(handler, 'type'), undefined, 'a qualified attribute is not in no-namespace');
});

test('default namespaces, undeclaration, prefix scoping and the implicit xml prefix', () => {
  const r = root(
    '<a xmlns="urn:a" xmlns:p="urn:p"><b><c xmlns=""><d/></c><p:e p:x="1" y="2" xml:lang="en"/></b>' +
      '<p:f xmlns:p="urn:other"/></a>',
  );
  assert.equal(r.uri, 'urn:a');
  const b = childElements(r)[0]!;
  assert.equal(b.uri, 'urn:a', 'the default namespace is inherited');
  const c = findChild(b, 'c')!;
  assert.equal(c.uri, '', 'xmlns="" undeclares the default namespace');
  assert.equal(findChild(c, 'd')!.uri, '');
  const e = findChild(b, 'e', 'urn:p')!;
  assert.deepEqual(
    e.attributes.map((a) => [a.name, a.uri, a.value]),
    [
      ['p:x', 'urn:p', '1'],
      ['y', '', '2'],
      ['xml:lang', XML_NAMESPACE, 'en'],
    ],
  );
  assert.equal(findChild(r, 'f')!.uri, 'urn:other', 'an inner redeclaration wins');
  assert.equal(findChild(r, 'f', 'urn:p'), undefined);
  assert.equal(findChildren(r, 'b', 'urn:a').length, 1);
});

test('a prefix is usable on the element whose later attribute declares it', () => {
  const r = root('<p:a p:x="1" xmlns:p="urn:p"/>');
  assert.equal(r.uri, 'urn:p');
  assert.equal(attribute(r, 'x', 'urn:p'), '1');
});

test('XML declaration, BOM, comments, processing instructions, CDATA and both quote styles', () => {
  const r = root(
    '\uFEFF<?xml version="1.0" encoding="utf-8"?>\n<!-- head --><?pi data?>\n' +
      "<a x='single \"q\"' y=\"double 'q'\"><![CDATA[<not> & markup]]>tail<!-- c --><?p?>more</a>\n<!-- end -->",
  );
  assert.equal(attribute(r, 'x'), 'single "q"');
  assert.equal(attribute(r, 'y'), "double 'q'");
  assert.deepEqual(r.children, [{ type: 'text', value: '<not> & markup' + 'tail' + 'more' }]);
});

test('entities: the five predefined, decimal and hexadecimal character references', () => {
  const r = root('<a v="&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;">&lt;&gt;&amp;&apos;&quot;&#10;&#x9;</a>');
  assert.equal(attribute(r, 'v'), `<>&'"AB\u{1F600}`);
  assert.equal(textContent(r), `<>&'"\n\t`);
});

test('line ends are normalized in text; whitespace characters become spaces in attribute values', () => {
  const r = root('<a v="x\r\ny\tz\nw&#10;">1\r\n2\r3\n</a>');
  assert.equal(attribute(r, 'v'), 'x y z w\n', 'a character reference keeps its character');
  assert.equal(textContent(r), '1\n2\n3\n');
});

test('element offsets locate the source text, and self-closing is recorded', () => {
  const xml = '<r><a x="1"/>  <b>t</b></r>';
  const r = root(xml);
  const [a, b] = childElements(r) as [XmlElement, XmlElement];
  assert.equal(xml.slice(a.start, a.end), '<a x="1"/>');
  assert.equal(xml.slice(b.start, b.end), '<b>t</b>');
  assert.equal(a.selfClosing, true);
  assert.equal(b.selfClosing, false);
  assert.equal(xml.slice(r.start, r.end), xml);
});

test('fragments: several top-level elements, as WSUS writes Core fragments', () => {
  const core = readFixtureText('wsus-m0-wsusss', 'wusp-reference', 'dd78b8a1-0b20-45c1-add6-4da72e9364cf-r202.core.xml');
  const parts = parseXmlFragment(core);
  assert.deepEqual(
    parts.map((p) => p.name),
    ['UpdateIdentity', 'Properties', 'Relationships', 'ApplicabilityRules'],
  );
  assert.equal(parts[3]!.children[0]!.type, 'element');
  assert.throws(() => parseXml(core), /second root element <Properties>/);
});

test('malformed input is refused with what and where', () => {
  rejects('<a>', 'syntax', /element <a> is not closed at line 1, column 1/);
  rejects('<a>\n  <b>\n</a>', 'syntax', /end tag <\/a> does not match start tag <b> \(line 2, column 3\) at line 3, column 1/);
  rejects('</a>', 'syntax', /end tag <\/a> has no start tag/);
  rejects('<a x=1/>', 'syntax', /value of attribute x must be in quotes at line 1, column 6/);
  rejects('<a x="1/>', 'syntax', /value of attribute x is not terminated/);
  rejects('<a x="1"y="2"/>', 'syntax', /expected whitespace/);
  rejects('<a x/>', 'syntax', /expected '=' after attribute x/);
  rejects('<a x="1" x="2"/>', 'syntax', /attribute x is repeated/);
  rejects('<a x="<"/>', 'syntax', /'<' is not allowed in an attribute value/);
  rejects('<a>1 < 2</a>', 'syntax', /expected an element name after '<' at line 1, column 7/);
  rejects('<a><</a>', 'syntax', /expected an element name after '<'/);
  rejects('<a>x &amp y</a>', 'syntax', /'&' must start an entity or character reference/);
  rejects('<a>&#xD800;</a>', 'syntax', /not an XML character/);
  rejects('<a>&#12a;</a>', 'syntax', /malformed character reference/);
  rejects('<a>]]></a>', 'syntax', /']]>' is not allowed in text/);
  rejects('<a/><b/>', 'syntax', /second root element <b>/);
  rejects('text<a/>', 'syntax', /text outside the root element at line 1, column 1/);
  rejects('<a/>text', 'syntax', /text outside the root element/);
  rejects('', 'syntax', /no root element/);
  rejects('<!-- x -- y --><a/>', 'syntax', /'--' is not allowed inside a comment/);
  rejects('<!-- x', 'syntax', /comment is not terminated/);
  rejects('<a><![CDATA[x</a>', 'syntax', /CDATA section is not terminated/);
  rejects('<![CDATA[x]]><a/>', 'syntax', /CDATA section outside the root element/);
  rejects('<a/><?xml version="1.0"?>', 'syntax', /XML declaration is only allowed at the very start/);
  rejects(' <?xml version="1.0"?><a/>', 'syntax', /XML declaration is only allowed at the very start/);
  rejects('<a', 'syntax', /start tag <a> is not terminated/);
  rejects('<a/ >', 'syntax', /expected '>' after '\/'/);
  rejects('<a>x\u0000</a>', 'syntax', /character U\+0000 is not allowed in XML at line 1, column 5/);
  rejects('<a v="\u001B"/>', 'syntax', /character U\+001B is not allowed/);
  rejects('<a>\uFFFF</a>', 'syntax', /character U\+FFFF is not allowed/);
});

test('namespace errors: unbound prefixes, bad declarations, one attribute twice through two prefixes', () => {
  rejects('<p:a/>', 'namespace', /namespace prefix 'p' of <p:a> is not declared/);
  rejects('<a p:x="1"/>', 'namespace', /namespace prefix 'p' of attribute p:x is not declared/);
  rejects('<a xmlns:p="urn:p"/><!-- --><p:b/>', 'syntax', /second root/);
  rejects('<a xmlns:p="urn:p"><b/></a><p:c/>', 'syntax', /second root/);
  rejects('<a><b xmlns:p="urn:p"/><p:c/></a>', 'namespace', /prefix 'p' of <p:c> is not declared/);
  rejects('<a xmlns:p=""/>', 'namespace', /cannot be undeclared/);
  rejects('<a xmlns:xmlns="urn:x"/>', 'namespace', /'xmlns' cannot be declared/);
  rejects('<a xmlns:xml="urn:x"/>', 'namespace', /the prefix 'xml' is bound to/);
  rejects('<a:b:c xmlns:a="urn:a"/>', 'namespace', /not a valid qualified name/);
  rejects('<a xmlns:p="urn:u" xmlns:q="urn:u" p:x="1" q:x="2"/>', 'namespace', /p:x and q:x of <a> are the same attribute/);
});

test('DTDs are refused before anything in them is read: billion laughs, external entities', () => {
  const laughs =
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
    Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('\n') +
    '\n]>\n<lolz>&lol9;</lolz>';
  const error = rejects(laughs, 'dtd', /DOCTYPE declarations are not allowed/);
  assert.equal(error.line, 2, 'refused at the DOCTYPE, not at the reference');
  rejects('<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>&xxe;</a>', 'dtd', /DOCTYPE/);
  rejects('<a><!ENTITY x "y"></a>', 'dtd', /markup declarations are not allowed/);
  rejects('<a><!ELEMENT a ANY></a>', 'dtd', /markup declarations are not allowed/);
  rejects('<a><!foo></a>', 'syntax', /'<!' must start a comment or a CDATA section/);
});

test('undefined entities are refused, in text and in attribute values', () => {
  rejects('<a>&nbsp;</a>', 'entity', /undefined entity &nbsp;: only &lt; &gt; &amp; &apos; &quot; and character references/);
  rejects('<a x="&xxe;"/>', 'entity', /undefined entity &xxe;/);
});

test('limits: depth, element count, attributes per element, text and attribute length', () => {
  const deep = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
  assert.doesNotThrow(() => parseXml(deep(256)), 'the default depth admits 256 levels');
  rejects(deep(257), 'limit', /nest deeper than 256 levels/);
  rejects(deep(11), 'limit', /nest deeper than 10 levels/, { limits: { maxDepth: 10 } });
  // A very deep input fails fast on the limit instead of exhausting the stack.
  rejects(deep(100_000), 'limit', /nest deeper than 256/);

  const many = `<r>${'<e/>'.repeat(1000)}</r>`;
  assert.equal(parseXml(many, { limits: { maxElements: 1001 } }).root.children.length, 1000);
  rejects(many, 'limit', /more than 1000 elements/, { limits: { maxElements: 1000 } });

  const attrs = (n: number) => `<a ${Array.from({ length: n }, (_, i) => `a${i}="${i}"`).join(' ')}/>`;
  assert.equal(parseXml(attrs(256)).root.attributes.length, 256);
  rejects(attrs(257), 'limit', /more than 256 attributes/);

  rejects(`<a>${'x'.repeat(101)}</a>`, 'limit', /text of 101 characters in <a> exceeds the limit of 100/, {
    limits: { maxTextLength: 100 },
  });
  // Adjacent text and CDATA count as one text.
  rejects(`<a>${'x'.repeat(60)}<![CDATA[${'y'.repeat(60)}]]></a>`, 'limit', /text of 120 characters/, {
    limits: { maxTextLength: 100 },
  });
  rejects(`<a v="${'x'.repeat(101)}"/>`, 'limit', /value of attribute v \(101 characters\) exceeds the limit of 100/, {
    limits: { maxTextLength: 100 },
  });
  assert.throws(() => parseXml('<a/>', { limits: { maxDepth: 0 } }), RangeError);
});

test('an input over the size limit is refused before it is scanned', () => {
  // 500 million characters: close to V8's maximum string length, yet built as a rope of a few
  // cells. The reader refuses it on its length alone, so the rope is never flattened.
  const huge = `<a>${'x'.repeat(500_000_000)}</a>`;
  const error = rejects(huge, 'limit', /input of 500000007 characters exceeds the limit of 134217728/);
  assert.equal(error.line, 0, 'no line is computed: the input was not looked at');
  rejects('<a>too long</a>', 'limit', /input of 15 characters exceeds the limit of 10/, { limits: { maxInputChars: 10 } });
});

test('large inputs parse in linear time: many text nodes with one entity far away', () => {
  // Each text node looks for '&'; without the cached search this is quadratic (minutes).
  const n = 50_000;
  const xml = `<r>${'<e>t</e>'.repeat(n)}<e>&amp;</e></r>`;
  const r = parseXml(xml);
  assert.equal(r.root.children.length, n + 1);
  assert.equal(textContent(r.root.children[n]!), '&');
});

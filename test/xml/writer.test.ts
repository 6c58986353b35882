import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import {
  XmlWriter,
  escapeAttribute,
  escapeText,
  parseXml,
  serializeElement,
  textContent,
  attribute,
} from '../../src/xml/index.ts';
import { fixturePath, readFixtureText } from '../support/fixtures.ts';

test('escapeText and escapeAttribute escape what .NET XmlWriter escapes, and nothing else', () => {
  assert.equal(escapeText(`a & b < c > d "q" 'a' \t\n`), `a &amp; b &lt; c &gt; d "q" 'a' \t\n`);
  assert.equal(escapeText('cr\r'), 'cr&#xD;');
  assert.equal(escapeAttribute(`a & b < c > d "q" 'a'`), `a &amp; b &lt; c &gt; d &quot;q&quot; 'a'`);
  assert.equal(escapeAttribute('t\tn\nr\r'), 't&#x9;n&#xA;r&#xD;');
  const plain = 'SOFTWARE\\Microsoft\\Windows Defender';
  assert.equal(escapeText(plain), plain);
  assert.equal(escapeAttribute(plain), plain);
});

test('escaped values read back unchanged', () => {
  const value = `<&>"' \t\n\r\u00e9\u{1F600}`;
  const doc = parseXml(`<a v="${escapeAttribute(value)}">${escapeText(value)}</a>`);
  assert.equal(attribute(doc.root, 'v'), value);
  assert.equal(textContent(doc.root), value);
});

test('XmlWriter writes empty elements as `<a />` with the space, as a real WSUS does', () => {
  const xml = new XmlWriter()
    .declaration()
    .start('s:Envelope', { 'xmlns:s': 'http://schemas.xmlsoap.org/soap/envelope/' })
    .start('s:Body')
    .start('R', [['xmlns', 'urn:r'], ['skip', undefined], ['n', 3]])
    .element('Empty')
    .element('Text', 'a < b')
    .element('Attr', undefined, { v: 'x"y', on: true, off: null })
    .start('Blank')
    .fullEnd()
    .start('Raw')
    .raw('<b.RegDword Key="K" />')
    .end()
    .end()
    .end()
    .end()
    .toString();
  assert.equal(
    xml,
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">' +
      '<s:Body><R xmlns="urn:r" n="3"><Empty /><Text>a &lt; b</Text><Attr v="x&quot;y" on="true" />' +
      '<Blank></Blank><Raw><b.RegDword Key="K" /></Raw></R></s:Body></s:Envelope>',
  );
  assert.throws(() => new XmlWriter().start('a').toString(), /element <a> is still open/);
  assert.throws(() => new XmlWriter().end(), /without an open element/);
});

test('serializeElement writes every real update document back byte for byte', () => {
  for (const name of readdirSync(fixturePath('wsus-m0-wsusss', 'docs'))) {
    const xml = readFixtureText('wsus-m0-wsusss', 'docs', name);
    assert.equal(serializeElement(parseXml(xml).root), xml, name);
  }
});

test('serializeElement keeps namespace declarations in their place among the attributes', () => {
  const xml = '<p:a x="1" xmlns:p="urn:p" y="&lt;" xmlns="urn:d"><b></b><c /></p:a>';
  assert.equal(serializeElement(parseXml(xml).root), xml);
});

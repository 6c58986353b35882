import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { NAMESPACES } from '../../src/domain/wellknown.ts';
import { deriveFragments } from '../../src/metadata/fragments.ts';
import { UpdateDocumentError, parseUpdate } from '../../src/metadata/update-parser.ts';
import {
  XmlWriter,
  attribute,
  findChild,
  parseXml,
  parseXmlFragment,
  textContent,
  type XmlElement,
} from '../../src/xml/index.ts';
import { fixturePath, readFixtureText } from '../support/fixtures.ts';

const DOCS = readdirSync(fixturePath('wsus-m0-wsusss', 'docs')).sort();

function doc(id: string): string {
  const name = DOCS.find((n) => n.startsWith(id.toLowerCase()));
  assert.ok(name, `no fixture document for ${id}`);
  return readFixtureText('wsus-m0-wsusss', 'docs', name);
}

function fragmentOf(id: string, kind: string): string {
  const f = deriveFragments(doc(id));
  if (kind === 'core') return f.core;
  if (kind === 'extended') return f.extended;
  const language = /^localized-(.+)$/.exec(kind)![1]!;
  return f.localized[language]!;
}

test('fragments equal, byte for byte, what the real WSUS sent the real agent (wusp-reference/)', () => {
  const references = readdirSync(fixturePath('wsus-m0-wsusss', 'wusp-reference')).sort();
  assert.equal(references.length, 8);
  for (const name of references) {
    const [, id, kind] = /^([0-9a-f-]{36})-r\d+\.(core|extended|localized-en)\.xml$/.exec(name)!;
    const expected = readFixtureText('wsus-m0-wsusss', 'wusp-reference', name);
    assert.equal(fragmentOf(id!, kind!), expected, name);
  }
});

// The native scan (wsus-m0-native/scan) holds more real fragments: Core in the SyncUpdates
// answers, Extended and Localized in the GetExtendedUpdateInfo answer, keyed by the server's
// revision ids, for three of the fixture documents.
const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';

function descendants(element: XmlElement, local: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of element.children) {
    if (c.type !== 'element') continue;
    if (c.local === local && c.uri === CLIENT_NS) out.push(c);
    else descendants(c, local, out);
  }
  return out;
}

function scanAnswers(exchange: string, item: string): { id: string; xml: string }[] {
  const body = parseXml(readFixtureText('wsus-m0-native', 'scan', exchange, 'response.body')).root;
  return descendants(body, item).map((e) => ({
    id: textContent(findChild(e, 'ID', CLIENT_NS)!),
    xml: textContent(findChild(e, 'Xml', CLIENT_NS)!),
  }));
}

test('fragments equal the real Core, Extended and Localized fragments of the native scan', () => {
  const updateIdOf = new Map<string, string>();
  let cores = 0;
  for (const exchange of ['000006', '000007', '000008']) {
    for (const { id, xml } of scanAnswers(exchange, 'UpdateInfo')) {
      const identity = parseXmlFragment(xml)[0]!;
      const updateId = attribute(identity, 'UpdateID')!;
      updateIdOf.set(id, updateId);
      assert.equal(deriveFragments(doc(updateId)).core, xml, `core of ${updateId}`);
      cores++;
    }
  }
  assert.equal(cores, 3);
  const seen: string[] = [];
  for (const { id, xml } of scanAnswers('000010', 'Update')) {
    const updateId = updateIdOf.get(id)!;
    const fragments = deriveFragments(doc(updateId));
    if (xml.startsWith('<ExtendedProperties')) {
      assert.equal(fragments.extended, xml, `extended of ${updateId}`);
      seen.push(`extended ${updateId}`);
    } else {
      assert.equal(fragments.localized.en, xml, `localized en of ${updateId}`);
      seen.push(`en ${updateId}`);
    }
  }
  assert.equal(seen.length, 6);
});

test('Core Properties keep UpdateType, ExplicitlyDeployable, AutoSelectOnWebSites in that order', () => {
  // The real Core of a2fef9b0…@200 (native flow capture, exchange 000012 in CaddyGlow/wsus-rs,
  // not copied into fixtures) reads `<Properties UpdateType="Software" ExplicitlyDeployable="true"
  // AutoSelectOnWebSites="true" />`, whereas its document writes AutoSelectOnWebSites first.
  const core = deriveFragments(doc('a2fef9b0')).core;
  assert.ok(
    core.startsWith(
      '<UpdateIdentity UpdateID="a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe" RevisionNumber="200" />' +
        '<Properties UpdateType="Software" ExplicitlyDeployable="true" AutoSelectOnWebSites="true" />' +
        '<Relationships><SupersededUpdates><UpdateIdentity UpdateID="ce84983e-b20e-44d7-a412-1fd91fc7bda8" />',
    ),
    core.slice(0, 300),
  );
  assert.ok(core.endsWith('<UpdateIdentity UpdateID="3baa1bb8-21ec-4c3a-8bc7-f613ff818fd2" RevisionNumber="200" /></AtLeastOne></BundledUpdates></Relationships>'));

  // Defaults are dropped, EulaID and OSUpgrade follow, whatever the document's order.
  const edited = doc('dd78b8a1').replace(
    'UpdateType="Category" ExplicitlyDeployable="false" PerUser="false"',
    'OSUpgrade="Upgrade" EulaID="1d0f3b3e-5ad8-4c4c-a2b8-0e3b1a1c9f00" AutoSelectOnWebSites="1" UpdateType="Category" ExplicitlyDeployable="True" PerUser="true"',
  );
  const f = deriveFragments(edited);
  assert.match(
    f.core,
    /<Properties UpdateType="Category" ExplicitlyDeployable="true" AutoSelectOnWebSites="true" EulaID="1d0f3b3e-5ad8-4c4c-a2b8-0e3b1a1c9f00" OSUpgrade="Upgrade" \/>/,
  );
  assert.ok(f.extended.startsWith('<ExtendedProperties DefaultPropertiesLanguage="en" Handler="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category" />'));
  const defaults = doc('dd78b8a1').replace('ExplicitlyDeployable="false"', 'ExplicitlyDeployable="false" AutoSelectOnWebSites="false" OSUpgrade="false" EulaID=""');
  assert.match(deriveFragments(defaults).core, /<Properties UpdateType="Category" \/>/);
});

test('every fragment of every document: no prefixes, no namespace declarations, one localized per language', () => {
  for (const name of DOCS) {
    const xml = readFixtureText('wsus-m0-wsusss', 'docs', name);
    const f = deriveFragments(xml);
    const record = parseUpdate(xml);
    for (const text of [f.core, f.extended, ...Object.values(f.localized)]) {
      assert.doesNotMatch(text, /xmlns/, name);
      assert.doesNotMatch(text, /<\/?[A-Za-z]+:/, `${name}: an element kept its prefix`);
      assert.doesNotMatch(text, / [A-Za-z]+:[A-Za-z]+="/, `${name}: an attribute kept its prefix`);
      // Each fragment is a sequence of well-formed elements.
      assert.ok(parseXmlFragment(text).length > 0);
    }
    assert.deepEqual(Object.keys(f.localized), record.localized.map((l) => l.language), name);
    assert.equal(parseXmlFragment(f.core)[1]!.name, 'Properties');
    assert.equal(parseXmlFragment(f.extended)[0]!.name, 'ExtendedProperties');
  }
  const multilingual = deriveFragments(doc('a2fef9b0')).localized;
  assert.equal(Object.keys(multilingual).length, 35);
  assert.ok(multilingual['pt-br']!.startsWith('<LocalizedProperties><Language>pt-br</Language><Title>Atualização de inteligência'));
});

test('deriveFragments takes text, a parsed document or its root element alike', () => {
  const xml = doc('266f6222');
  const parsed = parseXml(xml);
  assert.deepEqual(deriveFragments(parsed), deriveFragments(xml));
  assert.deepEqual(deriveFragments(parsed.root), deriveFragments(xml));
  assert.throws(() => deriveFragments('<a/>'), UpdateDocumentError);
  assert.throws(() => deriveFragments('<a'), UpdateDocumentError);
});

test('values are escaped as .NET XmlWriter escapes them (inferred: the fixtures hold no special characters)', () => {
  const xml = doc('7366a74a')
    .replace('<upd:Title>Full Deltas', '<upd:Title>Tom &amp; Jerry &lt;1&gt; "q" \'a\' Full Deltas')
    .replace('Arguments="WD /q"', 'Arguments="WD /q &amp; &quot;x&quot; &lt;y&gt; \'z\' &#9;"');
  const f = deriveFragments(xml);
  assert.ok(f.localized.en!.includes(`<Title>Tom &amp; Jerry &lt;1&gt; "q" 'a' Full Deltas`));
  assert.ok(f.extended.includes(`Arguments="WD /q &amp; &quot;x&quot; &lt;y&gt; 'z' &#x9;"`));
});

test('driver and MSI rule elements are named d.<name> and m.<name>; driver metadata is kept whole (synthetic)', () => {
  const xml =
    '<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" xmlns:drv="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver" xmlns:mar="http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules" xmlns:lar="http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules">' +
    '<upd:UpdateIdentity UpdateID="0f4c1b9e-2c4d-4e6f-8a1b-3c5d7e9f1a2b" RevisionNumber="101" /><upd:Properties UpdateType="Driver" />' +
    '<upd:ApplicabilityRules><upd:IsInstalled><lar:Or><mar:MsiProductInstalled ProductCode="{9F0A3C0E-0000-0000-0000-000000000000}" /><lar:False /></lar:Or></upd:IsInstalled>' +
    '<upd:Metadata><drv:WindowsDriverMetaData HardwareID="pci\\ven_8086&amp;dev_100e" Class="Net"><drv:FeatureScore OperatingSystem="WINDOWS" FeatureScore="FF" /></drv:WindowsDriverMetaData></upd:Metadata></upd:ApplicabilityRules></upd:Update>';
  assert.equal(
    deriveFragments(xml).core,
    '<UpdateIdentity UpdateID="0f4c1b9e-2c4d-4e6f-8a1b-3c5d7e9f1a2b" RevisionNumber="101" /><Properties UpdateType="Driver" />' +
      '<ApplicabilityRules><IsInstalled><Or><m.MsiProductInstalled ProductCode="{9F0A3C0E-0000-0000-0000-000000000000}" /><False /></Or></IsInstalled>' +
      '<Metadata><d.WindowsDriverMetaData HardwareID="pci\\ven_8086&amp;dev_100e" Class="Net"><d.FeatureScore OperatingSystem="WINDOWS" FeatureScore="FF" /></d.WindowsDriverMetaData></Metadata></ApplicabilityRules>',
  );
  assert.equal(deriveFragments(xml).extended, '<ExtendedProperties />');
});

// wsus-m0-cbs holds real Core and Extended fragments of CBS and OS installer updates, but not their
// documents. Each is rebuilt here into a plausible document (names namespaced back, removed
// Properties attributes put back, an English title added) and must derive to the real fragments
// again. What this confirms: `b.` for BaseApplicabilityRules; no prefix for the CBS rules
// (namespace below, seen in a public MU document), for logical rules and for OS installer rules
// (their namespace is not known: any non-bar/mar/drv namespace gives a bare name); `xsi:type` ->
// `type` keeping `cbs:`, and an unprefixed type value kept unprefixed; the default declaration on
// the CBS manifest's `assembly` kept where it was; attributes in document order.
// The CBS cores are "reduced" by the fixture's publisher (manifest cut to its first elements,
// `<package …></package>` left empty by the cut), so they check the naming rules, not sizes.
const CBS_RULES = 'http://schemas.microsoft.com/msus/2002/12/CbsApplicabilityRules';
const OS_RULES = 'urn:openwsus:test:os-installer-rules-namespace-unknown';
const LOGICAL = new Set(['And', 'Or', 'Not', 'True', 'False']);
const CBS = new Set(['CbsPackageInstalled', 'CbsPackageInstallable', 'CbsPackageApplicabilityMetadata']);
const OS = new Set(['ProductReleaseInstalled', 'DeviceAttribute']);
const REMOVED_FROM_EXTENDED: [string, string][] = [
  ['UpdateType', 'Software'],
  ['PublicationState', 'Published'],
  ['CreationDate', '2023-05-09T17:00:00.000Z'],
  ['PublisherID', '395392a0-19c0-48b7-a927-f7c15066d905'],
  ['IsPublic', 'false'],
];

function sourceName(e: XmlElement, handlerPrefix: string | undefined): string {
  if (e.uri !== '') return e.name; // the foreign manifest keeps its own default namespace
  if (e.name.startsWith('b.')) return `bar:${e.name.slice(2)}`;
  if (LOGICAL.has(e.name)) return `lar:${e.name}`;
  if (CBS.has(e.name)) return `cbsar:${e.name}`;
  if (OS.has(e.name)) return `osr:${e.name}`;
  if (handlerPrefix !== undefined) return `${handlerPrefix}:${e.name}`;
  return `upd:${e.name === 'ExtendedProperties' ? 'Properties' : e.name}`;
}

function writeSource(w: XmlWriter, e: XmlElement, handlerPrefix?: string): void {
  const attrs: [string, string][] = [];
  for (let i = 0; i <= e.attributes.length; i++) {
    for (const d of e.namespaces) if (d.position === i) attrs.push([d.prefix === '' ? 'xmlns' : `xmlns:${d.prefix}`, d.uri]);
    const a = e.attributes[i];
    if (a === undefined) continue;
    attrs.push([e.name === 'HandlerSpecificData' && a.name === 'type' ? 'xsi:type' : a.name, a.value]);
  }
  if (e.name === 'ExtendedProperties') attrs.splice(1, 0, ...REMOVED_FROM_EXTENDED);
  let childPrefix = handlerPrefix;
  if (e.name === 'HandlerSpecificData') {
    const type = attribute(e, 'type')!;
    childPrefix = type.includes(':') ? type.split(':')[0] : 'osi';
  }
  w.start(sourceName(e, handlerPrefix), attrs);
  for (const c of e.children) {
    if (c.type === 'text') w.text(c.value);
    else writeSource(w, c, childPrefix);
  }
  if (e.children.length === 0 && !e.selfClosing) w.fullEnd();
  else w.end();
}

function rebuildDocument(core: string, extended: string): string {
  const [identity, , ...coreRest] = parseXmlFragment(core);
  const [properties, ...extendedRest] = parseXmlFragment(extended);
  const w = new XmlWriter().start('upd:Update', [
    ['xmlns:upd', NAMESPACES.upd],
    ['xmlns:bar', NAMESPACES.bar],
    ['xmlns:lar', NAMESPACES.lar],
    ['xmlns:cbsar', CBS_RULES],
    ['xmlns:osr', OS_RULES],
    ['xmlns:cbs', NAMESPACES.cbs],
    ['xmlns:osi', NAMESPACES.osi],
    ['xmlns:xsi', NAMESPACES.xsi],
  ]);
  writeSource(w, identity!);
  writeSource(w, properties!);
  w.start('upd:LocalizedPropertiesCollection').start('upd:LocalizedProperties');
  w.element('upd:Language', 'en').element('upd:Title', 'Rebuilt for a test').end().end();
  for (const e of [...coreRest, ...extendedRest]) writeSource(w, e);
  return w.end().toString();
}

function cbsFixture(name: string): string {
  return readFixtureText('wsus-m0-cbs', name);
}

test('CBS and OS installer fragments: rebuilt documents derive to the real fragments again', () => {
  for (const [core, extended] of [
    ['cbs-rollupfix-core-reduced.xml', 'cbs-rollupfix-extended.xml'],
    ['cbs-dotnet-core-reduced.xml', 'cbs-dotnet-extended.xml'],
    ['osinstaller-core.xml', 'osinstaller-extended.xml'],
  ] as const) {
    const source = rebuildDocument(cbsFixture(core), cbsFixture(extended));
    assert.match(source, /<upd:HandlerSpecificData xsi:type="/);
    const f = deriveFragments(source);
    assert.equal(f.core, cbsFixture(core), core);
    assert.equal(f.extended, cbsFixture(extended), extended);
  }
});

test('CBS and OS installer documents parse: handler, files with SHA-256 and patching type, sizes past 4 GB', () => {
  const rollup = parseUpdate(rebuildDocument(cbsFixture('cbs-rollupfix-core-reduced.xml'), cbsFixture('cbs-rollupfix-extended.xml')));
  assert.equal(rollup.key.updateId, '267dd2b4-f9fa-4bcd-bba7-1cb00e0e59d9');
  assert.equal(rollup.handlerType, 'cbs:Cbs');
  assert.equal(rollup.properties.handler, NAMESPACES.cbs);
  assert.deepEqual(rollup.properties.installationBehavior, { RebootBehavior: 'CanRequestReboot' });
  assert.deepEqual(rollup.files, [
    {
      sha1: '1MrMC8LV5k+xRuzrZqRbqmD55Q0=',
      sha256: 'gC6suVZDPSeSFSaRlr6YiJjcRH5XbWR8HSqVTujSjiQ=',
      fileName: 'Windows10.0-KB5026368-arm64.cab',
      size: 479510336,
      modified: '2023-05-04T06:59:55Z',
      patchingType: 'SelfContained',
    },
  ]);
  const dotnet = parseUpdate(rebuildDocument(cbsFixture('cbs-dotnet-core-reduced.xml'), cbsFixture('cbs-dotnet-extended.xml')));
  assert.deepEqual(dotnet.properties.uninstallationBehavior, { RebootBehavior: 'CanRequestReboot' });
  assert.deepEqual(dotnet.prerequisites.at(-1), { updateIds: ['72e7624a-5b00-45d2-b92f-e561c0a6a160'], isCategory: false });

  const os = parseUpdate(rebuildDocument(cbsFixture('osinstaller-core.xml'), cbsFixture('osinstaller-extended.xml')));
  assert.equal(os.handlerType, 'OSInstallerMetadata');
  assert.equal(os.properties.maxDownloadSize, 8873450114);
  assert.equal(os.files.length, 14);
  assert.deepEqual(os.files[0], {
    sha1: 'ydhZceXPp2DQLEtYsscbVOdFBNA=',
    sha256: 'IVwDB7LJ1Sc/zk2dukWgbzWToJTCXcpYVysffW+x6vU=',
    fileName: 'C9D85971E5CFA760D02C4B58B2C71B54E74504D0_45720379-b8b6-463f-852b-4130f998c87a_Wsus.AggregatedMetadata.cab',
    size: 1353199,
    modified: '2025-09-08T17:31:31Z',
  });
  assert.equal(Math.max(...os.files.map((f) => f.size)), 3927955052);
  assert.deepEqual(
    os.prerequisites.map((c) => c.isCategory),
    [true, true, false, false],
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { UpdateRecord } from '../../src/domain/update.ts';
import { CLASSIFICATIONS, NAMESPACES } from '../../src/domain/wellknown.ts';
import {
  escapeAttribute,
  escapeText,
  expectedRecord,
  rule,
  writeUpdateXml,
  type HandlerData,
  type PrerequisiteClauseSpec,
  type UpdateSpec,
} from '../../src/metadata/update-writer.ts';
import { readFixtureText } from '../support/fixtures.ts';

// The real parser is written alongside this module; the round-trip checks use it whenever it exists.
const PARSER = new URL('../../src/metadata/update-parser.ts', import.meta.url);
type Parse = (xml: string) => UpdateRecord;
const parseUpdate: Parse | undefined = existsSync(PARSER)
  ? ((await import(PARSER.href)) as { parseUpdate: Parse }).parseUpdate
  : undefined;
const needsParser = { skip: parseUpdate === undefined ? 'src/metadata/update-parser.ts is not there yet' : false };

function parse(xml: string): UpdateRecord {
  if (parseUpdate === undefined) throw new Error('no parser');
  return parseUpdate(xml);
}

const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const SHA1 = 'vXidQqLgJwCO4+fE++5nIN1txMk=';
const SHA256 = 'FX0fJz391BBQFKgKnFee7Set4FikM6ebvaIHkpuXY+c=';

function fullSpec(): UpdateSpec {
  return {
    key: { updateId: ID(1), revisionNumber: 201 },
    properties: {
      updateType: 'Software',
      defaultPropertiesLanguage: 'en',
      autoSelectOnWebSites: true,
      explicitlyDeployable: true,
      msrcSeverity: 'Critical',
      maxDownloadSize: 1234,
      minDownloadSize: 0,
      publicationState: 'Published',
      creationDate: '2026-11-10T18:00:00.000Z',
      publisherId: '395392a0-19c0-48b7-a927-f7c15066d905',
      installationBehavior: { Impact: 'Normal', RebootBehavior: 'CanRequestReboot' },
      uninstallationBehavior: {},
      supportUrl: 'https://support.microsoft.com/help/5070001',
      securityBulletinId: 'MS26-001',
      kbArticleId: '5070001',
    },
    localized: [
      { language: 'en', title: '2026-11 Cumulative Update (KB5070001)', description: 'Install this update.', moreInfoUrl: 'https://example.test/?a=1&b=2' },
      { language: 'de', title: '2026-11 Kumulatives Update (KB5070001)' },
    ],
    supersedes: [ID(9), ID(8)],
    prerequisites: [
      { updateIds: [ID(2)], isCategory: false },
      { updateIds: [ID(3)], isCategory: false, atLeastOne: true },
      { updateIds: [ID(4), ID(5)], isCategory: true },
    ],
    bundles: [
      { atLeastOne: false, members: [{ updateId: ID(6), revisionNumber: 200 }] },
      { atLeastOne: true, members: [{ updateId: ID(7), revisionNumber: 201 }, { updateId: ID(10), revisionNumber: 200 }] },
    ],
    applicability: {
      isInstalled: rule.and(rule.bar('RegDword', { Key: 'HKEY_LOCAL_MACHINE', Subkey: 'SOFTWARE\\X', Value: 'V', Comparison: 'EqualTo', Data: 1 }), rule.not(rule.false())),
      isInstallable: rule.bar('Processor', { Architecture: 9 }),
    },
    files: [{ sha1: SHA1, sha256: SHA256, fileName: 'Windows11.0-KB5070001-x64.msu', size: 1234, modified: '2026-11-05T00:00:00Z' }],
    handlerData: { kind: 'commandLine', program: 'wusa.exe', arguments: '/quiet /norestart', returnCodes: [{ code: 0, result: 'Succeeded' }, { code: 3010, result: 'Succeeded', reboot: true }] },
  };
}

function childNames(xml: string, parent: string): string[] {
  const start = xml.indexOf(`<${parent}`);
  const body = xml.slice(xml.indexOf('>', start) + 1, xml.lastIndexOf(`</${parent}>`));
  const names: string[] = [];
  let depth = 0;
  for (const m of body.matchAll(/<(\/?)([\w:.-]+)[^>]*?(\/?)>/g)) {
    if (m[1] === '/') depth--;
    else {
      if (depth === 0) names.push(m[2] as string);
      if (m[3] !== '/') depth++;
    }
  }
  return names;
}

test('a document has the skeleton and element order of WSUS-PROTOCOLS §3.2', () => {
  const xml = writeUpdateXml(fullSpec());
  assert.equal(XMLValidator.validate(xml), true);
  assert.deepEqual(childNames(xml, 'upd:Update'), [
    'upd:UpdateIdentity',
    'upd:Properties',
    'upd:LocalizedPropertiesCollection',
    'upd:Relationships',
    'upd:ApplicabilityRules',
    'upd:Files',
    'upd:HandlerSpecificData',
  ]);
  // Relationships in the order of the real bundle documents.
  assert.deepEqual(childNames(xml, 'upd:Relationships'), ['upd:SupersededUpdates', 'upd:Prerequisites', 'upd:BundledUpdates']);
  assert.deepEqual(childNames(xml, 'upd:Properties'), [
    'upd:InstallationBehavior',
    'upd:UninstallationBehavior',
    'upd:SupportUrl',
    'upd:SecurityBulletinID',
    'upd:KBArticleID',
  ]);
  assert.deepEqual(childNames(xml, 'upd:Prerequisites'), ['upd:UpdateIdentity', 'upd:AtLeastOne', 'upd:AtLeastOne']);
});

test('namespaces are declared MU-style: used prefixes on the root, upd last, rule prefixes again on the outer rule element', () => {
  const xml = writeUpdateXml(fullSpec());
  const root = xml.slice(0, xml.indexOf('>'));
  assert.equal(
    root,
    `<upd:Update xmlns:pub="${NAMESPACES.pub}" xmlns:bar="${NAMESPACES.bar}" xmlns:lar="${NAMESPACES.lar}" xmlns:cmd="${NAMESPACES.cmd}" xmlns:upd="${NAMESPACES.upd}"`,
  );
  assert.match(xml, new RegExp(`<upd:IsInstalled><lar:And xmlns:lar="${NAMESPACES.lar}"><bar:RegDword [^>]*Data="1" xmlns:bar="${NAMESPACES.bar}" /><lar:Not><lar:False /></lar:Not></lar:And>`));
  assert.match(xml, /<upd:HandlerSpecificData xsi:type="cmd:CommandLineInstallation" xmlns:xsi="http:\/\/www.w3.org\/2001\/XMLSchema-instance"><cmd:InstallCommand Program="wusa.exe" Arguments="\/quiet \/norestart" xmlns:cmd="[^"]+"><cmd:ReturnCode Code="0" Result="Succeeded" \/><cmd:ReturnCode Code="3010" Result="Succeeded" Reboot="true" \/><\/cmd:InstallCommand><\/upd:HandlerSpecificData><\/upd:Update>$/);
  const bundle = writeUpdateXml({ key: { updateId: ID(1), revisionNumber: 200 }, properties: { updateType: 'Software' }, localized: [{ language: 'en', title: 't' }] });
  assert.equal(bundle.slice(0, bundle.indexOf('>')), `<upd:Update xmlns:pub="${NAMESPACES.pub}" xmlns:upd="${NAMESPACES.upd}"`);
  // MU never self-closes Properties.
  assert.match(bundle, /<upd:Properties UpdateType="Software" PublicationState="Published"><\/upd:Properties>/);
});

test('special characters in text and attributes are escaped and read back unchanged', needsParser, () => {
  const nasty = 'A & B <tag> "double" \'single\' ]]> tab\there\r\nnext line; ünïcødé 日本語 🚀';
  const spec: UpdateSpec = {
    ...fullSpec(),
    localized: [{ language: 'en', title: nasty, description: `${nasty}\nsecond` }],
    files: [{ sha1: SHA1, sha256: SHA256, fileName: 'a&b <"c">.exe', size: 5 }],
    handlerData: { kind: 'commandLine', program: 'setup "x" & <y>.exe', arguments: `-q\t-n\r\n-x "a&b"`, returnCodes: [{ code: 0, result: 'Succeeded', description: '<ok> & "done"' }] },
    drivers: [{ hardwareId: 'PCI\\VEN_8086&DEV_A7A0&SUBSYS_0B1D1028', manufacturer: 'AT&T <"Labs">', computerHardwareIds: [] }],
  };
  const xml = writeUpdateXml(spec);
  assert.equal(XMLValidator.validate(xml), true);
  assert.ok(!xml.includes('<tag>') && !xml.includes(' & '), 'raw < and & must not reach the document');
  assert.match(xml, /Program="setup &quot;x&quot; &amp; &lt;y&gt;.exe" Arguments="-q&#9;-n&#13;&#10;-x &quot;a&amp;b&quot;"/);
  const record = parse(xml);
  assert.equal(record.localized[0]?.title, nasty);
  assert.equal(record.localized[0]?.description, `${nasty}\nsecond`);
  assert.equal(record.files[0]?.fileName, 'a&b <"c">.exe');
  assert.equal(record.drivers[0]?.hardwareId, 'PCI\\VEN_8086&DEV_A7A0&SUBSYS_0B1D1028');
  assert.equal(record.drivers[0]?.manufacturer, 'AT&T <"Labs">');
  assert.deepEqual(record, expectedRecord(spec, xml));
  // A second, independent reader sees the same attribute values (whitespace kept by char references).
  const command = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', processEntities: true, htmlEntities: false, trimValues: false }).parse(xml);
  const install = command['upd:Update']['upd:HandlerSpecificData']['cmd:InstallCommand'];
  assert.equal(install.Program, 'setup "x" & <y>.exe');
});

test('escaping helpers', () => {
  assert.equal(escapeText('a<b>&c\r'), 'a&lt;b&gt;&amp;c&#13;');
  assert.equal(escapeAttribute('"x"\t\n&'), '&quot;x&quot;&#9;&#10;&amp;');
  assert.equal(escapeText('plain'), 'plain');
  assert.equal(escapeText('🚀 astral is fine'), '🚀 astral is fine');
  assert.throws(() => escapeText('bell\u0007'), RangeError);
  assert.throws(() => escapeAttribute('lone \uD800 surrogate'), RangeError);
  assert.throws(() => escapeText('\uFFFE'), RangeError);
});

test('ids that are not GUIDs and malformed digests are refused', () => {
  assert.throws(() => writeUpdateXml({ ...fullSpec(), key: { updateId: 'not-a-guid', revisionNumber: 1 } }), /not a GUID/);
  assert.throws(() => writeUpdateXml({ ...fullSpec(), supersedes: ['x'] }), /not a GUID/);
  assert.throws(() => writeUpdateXml({ ...fullSpec(), files: [{ sha1: 'abc', fileName: 'a.exe', size: 1 }] }), /SHA-1/);
  assert.throws(() => writeUpdateXml({ ...fullSpec(), key: { updateId: ID(1), revisionNumber: -1 } }), /non-negative/);
  assert.throws(() => writeUpdateXml({ ...fullSpec(), category: { prohibitsSubcategories: false, prohibitsUpdates: false, excludedByDefault: false } }), /Category handler/);
  // Upper-case and braced GUIDs are written in canonical form.
  const xml = writeUpdateXml({ ...fullSpec(), supersedes: ['{6964AAB4-C5B5-43BD-A17D-FFB4346A8E1D}'] });
  assert.match(xml, /<upd:SupersededUpdates><upd:UpdateIdentity UpdateID="6964aab4-c5b5-43bd-a17d-ffb4346a8e1d" \/>/);
});

test('category, driver and detectoid documents read back as the records they were written from', needsParser, () => {
  const category: UpdateSpec = {
    key: { updateId: CLASSIFICATIONS.drivers, revisionNumber: 100 },
    properties: { updateType: 'Category', defaultPropertiesLanguage: 'en', isPublic: true, creationDate: '2004-05-15T05:50:00.000Z' },
    localized: [{ language: 'en', title: 'Drivers' }, { language: 'PT-BR', title: 'Drivers' }],
    applicability: { isInstalled: '<lar:True />' },
    category: { categoryType: 'UpdateClassification', prohibitsSubcategories: true, prohibitsUpdates: false, displayOrder: 13, excludedByDefault: false },
  };
  const driver: UpdateSpec = {
    key: { updateId: ID(20), revisionNumber: 200 },
    properties: { updateType: 'Driver', explicitlyDeployable: true, perUser: false, isBeta: false, maxDownloadSize: 10 },
    localized: [{ language: 'en', title: 'Intel - Display - 31.0.101.5186' }],
    prerequisites: [{ updateIds: [ID(21)], isCategory: true }, { updateIds: [CLASSIFICATIONS.drivers], isCategory: true }],
    applicability: { isInstalled: rule.element('drv', 'WindowsDriverInstalled') },
    drivers: [
      {
        hardwareId: 'PCI\\VEN_8086&DEV_A7A0',
        whqlDriverId: '12345678',
        manufacturer: 'Intel',
        company: 'Intel Corporation',
        provider: 'Intel Corporation',
        driverVerDate: '2026-10-01',
        driverVerVersion: '31.0.101.5186',
        driverClass: 'Display',
        computerHardwareIds: ['{0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9}'],
        featureScores: [{ operatingSystem: 'AMD64.10.0', featureScore: 'FF' }],
      },
    ],
    files: [{ sha1: SHA1, fileName: 'intel_display.cab', size: 10 }],
    handlerData: { kind: 'driver' },
  };
  const raw: HandlerData = { kind: 'raw', type: 'cbs:Cbs', xml: '<cbs:CbsData PackageIdentity="" xmlns:cbs="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs" />' };
  const detectoid: UpdateSpec = {
    key: { updateId: ID(30), revisionNumber: 200 },
    properties: { updateType: 'Detectoid', publicationState: 'Expired' },
    localized: [{ language: 'en', title: 'x64 "detectoid" & co' }],
    prerequisites: [{ updateIds: [ID(31)], isCategory: false }],
    applicability: { isInstalled: rule.bar('WmiQuery', { Namespace: 'root\\cimv2', WqlQuery: 'SELECT * FROM X WHERE Y LIKE "%<a & b>%"' }) },
  };
  const cbs: UpdateSpec = { ...fullSpec(), key: { updateId: ID(40), revisionNumber: 200 }, handlerData: raw };
  for (const spec of [category, driver, detectoid, cbs, fullSpec()]) {
    const xml = writeUpdateXml(spec);
    assert.equal(XMLValidator.validate(xml), true);
    assert.deepEqual(parse(xml), expectedRecord(spec, xml));
  }
  const driverXml = writeUpdateXml(driver);
  assert.match(driverXml, /<upd:Metadata><drv:WindowsDriverMetaData HardwareID="PCI\\VEN_8086&amp;DEV_A7A0" [^>]*Class="Display" xmlns:drv="[^"]+"><drv:FeatureScore OperatingSystem="AMD64.10.0" FeatureScore="FF" \/><drv:TargetComputerHardwareId>0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9<\/drv:TargetComputerHardwareId><\/drv:WindowsDriverMetaData><\/upd:Metadata>/);
  assert.equal(parse(driverXml).handlerType, 'drv:WindowsDriver');
  assert.equal(parse(writeUpdateXml(cbs)).handlerType, 'cbs:Cbs');
  assert.equal(parse(writeUpdateXml(category)).category?.categoryType, 'UpdateClassification');
});

// ---------------------------------------------------------------------------------------------
// Real documents: a spec made from each one writes it again, byte for byte.

const FIXTURE_DOCS = [
  'ff36f0b5-dded-4780-8664-cd78af8b62c1-r200.xml', // command-line leaf with rules and a file
  '266f6222-c89d-43f2-9f8a-69340271e677-r200.xml', // same, with Arguments
  '7366a74a-ef29-44e1-b738-570b516aca1f-r200.xml',
  'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml', // bundle: 25 languages, supersedence, 4 AtLeastOne groups
  'ccb78947-6453-4ecc-9de8-bc0305c98f2d-r200.xml', // bundle with plain AtLeastOne prerequisites
  '1f9bd9bb-7390-4aa3-bbdb-ded99fac2583-r200.xml',
];

function inner(xml: string, element: string): string | undefined {
  const m = new RegExp(`<${element}>(.*?)</${element}>`, 's').exec(xml);
  return m?.[1];
}

function specFromRealDocument(xml: string): UpdateSpec {
  const r = parse(xml);
  const flag = (name: string, value: boolean) => (xml.includes(` ${name}="`) ? { [name.charAt(0).toLowerCase() + name.slice(1)]: value } : {});
  const { handler: _handler, explicitlyDeployable, autoSelectOnWebSites, isPublic, perUser, isBeta, ...rest } = r.properties;
  const prerequisites: PrerequisiteClauseSpec[] = r.prerequisites.map((c) =>
    c.updateIds.length === 1 && !c.isCategory && xml.includes(`<upd:AtLeastOne><upd:UpdateIdentity UpdateID="${c.updateIds[0]}" /></upd:AtLeastOne>`)
      ? { ...c, atLeastOne: true }
      : c,
  );
  const isInstalled = inner(xml, 'upd:IsInstalled');
  const isInstallable = inner(xml, 'upd:IsInstallable');
  const install = /<cmd:InstallCommand Program="([^"]*)"(?: Arguments="([^"]*)")?/.exec(xml);
  return {
    key: r.key,
    properties: {
      ...rest,
      ...flag('ExplicitlyDeployable', explicitlyDeployable),
      ...flag('AutoSelectOnWebSites', autoSelectOnWebSites),
      ...flag('IsPublic', isPublic),
      ...flag('PerUser', perUser),
      ...flag('IsBeta', isBeta),
    },
    localized: r.localized,
    prerequisites,
    bundles: r.bundles,
    supersedes: r.supersedes,
    files: r.files,
    applicability: {
      ...(isInstalled === undefined ? {} : { isInstalled }),
      ...(isInstallable === undefined ? {} : { isInstallable }),
    },
    ...(install === null
      ? {}
      : {
          handlerData: {
            kind: 'commandLine',
            program: install[1] as string,
            ...(install[2] === undefined ? {} : { arguments: install[2] }),
            returnCodes: [{ code: 0, result: 'Succeeded' }],
          } satisfies HandlerData,
        }),
  };
}

test('the writer reproduces real Microsoft Update documents byte for byte', needsParser, () => {
  for (const name of FIXTURE_DOCS) {
    const real = readFixtureText('wsus-m0-wsusss', 'docs', name);
    const spec = specFromRealDocument(real);
    assert.equal(writeUpdateXml(spec), real, name);
  }
});

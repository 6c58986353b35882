import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { contentPath, type PrerequisiteClause, type UpdateRecord } from '../../src/domain/update.ts';
import { CLASSIFICATIONS, MICROSOFT_COMPANY_ID, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import {
  UpdateDocumentError,
  ingestUpdate,
  parseUpdate,
  readUpdate,
} from '../../src/metadata/update-parser.ts';
import { XmlError, parseXml } from '../../src/xml/index.ts';
import { fixturePath, readFixtureText } from '../support/fixtures.ts';

const DEFENDER_PRODUCT = '8c3fcc84-7410-4a95-8b89-a166a0190486';
const DOCS = readdirSync(fixturePath('wsus-m0-wsusss', 'docs')).sort();

function doc(id: string): string {
  const name = DOCS.find((n) => n.startsWith(id));
  assert.ok(name, `no fixture document for ${id}`);
  return readFixtureText('wsus-m0-wsusss', 'docs', name);
}

function record(id: string): UpdateRecord {
  return parseUpdate(doc(id));
}

test('every real document parses to the identity its file is named after, xml kept verbatim', () => {
  assert.equal(DOCS.length, 9);
  const types: Record<string, string> = {};
  for (const name of DOCS) {
    const xml = readFixtureText('wsus-m0-wsusss', 'docs', name);
    const r = parseUpdate(xml);
    const [, id, rev] = /^([0-9a-f-]{36})-r(\d+)\.xml$/.exec(name)!;
    assert.deepEqual(r.key, { updateId: id, revisionNumber: Number(rev) });
    assert.equal(r.xml, xml);
    types[id!] = r.properties.updateType;
    assert.equal(r.properties.publicationState, 'Published');
    assert.equal(r.properties.defaultPropertiesLanguage, 'en');
    assert.ok(r.localized.some((l) => l.language === 'en' && l.title !== ''), `${name} has an English title`);
  }
  assert.deepEqual(Object.values(types).sort(), [...Array(3).fill('Category'), ...Array(6).fill('Software')]);
});

test('a bundle: prerequisites as CNF clauses and one AtLeastOne group of revisions (1f9bd9bb…@200)', () => {
  const r = record('1f9bd9bb');
  assert.equal(r.localized[0]!.title, 'HIDDEN: Defender Engine 1.1.26080.3 for EngineBroad (Installer 1.1.24010.2001-Q)');
  assert.deepEqual(r.prerequisites, [
    { updateIds: [CLASSIFICATIONS.definitionUpdates], isCategory: false },
    { updateIds: [DEFENDER_PRODUCT], isCategory: false },
  ]);
  assert.equal(r.bundles.length, 1);
  const group = r.bundles[0]!;
  assert.equal(group.atLeastOne, true);
  assert.equal(group.members.length, 24);
  assert.deepEqual(group.members[0], { updateId: 'f0f101fb-5f20-46fb-949f-3da68bd6f77d', revisionNumber: 200 });
  assert.deepEqual(group.members[1], { updateId: 'ff36f0b5-dded-4780-8664-cd78af8b62c1', revisionNumber: 200 });
  assert.deepEqual(group.members[23], { updateId: 'a05b85ab-86f5-453c-a0b2-61b8a053d8d3', revisionNumber: 200 });
  assert.deepEqual(r.files, []);
  assert.deepEqual(r.supersedes, []);
  assert.equal(r.handlerType, undefined);
  assert.equal(r.properties.handler, undefined);
  assert.equal(r.properties.explicitlyDeployable, false);
});

test('a command-line leaf: direct prerequisites, file with SHA-1, SHA-256, size, handler (266f6222…@200)', () => {
  const r = record('266f6222');
  assert.equal(
    r.localized[0]!.title,
    'Full Deltas 1.459.547.0 for Defender amd64fre [Ring0, Ring1, Ring2, Ring3, Ring4, Broad, Delayed]',
  );
  assert.deepEqual(r.prerequisites, [
    { updateIds: ['be4048db-157c-4532-9582-7f05099590c9'], isCategory: false },
    { updateIds: ['59653007-e2e9-4f71-8525-2ff588527978'], isCategory: false },
    { updateIds: ['0aac58ee-82a0-4452-a7fa-19f68398f1fa'], isCategory: false },
    { updateIds: [DEFENDER_PRODUCT], isCategory: false },
  ]);
  assert.deepEqual(r.files, [
    {
      sha1: 'h/W9BGlYUAaqXTp30cZi/SiV3c0=',
      sha256: 'Amt0qymy5KsROiwIXm4QIIV75Ju4r+Cl28Pg8gaLXUA=',
      fileName: 'AM_Delta.exe',
      size: 11606440,
      modified: '2026-10-04T09:39:26Z',
    },
  ]);
  assert.equal(contentPath(r.files[0]!), 'CD/87F5BD0469585006AA5D3A77D1C662FD2895DDCD.exe');
  assert.equal(r.handlerType, 'cmd:CommandLineInstallation');
  assert.equal(r.properties.handler, 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation');
  assert.equal(r.properties.maxDownloadSize, 11606440);
  assert.equal(r.properties.minDownloadSize, 0);
  assert.deepEqual(r.properties.installationBehavior, { Impact: 'Minor' });
  assert.equal(r.properties.uninstallationBehavior, undefined);
  assert.equal(r.properties.creationDate, '2026-10-04T12:00:58.287Z');
  assert.equal(r.properties.publisherId, 'bccf8ca0-2819-4598-8d15-c1506e363e92');
  assert.deepEqual(r.bundles, []);
  assert.equal(r.category, undefined);
  assert.deepEqual(r.drivers, []);

  const engine = record('ff36f0b5');
  assert.equal(engine.localized[0]!.title, 'AM Engine 1.1.26080.3 for Defender amd64fre Broad');
  assert.deepEqual(engine.files, [
    {
      sha1: 'vXidQqLgJwCO4+fE++5nIN1txMk=',
      sha256: 'FX0fJz391BBQFKgKnFee7Set4FikM6ebvaIHkpuXY+c=',
      fileName: 'AM_Engine.exe',
      size: 6662560,
      modified: '2026-08-18T00:39:04Z',
    },
  ]);
});

test('the explicitly deployable security intelligence bundle (a2fef9b0…@200)', () => {
  const r = record('a2fef9b0');
  assert.equal(r.properties.explicitlyDeployable, true);
  assert.equal(r.properties.autoSelectOnWebSites, true);
  assert.equal(r.properties.kbArticleId, '2267602');
  assert.equal(r.properties.supportUrl, 'https://go.microsoft.com/fwlink/?LinkId=52661');
  assert.equal(r.properties.maxDownloadSize, 0);
  assert.deepEqual(r.prerequisites, [
    { updateIds: ['be4048db-157c-4532-9582-7f05099590c9'], isCategory: false },
    { updateIds: ['0aac58ee-82a0-4452-a7fa-19f68398f1fa'], isCategory: false },
    { updateIds: [CLASSIFICATIONS.definitionUpdates], isCategory: true },
    { updateIds: [DEFENDER_PRODUCT], isCategory: true },
  ]);
  assert.equal(r.supersedes.length, 10);
  assert.equal(r.supersedes[0], 'ce84983e-b20e-44d7-a412-1fd91fc7bda8');
  assert.equal(r.supersedes[9], 'bb663b81-45db-43cb-8bfa-33411e0d8a1f');
  assert.deepEqual(
    r.bundles.map((g) => [g.atLeastOne, g.members.length]),
    [
      [true, 7],
      [true, 7],
      [true, 7],
      [true, 103],
    ],
  );
  assert.equal(r.localized.length, 35);
  assert.deepEqual(r.localized.find((l) => l.language === 'en'), {
    language: 'en',
    title:
      'Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.459.547.0) - Current Channel (Broad)',
    description:
      'Install this update to revise the files that are used to detect viruses, spyware, and other potentially unwanted software. Once you have installed this item, it cannot be removed.',
    moreInfoUrl: 'https://go.microsoft.com/fwlink/?linkid=2007160',
    supportUrl: 'https://go.microsoft.com/fwlink/?LinkId=52661',
  });
  const ptBr = r.localized.find((l) => l.language === 'pt-br')!;
  assert.match(ptBr.title, /^Atualização de inteligência de segurança para Microsoft Defender Antivirus/);
  assert.deepEqual(
    r.localized.map((l) => l.language).slice(0, 6),
    ['en', 'ar', 'bg', 'cs', 'da', 'de'],
  );
});

test('the bundle tree among the fixtures: a2fef9b0 holds ccb78947, 1f9bd9bb and 266f6222; 1f9bd9bb holds ff36f0b5', () => {
  const members = (r: UpdateRecord) => new Set(r.bundles.flatMap((g) => g.members.map((m) => m.updateId)));
  const top = members(record('a2fef9b0'));
  for (const id of ['ccb78947-6453-4ecc-9de8-bc0305c98f2d', '1f9bd9bb-7390-4aa3-bbdb-ded99fac2583', '266f6222-c89d-43f2-9f8a-69340271e677']) {
    assert.ok(top.has(id), id);
  }
  assert.ok(members(record('1f9bd9bb')).has('ff36f0b5-dded-4780-8664-cd78af8b62c1'));
  assert.deepEqual(record('ccb78947').bundles, [
    {
      atLeastOne: true,
      members: [
        { updateId: 'b6f443c9-ad38-4347-bab3-f1dc0b03d533', revisionNumber: 200 },
        { updateId: '0daf8592-9e3f-4a8a-9141-d83fafebd09f', revisionNumber: 200 },
        { updateId: '4c0a0a90-4bd5-4fe5-b306-8dbd6fde30a0', revisionNumber: 200 },
        { updateId: 'e052d9bd-e49c-4d6e-876e-005b49b89812', revisionNumber: 200 },
      ],
    },
  ]);
});

test('categories: Company <- ProductFamily <- Product through AtLeastOne IsCategory (WSUS-PROTOCOLS §3.9)', () => {
  const company = record('56309036');
  const family = record('6964aab4');
  const product = record('dd78b8a1');
  // The documents spell these two ids in upper case; records are lower-case.
  assert.equal(company.key.updateId, MICROSOFT_COMPANY_ID);
  assert.equal(family.key.updateId, WINDOWS_PRODUCT_FAMILY_ID);
  assert.equal(company.key.revisionNumber, 101);

  assert.deepEqual(company.category, {
    categoryType: 'Company',
    prohibitsSubcategories: false,
    prohibitsUpdates: true,
    displayOrder: 1,
    excludedByDefault: false,
  });
  assert.deepEqual(family.category, {
    categoryType: 'ProductFamily',
    prohibitsSubcategories: false,
    prohibitsUpdates: true,
    displayOrder: 2,
    excludedByDefault: false,
  });
  assert.deepEqual(product.category, {
    categoryType: 'Product',
    prohibitsSubcategories: true,
    prohibitsUpdates: false,
    excludedByDefault: true,
  });
  for (const r of [company, family, product]) {
    assert.equal(r.properties.updateType, 'Category');
    assert.equal(r.handlerType, 'cat:Category');
    assert.equal(r.properties.isPublic, true);
  }

  // Walk up from the product through its category prerequisites.
  const byId = new Map([company, family, product].map((r) => [r.key.updateId, r]));
  const chain: string[] = [];
  for (let r: UpdateRecord | undefined = product; r !== undefined; ) {
    chain.push(`${r.category!.categoryType}:${r.localized.find((l) => l.language === 'en')!.title}`);
    const parent: PrerequisiteClause | undefined = r.prerequisites.find((c) => c.isCategory);
    r = parent === undefined ? undefined : byId.get(parent.updateIds[0]!);
  }
  assert.deepEqual(chain, ['Product:OOBE ZDP', 'ProductFamily:Windows', 'Company:Microsoft']);
  assert.deepEqual(company.prerequisites, []);
  assert.equal(company.localized.length, 24);
  assert.deepEqual(company.localized.find((l) => l.language === 'zh-tw'), {
    language: 'zh-tw',
    title: 'Microsoft',
    description: 'Microsoft',
  });
  assert.equal(product.localized[0]!.description, 'This category would be used by the updates that would meet the ZDP bar.');
});

/** The same document written with other prefixes, a default namespace, or indentation. */
function variants(xml: string): Record<string, string> {
  return {
    'u: instead of upd:': xml.replace(/(<\/?)upd:/g, '$1u:').replace('xmlns:upd=', 'xmlns:u='),
    'default namespace for Update': xml.replace(/(<\/?)upd:/g, '$1').replace('xmlns:upd=', 'xmlns='),
    'base: instead of bar:, l: instead of lar:': xml
      .replace(/(<\/?)bar:/g, '$1base:')
      .replaceAll('xmlns:bar=', 'xmlns:base=')
      .replace(/(<\/?)lar:/g, '$1l:')
      .replaceAll('xmlns:lar=', 'xmlns:l='),
    'indented, CRLF line ends': xml.replaceAll('><', '>\r\n    <'),
  };
}

test('namespace tolerance: other prefixes, a default namespace or indentation give the same record and fragments', () => {
  for (const name of DOCS) {
    const xml = readFixtureText('wsus-m0-wsusss', 'docs', name);
    const reference = ingestUpdate(xml);
    for (const [label, variant] of Object.entries(variants(xml))) {
      if (variant === xml) continue; // no bar: or lar: elements in this one
      const got = ingestUpdate(variant);
      assert.equal(got.record.xml, variant, 'the record keeps the text it was given');
      assert.deepEqual({ ...got.record, xml: '' }, { ...reference.record, xml: '' }, `${label}: ${name}`);
      assert.deepEqual(got.fragments, reference.fragments, `${label}: ${name}`);
    }
  }
});

test('readUpdate and ingestUpdate agree with parseUpdate', () => {
  const xml = doc('7366a74a');
  const parsed = parseXml(xml);
  assert.deepEqual(readUpdate(parsed, xml), parseUpdate(xml));
  assert.deepEqual(readUpdate(parsed.root, xml), parseUpdate(xml));
  assert.deepEqual(ingestUpdate(xml).record, parseUpdate(xml));
});

// Synthetic documents: the fixtures hold no driver or detectoid. Shapes follow WSUS-PROTOCOLS §3.6.
const DRIVER = `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" xmlns:drv="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver" xmlns:lar="http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules"><upd:UpdateIdentity UpdateID="{0F4C1B9E-2C4D-4E6F-8A1B-3C5D7E9F1A2B}" RevisionNumber="101" /><upd:Properties UpdateType="Driver" DefaultPropertiesLanguage="en" Handler="http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver" PublicationState="Published" /><upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>Contoso - Net - 1.2.3.4</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection><upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="ebfc1fc5-71a4-4f7b-9aca-3b9a503104a0" /></upd:AtLeastOne></upd:Prerequisites></upd:Relationships><upd:ApplicabilityRules><upd:IsInstalled><lar:False /></upd:IsInstalled><upd:Metadata><drv:WindowsDriverMetaData HardwareID="pci\\ven_8086&amp;dev_100e" WhqlDriverID="WHQL-1" Manufacturer="Contoso" Company="Contoso Ltd" Provider="Contoso" DriverVerDate="2024-05-01" DriverVerVersion="1.2.3.4" Class="Net"><drv:FeatureScore OperatingSystem="WINDOWS" FeatureScore="FF" /><drv:TargetComputerHardwareId>{A1B2C3D4-0000-1111-2222-333344445555}</drv:TargetComputerHardwareId><drv:DistributionComputerHardwareId>b1b2c3d4-0000-1111-2222-333344445555</drv:DistributionComputerHardwareId></drv:WindowsDriverMetaData></upd:Metadata></upd:ApplicabilityRules></upd:Update>`;

test('a driver: type, metadata from drv:WindowsDriverMetaData, computer hardware ids (synthetic)', () => {
  const r = parseUpdate(DRIVER);
  assert.equal(r.key.updateId, '0f4c1b9e-2c4d-4e6f-8a1b-3c5d7e9f1a2b', 'braces and case are normalized');
  assert.equal(r.properties.updateType, 'Driver');
  assert.deepEqual(r.prerequisites, [{ updateIds: [CLASSIFICATIONS.drivers], isCategory: true }]);
  assert.deepEqual(r.drivers, [
    {
      hardwareId: 'pci\\ven_8086&dev_100e',
      whqlDriverId: 'WHQL-1',
      manufacturer: 'Contoso',
      company: 'Contoso Ltd',
      provider: 'Contoso',
      driverVerDate: '2024-05-01',
      driverVerVersion: '1.2.3.4',
      driverClass: 'Net',
      computerHardwareIds: ['a1b2c3d4-0000-1111-2222-333344445555', 'b1b2c3d4-0000-1111-2222-333344445555'],
    },
  ]);
});

test('a detectoid and the other Properties attributes (synthetic)', () => {
  const xml = doc('ccb78947')
    .replace('UpdateType="Software"', 'UpdateType="Detectoid" DetectoidType="Os" IsBeta="true" PerUser="1" MsrcSeverity="Critical" LegacyName="KB1" EulaID="1d0f3b3e-5ad8-4c4c-a2b8-0e3b1a1c9f00" OSUpgrade="Upgrade"')
    .replace('PublicationState="Published"', 'PublicationState="Expired"')
    .replace('</upd:Properties>', '<upd:SecurityBulletinID>MS08-067</upd:SecurityBulletinID><upd:MoreInfoUrl> https://example.invalid/more </upd:MoreInfoUrl><upd:UninstallationBehavior RebootBehavior="NeverReboots" /></upd:Properties>');
  const p = parseUpdate(xml).properties;
  assert.equal(p.updateType, 'Detectoid');
  assert.equal(p.detectoidType, 'Os');
  assert.equal(p.isBeta, true);
  assert.equal(p.perUser, true);
  assert.equal(p.msrcSeverity, 'Critical');
  assert.equal(p.legacyName, 'KB1');
  assert.equal(p.eulaId, '1d0f3b3e-5ad8-4c4c-a2b8-0e3b1a1c9f00');
  assert.equal(p.osUpgrade, 'Upgrade');
  assert.equal(p.publicationState, 'Expired');
  assert.equal(p.securityBulletinId, 'MS08-067');
  assert.equal(p.moreInfoUrl, 'https://example.invalid/more');
  assert.deepEqual(p.uninstallationBehavior, { RebootBehavior: 'NeverReboots' });
});

/** Asserts an UpdateDocumentError whose message matches. */
function refuses(xml: string, message: RegExp): UpdateDocumentError {
  let caught: unknown;
  try {
    parseUpdate(xml);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof UpdateDocumentError, `expected UpdateDocumentError, got ${String(caught)}`);
  assert.match(caught.message, message);
  return caught;
}

test('documents that are not usable updates are refused with a message naming what to fix', () => {
  const good = doc('266f6222');
  const notXml = refuses(good.slice(0, 500), /update document is not well-formed XML: .* at line 1, column \d+/);
  assert.ok(notXml.cause instanceof XmlError);
  refuses('<!DOCTYPE x [<!ENTITY a "b">]><x/>', /not well-formed XML: DOCTYPE declarations are not allowed/);
  refuses('<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"/>', /not an update document: the root element is <Envelope> in namespace http:\/\/schemas.xmlsoap.org\/soap\/envelope\/; expected Update in namespace http:\/\/schemas.microsoft.com\/msus\/2002\/12\/Update/);
  refuses('<Update><UpdateIdentity/></Update>', /the root element is <Update> in no namespace/);
  refuses(good.replace(/<upd:UpdateIdentity [^>]*\/>/, ''), /no UpdateIdentity element/);
  refuses(good.replace(/<upd:Properties [^>]*>.*?<\/upd:Properties>/, ''), /no Properties element/);
  refuses(good.replace('UpdateID="266f6222-c89d-43f2-9f8a-69340271e677"', 'UpdateID="266f6222"'), /UpdateIdentity\/@UpdateID is not a GUID: "266f6222"/);
  refuses(good.replace('UpdateID="266f6222-c89d-43f2-9f8a-69340271e677" ', ''), /UpdateIdentity\/@UpdateID is missing/);
  for (const bad of ['abc', '-1', '1.5', '2147483648', '']) {
    refuses(good.replace('RevisionNumber="200"', `RevisionNumber="${bad}"`), /UpdateIdentity\/@RevisionNumber must be a whole number from 0 to 2147483647/);
  }
  refuses(good.replace('UpdateType="Software"', 'UpdateType="Firmware"'), /Properties\/@UpdateType must be one of Software, Driver, Category, Detectoid, got "Firmware"/);
  refuses(good.replace('PublicationState="Published"', 'PublicationState="Draft"'), /Properties\/@PublicationState must be one of Published, Expired/);
  refuses(good.replace('MaxDownloadSize="11606440"', 'MaxDownloadSize="big"'), /Properties\/@MaxDownloadSize must be a non-negative whole number/);
  refuses(good.replace('UpdateID="be4048db-157c-4532-9582-7f05099590c9"', 'UpdateID="nope"'), /Relationships\/Prerequisites\/UpdateIdentity\/@UpdateID is not a GUID/);
  refuses(doc('1f9bd9bb').replace('UpdateID="f0f101fb-5f20-46fb-949f-3da68bd6f77d" RevisionNumber="200"', 'UpdateID="f0f101fb-5f20-46fb-949f-3da68bd6f77d"'), /Relationships\/BundledUpdates\/AtLeastOne\/UpdateIdentity\/@RevisionNumber is missing/);
  refuses(good.replace('Digest="h/W9BGlYUAaqXTp30cZi/SiV3c0="', 'Digest="abc"'), /Files\/File\[1\]\/@Digest is not a base64 SHA-1 digest/);
  refuses(good.replace('DigestAlgorithm="SHA1"', 'DigestAlgorithm="MD5"'), /Files\/File\[1\]\/@DigestAlgorithm must be SHA1/);
  refuses(good.replace(' Size="11606440"', ' Size="-5"'), /Files\/File\[1\]\/@Size must be a non-negative whole number/);
  refuses(good.replace('Amt0qymy5KsROiwIXm4QIIV75Ju4r+Cl28Pg8gaLXUA=', 'short'), /Files\/File\[1\]\/AdditionalDigest is not a base64 SHA-256 digest/);
  refuses(good.replace('<upd:Language>en</upd:Language>', '<upd:Language>e n</upd:Language>'), /LocalizedProperties\/Language is not a language tag/);
  refuses(doc('dd78b8a1').replace('CategoryType="Product"', 'CategoryType="Planet"'), /CategoryInformation\/@CategoryType must be one of Company, ProductFamily, Product, UpdateClassification/);
  refuses(doc('dd78b8a1').replace('ExcludedByDefault="true"', 'ExcludedByDefault="maybe"'), /CategoryInformation\/@ExcludedByDefault must be true or false, got "maybe"/);
  refuses(DRIVER.replace(/HardwareID="[^"]*" /, ''), /WindowsDriverMetaData\/@HardwareID is missing/);
});

test('reader limits pass through to the update parser', () => {
  assert.throws(
    () => parseUpdate(doc('266f6222'), { limits: { maxDepth: 3 } }),
    (e: unknown) => e instanceof UpdateDocumentError && /elements nest deeper than 3 levels/.test(e.message),
  );
  assert.throws(
    () => parseUpdate(doc('266f6222'), { limits: { maxInputChars: 1000 } }),
    (e: unknown) => e instanceof UpdateDocumentError && /input of 14578 characters exceeds the limit of 1000/.test(e.message),
  );
});

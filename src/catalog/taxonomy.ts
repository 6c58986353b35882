// The fixed part of the sample catalog: the category tree (company > product family > product >
// sub-product, and the classifications), the detectoids, the Windows versions, and the product lines
// whose updates make up the rest. Ids of categories and detectoids do not depend on the seed: Microsoft's
// do not change either, and it lets catalogs of different seeds share a category tree.
import type { CategoryType } from '../domain/update.ts';
import { CLASSIFICATIONS, CLASSIFICATION_TITLES, MICROSOFT_COMPANY_ID, WINDOWS_PRODUCT_FAMILY_ID } from '../domain/wellknown.ts';
import { rule, type RuleNode, type RuleXml } from '../metadata/update-writer.ts';
import { nameGuid } from './random.ts';

// ---------------------------------------------------------------------------------------------
// Time

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** "Now" of the base catalog: the days after it are what `generateCatalogChanges` produces. */
export const CATALOG_END = Date.UTC(2026, 10, 15);
/** Oldest history a base catalog reaches back to; bigger catalogs grow by drivers beyond it. */
export const MAX_HISTORY_DAYS = 3650;
const PERIODIC_EPOCH = Date.UTC(2000, 0, 1);

export function monthIndex(t: number): number {
  const d = new Date(t);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

export function yearMonth(t: number): string {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** `n`-th `weekday` (0 = Sunday) of month index `m`, at `hour` UTC. */
function nthWeekday(m: number, weekday: number, n: number, hour: number): number {
  const first = Date.UTC(Math.floor(m / 12), m % 12, 1, hour);
  const shift = (weekday - new Date(first).getUTCDay() + 7) % 7;
  return first + (shift + 7 * (n - 1)) * DAY;
}

/** When a line publishes: monthly (patch Tuesday style, every `months` months) or every `hours` hours. */
export type Cadence =
  | { readonly kind: 'monthly'; readonly months: number; readonly weekday: number; readonly week: number; readonly hour: number }
  | { readonly kind: 'periodic'; readonly hours: number };

/** Date of slot `s`. Periodic slots get a jitter below one period, derived from `jitter` (0..1). */
export function slotDate(c: Cadence, s: number, jitter: number): number {
  if (c.kind === 'monthly') return nthWeekday(s * c.months, c.weekday, c.week, c.hour);
  const start = PERIODIC_EPOCH + s * c.hours * HOUR;
  return start + Math.floor(jitter * c.hours * 0.8 * 60) * 60_000;
}

/** The last slot whose period starts at or before `t` (its date may still be after `t`). */
export function slotAround(c: Cadence, t: number): number {
  if (c.kind === 'monthly') return Math.floor(monthIndex(t) / c.months);
  return Math.floor((t - PERIODIC_EPOCH) / (c.hours * HOUR));
}

// ---------------------------------------------------------------------------------------------
// Categories

export interface CategoryDef {
  readonly id: string;
  readonly revision: number;
  readonly title: string;
  readonly description?: string;
  readonly type: CategoryType;
  readonly parent?: string;
  readonly prohibitsSubcategories: boolean;
  readonly prohibitsUpdates: boolean;
  readonly displayOrder?: number;
  readonly excludedByDefault?: boolean;
  readonly isInstalled?: RuleXml;
  readonly created: string;
  /** Titles per language where MU translates them (classifications); products keep their name. */
  readonly translate?: boolean;
}

function synthetic(title: string): string {
  return nameGuid(`category:${title}`);
}

export const CATEGORY = {
  microsoft: MICROSOFT_COMPANY_ID,
  windows: WINDOWS_PRODUCT_FAMILY_ID,
  /** Real id (the product of the real WSUS capture's catalog statistics). */
  windows11: '72e7624a-5b00-45d2-b92f-e561c0a6a160',
  windows11Drivers: synthetic('Windows 11 Client, version 22H2 and later, Servicing Drivers'),
  windows11UpgradeDrivers: synthetic('Windows 11 Client, version 22H2 and later, Upgrade & Servicing Drivers'),
  windows10: synthetic('Windows 10'),
  windows10Later: synthetic('Windows 10, version 1903 and later'),
  windows10Ltsb: synthetic('Windows 10 LTSB'),
  server2022: synthetic('Microsoft Server operating system-21H2'),
  server2025: synthetic('Microsoft Server operating system-24H2'),
  /** Real id (WSUS-PROTOCOLS §3.9). */
  defender: '8c3fcc84-7410-4a95-8b89-a166a0190486',
  office: synthetic('Office'),
  office2016: synthetic('Office 2016'),
  m365Apps: synthetic('Microsoft 365 Apps/Office 2019/Office LTSC'),
  devTools: synthetic('Developer Tools, Runtimes, and Redistributables'),
  visualStudio2022: synthetic('Visual Studio 2022'),
  dotnet: synthetic('.NET'),
  dotnet8: synthetic('.NET 8.0'),
  dotnet9: synthetic('.NET 9.0'),
  sqlServer: synthetic('SQL Server'),
  sql2019: synthetic('Microsoft SQL Server 2019'),
  sql2022: synthetic('Microsoft SQL Server 2022'),
} as const;

const winVersionAtLeast = (major: number, minor: number, build?: number): RuleNode =>
  rule.bar('WindowsVersion', {
    Comparison: 'GreaterThanOrEqualTo',
    MajorVersion: major,
    MinorVersion: minor,
    ...(build === undefined ? {} : { BuildNumber: build }),
  });

function cat(
  id: string,
  title: string,
  type: CategoryType,
  parent: string | undefined,
  created: string,
  more: Partial<CategoryDef> = {},
): CategoryDef {
  const def: CategoryDef = {
    id,
    revision: 100,
    title,
    type,
    prohibitsSubcategories: false,
    prohibitsUpdates: type === 'Company' || type === 'ProductFamily',
    created,
    ...more,
  };
  return parent === undefined ? def : { ...def, parent };
}

/** Parents before children, so a sequential importer always knows a parent first. */
export const CATEGORIES: readonly CategoryDef[] = [
  cat(CATEGORY.microsoft, 'Microsoft', 'Company', undefined, '2005-09-22T00:05:11.471Z', { revision: 101, displayOrder: 1, isInstalled: '<lar:True />' }),
  cat(CATEGORY.windows, 'Windows', 'ProductFamily', CATEGORY.microsoft, '2004-05-15T05:50:01.611Z', { displayOrder: 2, isInstalled: '<lar:True />' }),
  cat(CATEGORY.office, 'Office', 'ProductFamily', CATEGORY.microsoft, '2005-06-22T18:31:00.000Z', { displayOrder: 3 }),
  cat(CATEGORY.devTools, 'Developer Tools, Runtimes, and Redistributables', 'ProductFamily', CATEGORY.microsoft, '2007-05-31T17:12:00.000Z'),
  cat(CATEGORY.sqlServer, 'SQL Server', 'ProductFamily', CATEGORY.microsoft, '2006-03-09T20:40:00.000Z'),
  cat(CATEGORY.windows11, 'Windows 11', 'Product', CATEGORY.windows, '2021-08-24T17:00:00.000Z', {
    revision: 202,
    isInstalled: winVersionAtLeast(10, 0, 22000),
    description: 'Windows 11',
  }),
  cat(CATEGORY.windows11Drivers, 'Windows 11 Client, version 22H2 and later, Servicing Drivers', 'Product', CATEGORY.windows11, '2022-09-20T17:00:00.000Z', {
    prohibitsSubcategories: true,
    excludedByDefault: true,
  }),
  cat(
    CATEGORY.windows11UpgradeDrivers,
    'Windows 11 Client, version 22H2 and later, Upgrade & Servicing Drivers',
    'Product',
    CATEGORY.windows11,
    '2022-09-20T17:00:00.000Z',
    { prohibitsSubcategories: true, excludedByDefault: true },
  ),
  cat(CATEGORY.windows10, 'Windows 10', 'Product', CATEGORY.windows, '2015-07-29T17:00:00.000Z', { isInstalled: winVersionAtLeast(10, 0) }),
  cat(CATEGORY.windows10Later, 'Windows 10, version 1903 and later', 'Product', CATEGORY.windows10, '2019-05-21T17:00:00.000Z', {
    revision: 101,
    prohibitsSubcategories: true,
    isInstalled: winVersionAtLeast(10, 0, 18362),
  }),
  cat(CATEGORY.windows10Ltsb, 'Windows 10 LTSB', 'Product', CATEGORY.windows10, '2016-08-02T17:00:00.000Z', { prohibitsSubcategories: true }),
  cat(CATEGORY.server2022, 'Microsoft Server operating system-21H2', 'Product', CATEGORY.windows, '2021-08-18T17:00:00.000Z', {
    prohibitsSubcategories: true,
  }),
  cat(CATEGORY.server2025, 'Microsoft Server operating system-24H2', 'Product', CATEGORY.windows, '2024-11-01T17:00:00.000Z', {
    prohibitsSubcategories: true,
  }),
  cat(CATEGORY.defender, 'Microsoft Defender Antivirus', 'Product', CATEGORY.windows, '2015-10-01T17:00:00.000Z', {
    revision: 203,
    prohibitsSubcategories: true,
  }),
  cat(CATEGORY.office2016, 'Office 2016', 'Product', CATEGORY.office, '2015-09-22T17:00:00.000Z', { prohibitsSubcategories: true }),
  cat(CATEGORY.m365Apps, 'Microsoft 365 Apps/Office 2019/Office LTSC', 'Product', CATEGORY.office, '2018-09-24T17:00:00.000Z', {
    prohibitsSubcategories: true,
  }),
  cat(CATEGORY.visualStudio2022, 'Visual Studio 2022', 'Product', CATEGORY.devTools, '2021-11-08T17:00:00.000Z', { prohibitsSubcategories: true }),
  cat(CATEGORY.dotnet, '.NET', 'Product', CATEGORY.devTools, '2019-12-03T17:00:00.000Z'),
  cat(CATEGORY.dotnet8, '.NET 8.0', 'Product', CATEGORY.dotnet, '2023-11-14T17:00:00.000Z', { prohibitsSubcategories: true }),
  cat(CATEGORY.dotnet9, '.NET 9.0', 'Product', CATEGORY.dotnet, '2024-11-12T17:00:00.000Z', { prohibitsSubcategories: true }),
  cat(CATEGORY.sql2019, 'Microsoft SQL Server 2019', 'Product', CATEGORY.sqlServer, '2019-11-04T17:00:00.000Z', { prohibitsSubcategories: true }),
  cat(CATEGORY.sql2022, 'Microsoft SQL Server 2022', 'Product', CATEGORY.sqlServer, '2022-11-16T17:00:00.000Z', { prohibitsSubcategories: true }),
  ...Object.values(CLASSIFICATIONS).map((id, i) =>
    cat(id, CLASSIFICATION_TITLES[id] as string, 'UpdateClassification', undefined, '2004-05-15T05:50:00.000Z', {
      prohibitsSubcategories: true,
      displayOrder: i + 1,
      translate: true,
      description: `${CLASSIFICATION_TITLES[id] as string} classification`,
    }),
  ),
];

/** Names and parents of the products the incremental mode introduces, one a day, in this order. */
export const FUTURE_PRODUCTS: readonly { readonly title: string; readonly parent: string }[] = [
  { title: 'Windows 11, version 26H1 and later, Servicing Drivers', parent: CATEGORY.windows11 },
  { title: 'Office LTSC 2027', parent: CATEGORY.office },
  { title: 'Microsoft SQL Server 2027', parent: CATEGORY.sqlServer },
  { title: '.NET 10.0', parent: CATEGORY.dotnet },
  { title: 'Visual Studio 2026', parent: CATEGORY.devTools },
  { title: 'Microsoft Server operating system-26H2', parent: CATEGORY.windows },
];

// ---------------------------------------------------------------------------------------------
// Architectures, Windows versions, detectoids

export type Arch = 'x86' | 'x64' | 'arm64';

export const ARCH = {
  x86: { label: 'x86', processor: 0, fre: 'x86fre', file: 'x86', bits: 32 },
  x64: { label: 'x64', processor: 9, fre: 'amd64fre', file: 'x64', bits: 64 },
  arm64: { label: 'ARM64', processor: 12, fre: 'arm64fre', file: 'arm64', bits: 64 },
} as const;

export interface OsVersion {
  readonly key: string;
  readonly os: string;
  readonly ver: string;
  readonly build: number;
  /** Versions with one codebase ship the same files and KB each month (24H2 and 25H2 do on MU). */
  readonly codebase: string;
  readonly nt: string;
  readonly product: string;
  readonly productName: string;
  readonly productType: 1 | 3;
  readonly since: number;
  readonly until?: number;
  readonly archs: readonly Arch[];
}

const d = (y: number, m: number, day = 1) => Date.UTC(y, m - 1, day);

export const OS_VERSIONS: readonly OsVersion[] = [
  { key: 'win11-25h2', os: 'Windows 11', ver: '25H2', build: 26200, codebase: '26100', nt: 'windows11.0', product: CATEGORY.windows11, productName: 'Windows', productType: 1, since: d(2025, 9), archs: ['x64', 'arm64'] },
  { key: 'win11-24h2', os: 'Windows 11', ver: '24H2', build: 26100, codebase: '26100', nt: 'windows11.0', product: CATEGORY.windows11, productName: 'Windows', productType: 1, since: d(2024, 10), archs: ['x64', 'arm64'] },
  { key: 'win11-23h2', os: 'Windows 11', ver: '23H2', build: 22631, codebase: '22621', nt: 'windows11.0', product: CATEGORY.windows11, productName: 'Windows', productType: 1, since: d(2023, 10), until: d(2026, 11, 12), archs: ['x64', 'arm64'] },
  { key: 'win10-22h2', os: 'Windows 10', ver: '22H2', build: 19045, codebase: '19041', nt: 'windows10.0', product: CATEGORY.windows10Later, productName: 'Windows', productType: 1, since: d(2022, 10), archs: ['x64', 'x86', 'arm64'] },
  { key: 'win10-21h2', os: 'Windows 10', ver: '21H2', build: 19044, codebase: '19041', nt: 'windows10.0', product: CATEGORY.windows10Later, productName: 'Windows', productType: 1, since: d(2021, 11), until: d(2024, 6, 12), archs: ['x64', 'x86'] },
  { key: 'server-2025', os: 'Microsoft server operating system', ver: '24H2', build: 26100, codebase: '26100-server', nt: 'windows10.0', product: CATEGORY.server2025, productName: 'Windows Server', productType: 3, since: d(2024, 11), archs: ['x64'] },
  { key: 'server-2022', os: 'Microsoft server operating system', ver: '21H2', build: 20348, codebase: '20348', nt: 'windows10.0', product: CATEGORY.server2022, productName: 'Windows Server', productType: 3, since: d(2021, 9), archs: ['x64'] },
];

export interface DetectoidDef {
  readonly id: string;
  readonly title: string;
  readonly isInstalled: RuleNode;
  readonly prerequisites: readonly string[];
  readonly created: string;
}

function detectoidId(title: string): string {
  return nameGuid(`detectoid:${title}`);
}

export function osDetectoidId(os: OsVersion, arch: Arch): string {
  return detectoidId(`${os.os} Version ${os.ver} ${ARCH[arch].label}`);
}

function osFamilyDetectoidTitle(os: OsVersion): string {
  return os.productType === 3 ? `${os.os} ${os.ver}` : `${os.os} Client`;
}

export const DETECTOID = {
  office2016x86: detectoidId('Office 2016 32-bit is installed'),
  office2016x64: detectoidId('Office 2016 64-bit is installed'),
  m365Apps: detectoidId('Microsoft 365 Apps Click-to-Run is installed'),
  netfx481: detectoidId('.NET Framework 4.8.1 is installed'),
  defenderPlatform: detectoidId('Microsoft Defender Antivirus platform 4.18 or later'),
  dotnet8: detectoidId('.NET 8.0 runtime is installed'),
  dotnet9: detectoidId('.NET 9.0 runtime is installed'),
  sql2019: detectoidId('SQL Server 2019 is installed'),
  sql2022: detectoidId('SQL Server 2022 is installed'),
  visualStudio2022: detectoidId('Visual Studio 2022 is installed'),
  portable: detectoidId('Portable computer running Windows 11'),
  x64: detectoidId('x64-based processor'),
  x86: detectoidId('x86-based processor'),
  arm64: detectoidId('ARM64-based processor'),
} as const;

export function archDetectoidId(arch: Arch): string {
  return DETECTOID[arch];
}

const HKLM = 'HKEY_LOCAL_MACHINE';
const regKey = (subkey: string): RuleNode => rule.bar('RegKeyExists', { Key: HKLM, Subkey: subkey });

function buildDetectoids(): DetectoidDef[] {
  const out: DetectoidDef[] = [];
  const created = '2021-06-24T17:00:00.000Z';
  for (const arch of ['x64', 'x86', 'arm64'] as const) {
    out.push({
      id: DETECTOID[arch],
      title: `${ARCH[arch].label}-based processor`,
      isInstalled: rule.bar('Processor', { Architecture: ARCH[arch].processor }),
      prerequisites: [],
      created,
    });
  }
  const families = new Map<string, DetectoidDef>();
  for (const os of OS_VERSIONS) {
    const familyTitle = osFamilyDetectoidTitle(os);
    let family = families.get(familyTitle);
    if (family === undefined) {
      family = {
        id: detectoidId(familyTitle),
        title: familyTitle,
        isInstalled: rule.and(
          rule.bar('WindowsVersion', { Comparison: 'GreaterThanOrEqualTo', MajorVersion: 10, MinorVersion: 0, BuildNumber: os.build, ProductType: os.productType }),
          rule.bar('RegSz', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', Value: 'ProductName', Comparison: 'Contains', Data: os.productName }),
        ),
        prerequisites: [],
        created,
      };
      families.set(familyTitle, family);
      out.push(family);
    }
    for (const arch of os.archs) {
      out.push({
        id: osDetectoidId(os, arch),
        title: `${os.os} Version ${os.ver} ${ARCH[arch].label}`,
        isInstalled: rule.and(
          rule.bar('WindowsVersion', { Comparison: 'EqualTo', MajorVersion: 10, MinorVersion: 0, BuildNumber: os.build, ProductType: os.productType }),
          rule.bar('Processor', { Architecture: ARCH[arch].processor }),
        ),
        // Detectoids depend on detectoids too: the version test only runs where the family one holds.
        prerequisites: [family.id, DETECTOID[arch]],
        created,
      });
    }
  }
  const office = (bits: 32 | 64) =>
    rule.and(
      rule.bar('RegSz', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\Office\\16.0\\Common\\ProductVersion', Value: 'LastProduct', Comparison: 'BeginsWith', Data: '16.0.4' }),
      rule.bar('RegSz', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\Office\\16.0\\Outlook', Value: 'Bitness', Comparison: 'EqualTo', Data: bits === 64 ? 'x64' : 'x86' }),
    );
  out.push(
    { id: DETECTOID.office2016x86, title: 'Office 2016 32-bit is installed', isInstalled: office(32), prerequisites: [], created },
    { id: DETECTOID.office2016x64, title: 'Office 2016 64-bit is installed', isInstalled: office(64), prerequisites: [DETECTOID.x64], created },
    {
      id: DETECTOID.m365Apps,
      title: 'Microsoft 365 Apps Click-to-Run is installed',
      isInstalled: rule.bar('RegSz', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\Office\\ClickToRun\\Configuration', Value: 'Platform', Comparison: 'Contains', Data: 'x' }),
      prerequisites: [],
      created,
    },
    {
      id: DETECTOID.netfx481,
      title: '.NET Framework 4.8.1 is installed',
      isInstalled: rule.bar('RegDword', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full', Value: 'Release', Comparison: 'GreaterThanOrEqualTo', Data: 533320 }),
      prerequisites: [],
      created,
    },
    {
      id: DETECTOID.defenderPlatform,
      title: 'Microsoft Defender Antivirus platform 4.18 or later',
      isInstalled: rule.bar('FileVersionPrependRegSz', {
        Path: 'mpclient.dll',
        Comparison: 'GreaterThanOrEqualTo',
        Version: '4.18.0.0',
        Key: HKLM,
        Subkey: 'SOFTWARE\\Microsoft\\Windows Defender',
        Value: 'InstallLocation',
      }),
      prerequisites: [],
      created,
    },
    { id: DETECTOID.dotnet8, title: '.NET 8.0 runtime is installed', isInstalled: regKey('SOFTWARE\\dotnet\\Setup\\InstalledVersions\\x64\\sharedfx\\Microsoft.NETCore.App\\8.0'), prerequisites: [], created },
    { id: DETECTOID.dotnet9, title: '.NET 9.0 runtime is installed', isInstalled: regKey('SOFTWARE\\dotnet\\Setup\\InstalledVersions\\x64\\sharedfx\\Microsoft.NETCore.App\\9.0'), prerequisites: [], created },
    { id: DETECTOID.sql2019, title: 'SQL Server 2019 is installed', isInstalled: regKey('SOFTWARE\\Microsoft\\Microsoft SQL Server\\150'), prerequisites: [DETECTOID.x64], created },
    { id: DETECTOID.sql2022, title: 'SQL Server 2022 is installed', isInstalled: regKey('SOFTWARE\\Microsoft\\Microsoft SQL Server\\160'), prerequisites: [DETECTOID.x64], created },
    {
      id: DETECTOID.visualStudio2022,
      title: 'Visual Studio 2022 is installed',
      isInstalled: rule.bar('RegSz', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\VisualStudio\\Setup', Value: 'SharedInstallationPath', Comparison: 'Contains', Data: 'Microsoft Visual Studio' }),
      prerequisites: [],
      created,
    },
    {
      id: DETECTOID.portable,
      title: 'Portable computer running Windows 11',
      // A WQL query quoted the way MU quotes them: double quotes inside an attribute value.
      isInstalled: rule.bar('WmiQuery', {
        Namespace: 'root\\cimv2',
        WqlQuery: 'SELECT * FROM Win32_ComputerSystem WHERE PCSystemType = 2 AND Model LIKE "%<Laptop & Tablet>%"',
      }),
      prerequisites: [detectoidId('Windows 11 Client')],
      created,
    },
  );
  return out;
}

export const DETECTOIDS: readonly DetectoidDef[] = buildDetectoids();

// ---------------------------------------------------------------------------------------------
// Product lines

export type LineKind = 'cu' | 'dotnetfx' | 'office' | 'defender' | 'driver' | 'sql' | 'msrt' | 'dotnet' | 'vs' | 'upgrade';

export interface DriverModel {
  readonly vendor: string;
  readonly company: string;
  readonly driverClass: string;
  readonly hwid: string;
}

/**
 * A line is a sequence of updates of one product and variant (Windows 11 25H2 x64 cumulative updates,
 * Defender definitions…), one per slot of its cadence; each supersedes the previous ones.
 */
export interface LineDef {
  readonly id: string;
  readonly kind: LineKind;
  readonly cadence: Cadence;
  readonly since: number;
  readonly until?: number;
  readonly firstRevision: number;
  /** How many predecessors an update lists in `SupersededUpdates`. */
  readonly supersedeDepth: number;
  readonly os?: OsVersion;
  readonly arch?: Arch;
  readonly product: string;
  readonly productTitle: string;
  readonly detectoid?: string;
  readonly bits?: 32 | 64;
  readonly driver?: DriverModel;
  /** Distinguishes KB numbers of lines that publish in the same month. */
  readonly kbOffset: number;
}

const patchTuesday: Cadence = { kind: 'monthly', months: 1, weekday: 2, week: 2, hour: 18 };

function buildLines(): LineDef[] {
  const lines: LineDef[] = [];
  const cuLines: LineDef[] = [];
  const fxLines: LineDef[] = [];
  const codebases = [...new Set(OS_VERSIONS.map((o) => o.codebase))];
  for (const os of OS_VERSIONS) {
    const cb = codebases.indexOf(os.codebase);
    for (const arch of os.archs) {
      const base = { os, arch, since: os.since, product: os.product, productTitle: os.os, detectoid: osDetectoidId(os, arch), cadence: patchTuesday, firstRevision: 200 };
      const until = os.until === undefined ? {} : { until: os.until };
      cuLines.push({ ...base, ...until, id: `cu:${os.key}:${arch}`, kind: 'cu', supersedeDepth: 2, kbOffset: cb * 3 + 1 });
      if (arch !== 'x86') fxLines.push({ ...base, ...until, id: `dotnetfx:${os.key}:${arch}`, kind: 'dotnetfx', supersedeDepth: 2, kbOffset: 200 + cb * 3 });
    }
  }
  const drivers: DriverModel[] = [
    { vendor: 'Intel', company: 'Intel Corporation', driverClass: 'Display', hwid: 'PCI\\VEN_8086&DEV_A7A0&SUBSYS_0B1D1028' },
    { vendor: 'Realtek Semiconductor Corp.', company: 'Realtek', driverClass: 'MEDIA', hwid: 'HDAUDIO\\FUNC_01&VEN_10EC&DEV_0257&SUBSYS_17AA22E6' },
    { vendor: 'Qualcomm Technologies, Inc.', company: 'Qualcomm', driverClass: 'Net', hwid: 'PCI\\VEN_17CB&DEV_1103&SUBSYS_010817CB' },
    { vendor: 'Synaptics', company: 'Synaptics Incorporated', driverClass: 'HIDClass', hwid: 'ACPI\\SYNA2B61' },
    { vendor: 'Advanced Micro Devices, Inc.', company: 'AMD', driverClass: 'System', hwid: 'PCI\\VEN_1022&DEV_790B&REV_71' },
    { vendor: 'Lenovo', company: 'Lenovo', driverClass: 'Firmware', hwid: 'UEFI\\RES_{3E1F5CD2-0D4A-4C2E-9C6B-1D2A3E4F5A6B}' },
  ];
  const driverLines: LineDef[] = drivers.map((driver, i) => ({
    id: `driver:${i}`,
    kind: 'driver',
    cadence: { kind: 'periodic', hours: 24 * 7 },
    since: d(2016, 8),
    firstRevision: 200,
    supersedeDepth: 0,
    arch: i === 2 ? 'arm64' : 'x64',
    product: i === 5 ? CATEGORY.windows11UpgradeDrivers : CATEGORY.windows11Drivers,
    productTitle: 'Windows 11 Client, version 22H2 and later, Servicing Drivers',
    detectoid: DETECTOID[i === 2 ? 'arm64' : 'x64'],
    driver,
    kbOffset: 0,
  }));
  const one = (l: Omit<LineDef, 'firstRevision'> & { firstRevision?: number }): LineDef => ({ firstRevision: 200, ...l });
  const office = [32, 64].map((bits) =>
    one({
      id: `office:2016:${bits}`,
      kind: 'office',
      cadence: { kind: 'monthly', months: 1, weekday: 2, week: 1, hour: 18 },
      since: d(2015, 10),
      firstRevision: 100,
      supersedeDepth: 1,
      bits: bits as 32 | 64,
      product: CATEGORY.office2016,
      productTitle: 'Microsoft Office 2016',
      detectoid: bits === 64 ? DETECTOID.office2016x64 : DETECTOID.office2016x86,
      kbOffset: 300 + bits,
    }),
  );
  const m365 = [32, 64].map((bits) =>
    one({
      id: `m365:${bits}`,
      kind: 'office',
      cadence: patchTuesday,
      since: d(2019, 1),
      supersedeDepth: 1,
      bits: bits as 32 | 64,
      product: CATEGORY.m365Apps,
      productTitle: 'Microsoft 365 Apps',
      detectoid: DETECTOID.m365Apps,
      kbOffset: 400 + bits,
    }),
  );
  const defender = one({
    id: 'defender',
    kind: 'defender',
    cadence: { kind: 'periodic', hours: 12 },
    since: d(2015, 10),
    supersedeDepth: 10,
    product: CATEGORY.defender,
    productTitle: 'Microsoft Defender Antivirus',
    detectoid: DETECTOID.defenderPlatform,
    kbOffset: 0,
  });
  const msrt = (['x64', 'x86'] as const).map((arch) =>
    one({ id: `msrt:${arch}`, kind: 'msrt', cadence: patchTuesday, since: d(2015, 1), supersedeDepth: 1, arch, product: CATEGORY.windows11, productTitle: 'Windows', detectoid: DETECTOID[arch], kbOffset: 0 }),
  );
  const sql = [
    one({ id: 'sql:2022', kind: 'sql', cadence: { kind: 'monthly', months: 2, weekday: 4, week: 3, hour: 17 }, since: d(2022, 12), supersedeDepth: 1, product: CATEGORY.sql2022, productTitle: 'SQL Server 2022', detectoid: DETECTOID.sql2022, kbOffset: 500 }),
    one({ id: 'sql:2019', kind: 'sql', cadence: { kind: 'monthly', months: 2, weekday: 4, week: 3, hour: 17 }, since: d(2019, 12), supersedeDepth: 1, product: CATEGORY.sql2019, productTitle: 'SQL Server 2019', detectoid: DETECTOID.sql2019, kbOffset: 510 }),
  ];
  const dotnet = [
    one({ id: 'dotnet:8', kind: 'dotnet', cadence: patchTuesday, since: d(2023, 12), until: d(2026, 11, 12), supersedeDepth: 1, product: CATEGORY.dotnet8, productTitle: '.NET 8.0', detectoid: DETECTOID.dotnet8, kbOffset: 600 }),
    one({ id: 'dotnet:9', kind: 'dotnet', cadence: patchTuesday, since: d(2024, 12), supersedeDepth: 1, product: CATEGORY.dotnet9, productTitle: '.NET 9.0', detectoid: DETECTOID.dotnet9, kbOffset: 610 }),
  ];
  const vs = one({ id: 'vs:2022', kind: 'vs', cadence: patchTuesday, since: d(2022, 1), supersedeDepth: 1, product: CATEGORY.visualStudio2022, productTitle: 'Visual Studio 2022', detectoid: DETECTOID.visualStudio2022, kbOffset: 700 });
  const win25 = OS_VERSIONS[0] as OsVersion;
  const upgrades = (['x64', 'arm64'] as const).map((arch) =>
    one({
      id: `upgrade:${win25.key}:${arch}`,
      kind: 'upgrade',
      cadence: { kind: 'monthly', months: 3, weekday: 2, week: 2, hour: 18 },
      since: win25.since,
      supersedeDepth: 1,
      os: win25,
      arch,
      product: CATEGORY.windows11,
      productTitle: 'Windows 11',
      detectoid: DETECTOID[arch],
      kbOffset: 800,
    }),
  );

  // Priority order: a small catalog keeps the lines listed first, so it still shows every shape.
  const [cu0, cu1, ...cuRest] = cuLines as [LineDef, LineDef, ...LineDef[]];
  const [fx0, ...fxRest] = fxLines as [LineDef, ...LineDef[]];
  const [drv0, drv1, ...drvRest] = driverLines as [LineDef, LineDef, ...LineDef[]];
  lines.push(cu0, defender, drv0, office[1] as LineDef, fx0, msrt[0] as LineDef, sql[0] as LineDef, dotnet[1] as LineDef, vs, upgrades[0] as LineDef);
  lines.push(cu1, drv1, m365[1] as LineDef, ...cuRest, ...fxRest, ...drvRest, office[0] as LineDef, m365[0] as LineDef, msrt[1] as LineDef);
  lines.push(sql[1] as LineDef, dotnet[0] as LineDef, upgrades[1] as LineDef);
  return lines;
}

export const LINES: readonly LineDef[] = buildLines();

/** Filler drivers: one document each, spread over the history window, to make the count exact. */
export const BULK_DRIVER_MODELS: readonly DriverModel[] = [
  { vendor: 'Dell Inc.', company: 'Dell', driverClass: 'Firmware', hwid: 'UEFI\\RES_{A9F0C8B6-2D3E-4F51-8A7B-0C1D2E3F4A5B}' },
  { vendor: 'HP Inc.', company: 'HP', driverClass: 'SoftwareComponent', hwid: 'SWC\\HPIC0004' },
  { vendor: 'Intel', company: 'Intel Corporation', driverClass: 'Bluetooth', hwid: 'USB\\VID_8087&PID_0033&REV_0000' },
  { vendor: 'Microsoft', company: 'Microsoft', driverClass: 'Camera', hwid: 'USB\\VID_045E&PID_0990&MI_00' },
  { vendor: 'NVIDIA', company: 'NVIDIA', driverClass: 'Display', hwid: 'PCI\\VEN_10DE&DEV_28E0&SUBSYS_0C0E1028' },
  { vendor: 'Realtek Semiconductor Corp.', company: 'Realtek', driverClass: 'Net', hwid: 'PCI\\VEN_10EC&DEV_8168&SUBSYS_86771043' },
];

